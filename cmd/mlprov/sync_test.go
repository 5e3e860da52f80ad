package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// appendLines adds lines to a file of a native layout.
func appendLines(t *testing.T, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, l := range lines {
		if _, err := f.WriteString(l + "\n"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSyncGrownFolder loads a folder, lets it grow (a run finishes, another starts) and loads
// it again, as an hourly job would: the second load says what it added and updated, a third
// says it is up to date, and a sync killed before its commit leaves the store as it was.
func TestSyncGrownFolder(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.duckdb")
	dir := smallSource(t)
	if code, out, errOut := mlprov(t, "load", "--db", db, dir); code != 0 || !strings.HasPrefix(out, "loaded "+dir+" as source 1") {
		t.Fatalf("first load: exit %d, %q, %q", code, out, errOut)
	}
	exec := filepath.Join(dir, "executions.jsonl")
	if err := os.WriteFile(exec, []byte(`{"execution_id": 5001, "pipeline_id": 500, "op_type": "Trainer", "state": "complete", "cost": 4}
{"execution_id": 5003, "pipeline_id": 500, "op_type": "Pusher", "state": "complete", "cost": 1}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	appendLines(t, filepath.Join(dir, "events.jsonl"), `{"execution_id": 5003, "artifact_id": 5002, "direction": "in", "role": "model"}`)
	code, out, errOut := mlprov(t, "load", "--db", db, dir)
	want := "synced " + dir + " into source 1 (native): +1 executions, 1 updated, 0 removed; +0 artifacts, +1 events; derived tables rebuilt from scratch in "
	if code != 0 || !strings.HasPrefix(out, want) {
		t.Errorf("sync: exit %d, stdout %q, stderr %q; want %q…", code, out, errOut, want)
	}
	code, out, _ = mlprov(t, "load", "--db", db, "--json", dir)
	var got loadJSON
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil || got.Status != "up to date" || got.SourceID != 1 {
		t.Errorf("third load --json: exit %d, %q (%v); want status up to date", code, out, err)
	}
	count := "SELECT (SELECT count(*) FROM executions) || ' ' || (SELECT count(*) FROM events) || ' ' || (SELECT count(*) FROM graphlet_members) AS n"
	_, before, _ := mlprov(t, "query", "--db", db, "--format", "csv", count)
	if before != "n\n2 2 3\n" {
		t.Errorf("after the sync: %q, want 2 executions, 2 events and 3 graphlet members", before)
	}

	appendLines(t, exec, `{"execution_id": 5004, "pipeline_id": 500, "op_type": "Trainer", "state": "running"}`)
	cmd := holdLoad(t, mlprovBinary(t), db, dir)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // "signal: killed", as intended
	if _, after, _ := mlprov(t, "query", "--db", db, "--format", "csv", count); after != before {
		t.Errorf("after a killed sync: %q, want %q as before", after, before)
	}
	if code, out, errOut := mlprov(t, "load", "--db", db, dir); code != 0 || !strings.Contains(out, "+1 executions, 0 updated, 0 removed") {
		t.Errorf("the sync after the kill: exit %d, %q, %q", code, out, errOut)
	}
}

// TestEditsRefresh edits the store through mlprov query and the shell: an op_categories
// edit is followed at once, an edit of a canonical table is named with what derives again,
// and mlprov refresh (or .refresh) does it.
func TestEditsRefresh(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.duckdb")
	if code, _, errOut := mlprov(t, "load", "--db", db, example); code != 0 {
		t.Fatal(errOut)
	}
	trainers := "SELECT count(*) AS n FROM trainers"
	code, _, errOut := mlprov(t, "query", "--db", db, "INSERT OR REPLACE INTO op_categories VALUES ('Transform', 'train')")
	if want := "op_categories changed: 3 executions took a new category; derived tables refreshed for 1 pipelines in "; code != 0 || !strings.HasPrefix(errOut, want) {
		t.Errorf("op_categories edit: exit %d, stderr %q; want %q…", code, errOut, want)
	}
	if _, out, _ := mlprov(t, "query", "--db", db, "--format", "csv", trainers); out != "n\n8\n" {
		t.Errorf("Transforms mapped to train: %q trainers, want 8", out)
	}
	code, _, errOut = mlprov(t, "query", "--db", db, "DELETE FROM events WHERE execution_id = 106")
	want := "note: the derived tables are stale: events changed since they were derived; mlprov refresh --db " + db + " derives them again\n"
	if code != 0 || errOut != want {
		t.Errorf("events edit: exit %d, stderr %q; want %q", code, errOut, want)
	}
	code, out, _ := mlprov(t, "refresh", "--db", db, "-q")
	if code != 0 || out != "" {
		t.Errorf("refresh -q: exit %d, %q", code, out)
	}
	if code, out, _ = mlprov(t, "refresh", "--db", db); code != 0 || out != "derived tables up to date\n" {
		t.Errorf("a second refresh: exit %d, %q", code, out)
	}
	code, out, errOut = mlprovStdin(t, "UPDATE executions SET cost = 1 WHERE execution_id = 116;\n.refresh\n", "shell", "--db", db)
	if code != 0 || !strings.Contains(errOut, "note: the derived tables are stale: executions changed since they were derived; .refresh derives them again\n") ||
		!strings.Contains(errOut, "executions changed: 0 executions took a new category; derived tables rebuilt from scratch in ") {
		t.Errorf("shell: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
