package reliability_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/scheduler"
	"github.com/hourglass-dev/hourglass/timerange"
)

// embeddedFixture is the default project deployed into a fresh database of the shared
// embedded engine (see projecttest).
type embeddedFixture struct{ *projecttest.Fixture }

func newEmbedded(t *testing.T) *embeddedFixture {
	t.Helper()
	return &embeddedFixture{projecttest.New(t, shared.NeedEmbedded(t))}
}

func (f *embeddedFixture) runner() *populate.Runner {
	return populate.New(f.E, f.Store, f.A, populate.Options{Now: f.Now})
}

// rows is the number of rows a rollup holds: a doubled partition shows as more rows than a
// single recompute writes.
func (f *embeddedFixture) rows(rollup string) uint64 {
	r := enginetest.MustQuery(f.T, f.E, fmt.Sprintf("SELECT count() FROM %s.%s", f.DB, rollup), nil)
	return r.Row()[0].(uint64)
}

// A backfill, the hourly populate and a scheduler tick run at once on the same rollup (three
// goroutines, one engine): every metric still equals raw, per hour and dimension, and the
// rollup holds exactly the rows of a single recompute.
func TestBackfillPopulateAndSchedulerAtOnce(t *testing.T) {
	f := newEmbedded(t)
	ctx := context.Background()
	const rollup = "events_overview_hourly"
	all := timerange.Range{Start: day(1, 0), End: day(7, 0)}
	f.InsertEvents(all.Start, all.End, 30000, 1)
	f.Clock = day(2, 0).Add(5 * time.Minute)
	if _, err := f.runner().Backfill(ctx, rollup, timerange.Range{Start: day(1, 0), End: day(2, 0)}, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	f.Clock = day(7, 0).Add(5 * time.Minute)
	var rollups []*datasources.Rollup
	for _, ra := range f.A.Rollups {
		if ra.Rollup.Name == rollup {
			rollups = append(rollups, ra.Rollup)
		}
	}
	s, err := scheduler.New(scheduler.Options{Runner: f.runner(), Store: f.Store, Rollups: rollups, Clock: scheduler.OffsetClock(f.Clock), Holder: "concurrency"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i, run := range []func() error{
		func() error {
			_, err := f.runner().Backfill(ctx, rollup, all, populate.BackfillOptions{Parallel: 2})
			return err
		},
		func() error { _, err := f.runner().Populate(ctx, []string{rollup}); return err },
		func() error { return s.Tick(ctx, f.Clock) },
		func() error {
			_, err := f.runner().Backfill(ctx, rollup, timerange.Range{Start: day(3, 0), End: day(5, 0)}, populate.BackfillOptions{})
			return err
		},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = run()
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	requireExact(t, f.E, f.A, rollup, all)
	got := f.rows(rollup)
	if _, err := f.runner().Backfill(ctx, rollup, all, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	if again := f.rows(rollup); again != got {
		t.Fatalf("the rollup held %d rows after the concurrent runs, %d after one clean backfill", got, again)
	}
	if w, _, _ := f.Store.Watermark(ctx, rollup); !w.Equal(day(7, 0)) {
		t.Fatalf("watermark %v, want %v", w, day(7, 0))
	}
}

// Two backfills of overlapping ranges run at once, each with two workers: the days both cover
// are recomputed twice and swapped twice, never added twice.
func TestOverlappingBackfillsAtOnce(t *testing.T) {
	ctx := context.Background()
	t.Run("embedded", func(t *testing.T) {
		f := newEmbedded(t)
		const rollup = "events_overview_hourly"
		all := timerange.Range{Start: day(1, 0), End: day(8, 0)}
		f.InsertEvents(all.Start, all.End, 20000, 2)
		overlapping(t, ctx, f.runner(), rollup, all)
		requireExact(t, f.E, f.A, rollup, all)
	})
	t.Run("remote", func(t *testing.T) {
		f := newRemote(t)
		all := timerange.Range{Start: day(1, 0), End: day(8, 0)}
		f.insert(all.Start, all.End, 30*time.Second, 1)
		overlapping(t, ctx, f.runner(populate.Hooks{}, nil), rollupName, all)
		f.exact(all)
	})
}

// overlapping runs backfills of [start, start+4d) and [start+2d, end) at once, twice.
func overlapping(t *testing.T, ctx context.Context, r *populate.Runner, rollup string, all timerange.Range) {
	t.Helper()
	a := timerange.Range{Start: all.Start, End: all.Start.Add(96 * time.Hour)}
	b := timerange.Range{Start: all.Start.Add(48 * time.Hour), End: all.End}
	for round := 0; round < 2; round++ {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, rg := range []timerange.Range{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = r.Backfill(ctx, rollup, rg, populate.BackfillOptions{Parallel: 2})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d backfill %d: %v", round, i, err)
			}
		}
	}
}
