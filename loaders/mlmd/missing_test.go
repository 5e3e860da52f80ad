package mlmd

import (
	"strings"
	"testing"

	"mlprov/internal/storetest"
)

// TestMissingTable checks the error of a store that has MLMDEnv but lacks a table mlprov
// needs: it names the table, and does not claim MLMDEnv is missing.
func TestMissingTable(t *testing.T) {
	path := buildStore(t, 10, func(w *Writer) { tfxIR(w); w.Exec("DROP TABLE Event") })
	_, err := load(t, storetest.Open(t), &Loader{}, path)
	if err == nil {
		t.Fatal("load succeeded")
	}
	if want := "metadata.sqlite: not an MLMD store: table Event is missing"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}
