package meta_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/timerange"
)

func TestCoverageEmbedded(t *testing.T) { coverage(t, shared.NeedEmbedded(t)) }
func TestCoverageRemote(t *testing.T)   { coverage(t, shared.NeedRemote(t)) }

// coverage: the run log of a version table read back as the hours it holds — later units
// win per partition, a unit left started is pending, gaps show, other tables and hashes do
// not count.
func coverage(t *testing.T, e engine.Engine) {
	ctx := context.Background()
	s := meta.New(e, enginetest.TempDatabase(t, e), nil)
	if err := s.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	d := func(day, h int) time.Time { return time.Date(2026, 11, day, h, 0, 0, 0, time.UTC) }
	c, err := s.Coverage(ctx, "events_hourly_v2", "")
	if err != nil || len(c.Done) != 0 || c.HasWatermark || !c.Through(d(5, 0)).Empty() || !c.First().IsZero() {
		t.Fatalf("empty coverage = %+v, %v", c, err)
	}
	rec := func(run, table, hash string, start, end time.Time, status string) {
		t.Helper()
		if err := s.RecordUnit(ctx, meta.Unit{RunID: run, Rollup: table, Hash: hash, Kind: "backfill", Start: start, End: end, Status: status}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []struct {
		run, table, hash string
		start, end       time.Time
		status           string
	}{
		{"r1", "events_hourly_v2", "h", d(1, 0), d(2, 0), meta.StatusStarted},
		{"r1", "events_hourly_v2", "h", d(1, 0), d(2, 0), meta.StatusDone},
		{"r1", "events_hourly_v2", "h", d(2, 0), d(3, 0), meta.StatusDone},
		{"r1", "events_hourly_v2", "h", d(4, 0), d(5, 0), meta.StatusDone},
		// A later populate recomputed day 4 up to 10:00 only: the swap left only those hours.
		{"r2", "events_hourly_v2", "h", d(4, 0), d(4, 10), meta.StatusStarted},
		{"r2", "events_hourly_v2", "h", d(4, 0), d(4, 10), meta.StatusDone},
		// A re-backfill of day 2 killed after it started: pending.
		{"r3", "events_hourly_v2", "h", d(2, 0), d(3, 0), meta.StatusStarted},
		// A failed unit neither covers nor is pending.
		{"r3", "events_hourly_v2", "h", d(7, 0), d(8, 0), meta.StatusFailed},
		// Other tables and other definitions do not count.
		{"r4", "events_hourly", "h", d(3, 0), d(4, 0), meta.StatusDone},
		{"r5", "events_hourly_v2", "old", d(3, 0), d(4, 0), meta.StatusDone},
	} {
		rec(u.run, u.table, u.hash, u.start, u.end, u.status)
	}
	if err := s.SetWatermark(ctx, "events_hourly_v2", d(4, 10)); err != nil {
		t.Fatal(err)
	}
	c, err = s.Coverage(ctx, "events_hourly_v2", "h")
	if err != nil {
		t.Fatal(err)
	}
	str := func(rs []timerange.Range) string { return fmt.Sprint(rs) }
	if got := str(c.Done); got != "[[2026-11-01 00:00:00, 2026-11-03 00:00:00) [2026-11-04 00:00:00, 2026-11-04 10:00:00)]" {
		t.Errorf("done = %s", got)
	}
	if got := str(c.Pending); got != "[[2026-11-02 00:00:00, 2026-11-03 00:00:00)]" {
		t.Errorf("pending = %s", got)
	}
	if !c.HasWatermark || !c.Watermark.Equal(d(4, 10)) || !c.First().Equal(d(1, 0)) {
		t.Errorf("watermark %v %v, first %v", c.Watermark, c.HasWatermark, c.First())
	}
	if got := c.Through(c.Watermark).String(); got != "[2026-11-04 00:00:00, 2026-11-04 10:00:00)" {
		t.Errorf("through the watermark = %s", got)
	}
	if got := c.Through(d(4, 6)).String(); got != "[2026-11-04 00:00:00, 2026-11-04 06:00:00)" {
		t.Errorf("through 04 06:00 = %s", got)
	}
	if got := str(c.Gaps(d(4, 0))); got != "[[2026-11-03 00:00:00, 2026-11-04 00:00:00)]" {
		t.Errorf("gaps = %s", got)
	}
	// Without the hash filter, the other definition's day 3 closes the gap.
	c, err = s.Coverage(ctx, "events_hourly_v2", "")
	if err != nil || str(c.Done) != "[[2026-11-01 00:00:00, 2026-11-04 10:00:00)]" {
		t.Errorf("any hash: %v, %v", c, err)
	}
}
