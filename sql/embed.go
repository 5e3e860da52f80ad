// Package sql holds mlprov's SQL: the store's schema migrations, the derived views, the canned
// analyses and the engine's parameterised queries, one object per .sql file. Only the engine
// imports it.
package sql

import "embed"

// FS holds every .sql file: schema/NNN_name.sql are the store's migrations, applied in order;
// views/NAME.sql define the derived relations (graphlets, topologies); analyses/NAME.sql are
// the canned analyses, each one read-only SELECT under a header that names it (see
// catalog.Analysis); queries/NAME.sql are statements the engine runs with parameters, each
// documented in its header; refresh/NAME.sql are the sets of rows an incremental refresh of
// the derived tables re-derives, each read from the temporary tables the refresh fills. catalog.ParseHeader reads every header but the migrations'.
//
//go:embed schema/*.sql views/*.sql analyses/*.sql queries/*.sql refresh/*.sql
var FS embed.FS
