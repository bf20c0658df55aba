package populate_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
)

var shared enginetest.Shared

func TestMain(m *testing.M) {
	os.Exit(enginetest.Main(m, &shared, enginetest.Options{Server: true}))
}

// fixture is the default project deployed in a database of its own (see projecttest).
type fixture struct{ *projecttest.Fixture }

func newFixture(t *testing.T) *fixture { return &fixture{projecttest.New(t, shared.NeedEmbedded(t))} }

func day(d, h int) time.Time { return projecttest.Day(d, h) }

func (f *fixture) runner(hooks populate.Hooks) *populate.Runner {
	return populate.New(f.E, f.Store, f.A, populate.Options{Now: f.Now, Hooks: hooks})
}

// snapshot is the rollup's stored content, states included, in a canonical order.
func (f *fixture) snapshot(rollup string) string {
	f.T.Helper()
	r := enginetest.MustQuery(f.T, f.E, fmt.Sprintf("SELECT count(), sum(cityHash64(*)) FROM %s.%s", f.DB, rollup), nil)
	return fmt.Sprint(r.Rows)
}

func (f *fixture) rollupRows(rollup string, rg timerange.Range) uint64 {
	r := enginetest.MustQuery(f.T, f.E, fmt.Sprintf("SELECT count() FROM %s.%s WHERE hour >= {start:DateTime} AND hour < {end:DateTime}", f.DB, rollup),
		engine.Params{"start": rg.Start, "end": rg.End})
	return r.Row()[0].(uint64)
}

func TestBackfillThreeTimesIsIdenticalAndExact(t *testing.T) {
	f := newFixture(t)
	f.InsertEvents(day(1, 0), day(4, 0), 30000, 1)
	f.InsertSessions(day(1, 0), day(4, 0), 5000)
	rg := timerange.Range{Start: day(1, 0), End: day(4, 0)}
	ctx := context.Background()
	var first map[string]string
	for i := 0; i < 3; i++ {
		snaps := map[string]string{}
		for _, ra := range f.A.Rollups {
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
	for _, ra := range f.A.Rollups {
		f.RequireExact(ra.Rollup.Name, rg)
	}
	// Multi-day totals (distinct counts merged across hours and days) equal raw too.
	ra := f.A.Rollup("events_hourly")
	qRaw, _ := pipes.MetricsQuery(f.A.Project, ra.Rollup, pipes.SideRaw, "", nil, nil)
	qRollup, _ := pipes.MetricsQuery(f.A.Project, ra.Rollup, pipes.SideRollup, "", nil, nil)
	p := engine.Params{"start": rg.Start, "end": rg.End}
	if diff := cmp.Diff(enginetest.MustQuery(t, f.E, qRaw, p).Rows, enginetest.MustQuery(t, f.E, qRollup, p).Rows, projecttest.Approx); diff != "" {
		t.Fatalf("3-day totals differ (-raw +rollup):\n%s", diff)
	}
}

// One partition per INSERT (Batch 1), so that the failure and the interruption fall between
// single units.
func TestInterruptedBackfillResumesExactly(t *testing.T) {
	f := newFixture(t)
	f.InsertEvents(day(1, 0), day(5, 0), 20000, 2)
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
	}}).Backfill(ctx, "events_hourly", rg, populate.BackfillOptions{Batch: 1})
	if !errors.Is(err, boom) {
		t.Fatalf("backfill error = %v, want the injected failure", err)
	}
	if n := f.rollupRows("events_hourly", timerange.Range{Start: day(3, 0), End: day(5, 0)}); n != 0 {
		t.Fatalf("a failed unit left %d rows behind", n)
	}
	// Staging tables of the failed unit are gone.
	r := enginetest.MustQuery(t, f.E, "SELECT count() FROM system.tables WHERE database = {db:String} AND name LIKE '%__stg_%'", engine.Params{"db": f.DB})
	if r.Row()[0] != uint64(0) {
		t.Fatalf("%v staging tables left behind", r.Row()[0])
	}
	// Cancelled between units: the unit in progress finishes, no new one starts.
	cctx, cancel := context.WithCancel(ctx)
	runner := populate.New(f.E, f.Store, f.A, populate.Options{Now: f.Now, Events: func(ev populate.Event) {
		if ev.Kind == populate.EventDone {
			cancel()
		}
	}})
	_, err = runner.Backfill(cctx, "events_hourly", rg, populate.BackfillOptions{Resume: true, Batch: 1})
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
	f.RequireExact("events_hourly", rg)
}

func TestHalfOpenBoundariesAndEmptyDays(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	enginetest.MustExec(t, f.E, fmt.Sprintf(`INSERT INTO %s.events (timestamp, workspace_id, session_id, user_id) VALUES
        ('2026-11-02 10:59:59', 'w', 's1', 'u1'), ('2026-11-02 11:00:00', 'w', 's2', 'u2'), ('2026-11-02 11:59:59', 'w', 's3', 'u3'),
        ('2026-11-03 05:00:00', 'w', 's4', 'u4')`, f.DB))
	rg := timerange.Range{Start: day(2, 0), End: day(4, 0)}
	if _, err := f.runner(populate.Hooks{}).Backfill(ctx, "events_overview_hourly", rg, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	r := enginetest.MustQuery(t, f.E, fmt.Sprintf("SELECT hour, sum(event_count) FROM %s.events_overview_hourly GROUP BY hour ORDER BY hour", f.DB), nil)
	want := [][]any{{day(2, 10), uint64(1)}, {day(2, 11), uint64(2)}, {day(3, 5), uint64(1)}}
	if diff := cmp.Diff(want, r.Rows); diff != "" {
		t.Fatalf("hours (-want +got):\n%s", diff)
	}
	// The raw rows of day 3 disappear: a recompute leaves no rows for that day.
	enginetest.MustExec(t, f.E, fmt.Sprintf("ALTER TABLE %s.events DELETE WHERE toDate(timestamp) = '2026-11-03' SETTINGS mutations_sync = 2", f.DB))
	if _, err := f.runner(populate.Hooks{}).Backfill(ctx, "events_overview_hourly", rg, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := f.rollupRows("events_overview_hourly", timerange.Range{Start: day(3, 0), End: day(4, 0)}); n != 0 {
		t.Fatalf("empty day kept %d rollup rows", n)
	}
	f.RequireExact("events_overview_hourly", timerange.Range{Start: day(2, 0), End: day(3, 0)})
}

func TestLateEventsLookbackAndReconcile(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.InsertEvents(day(1, 0), day(3, 0), 10000, 3)
	f.Clock = day(3, 0).Add(5 * time.Minute)
	if _, err := f.runner(populate.Hooks{}).Backfill(ctx, "events_hourly", timerange.Range{Start: day(1, 0), End: day(3, 0)}, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	// Hour 02:00 of day 3 passes; late events arrive for 23:00 of day 2 (inside the 2 h lookback)
	// and for 10:00 of day 1 (long past it).
	f.InsertEvents(day(3, 0), day(3, 2), 500, 4)
	f.InsertEvents(day(2, 23), day(2, 23).Add(30*time.Minute), 40, 5)
	f.InsertEvents(day(1, 10), day(1, 11), 25, 6)
	f.Clock = day(3, 2).Add(5 * time.Minute)
	reps, err := f.runner(populate.Hooks{}).Populate(ctx, []string{"events_hourly"})
	if err != nil {
		t.Fatal(err)
	}
	if w := reps[0].Watermark; !w.Equal(day(3, 2)) {
		t.Fatalf("watermark = %v, want %v", w, day(3, 2))
	}
	f.RequireExact("events_hourly", timerange.Range{Start: day(2, 0), End: day(3, 2)})

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
	f.RequireExact("events_hourly", timerange.Range{Start: day(1, 0), End: day(3, 2)})
	rec, err = f.runner(populate.Hooks{}).Reconcile(ctx, "events_hourly", timerange.Range{Start: day(1, 0), End: day(3, 2)}, false)
	if err != nil || len(rec.Drifted) != 0 {
		t.Fatalf("after repair reconcile = %+v, %v", rec, err)
	}
}

func TestHourlyPopulateWithOutage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	start := day(5, 0)
	f.InsertEvents(start.Add(-24*time.Hour), start, 2000, 7)
	f.Clock = start.Add(5 * time.Minute)
	if _, err := f.runner(populate.Hooks{}).Backfill(ctx, "events_overview_hourly", timerange.Range{Start: start.Add(-24 * time.Hour), End: start}, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	for h := 0; h < 48; h++ {
		hour := start.Add(time.Duration(h) * time.Hour)
		f.InsertEvents(hour, hour.Add(time.Hour), 100+h, 100+h)
		f.Clock = hour.Add(time.Hour + 5*time.Minute) // the :05 tick after the hour closes
		if h >= 20 && h < 25 {
			continue // the job is down for 5 ticks
		}
		if _, err := f.runner(populate.Hooks{}).Populate(ctx, []string{"events_overview_hourly"}); err != nil {
			t.Fatalf("tick %d: %v", h, err)
		}
	}
	all := timerange.Range{Start: start.Add(-24 * time.Hour), End: start.Add(48 * time.Hour)}
	f.RequireExact("events_overview_hourly", all)
	// Every hour is there exactly once: the per-hour count equals raw for all 72 hours.
	r := enginetest.MustQuery(t, f.E, fmt.Sprintf("SELECT count() FROM (SELECT hour FROM %s.events_overview_hourly GROUP BY hour)", f.DB), nil)
	if r.Row()[0] != uint64(72) {
		t.Fatalf("rollup holds %v distinct hours, want 72", r.Row()[0])
	}
	w, _, _ := f.Store.Watermark(ctx, "events_overview_hourly")
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
	if err := f.Store.RecordDeployment(ctx, meta.Deployment{Object: "events_hourly", Kind: "rollup", Version: 1, Table: "events_hourly", Hash: "old"}); err != nil {
		t.Fatal(err)
	}
	_, err = f.runner(populate.Hooks{}).Backfill(ctx, "events_hourly", timerange.Range{Start: day(1, 0), End: day(2, 0)}, populate.BackfillOptions{})
	if err == nil || !strings.Contains(err.Error(), "run hourglass deploy") {
		t.Errorf("hash mismatch = %v", err)
	}
}

// The interrupt must stop the run after the unit in progress every time, not most of the time
// (one unit a group: an interrupt lets the group in flight finish).
func TestInterruptStopsAfterCurrentUnitAlways(t *testing.T) {
	f := newFixture(t)
	f.InsertEvents(day(1, 0), day(7, 0), 3000, 9)
	rg := timerange.Range{Start: day(1, 0), End: day(7, 0)}
	for i := 0; i < 5; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		runner := populate.New(f.E, f.Store, f.A, populate.Options{Now: f.Now, Events: func(ev populate.Event) {
			if ev.Kind == populate.EventDone {
				cancel()
			}
		}})
		_, err := runner.Backfill(ctx, "events_overview_hourly", rg, populate.BackfillOptions{Batch: 1})
		var ie *populate.InterruptedError
		if !errors.As(err, &ie) || ie.Report.Done != 1 {
			t.Fatalf("attempt %d: %v, want exactly one unit done", i, err)
		}
		cancel()
	}
}

// A staging table left by a killed run is dropped by the next run: at once when the run's
// lease says it is dead, and whatever the lease says once it is older than a unit could ever
// take; a fresh one of a run whose lease is alive (a concurrent run) is left alone.
func TestStaleStagingIsDropped(t *testing.T) {
	f := newFixture(t)
	f.InsertEvents(day(1, 0), day(2, 0), 500, 1)
	ra := f.A.Rollup("events_overview_hourly")
	u := populate.Unit{PartitionID: "20261101"}
	old := populate.StagingName(ra, u, "20261101T000000-old", time.Now().Add(-7*time.Hour))
	dead := populate.StagingName(ra, u, "20261101T000000-dead", time.Now().Add(-time.Minute))
	fresh := populate.StagingName(ra, u, "20261101T000000-live", time.Now().Add(-time.Minute))
	ctx := context.Background()
	l, err := f.Store.TakeRunLease(ctx, ra.Table, "20261101T000000-dead", time.Minute)
	if err == nil {
		err = f.Store.ReleaseRunLease(ctx, l)
	}
	if err == nil {
		_, err = f.Store.TakeRunLease(ctx, ra.Table, "20261101T000000-live", time.Minute)
	}
	if err != nil {
		t.Fatal(err)
	}
	enginetest.MustExec(t, f.E, ra.CreateStagingNamed(old), ra.CreateStagingNamed(dead), ra.CreateStagingNamed(fresh))
	if _, err := f.runner(populate.Hooks{}).Backfill(context.Background(), "events_overview_hourly", timerange.Range{Start: day(1, 0), End: day(2, 0)}, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	r := enginetest.MustQuery(t, f.E, "SELECT groupArray(name) FROM system.tables WHERE database = {db:String} AND startsWith(name, {p:String})", engine.Params{"db": f.DB, "p": ra.StagingPrefix()})
	if got := fmt.Sprint(r.Row()[0]); got != "["+fresh+"]" {
		t.Fatalf("staging tables after the run = %s, want only %s", got, fresh)
	}
}

// stagingInserts counts the INSERTs that recompute staging tables from raw rows, and the most
// of them running at once, on the real engine it wraps.
type stagingInserts struct {
	engine.Engine
	prefix      string
	n, now, top atomic.Int64
}

func (s *stagingInserts) Query(ctx context.Context, q string, p engine.Params) (*engine.Result, error) {
	if strings.HasPrefix(q, "INSERT INTO "+s.prefix) {
		s.n.Add(1)
		n := s.now.Add(1)
		defer s.now.Add(-1)
		for top := s.top.Load(); n > top && !s.top.CompareAndSwap(top, n); top = s.top.Load() {
		}
	}
	return s.Engine.Query(ctx, q, p)
}

// A group of partitions swapped in together is filled by INSERTs bounded by the rows they
// stage (memory), not by the group. On an empty rollup the first group is a single partition
// (nothing tells its size) and the rest one group; over history the rollup holds already, its
// partitions size the first group, and with a bound below an hour's rows the whole range is
// one group of an INSERT an hour, two at once. The rollup is exact and identical after both.
func TestLargeGroupsStageInBoundedInserts(t *testing.T) {
	f := newFixture(t)
	rg := timerange.Range{Start: day(1, 0), End: day(12, 0)}
	f.InsertEvents(rg.Start, rg.End, 40000, 1)
	ctx := context.Background()
	ra := f.A.Rollup("events_hourly")
	counted := &stagingInserts{Engine: f.E, prefix: "`" + f.DB + "`.`" + ra.StagingPrefix()}
	var groups []int // units per group: a group's units are all started before it runs
	prev := populate.EventKind("")
	backfill := func(rows uint64) *populate.Report {
		t.Helper()
		groups, prev = nil, ""
		counted.n.Store(0)
		r := populate.New(counted, f.Store, f.A, populate.Options{Now: f.Now, GroupRows: rows, Events: func(ev populate.Event) {
			if ev.Kind == populate.EventStarted {
				if prev != populate.EventStarted {
					groups = append(groups, 0)
				}
				groups[len(groups)-1]++
			}
			prev = ev.Kind
		}})
		rep, err := r.Backfill(ctx, ra.Rollup.Name, rg, populate.BackfillOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	rep := backfill(0)
	if n := rep.Units; n < 5 || rep.Done != n || fmt.Sprint(groups) != fmt.Sprint([]int{1, n - 1}) {
		t.Fatalf("backfill on an empty rollup: %d of %d units done, groups %v; want groups [1 %d]", rep.Done, n, groups, n-1)
	}
	want := f.snapshot(ra.Rollup.Name)
	rep = backfill(1)
	hours := int64(rep.Watermark.Sub(rg.Start) / time.Hour)
	if n := rep.Units; rep.Done != n || counted.n.Load() != hours || counted.top.Load() != 2 || fmt.Sprint(groups) != fmt.Sprint([]int{n}) {
		t.Fatalf("backfill over its history: %d of %d units done, %d staging INSERTs (at most %d at once), groups %v; want an INSERT an hour (%d), two at once, in one group",
			rep.Done, n, counted.n.Load(), counted.top.Load(), groups, hours)
	}
	if got := f.snapshot(ra.Rollup.Name); got != want {
		t.Fatalf("rollup after the bounded INSERTs %s, after the default backfill %s", got, want)
	}
	f.RequireExact(ra.Rollup.Name, timerange.Range{Start: rg.Start, End: rep.Watermark})
}

// Ctrl-C after the last group finished: every unit is durable, so the run ends as finished,
// with the watermark recorded, instead of failing on the cancelled context.
func TestInterruptAfterTheLastGroupFinishes(t *testing.T) {
	f := newFixture(t)
	rg := timerange.Range{Start: day(1, 0), End: day(4, 0)}
	f.InsertEvents(rg.Start, rg.End, 3000, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := 0
	runner := populate.New(f.E, f.Store, f.A, populate.Options{Now: f.Now, Events: func(ev populate.Event) {
		if ev.Kind == populate.EventDone {
			if done++; done == 3 {
				cancel()
			}
		}
	}})
	rep, err := runner.Backfill(ctx, "events_overview_hourly", rg, populate.BackfillOptions{})
	if err != nil || rep.Done != 3 || !rep.Watermark.Equal(rg.End) {
		t.Fatalf("backfill interrupted after its last unit: %v, report %+v; want it finished with the watermark at %s", err, rep, rg.End)
	}
	w, ok, err := f.Store.Watermark(context.Background(), f.A.Rollup("events_overview_hourly").Table)
	if err != nil || !ok || !w.Equal(rg.End) {
		t.Fatalf("recorded watermark %s (%v, %v), want %s", w, ok, err, rg.End)
	}
	f.RequireExact("events_overview_hourly", rg)
}

// TestGrainLaidOutByAnOlderHourglass: a week grain an older hourglass partitioned by month
// cannot take the swap of a week: the unit fails — its partition is named suspect, never left
// silently stale — with one line saying to run hourglass deploy, which lays the table out
// again.
func TestGrainLaidOutByAnOlderHourglass(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	rg := timerange.Range{Start: day(1, 0), End: day(3, 0)}
	f.InsertEvents(rg.Start, rg.End, 2000, 1)
	ra := f.A.Rollup("events_overview_hourly")
	week := ra.Grains[1]
	stmts := week.CreateFilled()
	stmts[1] = strings.Replace(stmts[1], "PARTITION BY toMonday(`hour`)", "PARTITION BY toYYYYMM(`hour`)", 1)
	enginetest.MustExec(t, f.E, "DROP TABLE `"+f.DB+"`.`"+week.Table+"`")
	enginetest.MustExec(t, f.E, stmts...)
	_, err := f.runner(populate.Hooks{}).Backfill(ctx, ra.Rollup.Name, rg, populate.BackfillOptions{})
	want := week.Table + " is partitioned by toYYYYMM(hour), this hourglass partitions it by toMonday(hour): run hourglass deploy, which lays it out again"
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("backfill into a week grain partitioned by month: %v\nwant one line containing %q", err, want)
	}
	sus, err := f.Store.Suspect(ctx, ra.Table)
	if err != nil || len(sus) == 0 {
		t.Fatalf("after the failed swap of the week grain: suspect %v, %v; want the swapped partitions named", sus, err)
	}
}

// periodsDiffering counts the periods (days or ISO weeks: period is the SQL of a period's
// start from a time) where a grain table's events and unique users differ from the raw events'
// — SQL written here, from the raw table — and the periods the raw table has.
func periodsDiffering(t *testing.T, f *fixture, grain, period string, rg timerange.Range) (differ, periods uint64) {
	t.Helper()
	r := enginetest.MustQuery(t, f.E, fmt.Sprintf(`
SELECT countIf(g.c != r.c OR g.u != r.u), count()
FROM (SELECT %[3]s AS p, sum(event_count) AS c, uniqCombinedMerge(14)(unique_users) AS u FROM %[1]s.%[2]s GROUP BY p) AS g
FULL OUTER JOIN (SELECT %[4]s AS p, count() AS c, uniqCombined(14)(user_id) AS u FROM %[1]s.events
                 WHERE timestamp >= {from:DateTime} AND timestamp < {to:DateTime} GROUP BY p) AS r
USING p`, f.DB, grain, strings.ReplaceAll(period, "$t", "hour"), strings.ReplaceAll(period, "$t", "timestamp")),
		engine.Params{"from": rg.Start, "to": rg.End})
	d, _ := engine.Uint(r.Rows[0][0])
	n, _ := engine.Uint(r.Rows[0][1])
	return d, n
}

// requireGrainsExact checks the rollup's day and week grains against the raw events over the
// periods rg covers whole (periodsDiffering).
func requireGrainsExact(t *testing.T, f *fixture, ra *pipes.RollupArtifacts, rg timerange.Range) {
	t.Helper()
	for _, g := range []struct {
		table, period string
		whole         timerange.Range
	}{
		{ra.Grains[0].Table, "toStartOfDay($t)", ra.Grains[0].WholePeriods(rg)},
		{ra.Grains[1].Table, "toMonday($t)", ra.Grains[1].WholePeriods(rg)},
	} {
		if differ, periods := periodsDiffering(t, f, g.table, g.period, g.whole); periods < 2 || differ != 0 {
			t.Errorf("%s: %d of %d periods differ from the raw events", g.table, differ, periods)
		}
	}
}

// A group whose INSERTs stage two partitions or more runs two of them at once, each over half
// the partitions, and its grains are merged again by two INSERTs at once from the staging
// table while the partitions are swapped in. Backfilled twice — the second time over the
// history the first wrote, after late rows arrived — the rollup's day and week grains give,
// day by day and week by week, the events and unique users the raw table gives (SQL written
// here).
func TestGroupsStageTwoInsertsAtOnceAndTheGrainsFollow(t *testing.T) {
	f := newFixture(t)
	rg := timerange.Range{Start: day(2, 0), End: day(16, 0)}
	f.Clock = day(19, 0).Add(23 * time.Minute)
	f.InsertEvents(rg.Start.Add(-3*24*time.Hour), f.Clock, 20000, 1)
	ctx := context.Background()
	ra := f.A.Rollup("events_overview_hourly")
	counted := &stagingInserts{Engine: f.E, prefix: "`" + f.DB + "`.`" + ra.StagingPrefix()}
	var rows uint64 // a bound on the rows an INSERT stages of about 3 days
	for i := range 2 {
		if i == 1 {
			// Late rows over the history the first backfill wrote: the grains must be merged
			// again from the new hours, not from those the swaps replace.
			f.InsertEvents(rg.Start.Add(30*time.Minute), rg.End, 3000, 2)
		}
		r := populate.New(counted, f.Store, f.A, populate.Options{Now: f.Now, GroupRows: rows})
		rep, err := r.Backfill(ctx, ra.Rollup.Name, rg, populate.BackfillOptions{})
		if err != nil || rep.Done != rep.Units {
			t.Fatalf("backfill %d: %v, report %+v", i+1, err, rep)
		}
		rows = 3 * rep.RowsWritten / uint64(rep.Units)
	}
	if top := counted.top.Load(); top != 2 {
		t.Errorf("at most %d staging INSERTs ran at once, want 2", top)
	}
	requireGrainsExact(t, f, ra, rg)
	f.RequireExact(ra.Rollup.Name, rg)
}

// Groups of two days running four at once share the weeks of the day grain and of the week
// grain: each group's rebuild holds a derived table from its INSERT (which carries the other
// groups' days) to its swaps, and they take the tables in one order. Over history that holds
// data already, after late rows, the backfill ends (no group waits on another for ever) and
// the grains give the raw events' counts and unique users, day by day and week by week (SQL
// written here).
func TestParallelGroupsSharingWeeksKeepTheGrainsExact(t *testing.T) {
	f := newFixture(t)
	rg := timerange.Range{Start: day(2, 0), End: day(16, 0)}
	f.Clock = day(19, 0).Add(41 * time.Minute)
	f.InsertEvents(rg.Start.Add(-2*24*time.Hour), f.Clock, 15000, 1)
	ctx := context.Background()
	ra := f.A.Rollup("events_overview_hourly")
	f.Backfill(ra.Rollup.Name, rg)
	f.InsertEvents(rg.Start.Add(20*time.Minute), rg.End, 2000, 3)
	rep, err := f.runner(populate.Hooks{}).Backfill(ctx, ra.Rollup.Name, rg, populate.BackfillOptions{Parallel: 4, Batch: 2})
	if err != nil || rep.Done != rep.Units {
		t.Fatalf("backfill: %v, %d of %d units done", err, rep.Done, rep.Units)
	}
	requireGrainsExact(t, f, ra, rg)
	f.RequireExact(ra.Rollup.Name, rg)
}
