package reliability_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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

// project writes the fixture's project to a folder, for the hourglass binary to run against
// the server (--dsn), and returns the flags that name both.
func (f *remoteFixture) project() []string {
	f.t.Helper()
	dir := f.t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hourglass.yaml"), []byte(projecttest.LegacyYAML+"database: "+f.db+"\n"), 0o644); err != nil {
		f.t.Fatal(err)
	}
	return []string{"--project", dir, "--dsn", shared.Server.DSN}
}

// keyRows compares hits_hourly with raw SQL written here over rg, per hour and site: distinct
// users (exact), the last page, and the rollup's rows per hour and site, which must be one (the
// rollup's metrics merge duplicates away, its rows do not). It returns the differences and the
// days holding a key twice.
func (f *remoteFixture) keyRows(rg timerange.Range) (diff string, doubled []string) {
	f.t.Helper()
	p := engine.Params{"start": rg.Start, "end": rg.End}
	raw := enginetest.MustQuery(f.t, f.e, "SELECT toStartOfHour(ts) AS h, site, uniqExact(user_id), argMax(page, ts), toUInt64(1) FROM "+f.db+
		".hits WHERE ts >= {start:DateTime} AND ts < {end:DateTime} GROUP BY h, site ORDER BY h, site", p).Rows
	rolled := enginetest.MustQuery(f.t, f.e, "SELECT hour, site, uniqExactMerge(exact_users), argMaxMerge(last_page), count() FROM "+f.db+
		".hits_hourly WHERE hour >= {start:DateTime} AND hour < {end:DateTime} GROUP BY hour, site ORDER BY hour, site", p).Rows
	if len(raw) == 0 {
		f.t.Fatalf("no raw rows in %s", rg)
	}
	for _, r := range rolled {
		if d := r[0].(time.Time).Format("20060102"); r[4].(uint64) > 1 && !slices.Contains(doubled, d) {
			doubled = append(doubled, d)
		}
	}
	return cmp.Diff(raw, rolled), doubled
}

// status runs hourglass status (JSON) against the server and returns its exit code and the
// suspect partitions it names.
func (f *remoteFixture) status(flags []string) (int, []string) {
	f.t.Helper()
	code, out, errOut := hg(f.t, append(flags, "-o", "json", "status", "--now", f.clock().Format(time.RFC3339))...)
	var rep struct {
		Rollups []struct {
			Suspect []struct {
				PartitionID string `json:"partition_id"`
			} `json:"suspect_partitions"`
		} `json:"rollups"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Rollups) != 1 {
		f.t.Fatalf("status: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	var ids []string
	for _, s := range rep.Rollups[0].Suspect {
		ids = append(ids, s.PartitionID)
	}
	if (code != 0) != (len(ids) > 0) {
		f.t.Fatalf("status exited %d with suspect partitions %v: want exit 1 exactly when some are suspect\n%s", code, ids, errOut)
	}
	return code, ids
}

// The server (ClickHouse 18.16) is SIGKILLed at every step of a backfill's unit and of the
// hourly populate's unit, over partitions that already hold data, and restarted. The server
// reloads the parts a swap replaced when it dies before they are purged — the same root cause
// as on the embedded engine — so status (the binary, against the server) names the partition
// exactly when the unit was left in doubt, and the next populate leaves the rollup equal to raw
// SQL with one row per hour and site.
func TestRemoteServerKilledAtEveryStep(t *testing.T) {
	f := newRemote(t)
	ctx := context.Background()
	rg := timerange.Range{Start: day(1, 0), End: day(6, 0)}
	f.clock = func() time.Time { return rg.End.Add(5 * time.Minute) }
	f.insert(rg.Start, rg.End, 40*time.Second, 1)
	if _, err := f.runner(populate.Hooks{}, nil).Backfill(ctx, rollupName, rg, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	flags := f.project()
	killAt := func(step populate.Step, unit int) populate.Hooks {
		seq := map[string]int{} // unit number (in start order) by partition
		return populate.Hooks{Step: func(_ context.Context, s populate.Step, u populate.Unit) error {
			if s == populate.StepBeforeStage {
				seq[u.PartitionID] = len(seq) + 1
			}
			if seq[u.PartitionID] == unit && s == step {
				shared.Server.Kill()
			}
			return nil
		}}
	}
	for _, command := range []string{"backfill", "populate"} {
		for i, step := range populate.Steps() {
			t.Run(command+"/"+string(step), func(t *testing.T) {
				f.t = t
				var err error
				if command == "backfill" {
					_, err = f.runner(killAt(step, 3), nil).Backfill(ctx, rollupName, rg, populate.BackfillOptions{})
				} else {
					f.insert(rg.End.Add(-time.Hour), rg.End, 60*time.Second, 10+i) // late rows inside the lookback
					_, err = f.runner(killAt(step, 1), nil).PopulateOne(ctx, rollupName)
				}
				requireOneLine(t, err, "hits_hourly", "connection refused")
				f.restart()
				_, suspect := f.status(flags)
				diff, doubled := f.keyRows(rg)
				for _, d := range doubled {
					if !slices.Contains(suspect, d) {
						t.Fatalf("day %s holds keys twice after the restart but status names only %v", d, suspect)
					}
				}
				if inDoubt(step) != (len(suspect) > 0) {
					t.Fatalf("killed at %s: status named %v as suspect", step, suspect)
				}
				if step == populate.StepSwapped && len(doubled) == 0 {
					t.Fatalf("killed right after the swap, the restarted server holds no key twice: the crash did not double anything")
				}
				mustHG(t, append(flags, "populate", "--now", f.clock().Format(time.RFC3339))...)
				if after, _ := f.keyRows(rg); after != "" {
					t.Fatalf("after the next populate the rollup differs from raw (-raw +rollup):\n%s", after)
				}
				if code, ids := f.status(flags); code != 0 {
					t.Fatalf("status after the populate: exit %d, suspect %v", code, ids)
				}
				t.Logf("%s killed at %s: %v; suspect %v, doubled by the restart %v (%d lines of difference); exact after the next populate",
					command, step, err, suspect, doubled, strings.Count(diff, "\n"))
			})
		}
	}
}

// The server dies during a scheduler tick and comes back: the tick's retry (inside the hour)
// finishes it, the rollup is exact and nothing is left suspect.
func TestRemoteServerDiesDuringSchedulerTick(t *testing.T) {
	f := newRemote(t)
	ctx := context.Background()
	f.insert(day(1, 0), day(8, 0), 40*time.Second, 4)
	f.clock = func() time.Time { return day(5, 0).Add(5 * time.Minute) }
	if _, err := f.runner(populate.Hooks{}, nil).Backfill(ctx, rollupName, timerange.Range{Start: day(1, 0), End: day(5, 0)}, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	clock := scheduler.OffsetClock(day(7, 0).Add(5 * time.Minute))
	f.clock = clock.Now
	restarted := make(chan error, 1)
	kills := 0
	runner := f.runner(populate.Hooks{Step: func(ctx context.Context, s populate.Step, u populate.Unit) error {
		if s != populate.StepSwapped {
			return nil
		}
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
		t.Fatalf("no unit swapped after the crash (%d swaps)", kills)
	}
	e, err := engine.Open(ctx, shared.Server.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	f.e, f.store = e, meta.New(e, f.db, f.now)
	all := timerange.Range{Start: day(1, 0), End: day(7, 0)}
	if diff, doubled := f.keyRows(all); diff != "" {
		t.Fatalf("after the tick (doubled %v):\n%s", doubled, diff)
	}
	if sus, err := f.store.Suspect(ctx, rollupName); err != nil || len(sus) != 0 {
		t.Fatalf("suspect after the tick's retry: %v, %v", sus, err)
	}
	var done int
	for _, u := range history(t, f.store, rollupName, all) {
		if meta.Durable(u.Status) && strings.HasPrefix(u.RunID, "20261107") {
			done++
		}
	}
	if done == 0 {
		t.Fatalf("no unit of the tick is durable")
	}
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
		}}, nil).Backfill(ctx, rollupName, rg, populate.BackfillOptions{Batch: 1}) // the second unit is the second group
		t.Logf("connection lost: %v", err)
		requireOneLine(t, err, "hits_hourly 2026-11-02", "record the swap")
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
