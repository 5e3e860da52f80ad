package engine_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"

	"mlprov/engine"
	"mlprov/loaders/native"
)

// seeded writes a one-pipeline native layout whose pipeline records seed in its attrs, as
// mlprov gen does.
func seeded(t *testing.T, id int, seed string) string {
	t.Helper()
	dir := t.TempDir()
	attrs := "{}"
	if seed != "" {
		attrs = fmt.Sprintf(`{"seed": %s}`, seed)
	}
	files := map[string]string{
		"pipelines.jsonl":  fmt.Sprintf(`{"pipeline_id": %d, "name": "p%d", "attrs": %s}`, id, id, attrs),
		"executions.jsonl": fmt.Sprintf(`{"execution_id": %d, "pipeline_id": %d, "op_type": "Trainer", "state": "complete", "cost": 1}`, id*10, id),
	}
	for name, text := range files {
		writeFile(t, filepath.Join(dir, name), text+"\n")
	}
	return dir
}

func TestInfo(t *testing.T) {
	ctx := context.Background()
	info := func(e *engine.Engine) engine.StoreInfo {
		t.Helper()
		i, err := e.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	load := func(e *engine.Engine, dir string) {
		t.Helper()
		if _, err := e.Load(ctx, &native.Loader{}, dir, engine.LoadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	empty := sha256.Sum256(nil)
	e := open(t, ":memory:", engine.Options{})
	if got := info(e); got.Fingerprint != "sha256:"+hex.EncodeToString(empty[:]) || len(got.Sources) != 0 || got.Seed != "" {
		t.Errorf("empty store: %+v", got)
	}

	a, b, c := seeded(t, 7, "42"), seeded(t, 8, "42"), seeded(t, 9, "")
	load(e, a)
	load(e, b)
	load(e, c)
	got := info(e)
	if len(got.Sources) != 3 || got.Sources[0].URI != a || got.Sources[2].Kind != "native" || got.Seed != "42" {
		t.Errorf("store of three sources, two seeded 42: %+v", got)
	}
	// The fingerprint is the content's, whatever the order of the loads.
	other := open(t, ":memory:", engine.Options{})
	load(other, c)
	load(other, a)
	load(other, b)
	if fp := info(other).Fingerprint; fp != got.Fingerprint {
		t.Errorf("fingerprint depends on load order: %s, then %s", got.Fingerprint, fp)
	}

	load(e, seeded(t, 10, `"7"`))
	if got := info(e); got.Seed != "" {
		t.Errorf("a store with seeds 42 and 7 reports seed %q, want none", got.Seed)
	}
}
