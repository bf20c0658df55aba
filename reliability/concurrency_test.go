package reliability_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/scheduler"
	"github.com/hourglass-dev/hourglass/timerange"
)

// embeddedFixture is the default project deployed into a fresh database of the shared
// embedded engine.
type embeddedFixture struct {
	t     *testing.T
	e     engine.Engine
	db    string
	a     *pipes.Artifacts
	store *meta.Store
	clock time.Time
}

func newEmbedded(t *testing.T) *embeddedFixture {
	t.Helper()
	e := shared.NeedEmbedded(t)
	db := enginetest.TempDatabase(t, e)
	fs := fstest.MapFS{}
	for path, b := range datasources.Scaffold() {
		fs[path] = &fstest.MapFile{Data: b}
	}
	def, err := datasources.Load(fs)
	if err != nil {
		t.Fatal(err)
	}
	def.Database = db
	a, err := pipes.Compile(def)
	if err != nil {
		t.Fatal(err)
	}
	f := &embeddedFixture{t: t, e: e, db: db, a: a, clock: day(10, 0)}
	f.store = meta.New(e, db, f.now)
	ctx := context.Background()
	if err := f.store.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	for _, d := range a.Datasources {
		enginetest.MustExec(t, e, d.CreateTable)
	}
	for _, r := range a.Rollups {
		enginetest.MustExec(t, e, r.CreateTable)
		if err := f.store.RecordDeployment(ctx, meta.Deployment{Object: r.Rollup.Name, Kind: "rollup", Version: 1, Table: r.Table, Hash: r.Hash}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *embeddedFixture) now() time.Time { return f.clock }

func (f *embeddedFixture) runner() *populate.Runner {
	return populate.New(f.e, f.store, f.a, populate.Options{Now: f.now})
}

// insertEvents adds n events spread evenly over [from, to), deterministically by seed.
func (f *embeddedFixture) insertEvents(from, to time.Time, n int, seed int) {
	f.t.Helper()
	step := to.Sub(from).Seconds() / float64(n)
	enginetest.MustExec(f.t, f.e, fmt.Sprintf(`INSERT INTO %s.events (timestamp, workspace_id, project_id, campaign_id, environment, event_id, event_type,
    session_id, user_id, device_type, country, city, utm_source, value_usd, time_on_page, is_page_unload)
SELECT toDateTime(%d + intDiv(number * %d, 1000), 'UTC'), concat('w', toString(cityHash64(number, %d) %% 2)), 'p1',
    concat('c', toString(cityHash64(number, %d, 1) %% 5)), 'prod', concat('e', toString(number %% 4)), ['pageview','click','purchase'][1 + number %% 3],
    concat('s', toString(intDiv(number, 4) + %d * 1000000)), concat('u', toString(cityHash64(number, %d, 2) %% 300)),
    ['desktop','mobile'][1 + number %% 2], ['DE','US','FR'][1 + cityHash64(number, 3) %% 3], 'Berlin', 'google',
    (cityHash64(number, %d, 4) %% 10000) / 100.0, cityHash64(number, 5) %% 120, number %% 7 = 0
FROM numbers(%d)`, f.db, from.Unix(), int64(step*1000), seed, seed, seed, seed, seed, n))
}

// rows is the number of rows a rollup holds: a doubled partition shows as more rows than a
// single recompute writes.
func (f *embeddedFixture) rows(rollup string) uint64 {
	r := enginetest.MustQuery(f.t, f.e, fmt.Sprintf("SELECT count() FROM %s.%s", f.db, rollup), nil)
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
	f.insertEvents(all.Start, all.End, 30000, 1)
	f.clock = day(2, 0).Add(5 * time.Minute)
	if _, err := f.runner().Backfill(ctx, rollup, timerange.Range{Start: day(1, 0), End: day(2, 0)}, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	f.clock = day(7, 0).Add(5 * time.Minute)
	var rollups []*datasources.Rollup
	for _, ra := range f.a.Rollups {
		if ra.Rollup.Name == rollup {
			rollups = append(rollups, ra.Rollup)
		}
	}
	s, err := scheduler.New(scheduler.Options{Runner: f.runner(), Store: f.store, Rollups: rollups, Clock: scheduler.OffsetClock(f.clock), Holder: "concurrency"})
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
		func() error { return s.Tick(ctx, f.clock) },
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
	requireExact(t, f.e, f.a, rollup, all)
	got := f.rows(rollup)
	if _, err := f.runner().Backfill(ctx, rollup, all, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	if again := f.rows(rollup); again != got {
		t.Fatalf("the rollup held %d rows after the concurrent runs, %d after one clean backfill", got, again)
	}
	if w, _, _ := f.store.Watermark(ctx, rollup); !w.Equal(day(7, 0)) {
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
		f.insertEvents(all.Start, all.End, 20000, 2)
		overlapping(t, ctx, f.runner(), rollup, all)
		requireExact(t, f.e, f.a, rollup, all)
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
