package mlmd

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Context type names of TFX (IR and legacy) and Kubeflow Pipelines v2.
var (
	pipelineContexts = map[string]bool{"pipeline": true, "system.Pipeline": true}
	runContexts      = map[string]bool{"pipeline_run": true, "run": true, "system.PipelineRun": true}
)

// baseCategories maps MLMD's system base execution types to the paper's categories.
var baseCategories = map[string]string{
	"mlmd.Train": "train", "mlmd.Transform": "transform", "mlmd.Evaluate": "validate", "mlmd.Deploy": "deploy",
}

var artifactStates = []string{"unknown", "pending", "live", "marked_for_deletion", "deleted", "abandoned", "reference"}

// legacyArtifactStates maps the state property that TFX's legacy orchestration keeps on an
// artifact (it left the state column unset): "published" is live.
var legacyArtifactStates = map[string]string{
	"pending": "pending", "published": "live", "missing": "unknown", "marked_for_deletion": "marked_for_deletion",
	"deleted": "deleted", "abandoned": "abandoned", "reference": "reference",
}

// publishedStates are the artifact states of an output its execution published: live, or
// later in a live artifact's life.
var publishedStates = map[string]bool{"live": true, "marked_for_deletion": true, "deleted": true}

// abandonedAfter is how long a store must have gone on past an unfinished execution's last
// activity before the execution counts as abandoned (see the package doc).
const abandonedAfter = 24 * time.Hour

// artifactState maps an artifact's state column, else the legacy state property, to the
// canonical state; "" when neither says.
func artifactState(col sql.NullInt64, ps props) string {
	if col.Valid && col.Int64 != ArtUnknown {
		if col.Int64 > 0 && int(col.Int64) < len(artifactStates) {
			return artifactStates[col.Int64]
		}
		return "unknown"
	}
	if s, ok := legacyArtifactStates[strings.ToLower(propString(ps, "state"))]; ok {
		return s
	}
	if col.Valid {
		return "unknown"
	}
	return ""
}

func lastSegment(name string) string {
	return name[strings.LastIndexByte(name, '.')+1:]
}

func msTime(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func propString(ps props, name string) string {
	v, _ := ps.get(name)
	switch v := v.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return ""
}

func propInt(ps props, name string) sql.NullInt64 {
	v, _ := ps.get(name)
	switch v := v.(type) {
	case int64:
		return sql.NullInt64{Int64: v, Valid: true}
	case float64:
		return sql.NullInt64{Int64: int64(v), Valid: true}
	case string:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return sql.NullInt64{Int64: n, Valid: true}
		}
	}
	return sql.NullInt64{}
}

// attrsJSON writes props (less mlprov's own, see costProp), plus the extra keys props does
// not have, as a JSON object with sorted keys: what json.Marshal writes for the merged map,
// without building one, since this runs once per execution and artifact.
func attrsJSON(ps props, extra map[string]any) (string, error) {
	keys := make([]string, 0, len(ps)+len(extra))
	for _, p := range ps {
		if !strings.HasPrefix(p.name, "mlprov_") {
			keys = append(keys, p.name)
		}
	}
	for k := range extra {
		if _, ok := ps.get(k); !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	b := make([]byte, 0, 32*len(keys)+2)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		v, ok := ps.get(k)
		if !ok {
			v = extra[k]
		}
		var err error
		if b, err = appendJSONValue(b, v); err != nil {
			return "", fmt.Errorf("property %q: %w", k, err)
		}
	}
	return string(append(b, '}')), nil
}

func appendJSONValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case string:
		return appendJSONString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case nil:
		return append(b, "null"...), nil
	}
	js, err := json.Marshal(v)
	return append(b, js...), err
}

// appendJSONString quotes s as json.Marshal does, taking the short way when nothing in s
// needs escaping.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= 0x80 {
			js, _ := json.Marshal(s)
			return append(b, js...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// legacyStates maps the state property of legacy TFX launchers.
var legacyStates = map[string]string{
	"complete": "complete", "completed": "complete", "cached": "cached", "failed": "failed",
	"canceled": "canceled", "cancelled": "canceled", "new": "", "running": "",
}
