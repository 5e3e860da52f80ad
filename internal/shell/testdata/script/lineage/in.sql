-- The model 1007 both ways, then bounded walks from artifacts and executions.
.lineage 1007
.lineage a:1007 --up --hops 2
.lineage e:106 --down
.lineage 2004 --down --hops 1
.lineage --execution 204 --up --hops 1
-- Schema 1003 was made by SchemaGen 103; the cache hit 113 only re-links it a day later, so
-- it shows upstream only with --relinks, and downstream of 113 there is nothing without it.
.lineage a:1003 --up --relinks
.lineage e:113 --down
.lineage e:113 --down --relinks
.mode json
.lineage 2001 --down --hops 1
