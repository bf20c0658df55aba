package reliability_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/scheduler"
	"github.com/hourglass-dev/hourglass/timerange"
)

const rollupName = "hits_hourly"

// remoteFixture is projecttest.LegacyYAML deployed into a fresh database of the shared server.
type remoteFixture struct {
	t     *testing.T
	root  *testing.T
	e     engine.Engine
	db    string
	a     *pipes.Artifacts
	store *meta.Store
	clock func() time.Time
}

func newRemote(t *testing.T) *remoteFixture {
	t.Helper()
	e := shared.NeedRemote(t)
	db := enginetest.TempDatabase(t, e)
	pf := projecttest.Deploy(t, e, projecttest.FromYAML(t, projecttest.LegacyYAML, db))
	f := &remoteFixture{t: t, root: t, e: e, db: db, a: pf.A, clock: func() time.Time { return day(20, 0) }}
	f.store = meta.New(e, db, f.now)
	return f
}

func (f *remoteFixture) now() time.Time { return f.clock() }

func (f *remoteFixture) runner(hooks populate.Hooks, events func(populate.Event)) *populate.Runner {
	return populate.New(f.e, f.store, f.a, populate.Options{Now: f.now, Hooks: hooks, Events: events})
}

// insert adds one hit every step (a multiple of 10s) over [from, to), shaped by seed. The hits
// of a batch fall at seed mod 10 seconds past a multiple of 10 seconds, so batches of distinct
// seeds never share a timestamp and argMax has no ties to break differently.
func (f *remoteFixture) insert(from, to time.Time, step time.Duration, seed int) {
	f.t.Helper()
	n := int(to.Sub(from) / step)
	enginetest.MustExec(f.t, f.e, fmt.Sprintf(`INSERT INTO %s.hits SELECT toDateTime(%d + %d + number * %d), concat('site', toString(cityHash64(number, %d) %% 3)),
        concat('u', toString(cityHash64(number, %d, 1) %% 700)), concat('/p', toString(cityHash64(number, %d, 2) %% 17)) FROM system.numbers LIMIT %d`,
		f.db, from.Unix(), seed%10, int(step.Seconds()), seed, seed, seed, n))
}

func (f *remoteFixture) exact(rg timerange.Range) { requireExact(f.t, f.e, f.a, rollupName, rg) }

func (f *remoteFixture) perDay(rg timerange.Range) map[string]string {
	return byDay(metrics(f.t, f.e, f.a, rollupName, pipes.SideRollup, "hour", rg))
}

// restart brings the killed server back and reopens the fixture's engine and store on it.
func (f *remoteFixture) restart() {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := shared.Server.Restart(ctx); err != nil {
		f.t.Fatalf("restart clickhouse-server: %v", err)
	}
	e, err := engine.Open(ctx, shared.Server.DSN)
	if err != nil {
		f.t.Fatalf("reopen: %v", err)
	}
	f.root.Cleanup(func() { e.Close() })
	f.e = e
	f.store = meta.New(e, f.db, f.now)
}

// statusOf returns the run log's status of each unit of run, by day.
func statusOf(units []meta.Unit, run string) map[string]string {
	out := map[string]string{}
	for _, u := range units {
		if u.RunID == run {
			out[u.Start.Format(time.DateOnly)] = u.Status
		}
	}
	return out
}

// The server dies (SIGKILL) between a unit's staging and its swap, and once between two units:
// the run fails with one line, the partition being swapped keeps its old content, no unit of
// the killed run is recorded done, and after a restart --resume leaves the rollup exact.
func TestRemoteServerKilledMidBackfill(t *testing.T) {
	f := newRemote(t)
	ctx := context.Background()
	rg := timerange.Range{Start: day(1, 0), End: day(6, 0)}
	f.insert(rg.Start, rg.End, 40*time.Second, 1)
	if _, err := f.runner(populate.Hooks{}, nil).Backfill(ctx, rollupName, rg, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	old := f.perDay(rg)
	f.insert(rg.Start, rg.End, 50*time.Second, 2) // the raw table moves on: a recompute changes every day

	t.Run("between stage and swap", func(t *testing.T) {
		f.t = t
		calls := 0
		rep, err := f.runner(populate.Hooks{AfterStage: func(ctx context.Context, u populate.Unit) error {
			if calls++; calls == 3 {
				shared.Server.Kill()
			}
			return nil
		}}, nil).Backfill(ctx, rollupName, rg, populate.BackfillOptions{})
		requireOneLine(t, err, "hits_hourly 2026-11-03", "swap partition")
		t.Logf("killed run: %v", err)
		f.restart()
		now := f.perDay(rg)
		for _, d := range []string{"2026-11-03", "2026-11-04", "2026-11-05"} {
			if now[d] != old[d] {
				t.Fatalf("day %s changed although its swap never ran:\nnow %s\nold %s", d, now[d], old[d])
			}
		}
		for d, st := range statusOf(history(t, f.store, rollupName, rg), rep.RunID) {
			if st == meta.StatusDone {
				t.Fatalf("unit %s of the killed run is recorded done: its replaced parts were never purged", d)
			}
		}
		res, err := f.runner(populate.Hooks{}, nil).Backfill(ctx, rollupName, rg, populate.BackfillOptions{Resume: true})
		if err != nil {
			t.Fatalf("resume: %v", err)
		}
		if res.Done != 5 {
			t.Fatalf("resume report %+v: want every unit of the killed run redone", res)
		}
		f.exact(rg)
		for d, st := range statusOf(history(t, f.store, rollupName, rg), res.RunID) {
			if st != meta.StatusDone {
				t.Fatalf("resumed unit %s is %s", d, st)
			}
		}
	})

	t.Run("between units", func(t *testing.T) {
		f.t = t
		old = f.perDay(rg)
		f.insert(rg.Start, rg.End, 90*time.Second, 3)
		events := func(ev populate.Event) {
			if ev.Kind == populate.EventDone && ev.Unit.PartitionID == "20261102" {
				shared.Server.Kill()
			}
		}
		rep, err := f.runner(populate.Hooks{}, events).Backfill(ctx, rollupName, rg, populate.BackfillOptions{})
		requireOneLine(t, err, "hits_hourly")
		t.Logf("killed run: %v", err)
		f.restart()
		now := f.perDay(rg)
		for _, d := range []string{"2026-11-03", "2026-11-04", "2026-11-05"} {
			if now[d] != old[d] {
				t.Fatalf("day %s changed although no unit of it started", d)
			}
		}
		for d, st := range statusOf(history(t, f.store, rollupName, rg), rep.RunID) {
			if st == meta.StatusDone {
				t.Fatalf("unit %s of the killed run is recorded done", d)
			}
		}
		res, err := f.runner(populate.Hooks{}, nil).Backfill(ctx, rollupName, rg, populate.BackfillOptions{Resume: true})
		if err != nil {
			t.Fatalf("resume: %v", err)
		}
		f.exact(rg)
		t.Logf("resume: %d done, %d skipped", res.Done, res.Skipped)
	})
}

// The server dies in the middle of the hourly populate: the tick fails with one line, the next
// tick after the restart catches up every hour, exact. Then the same through the scheduler:
// the server dies during a tick and comes back; the scheduler's retry finishes the tick.
func TestRemoteServerKilledMidPopulate(t *testing.T) {
	f := newRemote(t)
	ctx := context.Background()
	f.insert(day(1, 0), day(8, 0), 40*time.Second, 4)
	f.clock = func() time.Time { return day(3, 0).Add(5 * time.Minute) }
	if _, err := f.runner(populate.Hooks{}, nil).Backfill(ctx, rollupName, timerange.Range{Start: day(1, 0), End: day(3, 0)}, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	f.clock = func() time.Time { return day(5, 0).Add(5 * time.Minute) }
	calls := 0
	reps, err := f.runner(populate.Hooks{AfterStage: func(ctx context.Context, u populate.Unit) error {
		if calls++; calls == 2 {
			shared.Server.Kill()
		}
		return nil
	}}, nil).Populate(ctx, []string{rollupName})
	requireOneLine(t, err, "hits_hourly 2026-11-03", "swap partition")
	killedRun := reps[0].RunID
	f.restart()
	if w, _, _ := f.store.Watermark(ctx, rollupName); !w.Equal(day(3, 0)) {
		t.Fatalf("watermark moved to %v by a failed tick", w)
	}
	reps, err = f.runner(populate.Hooks{}, nil).Populate(ctx, []string{rollupName})
	if err != nil {
		t.Fatalf("next tick: %v", err)
	}
	if !reps[0].Watermark.Equal(day(5, 0)) {
		t.Fatalf("watermark after the next tick = %v", reps[0].Watermark)
	}
	f.exact(timerange.Range{Start: day(1, 0), End: day(5, 0)})
	all := timerange.Range{Start: day(1, 0), End: day(8, 0)}
	if st := statusOf(history(t, f.store, rollupName, all), killedRun); st["2026-11-03"] == meta.StatusDone || st["2026-11-04"] == meta.StatusDone {
		t.Fatalf("killed tick's units = %v, want none done", st)
	}
	if st := statusOf(history(t, f.store, rollupName, all), reps[0].RunID); st["2026-11-03"] != meta.StatusDone || st["2026-11-04"] != meta.StatusDone {
		t.Fatalf("catch-up tick's units = %v, want done", st)
	}

	t.Run("scheduler retries", func(t *testing.T) {
		f.t = t
		clock := scheduler.OffsetClock(day(7, 0).Add(5 * time.Minute))
		f.clock = clock.Now
		restarted := make(chan error, 1)
		kills := 0
		runner := f.runner(populate.Hooks{AfterStage: func(ctx context.Context, u populate.Unit) error {
			if kills++; kills == 1 {
				shared.Server.Kill()
				go func() {
					rctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
					defer cancel()
					restarted <- shared.Server.Restart(rctx)
				}()
			}
			return nil
		}}, nil)
		var rollups []*datasources.Rollup
		for _, ra := range f.a.Rollups {
			rollups = append(rollups, ra.Rollup)
		}
		s, err := scheduler.New(scheduler.Options{Runner: runner, Store: f.store, Rollups: rollups, Clock: clock, Holder: "reliability",
			Retry: scheduler.RetryPolicy{Initial: 500 * time.Millisecond, Max: 4 * time.Second, Jitter: -1, Window: 50 * time.Minute}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Tick(ctx, day(7, 0).Add(5*time.Minute)); err != nil {
			t.Fatalf("tick with a server crash and restart inside it: %v", err)
		}
		if err := <-restarted; err != nil {
			t.Fatal(err)
		}
		if kills < 2 {
			t.Fatalf("no unit ran after the crash (%d stage calls)", kills)
		}
		f.exact(timerange.Range{Start: day(1, 0), End: day(7, 0)})
		var failed, done int
		for _, u := range history(t, f.store, rollupName, all) {
			if u.Kind != populate.KindPopulate || !strings.HasPrefix(u.RunID, "20261107") {
				continue
			}
			switch u.Status {
			case meta.StatusDone:
				done++
			default:
				failed++
			}
		}
		if failed == 0 || done == 0 {
			t.Fatalf("run log since day 5: %d units not done, %d done; want the crashed attempt and its retry", failed, done)
		}
	})
}

// Errors during a unit that leave the server up: a query killed with KILL QUERY, a memory
// limit, a connection closed under the unit. Each fails the unit with one line, keeps the
// partition whole (old or new, never a mix), leaves no staging table, and the retry succeeds.
func TestRemoteUnitErrorsFailCleanly(t *testing.T) {
	f := newRemote(t)
	ctx := context.Background()
	rg := timerange.Range{Start: day(1, 0), End: day(4, 0)}
	f.insert(rg.Start, rg.End, 30*time.Second, 5)
	if _, err := f.runner(populate.Hooks{}, nil).Backfill(ctx, rollupName, rg, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	noStaging := func(t *testing.T) {
		t.Helper()
		r := enginetest.MustQuery(t, f.e, "SELECT count() FROM system.tables WHERE database = {db:String} AND name LIKE '%stg%'", engine.Params{"db": f.db})
		if r.Row()[0] != uint64(0) {
			t.Fatalf("%v staging tables left behind", r.Row()[0])
		}
	}
	retry := func(t *testing.T) {
		t.Helper()
		if _, err := f.runner(populate.Hooks{}, nil).Backfill(ctx, rollupName, rg, populate.BackfillOptions{}); err != nil {
			t.Fatalf("retry: %v", err)
		}
		f.exact(rg)
	}

	t.Run("KILL QUERY", func(t *testing.T) {
		f.t = t
		f.insert(rg.Start, rg.End, 60*time.Second, 6)
		old := f.perDay(rg)
		// Make the recompute slow: the raw table becomes a view that sleeps on every row.
		enginetest.MustExec(t, f.e,
			fmt.Sprintf("RENAME TABLE %[1]s.hits TO %[1]s.hits_data", f.db),
			fmt.Sprintf("CREATE VIEW %[1]s.hits AS SELECT * FROM %[1]s.hits_data WHERE sleepEachRow(0.0001) = 0", f.db))
		restored := false
		restore := func() {
			if !restored {
				restored = true
				enginetest.MustExec(t, f.e, fmt.Sprintf("DROP TABLE %s.hits", f.db), fmt.Sprintf("RENAME TABLE %[1]s.hits_data TO %[1]s.hits", f.db))
			}
		}
		defer restore()
		killer, err := engine.Open(ctx, shared.Server.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer killer.Close()
		killed := make(chan string, 1)
		go func() {
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) {
				r, err := killer.Query(ctx, "SELECT query_id FROM system.processes WHERE startsWith(query, 'INSERT') AND position(query, {db:String}) > 0 AND position(query, 'stg') > 0", engine.Params{"db": f.db})
				if err == nil && len(r.Rows) > 0 {
					id := r.Row()[0].(string)
					err = killer.Exec(ctx, "KILL QUERY WHERE query_id = {id:String} SYNC", engine.Params{"id": id})
					if err != nil {
						killed <- "kill: " + err.Error()
					} else {
						killed <- id
					}
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			killed <- "no recompute seen"
		}()
		_, err = f.runner(populate.Hooks{}, nil).Backfill(ctx, rollupName, rg, populate.BackfillOptions{})
		t.Logf("killed query %s: %v", <-killed, err)
		requireOneLine(t, err, "recompute")
		var ce *engine.Error
		if !errors.As(err, &ce) || ce.Code != engine.CodeQueryWasCancelled {
			t.Errorf("error %v: want ClickHouse code %d", err, engine.CodeQueryWasCancelled)
		}
		restore()
		if swapped, kept := requireWholePartitions(t, f.e, f.a, rollupName, rg, old); kept == 0 {
			t.Fatalf("the killed unit's partition changed (%d swapped, %d kept)", swapped, kept)
		}
		noStaging(t)
		retry(t)
	})

	t.Run("memory limit", func(t *testing.T) {
		f.t = t
		f.insert(rg.Start, rg.End, 70*time.Second, 7)
		old := f.perDay(rg)
		low, err := engine.Open(ctx, shared.Server.DSN+"?max_memory_usage=6000000")
		if err != nil {
			t.Fatal(err)
		}
		defer low.Close()
		enginetest.MustExec(t, f.e, fmt.Sprintf(`INSERT INTO %s.hits SELECT toDateTime('2026-11-02 10:00:00') + number %% 3600, 'site_big', concat('big', toString(number)), '/x'
            FROM system.numbers LIMIT 300000`, f.db))
		runner := populate.New(low, f.store, f.a, populate.Options{Now: f.now})
		_, err = runner.Backfill(ctx, rollupName, rg, populate.BackfillOptions{})
		t.Logf("memory-limited run: %v", err)
		requireOneLine(t, err, "Memory limit")
		var ce *engine.Error
		if !errors.As(err, &ce) || ce.Code != engine.CodeMemoryLimit {
			t.Errorf("error %v: want ClickHouse code %d", err, engine.CodeMemoryLimit)
		}
		requireWholePartitions(t, f.e, f.a, rollupName, rg, old)
		noStaging(t)
		retry(t)
	})

	t.Run("connection closed between stage and swap", func(t *testing.T) {
		f.t = t
		f.insert(rg.Start, rg.End, 80*time.Second, 8)
		old := f.perDay(rg)
		calls := 0
		_, err := f.runner(populate.Hooks{AfterStage: func(ctx context.Context, u populate.Unit) error {
			if calls++; calls == 2 {
				shared.Server.Kill()
			}
			return nil
		}}, nil).Backfill(ctx, rollupName, rg, populate.BackfillOptions{})
		t.Logf("connection lost: %v", err)
		requireOneLine(t, err, "hits_hourly 2026-11-02", "swap partition")
		f.restart()
		if now := f.perDay(rg); now["2026-11-02"] != old["2026-11-02"] || now["2026-11-03"] != old["2026-11-03"] {
			t.Fatal("a partition whose swap never ran changed")
		}
		// The staging table of the unit cut off is left on the server; the next run of the
		// unit replaces it (clear staging) and its own run drops it.
		retry(t)
		r := enginetest.MustQuery(t, f.e, "SELECT groupArray(name) FROM system.tables WHERE database = {db:String} AND name LIKE '%stg%'", engine.Params{"db": f.db})
		t.Logf("staging tables after the retry: %v", r.Row()[0])
	})
}
