package cluster_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hourglass-dev/hourglass/cli"
	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

// rawByHour is every metric of projectYAML's rollup per hour and site over [start, end),
// written here from the raw rows of both shards (the Distributed table hits) with plain
// aggregates: the oracle the rollup must equal.
const rawByHour = `SELECT toStartOfHour(ts, 'UTC') AS h, site, count(), countIf(bytes > 1000), sum(bytes), sumIf(bytes, bytes > 1000),
    sum(latency), min(latency), max(page), avg(bytes), uniq(user_id), uniqExact(user_id), argMax(page, ts)
FROM %s.hits WHERE ts >= {start:DateTime} AND ts < {end:DateTime}
GROUP BY h, site ORDER BY h, site`

// rawTotal is the same over the whole range, per site.
const rawTotal = `SELECT site, count(), countIf(bytes > 1000), sum(bytes), sumIf(bytes, bytes > 1000),
    sum(latency), min(latency), max(page), avg(bytes), uniq(user_id), uniqExact(user_id), argMax(page, ts)
FROM %s.hits WHERE ts >= {start:DateTime} AND ts < {end:DateTime}
GROUP BY site ORDER BY site`

// On 18.16 the rollup stores counts, sums, min and max as AggregateFunction states: filled
// shard by shard with the statements Local gives (by hand here, as a populate unit will), and
// read through the Distributed table from either node, every metric equals raw SQL over both
// shards, per hour and over the whole range.
func TestOldServerMetricsAreExactThroughTheDistributedTable(t *testing.T) {
	f := newFixture(t, projectYAML)
	f.mustHourglass("n1", "deploy")
	ctx := context.Background()
	rg := timerange.Range{Start: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC)}
	// 5000 rows over two days, one second apart at most once: argMax has no ties.
	d := f.node("n1", "insert_distributed_sync=1")
	enginetest.MustExec(t, d, fmt.Sprintf(`INSERT INTO %s.hits SELECT toDateTime(%d + number * 34 + number %% 7, 'UTC'), ['a', 'b', 'c'][1 + number %% 3],
    concat('u', toString(cityHash64(number) %% 200)), concat('p', toString(number %% 13)), (number * 7919) %% 3000, (number %% 1000) / 8.0
FROM numbers(5000)`, f.db, rg.Start.Unix()))
	shardRows := map[string]any{}
	for _, n := range []string{"n1", "n2"} {
		shardRows[n] = enginetest.MustQuery(t, f.node(n), "SELECT count() FROM "+f.db+".hits_local", nil).Row()[0]
	}
	if shardRows["n1"] == uint64(0) || shardRows["n2"] == uint64(0) {
		t.Fatalf("rows per shard %v: the test needs both shards", shardRows)
	}

	a := f.artifacts()
	ra := a.Rollup("hits_hourly")
	local, err := ra.Local()
	if err != nil {
		t.Fatal(err)
	}
	// Each shard rolls up its own rows, day by day: staging, REPLACE PARTITION, drop.
	for _, n := range []string{"n1", "n2"} {
		e := f.node(n)
		for day := rg.Start; day.Before(rg.End); day = day.Add(24 * time.Hour) {
			stg := local.StagingPrefix() + day.Format("20060102") + "_test"
			params := engine.Params{pipes.StartParam: day, pipes.EndParam: day.Add(24 * time.Hour)}
			enginetest.MustExec(t, e, local.DropTableNamed(stg), local.CreateStagingNamed(stg))
			if err := e.Exec(ctx, local.PopulateInto(stg), params); err != nil {
				t.Fatalf("populate on %s: %v", n, err)
			}
			enginetest.MustExec(t, e, local.ReplacePartitionFrom(timerange.PartitionID(timerange.Partition(datasources.PartitionDay), day), stg), local.DropTableNamed(stg))
		}
	}

	f.assertExact(rg, "n1", "n2")
	f.assertShardsHoldTheirOwnRows("n1", "n2")
}

// assertExact compares the rollup hits_hourly, read through its Distributed table on each
// node, with raw SQL over both shards (rawByHour, rawTotal): per hour and site, and per site
// over the whole range.
func (f *fixture) assertExact(rg timerange.Range, nodes ...string) {
	f.t.Helper()
	ra := f.artifacts().Rollup("hits_hourly")
	approx := cmpopts.EquateApprox(1e-9, 0)
	params := engine.Params{pipes.StartParam: rg.Start, pipes.EndParam: rg.End}
	wantHours := enginetest.MustQuery(f.t, f.node(nodes[0]), fmt.Sprintf(rawByHour, f.db), params).Rows
	wantTotal := enginetest.MustQuery(f.t, f.node(nodes[0]), fmt.Sprintf(rawTotal, f.db), params).Rows
	if len(wantHours) == 0 {
		f.t.Fatalf("raw holds no rows in %s", rg)
	}
	total, err := ra.MetricsQuery(pipes.SideRollup, "", []string{"site"}, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, n := range nodes {
		got := enginetest.MustQuery(f.t, f.node(n), ra.Read, params).Rows
		if d := cmp.Diff(wantHours, got, approx); d != "" {
			f.t.Errorf("per hour through %s (-raw +rollup):\n%s", n, d)
		}
		got = enginetest.MustQuery(f.t, f.node(n), total, params).Rows
		if d := cmp.Diff(wantTotal, got, approx); d != "" {
			f.t.Errorf("over the range through %s (-raw +rollup):\n%s", n, d)
		}
	}
}

// assertShardsHoldTheirOwnRows checks that each node's local rollup counts exactly the raw
// rows of its own shard's local table.
func (f *fixture) assertShardsHoldTheirOwnRows(nodes ...string) {
	f.t.Helper()
	for _, n := range nodes {
		raw := enginetest.MustQuery(f.t, f.node(n), "SELECT count() FROM "+f.db+".hits_local", nil).Row()[0]
		r := enginetest.MustQuery(f.t, f.node(n), "SELECT sumMerge(hits) FROM "+f.db+".hits_hourly_local", nil)
		if r.Row()[0] != raw {
			f.t.Errorf("the rollup of %s's shard counts %v rows, its raw table has %v", n, r.Row()[0], raw)
		}
	}
}

// A trigger rollup is refused at plan on 18.16, before anything is created: there its
// insert-trigger view makes every INSERT into the raw table fail — shown here on a scratch
// database with the view the compiler would write for a newer server.
func TestTriggerRollupIsRefusedOnOldServers(t *testing.T) {
	yaml := strings.Replace(projectYAML, "    time_column: ts\n", "    time_column: ts\n    mode: trigger\n", 1)
	f := newFixture(t, yaml)
	code, out, errOut := f.hourglass("n1", "plan")
	if code != cli.ExitError || !strings.Contains(errOut, `rollup "hits_hourly": mode trigger needs ClickHouse ≥ 20.1`) ||
		!strings.Contains(errOut, "on ClickHouse 18.16.1 its insert-trigger view would make every INSERT into hits fail") {
		t.Fatalf("plan of a trigger rollup on 18.16: exit %d\n%s%s", code, out, errOut)
	}
	if got := f.tables("n1"); len(got) != 0 {
		t.Errorf("plan created %v", got)
	}

	// Why: the same view, written for a server that has trigger views, breaks the raw table.
	def, err := datasources.Load(fstestFS(strings.NewReplacer("cluster: two_shards\n", "", "%DB%", f.db).Replace(yaml)))
	if err != nil {
		t.Fatal(err)
	}
	a, err := pipes.CompileFor(def, pipes.Target{NoSimpleAggregateFunction: true})
	if err != nil {
		t.Fatal(err)
	}
	ra := a.Rollup("hits_hourly")
	w := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	table, err := ra.CreateTableAt(w)
	if err != nil {
		t.Fatal(err)
	}
	view, err := ra.TriggerViewSQL(w)
	if err != nil {
		t.Fatal(err)
	}
	e := f.node("n1")
	enginetest.MustExec(t, e, a.CreateDatabase, a.Datasource("hits").CreateTable, table, view)
	err = e.Exec(context.Background(), "INSERT INTO "+f.db+".hits (ts, site) SELECT toDateTime('2026-11-02 10:00:00', 'UTC'), 'a'", nil)
	if err == nil || !strings.Contains(err.Error(), "while pushing to view") {
		t.Fatalf("insert into the raw table under a trigger view on 18.16: %v (the refusal may no longer be needed)", err)
	}
	t.Logf("18.16 with the view: %v", err)
}
