package populate_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
)

var shared enginetest.Shared

func TestMain(m *testing.M) {
	os.Exit(enginetest.Main(m, &shared, enginetest.Options{Server: true}))
}

// fixture is the default project deployed into a fresh database of the embedded engine.
type fixture struct {
	t     *testing.T
	e     engine.Engine
	db    string
	a     *pipes.Artifacts
	store *meta.Store
	clock time.Time
}

func day(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }

func newFixture(t *testing.T) *fixture {
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
	f := &fixture{t: t, e: e, db: db, a: a, clock: day(10, 0)}
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

func (f *fixture) now() time.Time { return f.clock }

func (f *fixture) runner(hooks populate.Hooks) *populate.Runner {
	return populate.New(f.e, f.store, f.a, populate.Options{Now: f.now, Hooks: hooks})
}

// insertEvents adds n events spread evenly over [from, to), deterministically by seed.
func (f *fixture) insertEvents(from, to time.Time, n int, seed int) {
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

func (f *fixture) insertSessions(from, to time.Time, n int) {
	f.t.Helper()
	step := to.Sub(from).Seconds() / float64(n)
	enginetest.MustExec(f.t, f.e, fmt.Sprintf(`INSERT INTO %s.sessions (session_start, session_id, user_id, workspace_id, project_id, campaign_id, environment,
    device_type, country, is_returning, duration, event_count)
SELECT toDateTime(%d + intDiv(number * %d, 1000), 'UTC'), concat('s', toString(number)), concat('u', toString(number %% 97)), 'w1', 'p1',
    concat('c', toString(number %% 3)), 'prod', ['desktop','mobile'][1 + number %% 2], ['DE','US'][1 + number %% 2],
    number %% 3 = 0, number %% 11, 1 + number %% 5
FROM numbers(%d)`, f.db, from.Unix(), int64(step*1000), n))
}

var approx = cmpopts.EquateApprox(0, 1e-9)

// metrics returns every metric of a rollup per hour and per dimension over rg, from side.
func (f *fixture) metrics(rollup string, side pipes.Side, rg timerange.Range) [][]any {
	f.t.Helper()
	ra := f.a.Rollup(rollup)
	var dims []string
	for _, d := range ra.Rollup.Dimensions {
		dims = append(dims, d.Name)
	}
	q, err := pipes.MetricsQuery(f.a.Project, ra.Rollup, side, "hour", dims, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return enginetest.MustQuery(f.t, f.e, q, engine.Params{"start": rg.Start, "end": rg.End}).Rows
}

// requireExact fails unless every metric of the rollup equals raw over rg, per hour and
// dimension.
func (f *fixture) requireExact(rollup string, rg timerange.Range) {
	f.t.Helper()
	raw, rolled := f.metrics(rollup, pipes.SideRaw, rg), f.metrics(rollup, pipes.SideRollup, rg)
	if len(raw) == 0 {
		f.t.Fatalf("%s: no raw rows in %s: the test checks nothing", rollup, rg)
	}
	if diff := cmp.Diff(raw, rolled, approx); diff != "" {
		f.t.Fatalf("%s over %s: rollup differs from raw (-raw +rollup):\n%s", rollup, rg, diff)
	}
}

// snapshot is the rollup's stored content, states included, in a canonical order.
func (f *fixture) snapshot(rollup string) string {
	f.t.Helper()
	r := enginetest.MustQuery(f.t, f.e, fmt.Sprintf("SELECT count(), sum(cityHash64(*)) FROM %s.%s", f.db, rollup), nil)
	return fmt.Sprint(r.Rows)
}

func (f *fixture) rollupRows(rollup string, rg timerange.Range) uint64 {
	r := enginetest.MustQuery(f.t, f.e, fmt.Sprintf("SELECT count() FROM %s.%s WHERE hour >= {start:DateTime} AND hour < {end:DateTime}", f.db, rollup),
		engine.Params{"start": rg.Start, "end": rg.End})
	return r.Row()[0].(uint64)
}

func TestBackfillThreeTimesIsIdenticalAndExact(t *testing.T) {
	f := newFixture(t)
	f.insertEvents(day(1, 0), day(4, 0), 30000, 1)
	f.insertSessions(day(1, 0), day(4, 0), 5000)
	rg := timerange.Range{Start: day(1, 0), End: day(4, 0)}
	ctx := context.Background()
	var first map[string]string
	for i := 0; i < 3; i++ {
		snaps := map[string]string{}
		for _, ra := range f.a.Rollups {
			rep, err := f.runner(populate.Hooks{}).Backfill(ctx, ra.Rollup.Name, rg, populate.BackfillOptions{Parallel: 2})
			if err != nil {
				t.Fatalf("backfill %s #%d: %v", ra.Rollup.Name, i+1, err)
			}
			if rep.Units != 3 || rep.Done != 3 || rep.RowsWritten == 0 || !rep.Watermark.Equal(day(4, 0)) {
				t.Fatalf("backfill %s #%d report = %+v", ra.Rollup.Name, i+1, rep)
			}
			snaps[ra.Rollup.Name] = f.snapshot(ra.Rollup.Name)
		}
		if i == 0 {
			first = snaps
		} else if diff := cmp.Diff(first, snaps); diff != "" {
			t.Fatalf("backfill #%d changed the rollups (-first +now):\n%s", i+1, diff)
		}
	}
	for _, ra := range f.a.Rollups {
		f.requireExact(ra.Rollup.Name, rg)
	}
	// Multi-day totals (distinct counts merged across hours and days) equal raw too.
	ra := f.a.Rollup("events_hourly")
	qRaw, _ := pipes.MetricsQuery(f.a.Project, ra.Rollup, pipes.SideRaw, "", nil, nil)
	qRollup, _ := pipes.MetricsQuery(f.a.Project, ra.Rollup, pipes.SideRollup, "", nil, nil)
	p := engine.Params{"start": rg.Start, "end": rg.End}
	if diff := cmp.Diff(enginetest.MustQuery(t, f.e, qRaw, p).Rows, enginetest.MustQuery(t, f.e, qRollup, p).Rows, approx); diff != "" {
		t.Fatalf("3-day totals differ (-raw +rollup):\n%s", diff)
	}
}

func TestInterruptedBackfillResumesExactly(t *testing.T) {
	f := newFixture(t)
	f.insertEvents(day(1, 0), day(5, 0), 20000, 2)
	rg := timerange.Range{Start: day(1, 0), End: day(5, 0)}
	ctx := context.Background()
	boom := errors.New("injected crash between staging and swap")
	calls := 0
	_, err := f.runner(populate.Hooks{AfterStage: func(ctx context.Context, u populate.Unit) error {
		calls++
		if calls == 3 {
			return boom
		}
		return nil
	}}).Backfill(ctx, "events_hourly", rg, populate.BackfillOptions{})
	if !errors.Is(err, boom) {
		t.Fatalf("backfill error = %v, want the injected failure", err)
	}
	if n := f.rollupRows("events_hourly", timerange.Range{Start: day(3, 0), End: day(5, 0)}); n != 0 {
		t.Fatalf("a failed unit left %d rows behind", n)
	}
	// Staging tables of the failed unit are gone.
	r := enginetest.MustQuery(t, f.e, "SELECT count() FROM system.tables WHERE database = {db:String} AND name LIKE '%__stg_%'", engine.Params{"db": f.db})
	if r.Row()[0] != uint64(0) {
		t.Fatalf("%v staging tables left behind", r.Row()[0])
	}
	// Cancelled between units: the unit in progress finishes, no new one starts.
	cctx, cancel := context.WithCancel(ctx)
	runner := populate.New(f.e, f.store, f.a, populate.Options{Now: f.now, Events: func(ev populate.Event) {
		if ev.Kind == populate.EventDone {
			cancel()
		}
	}})
	_, err = runner.Backfill(cctx, "events_hourly", rg, populate.BackfillOptions{Resume: true})
	var ie *populate.InterruptedError
	if !errors.As(err, &ie) || ie.Report.Done != 1 || ie.Report.Skipped != 2 {
		t.Fatalf("interrupted backfill = %v (%+v)", err, ie)
	}
	rep, err := f.runner(populate.Hooks{}).Backfill(ctx, "events_hourly", rg, populate.BackfillOptions{Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Skipped != 3 || rep.Done != 1 {
		t.Fatalf("resume report = %+v, want 3 skipped and 1 done", rep)
	}
	f.requireExact("events_hourly", rg)
}

func TestHalfOpenBoundariesAndEmptyDays(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	enginetest.MustExec(t, f.e, fmt.Sprintf(`INSERT INTO %s.events (timestamp, workspace_id, session_id, user_id) VALUES
        ('2026-11-02 10:59:59', 'w', 's1', 'u1'), ('2026-11-02 11:00:00', 'w', 's2', 'u2'), ('2026-11-02 11:59:59', 'w', 's3', 'u3'),
        ('2026-11-03 05:00:00', 'w', 's4', 'u4')`, f.db))
	rg := timerange.Range{Start: day(2, 0), End: day(4, 0)}
	if _, err := f.runner(populate.Hooks{}).Backfill(ctx, "events_overview_hourly", rg, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	r := enginetest.MustQuery(t, f.e, fmt.Sprintf("SELECT hour, sum(event_count) FROM %s.events_overview_hourly GROUP BY hour ORDER BY hour", f.db), nil)
	want := [][]any{{day(2, 10), uint64(1)}, {day(2, 11), uint64(2)}, {day(3, 5), uint64(1)}}
	if diff := cmp.Diff(want, r.Rows); diff != "" {
		t.Fatalf("hours (-want +got):\n%s", diff)
	}
	// The raw rows of day 3 disappear: a recompute leaves no rows for that day.
	enginetest.MustExec(t, f.e, fmt.Sprintf("ALTER TABLE %s.events DELETE WHERE toDate(timestamp) = '2026-11-03' SETTINGS mutations_sync = 2", f.db))
	if _, err := f.runner(populate.Hooks{}).Backfill(ctx, "events_overview_hourly", rg, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := f.rollupRows("events_overview_hourly", timerange.Range{Start: day(3, 0), End: day(4, 0)}); n != 0 {
		t.Fatalf("empty day kept %d rollup rows", n)
	}
	f.requireExact("events_overview_hourly", timerange.Range{Start: day(2, 0), End: day(3, 0)})
}

func TestLateEventsLookbackAndReconcile(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.insertEvents(day(1, 0), day(3, 0), 10000, 3)
	f.clock = day(3, 0).Add(5 * time.Minute)
	if _, err := f.runner(populate.Hooks{}).Backfill(ctx, "events_hourly", timerange.Range{Start: day(1, 0), End: day(3, 0)}, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	// Hour 02:00 of day 3 passes; late events arrive for 23:00 of day 2 (inside the 2 h lookback)
	// and for 10:00 of day 1 (long past it).
	f.insertEvents(day(3, 0), day(3, 2), 500, 4)
	f.insertEvents(day(2, 23), day(2, 23).Add(30*time.Minute), 40, 5)
	f.insertEvents(day(1, 10), day(1, 11), 25, 6)
	f.clock = day(3, 2).Add(5 * time.Minute)
	reps, err := f.runner(populate.Hooks{}).Populate(ctx, []string{"events_hourly"})
	if err != nil {
		t.Fatal(err)
	}
	if w := reps[0].Watermark; !w.Equal(day(3, 2)) {
		t.Fatalf("watermark = %v, want %v", w, day(3, 2))
	}
	f.requireExact("events_hourly", timerange.Range{Start: day(2, 0), End: day(3, 2)})

	rec, err := f.runner(populate.Hooks{}).Reconcile(ctx, "events_hourly", timerange.Range{Start: day(1, 0), End: day(3, 2)}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Drifted) != 1 || rec.Drifted[0].PartitionID != "20261101" || rec.Drifted[0].RawRows-rec.Drifted[0].RollupRows != 25 {
		t.Fatalf("reconcile = %+v, want day 1 drifted by 25 rows", rec)
	}
	rec, err = f.runner(populate.Hooks{}).Reconcile(ctx, "events_hourly", timerange.Range{Start: day(1, 0), End: day(3, 2)}, true)
	if err != nil || rec.Repaired == nil || rec.Repaired.Done != 1 {
		t.Fatalf("repair = %+v, %v", rec, err)
	}
	f.requireExact("events_hourly", timerange.Range{Start: day(1, 0), End: day(3, 2)})
	rec, err = f.runner(populate.Hooks{}).Reconcile(ctx, "events_hourly", timerange.Range{Start: day(1, 0), End: day(3, 2)}, false)
	if err != nil || len(rec.Drifted) != 0 {
		t.Fatalf("after repair reconcile = %+v, %v", rec, err)
	}
}

func TestHourlyPopulateWithOutage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	start := day(5, 0)
	f.insertEvents(start.Add(-24*time.Hour), start, 2000, 7)
	f.clock = start.Add(5 * time.Minute)
	if _, err := f.runner(populate.Hooks{}).Backfill(ctx, "events_overview_hourly", timerange.Range{Start: start.Add(-24 * time.Hour), End: start}, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	for h := 0; h < 48; h++ {
		hour := start.Add(time.Duration(h) * time.Hour)
		f.insertEvents(hour, hour.Add(time.Hour), 100+h, 100+h)
		f.clock = hour.Add(time.Hour + 5*time.Minute) // the :05 tick after the hour closes
		if h >= 20 && h < 25 {
			continue // the job is down for 5 ticks
		}
		if _, err := f.runner(populate.Hooks{}).Populate(ctx, []string{"events_overview_hourly"}); err != nil {
			t.Fatalf("tick %d: %v", h, err)
		}
	}
	all := timerange.Range{Start: start.Add(-24 * time.Hour), End: start.Add(48 * time.Hour)}
	f.requireExact("events_overview_hourly", all)
	// Every hour is there exactly once: the per-hour count equals raw for all 72 hours.
	r := enginetest.MustQuery(t, f.e, fmt.Sprintf("SELECT count() FROM (SELECT hour FROM %s.events_overview_hourly GROUP BY hour)", f.db), nil)
	if r.Row()[0] != uint64(72) {
		t.Fatalf("rollup holds %v distinct hours, want 72", r.Row()[0])
	}
	w, _, _ := f.store.Watermark(ctx, "events_overview_hourly")
	if !w.Equal(all.End) {
		t.Fatalf("watermark = %v, want %v", w, all.End)
	}
}

func TestRefusals(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.runner(populate.Hooks{}).Populate(ctx, []string{"events_hourly"})
	if err == nil || !strings.Contains(err.Error(), "hourglass backfill events_hourly") {
		t.Errorf("populate before backfill = %v", err)
	}
	_, err = f.runner(populate.Hooks{}).Backfill(ctx, "nope", timerange.Range{Start: day(1, 0), End: day(2, 0)}, populate.BackfillOptions{})
	if err == nil || !strings.Contains(err.Error(), "unknown rollup") {
		t.Errorf("unknown rollup = %v", err)
	}
	if err := f.store.RecordDeployment(ctx, meta.Deployment{Object: "events_hourly", Kind: "rollup", Version: 1, Table: "events_hourly", Hash: "old"}); err != nil {
		t.Fatal(err)
	}
	_, err = f.runner(populate.Hooks{}).Backfill(ctx, "events_hourly", timerange.Range{Start: day(1, 0), End: day(2, 0)}, populate.BackfillOptions{})
	if err == nil || !strings.Contains(err.Error(), "run hourglass deploy") {
		t.Errorf("hash mismatch = %v", err)
	}
}

// The interrupt must stop the run after the unit in progress every time, not most of the time.
func TestInterruptStopsAfterCurrentUnitAlways(t *testing.T) {
	f := newFixture(t)
	f.insertEvents(day(1, 0), day(7, 0), 3000, 9)
	rg := timerange.Range{Start: day(1, 0), End: day(7, 0)}
	for i := 0; i < 5; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		runner := populate.New(f.e, f.store, f.a, populate.Options{Now: f.now, Events: func(ev populate.Event) {
			if ev.Kind == populate.EventDone {
				cancel()
			}
		}})
		_, err := runner.Backfill(ctx, "events_overview_hourly", rg, populate.BackfillOptions{})
		var ie *populate.InterruptedError
		if !errors.As(err, &ie) || ie.Report.Done != 1 {
			t.Fatalf("attempt %d: %v (%+v), want exactly one unit done", i, err, ie)
		}
		cancel()
	}
}
