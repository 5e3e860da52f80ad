package openlineage

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"mlprov/engine"
	"mlprov/internal/storetest"
)

// postAll reads each event of the JSON array at path as posted, and keeps them through a new
// Inbox in batches of
// batch events, one transaction each, in the file's order (most events of the seed share
// one instant, and events of one instant are taken in the order they arrived).
func postAll(tb testing.TB, e *engine.Engine, path string, batch int) {
	tb.Helper()
	var ps []*Posted
	for _, r := range storetest.LogEvents(tb, path) {
		p, err := ReadPosted("event", r)
		if err != nil {
			tb.Fatal(err)
		}
		ps = append(ps, p)
	}
	in, err := OpenInbox(context.Background(), e)
	if err != nil {
		tb.Fatal(err)
	}
	for len(ps) > 0 {
		n := min(batch, len(ps))
		if _, err := in.Keep(context.Background(), ps[:n], time.Now()); err != nil {
			tb.Fatal(err)
		}
		ps = ps[n:]
	}
}

// TestPostedThenResynced posts Marquez's demo seed event by event (in batches) and syncs the source from the kept events: every table is what loading the log
// gives. A second resync changes nothing, and posting the events again keeps none of them.
func TestPostedThenResynced(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(storetest.SharedData(t), "openlineage", "marquez-food-delivery.json")
	whole := trainStore(t)
	loadAll(t, whole, path)
	want := tables(t, whole)

	e := trainStore(t)
	postAll(t, e, path, 7)
	if got := tables(t, e)["executions"]; len(got) != 0 {
		t.Fatalf("kept events made %d executions before a resync", len(got))
	}
	res, err := e.Resync(ctx, &Loader{}, engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.UpToDate || res.Executions == 0 {
		t.Errorf("resync: up to date %v, +%d executions; want the runs added", res.UpToDate, res.Executions)
	}
	got := tables(t, e)
	// The sources and loads tables say where the events came from: a file, or the store.
	for _, k := range []string{"sources", "loads"} {
		delete(got, k)
		delete(want, k)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("posted and resynced: not what loading the log gave (-load +posted):\n%s", diff)
	}
	if res, err := e.Resync(ctx, &Loader{}, engine.LoadOptions{}); err != nil || !res.UpToDate {
		t.Errorf("second resync: up to date %v, err %v; want up to date", res.UpToDate, err)
	}
	before := query(t, e, `SELECT count(*) FROM openlineage_events`)
	postAll(t, e, path, 100)
	if after := query(t, e, `SELECT count(*) FROM openlineage_events`); after != before {
		t.Errorf("posting the events again: kept events %s, want %s", after, before)
	}
	if res, err := e.Resync(ctx, &Loader{}, engine.LoadOptions{}); err != nil || !res.UpToDate {
		t.Errorf("resync after posting the events again: up to date %v, err %v; want up to date", res.UpToDate, err)
	}
	// Loading the log whose events were posted changes nothing either.
	if res := loadAll(t, e, path); !res.UpToDate || res.New {
		t.Errorf("loading the posted log: %+v; want the source up to date", res)
	}
	if after := query(t, e, `SELECT count(*) FROM openlineage_events`); after != before {
		t.Errorf("loading the posted log: kept events %s, want %s", after, before)
	}
}

// TestReadPostedRefuses: a posted body is refused as a load refuses the event, naming the
// field, and a body of two events or none is refused.
func TestReadPostedRefuses(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"eventType":"START","eventTime":"2024-05-01T10:00:00Z","job":{"namespace":"ml","name":"a"},"run":{}}`, "run.runId is missing"},
		{`{"eventType":"START","eventTime":"2024-05-01T10:00:00Z","run":{"runId":"r1"},"job":{"namespace":"ml"}}`, "job.name is missing"},
		{`{"eventType":"START","run":{"runId":"r1"},"job":{"namespace":"ml","name":"a"}}`, "eventTime is missing"},
		{`{"eventType":"START","eventTime":"yesterday","run":{"runId":"r1"},"job":{"namespace":"ml","name":"a"}}`, `eventTime "yesterday" is not an ISO 8601 time`},
		{`{"eventType":"START","eventTime":"2024-05-01T10:00:00Z","run":{"runId":7},"job":{"namespace":"ml","name":"a"}}`, "field run.runId: want a string"},
		{`{"eventType":"START","eventTime":"2024-05-01T10:00:00Z","run":{"runId":"r1"},"job":{"namespace":"ml","name":"a"},"inputs":[{"namespace":"db","name":"t","facets":{"version":{"datasetVersion":[1]}}}]}`, "input 1"},
		{`{"eventType":"START"`, "cut short"},
		{``, "want one OpenLineage event per request, not 0"},
		{`[{"eventTime":"2024-05-01T10:00:00Z","run":{"runId":"r1"},"job":{"name":"a"}},{"eventTime":"2024-05-01T10:00:00Z","run":{"runId":"r2"},"job":{"name":"a"}}]`, "not 2"},
	} {
		_, err := ReadPosted("event", []byte(c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.body, err, c.want)
		}
		if c.body == "" && !errors.Is(err, ErrOneEvent) {
			t.Errorf("an empty body: error %v, want ErrOneEvent", err)
		}
	}
}
