package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"mlprov/prune"
)

// postAdvise posts body to POST /api/v1/advise with the headers given as name, value pairs.
func postAdvise(t *testing.T, url, body string, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", url+"/api/v1/advise", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAdvise asks about a Trainer the store holds, and one starting later: the answer is, byte
// for byte, what mlprov advise --json prints, which is prune.Advise's answer indented.
func TestAdvise(t *testing.T) {
	e, s := generatedServer(t)
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	ctx := context.Background()
	var pipeline int64
	var start string
	if err := e.DB().QueryRow(`SELECT pipeline_id, strftime(trainer_start, '%Y-%m-%dT%H:%M:%S.%fZ') FROM graphlets
		WHERE trainer_start IS NOT NULL ORDER BY pipeline_id DESC, trainer_start DESC LIMIT 1`).Scan(&pipeline, &start); err != nil {
		t.Fatal(err)
	}
	m, err := prune.Latest(ctx, e.DB())
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []string{start, "2024-12-01 00:00:00"} {
		when, err := prune.ParseTime(at)
		if err != nil {
			t.Fatal(err)
		}
		a, err := prune.Advise(ctx, e.DB(), m, pipeline, when)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(a); err != nil {
			t.Fatal(err)
		}
		code, got := postAdvise(t, hs.URL, fmt.Sprintf(`{"pipeline_id": %d, "at": %q}`, pipeline, at), "Content-Type", "application/json")
		if code != 200 || got != want.String() {
			t.Errorf("advise pipeline %d at %s: %d\n%s\nwant 200\n%s", pipeline, at, code, got, want.String())
		}
	}
	if code, got := postAdvise(t, hs.URL, fmt.Sprintf(`{"pipeline_id": %d}`, pipeline), "Content-Type", "application/json"); code != 200 || !strings.Contains(got, `"decision"`) {
		t.Errorf("advise without at (now): %d %s", code, got)
	}
	for _, c := range []struct {
		body, ct string
		status   int
		says     string
	}{
		{`{"pipeline_id": 1}`, "text/plain", 415, "want application/json"},
		{`{"at": "2024-01-01"}`, "application/json", 400, "pipeline_id is missing"},
		{`{"pipeline_id": "x"}`, "application/json", 400, "pipeline_id"},
		{`{"pipeline_id": 1, "at": "yesterday"}`, "application/json", 400, `at \"yesterday\": not a time`},
		{`{"pipeline_id": 1, "when": "2024-01-01"}`, "application/json", 400, `unknown field \"when\"`},
		{`{"pipeline_id": 424242}`, "application/json", 404, "no pipeline 424242"},
	} {
		code, got := postAdvise(t, hs.URL, c.body, "Content-Type", c.ct)
		if code != c.status || !strings.Contains(got, c.says) {
			t.Errorf("advise %s (%s): %d %s; want %d saying %q", c.body, c.ct, code, got, c.status, c.says)
		}
	}
}

// TestAdviseRefuses checks that advise wants the token when the server has one, and says to
// run the pruning study on a store that keeps no model.
func TestAdviseRefuses(t *testing.T) {
	e, _, base := loadedServer(t, Options{Token: "sesame"})
	body := fmt.Sprintf(`{"pipeline_id": %d}`, count(t, e, "SELECT min(pipeline_id) FROM pipelines"))
	if code, got := postAdvise(t, base, body, "Content-Type", "application/json"); code != 401 {
		t.Errorf("advise without the token: %d %s; want 401", code, got)
	}
	code, got := postAdvise(t, base, body, "Content-Type", "application/json", "Authorization", "Bearer sesame")
	if code != 409 || !strings.Contains(got, "the store keeps no pruning model") || !strings.Contains(got, "mlprov prune") {
		t.Errorf("advise on a store without a model: %d %s; want 409 saying to run mlprov prune", code, got)
	}
}
