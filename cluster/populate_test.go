package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/cli"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
)

// The days the populate tests fill: 2026-11-02 to 2026-11-05, and a clock after them.
var (
	fillRange = timerange.Range{Start: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC)}
	afterFill = "2026-11-05T00:07:00Z"
)

// insertHits inserts n rows over fillRange through the Distributed table (sharded by user,
// synchronously) and k rows straight into each shard's local table, on the given nodes.
func (f *fixture) insertHits(n, k int, shards ...string) {
	f.t.Helper()
	d := f.node(shards[0], "insert_distributed_sync=1")
	span := int(fillRange.End.Sub(fillRange.Start).Seconds())
	enginetest.MustExec(f.t, d, fmt.Sprintf(`INSERT INTO %s.hits SELECT toDateTime(%d + (number * 7919) %% %d, 'UTC'), ['a', 'b', 'c'][1 + number %% 3],
    concat('u', toString(cityHash64(number) %% 300)), concat('p', toString(number %% 13)), (number * 7919) %% 3000, (number %% 1000) / 8.0
FROM numbers(%d)`, f.db, fillRange.Start.Unix(), span, n))
	for i, s := range shards {
		enginetest.MustExec(f.t, f.node(s), fmt.Sprintf(`INSERT INTO %s.hits_local SELECT toDateTime(%d + number * 3607 + %d, 'UTC'), 'local',
    concat('direct', toString(number %% 5)), 'pd', 1000 + number, 0.25 * number FROM numbers(%d)`, f.db, fillRange.Start.Unix(), i, k))
	}
}

// stagingLeft lists the per-unit staging tables of a node's test database (deploy's own
// "<rollup>_staging" tables are not per-unit ones).
func (f *fixture) stagingLeft(node string) []string {
	f.t.Helper()
	r := enginetest.MustQuery(f.t, f.node(node), "SELECT name FROM system.tables WHERE database = {db:String} AND name LIKE '%\\_\\_stg\\_%' ORDER BY name", engine.Params{"db": f.db})
	var out []string
	for _, row := range r.Rows {
		out = append(out, row[0].(string))
	}
	return out
}

// One backfill through n1 runs every unit on both shards: the rollup read through either node
// equals raw SQL over both shards, each shard's rollup holds exactly its own raw rows, validate
// through n2 agrees, and a late row on shard 2 makes validate through n1 exit 1 until
// reconcile --repair (through n2) recomputes its partition on every shard.
func TestBackfillThroughOneNodeRunsOnEveryShard(t *testing.T) {
	f := newFixture(t, projectYAML)
	f.mustHourglass("n1", "deploy")
	f.insertHits(6000, 9, "n1", "n2")

	start := time.Now()
	code, out, progress := f.hourglass("n1", "backfill", "hits_hourly", "--from", "2026-11-02", "--to", "2026-11-05", "--now", afterFill)
	t.Logf("backfill through n1 (%s):\n%s%s", time.Since(start).Round(time.Millisecond), progress, out)
	if code != cli.ExitOK {
		t.Fatalf("backfill through n1: exit %d", code)
	}
	for _, want := range []string{"6 unit(s) done", "shard", "3/3"} {
		if !strings.Contains(out, want) {
			t.Errorf("backfill output lacks %q:\n%s", want, out)
		}
	}
	// Progress names each unit's shard: every day on each.
	for _, want := range []string{"backfill: 6 unit(s) to run", "2026-11-02 on shard 1", "2026-11-02 on shard 2", "2026-11-04 on shard 1", "2026-11-04 on shard 2"} {
		if !strings.Contains(progress, want) {
			t.Errorf("backfill progress lacks %q:\n%s", want, progress)
		}
	}
	f.assertExact(fillRange, "n1", "n2")
	f.assertShardsHoldTheirOwnRows("n1", "n2")
	for _, n := range []string{"n1", "n2"} {
		if left := f.stagingLeft(n); len(left) != 0 {
			t.Errorf("staging tables left on %s: %v", n, left)
		}
	}
	// The run log, read through n2, has each day done on each shard.
	units, err := f.store("n2").History(t.Context(), "hits_hourly", fillRange.Start, fillRange.End)
	if err != nil {
		t.Fatal(err)
	}
	done := map[string]int{}
	for _, u := range units {
		if u.Status == meta.StatusDone {
			done[u.Shard]++
		}
	}
	if done["1"] != 3 || done["2"] != 3 || len(done) != 2 {
		t.Errorf("done units per shard %v, want 3 on shards 1 and 2", done)
	}

	if out := f.mustHourglass("n2", "validate", "hits_hourly", "--now", afterFill); !strings.Contains(out, "EXACT") {
		t.Errorf("validate through n2:\n%s", out)
	}
	if out := f.mustHourglass("n2", "status", "--now", afterFill); !strings.Contains(out, "hits_hourly") {
		t.Errorf("status through n2:\n%s", out)
	}

	// A late row, straight into shard 2, in an hour already backfilled.
	enginetest.MustExec(t, f.node("n2"), "INSERT INTO "+f.db+".hits_local SELECT toDateTime('2026-11-03 07:10:00', 'UTC'), 'a', 'late', 'p', 1, 0.5")
	code, out, errOut := f.hourglass("n1", "validate", "hits_hourly", "--now", afterFill)
	if code != cli.ExitCheckFailed || strings.Contains(out, "EXACT") {
		t.Errorf("validate through n1 after a late row on shard 2: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = f.hourglass("n2", "reconcile", "hits_hourly", "--from", "2026-11-02", "--to", "2026-11-05", "--repair", "--now", afterFill)
	if code != cli.ExitOK || !strings.Contains(out, "20261103") || !strings.Contains(out, "repaired 1 partition(s) on each of 2 shards (2 of 2 units); checked again: 0 drifted") {
		t.Errorf("reconcile --repair through n2: exit %d\n%s%s", code, out, errOut)
	}
	f.assertExact(fillRange, "n1", "n2")
	f.assertShardsHoldTheirOwnRows("n1", "n2")
	f.mustHourglass("n1", "validate", "hits_hourly", "--now", afterFill)
}

// A backfill through n1 on two_replicas (one shard, n1 + n3), run twice so the second
// replaces parts: n3 ends identical to n1 — the same parts and the same numbers — with no
// staging table and no replaced part left on either; killed right after and restarted, n3
// starts with the same rollup and nothing set aside.
func TestBackfillOnReplicasLeavesEveryReplicaIdentical(t *testing.T) {
	f := newFixture(t, strings.Replace(projectYAML, "cluster: two_shards\n", "cluster: two_replicas\n", 1))
	f.mustHourglass("n1", "deploy")
	f.insertHits(3000, 5, "n1")
	parts := func(n string) string {
		return fmt.Sprint(enginetest.MustQuery(t, f.node(n), "SELECT partition_id, name, rows FROM system.parts WHERE database = {db:String} AND table = 'hits_hourly_local' AND active ORDER BY name", engine.Params{"db": f.db}).Rows)
	}
	for i := 0; i < 2; i++ {
		held := make(chan error, 1)
		if i == 1 {
			// A slow query on n3 holds the parts the second backfill replaces: n3 cannot delete
			// them until it ends, and the backfill must wait for that before its units are done.
			slow := f.node("n3", "max_block_size=1")
			go func() {
				_, err := slow.Query(t.Context(), "SELECT count() FROM "+f.db+".hits_hourly_local WHERE sleepEachRow(0.012) = 0", nil)
				held <- err
			}()
			time.Sleep(300 * time.Millisecond)
		} else {
			held <- nil
		}
		out := f.mustHourglass("n1", "backfill", "hits_hourly", "--from", "2026-11-02", "--to", "2026-11-05", "--parallel", "2", "--now", afterFill)
		if !strings.Contains(out, "3 unit(s) done") {
			t.Fatalf("backfill #%d through n1:\n%s", i+1, out)
		}
		// Right when the command returns: n3 has n1's parts, and nothing replaced is left on
		// any replica.
		if p1, p3 := parts("n1"), parts("n3"); p1 != p3 || p1 == "[]" {
			t.Errorf("backfill #%d: parts differ:\nn1 %s\nn3 %s", i+1, p1, p3)
		}
		for _, n := range []string{"n1", "n3"} {
			r := enginetest.MustQuery(t, f.node(n), "SELECT count() FROM system.parts WHERE database = {db:String} AND table = 'hits_hourly_local' AND NOT active", engine.Params{"db": f.db})
			if r.Row()[0] != uint64(0) {
				t.Errorf("backfill #%d: %v replaced parts still on %s's disk", i+1, r.Row()[0], n)
			}
			if left := f.stagingLeft(n); len(left) != 0 {
				t.Errorf("backfill #%d: staging tables left on %s: %v", i+1, n, left)
			}
		}
		if err := <-held; err != nil {
			t.Fatal(err)
		}
	}
	local, err := f.artifacts().Rollup("hits_hourly").Local()
	if err != nil {
		t.Fatal(err)
	}
	read := func(n string) string {
		return fmt.Sprint(enginetest.MustQuery(t, f.node(n), local.Read, engine.Params{"start": fillRange.Start, "end": fillRange.End}).Rows)
	}
	want := read("n1")
	if got := read("n3"); got != want {
		t.Errorf("n3's rollup differs from n1's:\nn1 %s\nn3 %s", want, got)
	}
	f.assertExact(fillRange, "n1", "n3")

	n3 := f.c.Node("n3")
	restartOnCleanup(t, n3)
	n3.Kill()
	if err := n3.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	e3, err := engine.Open(t.Context(), n3.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer e3.Close()
	got := fmt.Sprint(enginetest.MustQuery(t, e3, local.Read, engine.Params{"start": fillRange.Start, "end": fillRange.End}).Rows)
	if got != want {
		t.Errorf("n3's rollup after a restart differs from n1's:\nn1 %s\nn3 %s", want, got)
	}
	// 18.16 has no system.detached_parts: a part it sets aside is a folder in detached/.
	if aside, err := os.ReadDir(filepath.Join(n3.DataDir(), "data", f.db, "hits_hourly_local", "detached")); err != nil || len(aside) != 0 {
		t.Errorf("n3's detached parts after the restart: %v %v", aside, err)
	}
}

// waitCaughtUp waits (bounded) until a restarted node replicates again: its replicated tables
// of the test database are writable and its copy of hourglass's metadata has caught up (a
// replica restarted before its previous ZooKeeper session expired does not replicate until
// then).
func (f *fixture) waitCaughtUp(node string) {
	f.t.Helper()
	e, store := f.node(node), f.store(node)
	deadline := time.Now().Add(90 * time.Second)
	for {
		r, err := e.Query(f.t.Context(), "SELECT count() FROM system.replicas WHERE database = {db:String} AND is_readonly", engine.Params{"db": f.db})
		if err == nil && r.Row()[0] == uint64(0) {
			if err = store.Sync(f.t.Context()); err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s does not replicate 90 s after its restart: %v", node, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Shard 2's server is killed (SIGKILL) in the middle of a backfill through n1, at a random
// step of a random unit of shard 2: shard 1's units are done and the error names n2. While n2
// is down, backfill --resume names its host again, at once, and keeps shard 1 done. Once n2 is
// back, --resume redoes what shard 2 lacks (its partition left in doubt first) and the rollup
// equals raw over both shards, with no staging table left anywhere.
func TestShardServerKilledMidBackfillThenResume(t *testing.T) {
	f := newFixture(t, projectYAML)
	f.mustHourglass("n1", "deploy")
	f.insertHits(6000, 9, "n1", "n2")
	seed := time.Now().UnixNano()
	if s, err := strconv.ParseInt(os.Getenv("HOURGLASS_TEST_SEED"), 10, 64); err == nil {
		seed = s // replay a failure
	}
	rnd := rand.New(rand.NewSource(seed))
	steps := populate.Steps()
	// Every (day, step) of shard 2 but the last day's last two, after which shard 2 has
	// nothing left to do on n2 but drop its staging table (best effort): the run succeeds.
	pick := rnd.Intn(3*len(steps) - 2)
	killDay, killStep := fillRange.Start.AddDate(0, 0, pick/len(steps)), steps[pick%len(steps)]
	t.Logf("seed %d: n2 is killed at step %s of shard 2's unit %s", seed, killStep, killDay.Format(time.DateOnly))

	n2 := f.c.Node("n2")
	restartOnCleanup(t, n2)
	var killed atomic.Bool
	hooks := populate.Hooks{Step: func(_ context.Context, s populate.Step, u populate.Unit) error {
		if u.Shard == "2" && s == killStep && u.Partition.Start.Equal(killDay) && !killed.Swap(true) {
			n2.Kill()
		}
		return nil
	}}
	now, _ := time.Parse(time.RFC3339, afterFill)
	runner := populate.New(f.node("n1"), f.store("n1"), f.artifacts(), populate.Options{Now: func() time.Time { return now }, Hooks: hooks})
	rep, err := runner.Backfill(t.Context(), "hits_hourly", fillRange, populate.BackfillOptions{Batch: 1})
	var se *populate.ShardError
	if !errors.As(err, &se) || len(se.Errs) != 1 || se.Errs[0].Shard != "2" || !strings.Contains(err.Error(), n2.Addr()) {
		t.Fatalf("backfill with n2 killed: %v", err)
	}
	if len(rep.Shards) != 2 || rep.Shards[0].Done != 3 || rep.Shards[1].Done == 3 {
		t.Fatalf("report per shard %+v", rep.Shards)
	}
	t.Logf("with n2 killed: %v", err)

	args := []string{"backfill", "hits_hourly", "--from", "2026-11-02", "--to", "2026-11-05", "--resume", "--now", afterFill}
	start := time.Now()
	code, out, errOut := f.hourglass("n1", args...)
	if code != cli.ExitError || !strings.Contains(errOut, "shard 2: no replica answers (host "+n2.Addr()+" (shard 2, replica 1) does not answer") ||
		!strings.Contains(out, "3/3") || time.Since(start) > 20*time.Second {
		t.Errorf("backfill --resume with n2 down: exit %d after %s\n%s%s", code, time.Since(start), out, errOut)
	}
	t.Logf("backfill --resume with n2 down (%s):\n%s%s", time.Since(start).Round(time.Millisecond), out, errOut)

	if err := n2.Restart(t.Context()); err != nil {
		b, _ := os.ReadFile(filepath.Join(n2.DataDir(), "..", "log", "server.log"))
		var errs []string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "<Error>") || strings.Contains(l, "Exception") {
				errs = append(errs, l)
			}
		}
		t.Fatal(err, strings.Join(errs[max(0, len(errs)-10):], "\n"))
	}
	f.waitCaughtUp("n2")
	start = time.Now()
	out = f.mustHourglass("n1", append(args, "--output", "json")...)
	t.Logf("backfill --resume with n2 back (%s):\n%s", time.Since(start).Round(time.Millisecond), out)
	var resumed populate.Report
	if err := json.Unmarshal([]byte(out), &resumed); err != nil {
		t.Fatal(err)
	}
	if len(resumed.Shards) != 2 || resumed.Shards[0].Skipped != 3 || resumed.Shards[0].RowsRead != 0 || resumed.Shards[1].Done+resumed.Shards[1].Skipped != 3 {
		t.Errorf("the resume per shard: %+v", resumed.Shards)
	}
	f.assertExact(fillRange, "n1", "n2")
	f.assertShardsHoldTheirOwnRows("n1", "n2")
	f.mustHourglass("n2", "validate", "hits_hourly", "--now", afterFill)
	for _, n := range []string{"n1", "n2"} {
		if left := f.stagingLeft(n); len(left) != 0 {
			t.Errorf("staging tables left on %s: %v", n, left)
		}
	}
	s2 := f.store("n2")
	if err := s2.Sync(t.Context()); err != nil { // n2's copy of the run log catches up since its restart
		t.Fatal(err)
	}
	if sus, err := populate.Suspects(t.Context(), s2, f.artifacts().Rollup("hits_hourly").Rollup, "hits_hourly"); err != nil || len(sus) != 0 {
		t.Errorf("suspect partitions after the resume: %v %+v", err, sus)
	}
}
