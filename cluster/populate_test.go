package cluster_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/cli"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/meta"
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
	out := f.mustHourglass("n1", "backfill", "hits_hourly", "--from", "2026-11-02", "--to", "2026-11-05", "--now", afterFill)
	t.Logf("backfill through n1 (%s):\n%s", time.Since(start).Round(time.Millisecond), out)
	for _, want := range []string{"6 unit(s) done", "shard", "3/3"} {
		if !strings.Contains(out, want) {
			t.Errorf("backfill output lacks %q:\n%s", want, out)
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
	if code != cli.ExitOK || !strings.Contains(out, "20261103") || !strings.Contains(out, "checked again: 0 drifted") {
		t.Errorf("reconcile --repair through n2: exit %d\n%s%s", code, out, errOut)
	}
	f.assertExact(fillRange, "n1", "n2")
	f.assertShardsHoldTheirOwnRows("n1", "n2")
	f.mustHourglass("n1", "validate", "hits_hourly", "--now", afterFill)
}
