package golden

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// RenderDOT renders a Graphviz DOT graph as SVG with dot, failing t when Graphviz rejects it
// or prints a warning. CI installs Graphviz; elsewhere the test is skipped without it.
func RenderDOT(t testing.TB, dot string) string {
	t.Helper()
	path, err := exec.LookPath("dot")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("Graphviz is missing in CI: .ci/run installs it")
		}
		t.Skip("Graphviz (dot) is not installed: apt-get install graphviz")
	}
	cmd := exec.Command(path, "-Tsvg")
	cmd.Stdin = strings.NewReader(dot)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	svg, err := cmd.Output()
	if err != nil || stderr.Len() > 0 || !bytes.Contains(svg, []byte("<svg")) {
		t.Fatalf("dot -Tsvg: %v: %s\n%s", err, stderr.String(), dot)
	}
	return string(svg)
}
