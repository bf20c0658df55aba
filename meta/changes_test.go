package meta_test

import (
	"context"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/meta"
)

func TestChangesSinceEmbedded(t *testing.T) { changesSince(t, shared.NeedEmbedded(t)) }
func TestChangesSinceRemote(t *testing.T)   { changesSince(t, shared.NeedRemote(t)) }

// changesSince checks that a reader learns, from the run log alone, whether a version was
// written after the point it read, and from which hour: another version's units do not count.
func changesSince(t *testing.T, e engine.Engine) {
	ctx := context.Background()
	s := meta.New(e, enginetest.TempDatabase(t, e), nil)
	if err := s.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	record := func(table string, d int) {
		t.Helper()
		if err := s.RecordUnit(ctx, meta.Unit{RunID: "r", Rollup: table, Kind: "populate", Start: day(d), End: day(d + 1), Status: meta.StatusDone}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.ChangesSince(ctx, "events_hourly_v2", 0)
	if err != nil || c.Any || c.Seq != 0 {
		t.Fatalf("empty run log: %+v %v", c, err)
	}
	record("events_hourly_v2", 10)
	record("events_hourly_v2", 7)
	c, err = s.ChangesSince(ctx, "events_hourly_v2", 0)
	if err != nil || !c.Any || !c.Since.Equal(day(7)) || c.Seq == 0 {
		t.Fatalf("two units: %+v %v, want changes since day 7", c, err)
	}
	point := c.Seq
	record("events_hourly", 3) // another version
	if c, err = s.ChangesSince(ctx, "events_hourly_v2", point); err != nil || c.Any || c.Seq != point {
		t.Fatalf("after another version's unit: %+v %v, want no change", c, err)
	}
	record("events_hourly_v2", 12)
	if c, err = s.ChangesSince(ctx, "events_hourly_v2", point); err != nil || !c.Any || !c.Since.Equal(day(12)) || c.Seq <= point {
		t.Fatalf("a later unit: %+v %v, want changes since day 12", c, err)
	}
}
