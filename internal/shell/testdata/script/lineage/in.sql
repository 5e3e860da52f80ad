-- The model 1007 both ways, then bounded walks from artifacts and executions.
.lineage 1007
.lineage a:1007 --up --hops 2
.lineage e:106 --down
.lineage 2004 --down --hops 1
.lineage --execution 204 --up --hops 1
.mode json
.lineage 2001 --down --hops 1
