package scheduler_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
)

// A unit that failed after its swap leaves its partition suspect (a restart could double it):
// /healthz answers 503 naming the rollup, the partition and the command, and /metrics counts it
// in hourglass_suspect_partitions, for as long as ticks fail; the next tick that runs redoes the
// partition first, and health comes back.
func TestSuspectPartitionsMakeHealthRed(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	f.InsertEvents(day(3, 0), day(5, 6), 3000, 5)
	f.backfill(timerange.Range{Start: day(3, 0), End: day(5, 0)}, overview)
	_, err := f.runner(populate.Hooks{Step: func(_ context.Context, s populate.Step, u populate.Unit) error {
		if s == populate.StepSwapped && u.PartitionID == "20261103" {
			return errors.New("injected: purge impossible")
		}
		return nil
	}}).Backfill(ctx, overview, timerange.Range{Start: day(3, 0), End: day(5, 0)}, populate.BackfillOptions{Batch: 1}) // one partition in doubt, not its group
	if err == nil || !strings.Contains(err.Error(), "purge impossible") {
		t.Fatalf("backfill with a failure after the swap = %v", err)
	}
	f.clock.Set(day(5, 6).Add(5 * time.Minute))
	failing := true
	p := &flaky{r: f.runner(populate.Hooks{}), fail: func(string, int) error {
		if failing {
			return errors.New("injected: engine unavailable")
		}
		return nil
	}}
	s := f.scheduler(p, "solo", overview)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	lbl := `{rollup="` + overview + `"}`
	_ = s.Tick(ctx, f.clock.Now())
	code, body := get(t, srv.URL+"/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "unhealthy "+overview) || !strings.Contains(body, "20261103") ||
		!strings.Contains(body, "hourglass populate "+overview) {
		t.Fatalf("/healthz with a suspect partition = %d %q, want 503 naming the rollup, the partition and the command", code, body)
	}
	if m := parseMetrics(t, getBody(t, srv.URL+"/metrics")); m["hourglass_suspect_partitions"+lbl] != 1 || m["hourglass_healthy"+lbl] != 0 {
		t.Fatalf("metrics with a suspect partition: suspect %v, healthy %v", m["hourglass_suspect_partitions"+lbl], m["hourglass_healthy"+lbl])
	}
	failing = false
	f.clock.Set(day(5, 7).Add(5 * time.Minute))
	if err := s.Tick(ctx, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, srv.URL+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz after the tick redid the partition = %d %q", code, body)
	}
	if m := parseMetrics(t, getBody(t, srv.URL+"/metrics")); m["hourglass_suspect_partitions"+lbl] != 0 || m["hourglass_healthy"+lbl] != 1 {
		t.Fatalf("metrics after recovery: suspect %v, healthy %v", m["hourglass_suspect_partitions"+lbl], m["hourglass_healthy"+lbl])
	}
	f.RequireExact(overview, timerange.Range{Start: day(3, 0), End: day(5, 7)})
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	_, body := get(t, url)
	return body
}
