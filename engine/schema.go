package engine

import "strings"

// Column is one column of a canonical table, as sql/schema declares it.
type Column struct {
	Name string
	// Type is the column's DuckDB type as information_schema.columns spells it.
	Type string
	// NotNull says every stored row holds a value.
	NotNull bool
	// Required says every input must give a value: a row without one is refused. A NotNull
	// column that is not Required is filled in by the engine (a missing execution category
	// from op_categories).
	Required bool
	// Assigned says the engine assigns the value at load: no input or export carries the
	// column (the source_id of a pipeline, execution or artifact).
	Assigned bool
}

// Table is one canonical table.
type Table struct {
	Name string
	// Key are the columns that name a record in error messages.
	Key []string
	// Unique says the Key (one id column) names at most one row.
	Unique bool
	// Columns are the table's columns in the store's order.
	Columns []Column
}

// Layout returns the columns a file of the native layout carries, in the store's order: all
// but the Assigned ones.
func (t Table) Layout() []Column {
	var cols []Column
	for _, c := range t.Columns {
		if !c.Assigned {
			cols = append(cols, c)
		}
	}
	return cols
}

// Names returns the names of cols, in order.
func Names(cols []Column) []string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names
}

// Tables describes the canonical tables every loader fills (sql/schema), in
// load order: pipelines, executions, artifacts, events. Staging, the native layout, Export
// and the generator take their columns from it; a test checks it against the migrated store.
var Tables = []Table{
	{Name: "pipelines", Key: []string{"pipeline_id"}, Unique: true, Columns: []Column{
		{Name: "pipeline_id", Type: "BIGINT", NotNull: true, Required: true},
		{Name: "name", Type: "VARCHAR", NotNull: true, Required: true},
		{Name: "source_id", Type: "BIGINT", NotNull: true, Assigned: true},
		{Name: "attrs", Type: "JSON"},
	}},
	{Name: "executions", Key: []string{"execution_id"}, Unique: true, Columns: []Column{
		{Name: "execution_id", Type: "BIGINT", NotNull: true, Required: true},
		{Name: "pipeline_id", Type: "BIGINT", NotNull: true, Required: true},
		{Name: "run_id", Type: "VARCHAR"},
		{Name: "node_id", Type: "VARCHAR"},
		{Name: "op_type", Type: "VARCHAR", NotNull: true, Required: true},
		{Name: "category", Type: "VARCHAR", NotNull: true},
		{Name: "state", Type: "VARCHAR", NotNull: true, Required: true},
		{Name: "start_time", Type: "TIMESTAMP"},
		{Name: "end_time", Type: "TIMESTAMP"},
		{Name: "cost", Type: "DOUBLE"},
		{Name: "attrs", Type: "JSON"},
		{Name: "source_id", Type: "BIGINT", NotNull: true, Assigned: true},
	}},
	{Name: "artifacts", Key: []string{"artifact_id"}, Unique: true, Columns: []Column{
		{Name: "artifact_id", Type: "BIGINT", NotNull: true, Required: true},
		{Name: "pipeline_id", Type: "BIGINT", NotNull: true, Required: true},
		{Name: "type", Type: "VARCHAR", NotNull: true, Required: true},
		{Name: "uri", Type: "VARCHAR"},
		{Name: "span", Type: "BIGINT"},
		{Name: "version", Type: "BIGINT"},
		{Name: "state", Type: "VARCHAR"},
		{Name: "create_time", Type: "TIMESTAMP"},
		{Name: "size_bytes", Type: "BIGINT"},
		{Name: "attrs", Type: "JSON"},
		{Name: "source_id", Type: "BIGINT", NotNull: true, Assigned: true},
	}},
	{Name: "events", Key: []string{"execution_id", "artifact_id"}, Columns: []Column{
		{Name: "execution_id", Type: "BIGINT", NotNull: true, Required: true},
		{Name: "artifact_id", Type: "BIGINT", NotNull: true, Required: true},
		{Name: "direction", Type: "VARCHAR", NotNull: true, Required: true},
		{Name: "role", Type: "VARCHAR"},
		{Name: "event_time", Type: "TIMESTAMP"},
	}},
}

// Execution states, the values of executions.state.
const (
	StateComplete = "complete"
	StateFailed   = "failed"
	StateCached   = "cached"
	StateRunning  = "running"
	StateCanceled = "canceled"
)

// ExecutionStates are the values executions.state may take.
var ExecutionStates = []string{StateComplete, StateFailed, StateCached, StateRunning, StateCanceled}

// ArtifactLive is the artifacts.state of an artifact that exists and may be read.
const ArtifactLive = "live"

// ArtifactStates are the values artifacts.state may take (MLMD's artifact states, published
// as live), in MLMD's enum order from unknown (0).
var ArtifactStates = []string{"unknown", "pending", ArtifactLive, "marked_for_deletion", "deleted", "abandoned", "reference"}

// Event directions, the values of events.direction: an execution read the artifact (in) or
// wrote it (out).
const (
	DirectionIn  = "in"
	DirectionOut = "out"
)

// Directions are the values events.direction may take.
var Directions = []string{DirectionIn, DirectionOut}

// Operator categories, the values of executions.category and op_categories.category.
const (
	CategoryIngest    = "ingest"
	CategoryAnalyze   = "analyze"
	CategoryTransform = "transform"
	CategoryTrain     = "train"
	CategoryValidate  = "validate"
	CategoryDeploy    = "deploy"
	CategoryOther     = "other"
)

// Categories are the operator categories in the order of the paper's pipeline stages; the
// op_categories table seeded by sql/schema maps operator types to them, and an operator type
// it does not list falls to CategoryOther.
var Categories = []string{CategoryIngest, CategoryAnalyze, CategoryTransform, CategoryTrain, CategoryValidate, CategoryDeploy, CategoryOther}

// Input formats, the names loaders give their formats (Loader.Format) and sources.kind holds.
const (
	FormatNative      = "native"
	FormatMLMD        = "mlmd"
	FormatOpenLineage = "openlineage"
)

// FileFormats are the file formats of the native layout, in order of preference: Export and
// the generator write each of them and the native loader reads each of them.
var FileFormats = []string{"parquet", "csv", "jsonl"}

// orList writes words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
