package shell

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// lineageNodes runs one .lineage command in JSON mode and returns the nodes it listed.
func lineageNodes(t *testing.T, script string) []map[string]any {
	t.Helper()
	db := exampleStore(t)
	out, err := runScript(t, db, ".mode json\n"+script)
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	start := strings.Index(out, "[")
	if start < 0 {
		t.Fatalf("%s: no JSON in %q", script, out)
	}
	var nodes []map[string]any
	if err := json.Unmarshal([]byte(out[start:]), &nodes); err != nil {
		t.Fatalf("%s: %v in %q", script, err, out)
	}
	return nodes
}

// nodeTimes reads each node's time (an execution's start, an artifact's creation) from the
// example store, by kind and id.
func nodeTimes(t *testing.T) map[string]time.Time {
	t.Helper()
	rows, err := exampleStore(t).Query(`SELECT 'artifact:' || artifact_id, create_time FROM artifacts
		UNION ALL SELECT 'execution:' || execution_id, start_time FROM executions`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	times := map[string]time.Time{}
	for rows.Next() {
		var key string
		var at time.Time
		if err := rows.Scan(&key, &at); err != nil {
			t.Fatal(err)
		}
		times[key] = at
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return times
}

// nodeKey names a node of .lineage's JSON as nodeTimes does, such as "artifact:1003".
func nodeKey(n map[string]any) string {
	return fmt.Sprintf("%v:%v", n["kind"], n["id"])
}

// TestLineageUpFollowsOriginalProducers checks that walking up from an artifact goes through
// the execution that made it, as graphlets do, and not through the cache hit (113 re-links
// schema 1003 a day later) or the Resolver (119 re-links model 1007) that only point at it:
// nothing upstream of an artifact started after it was made. --relinks shows them.
func TestLineageUpFollowsOriginalProducers(t *testing.T) {
	times := nodeTimes(t)
	for _, start := range []string{"artifact:1003", "artifact:1007", "artifact:1020"} {
		t.Run(start, func(t *testing.T) {
			id := strings.TrimPrefix(start, "artifact:")
			nodes := lineageNodes(t, ".lineage a:"+id+" --up\n")
			created := times[start]
			for _, n := range nodes {
				key := nodeKey(n)
				if key == "execution:113" || key == "execution:119" {
					t.Errorf("upstream of %s lists the re-linking %s", start, key)
				}
				if at, ok := times[key]; !ok || at.After(created) {
					t.Errorf("upstream of %s (made %s) lists %s at %s", start, created.Format(time.RFC3339), key, at.Format(time.RFC3339))
				}
			}
		})
	}
	relinked := map[string]bool{}
	for _, n := range lineageNodes(t, ".lineage a:1003 --up --relinks\n") {
		relinked[nodeKey(n)] = n["relink"] == true
	}
	if r, ok := relinked["execution:113"]; !ok || !r {
		t.Errorf("--relinks upstream of artifact 1003: execution 113 listed %v, marked a re-link %v; want both", ok, r)
	}
	if relinked["execution:103"] {
		t.Errorf("--relinks upstream of artifact 1003 marks its producer 103 a re-link")
	}
}
