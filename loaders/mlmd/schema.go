package mlmd

import (
	"fmt"
	"strings"
)

// MinSchemaVersion and MaxSchemaVersion bound the MLMD schema versions mlprov reads. MLMD's
// maintainers call the physical schema private, so versions outside are refused, not guessed.
const (
	MinSchemaVersion = 6
	MaxSchemaVersion = 10
)

// MLMD's enums, as stored in the SQLite columns (ml_metadata/proto/metadata_store.proto).
const (
	// Type.type_kind.
	KindExecution = 0
	KindArtifact  = 1
	KindContext   = 2

	// Execution.last_known_state.
	ExecUnknown  = 0
	ExecNew      = 1
	ExecRunning  = 2
	ExecComplete = 3
	ExecFailed   = 4
	ExecCached   = 5
	ExecCanceled = 6

	// Artifact.state.
	ArtUnknown = 0
	ArtPending = 1
	ArtLive    = 2

	// Event.type.
	EventUnknown        = 0
	EventDeclaredOutput = 1
	EventDeclaredInput  = 2
	EventInput          = 3
	EventOutput         = 4
	EventInternalInput  = 5
	EventInternalOutput = 6
	EventPendingOutput  = 7
)

// EventDirection says which way an Event.type links an execution and an artifact: "in" or
// "out", with rank 0 for INPUT and OUTPUT and 1 for the declared and internal kinds, so that
// an execution with several events on one artifact counts by its lowest rank. ok is false for
// UNKNOWN and PENDING_OUTPUT, which are not lineage, and for numbers that are not event types.
func EventDirection(typ int64) (dir string, rank int, ok bool) {
	switch typ {
	case EventInput:
		return "in", 0, true
	case EventDeclaredInput, EventInternalInput:
		return "in", 1, true
	case EventOutput:
		return "out", 0, true
	case EventDeclaredOutput, EventInternalOutput:
		return "out", 1, true
	}
	return "", 0, false
}

// ddl returns the CREATE statements of an MLMD SQLite store at schema version v (6 to 10),
// following ml_metadata/util/metadata_source_query_config.cc: v7 added byte_value, v8 a
// unique (artifact, execution, type) on Event, v9 external_id, v10 proto_value and bool_value.
func ddl(v int) []string {
	ext := ""
	if v >= 9 {
		ext = ", `external_id` VARCHAR(255)"
	}
	val := "`int_value` INT, `double_value` DOUBLE, `string_value` TEXT"
	if v >= 7 {
		val += ", `byte_value` BLOB"
	}
	if v >= 10 {
		val += ", `proto_value` BLOB, `bool_value` BOOLEAN"
	}
	eventUnique := ""
	if v >= 8 {
		eventUnique = ", UNIQUE(`artifact_id`, `execution_id`, `type`)"
	}
	times := "`create_time_since_epoch` INT NOT NULL DEFAULT 0, `last_update_time_since_epoch` INT NOT NULL DEFAULT 0"
	prop := func(table, owner string) string {
		return fmt.Sprintf("CREATE TABLE `%s` (`%s` INT NOT NULL, `name` VARCHAR(255) NOT NULL, `is_custom_property` TINYINT(1) NOT NULL, %s, PRIMARY KEY (`%s`, `name`, `is_custom_property`))", table, owner, val, owner)
	}
	return []string{
		"CREATE TABLE `Type` (`id` INTEGER PRIMARY KEY AUTOINCREMENT, `name` VARCHAR(255) NOT NULL, `version` VARCHAR(255), `type_kind` TINYINT(1) NOT NULL, `description` TEXT, `input_type` TEXT, `output_type` TEXT" + ext + ")",
		"CREATE TABLE `ParentType` (`type_id` INT NOT NULL, `parent_type_id` INT NOT NULL, PRIMARY KEY (`type_id`, `parent_type_id`))",
		"CREATE TABLE `TypeProperty` (`type_id` INT NOT NULL, `name` VARCHAR(255) NOT NULL, `data_type` INT NULL, PRIMARY KEY (`type_id`, `name`))",
		"CREATE TABLE `Artifact` (`id` INTEGER PRIMARY KEY AUTOINCREMENT, `type_id` INT NOT NULL, `uri` TEXT, `state` INT, `name` VARCHAR(255)" + ext + ", " + times + ", UNIQUE(`type_id`, `name`))",
		prop("ArtifactProperty", "artifact_id"),
		"CREATE TABLE `Execution` (`id` INTEGER PRIMARY KEY AUTOINCREMENT, `type_id` INT NOT NULL, `last_known_state` INT, `name` VARCHAR(255)" + ext + ", " + times + ", UNIQUE(`type_id`, `name`))",
		prop("ExecutionProperty", "execution_id"),
		"CREATE TABLE `Context` (`id` INTEGER PRIMARY KEY AUTOINCREMENT, `type_id` INT NOT NULL, `name` VARCHAR(255) NOT NULL" + ext + ", " + times + ", UNIQUE(`type_id`, `name`))",
		prop("ContextProperty", "context_id"),
		"CREATE TABLE `ParentContext` (`context_id` INT NOT NULL, `parent_context_id` INT NOT NULL, PRIMARY KEY (`context_id`, `parent_context_id`))",
		"CREATE TABLE `Event` (`id` INTEGER PRIMARY KEY AUTOINCREMENT, `artifact_id` INT NOT NULL, `execution_id` INT NOT NULL, `type` INT NOT NULL, `milliseconds_since_epoch` INT" + eventUnique + ")",
		"CREATE INDEX `idx_event_artifact_id` ON `Event`(`artifact_id`)",
		"CREATE INDEX `idx_event_execution_id` ON `Event`(`execution_id`)",
		"CREATE TABLE `EventPath` (`event_id` INT NOT NULL, `is_index_step` TINYINT(1) NOT NULL, `step_index` INT, `step_key` TEXT)",
		"CREATE INDEX `idx_eventpath_event_id` ON `EventPath`(`event_id`)",
		"CREATE TABLE `Association` (`id` INTEGER PRIMARY KEY AUTOINCREMENT, `context_id` INT NOT NULL, `execution_id` INT NOT NULL, UNIQUE(`context_id`, `execution_id`))",
		"CREATE TABLE `Attribution` (`id` INTEGER PRIMARY KEY AUTOINCREMENT, `context_id` INT NOT NULL, `artifact_id` INT NOT NULL, UNIQUE(`context_id`, `artifact_id`))",
		"CREATE TABLE `MLMDEnv` (`schema_version` INTEGER PRIMARY KEY)",
	}
}

// quoteURIPath escapes the characters that end or escape the path part of an SQLite URI.
func quoteURIPath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}
