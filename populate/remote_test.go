package populate_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
	"github.com/hourglass-dev/hourglass/validate"
)

func TestRemoteBackfillIsExact(t *testing.T) {
	e := shared.NeedRemote(t)
	ctx := context.Background()
	db := enginetest.TempDatabase(t, e)
	f := projecttest.Deploy(t, e, projecttest.FromYAML(t, projecttest.LegacyYAML, db))
	a, store, ra := f.A, f.Store, f.A.Rollups[0]
	enginetest.MustExec(t, e, fmt.Sprintf(`INSERT INTO %s.hits SELECT toDateTime('2026-11-01 00:00:00') + number * 29, concat('site', toString(number %% 3)),
        concat('u', toString(cityHash64(number) %% 500)), concat('/p', toString(number %% 17)) FROM system.numbers LIMIT 20000`, db))
	rg := timerange.Range{Start: day(1, 0), End: day(8, 0)}
	clock := func() time.Time { return day(10, 0) }
	var first string
	for i := 0; i < 2; i++ {
		rep, err := populate.New(e, store, a, populate.Options{Now: clock}).Backfill(ctx, "hits_hourly", rg, populate.BackfillOptions{Parallel: 2})
		if err != nil {
			t.Fatalf("backfill #%d: %v", i+1, err)
		}
		// RowsRead is what the server reported scanning in its progress packets: every raw row
		// about once when the 7 days are one INSERT (the second run, sized from the rollup's
		// partitions; 18.16 may leave the last few rows of a scan out of its progress), once per
		// INSERT otherwise (hits is not sorted by time, so each INSERT scans the whole table).
		if rep.Done != 7 || rep.RowsRead < 19000 || rep.RowsWritten == 0 {
			t.Fatalf("backfill #%d report %+v", i+1, rep)
		}
		snap := fmt.Sprint(enginetest.MustQuery(t, e, fmt.Sprintf("SELECT count(), uniqMerge(users) FROM %s.hits_hourly", db), nil).Rows)
		if i == 0 {
			first = snap
		} else if snap != first {
			t.Fatalf("second backfill changed the rollup: %s → %s", first, snap)
		}
	}
	for _, bucket := range []string{"hour", "day", ""} {
		var got [2][][]any
		for i, side := range []pipes.Side{pipes.SideRaw, pipes.SideRollup} {
			q, err := pipes.MetricsQuery(a.Project, ra.Rollup, side, bucket, []string{"site"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			got[i] = enginetest.MustQuery(t, e, q, engine.Params{"start": rg.Start, "end": rg.End}).Rows
		}
		if len(got[0]) == 0 {
			t.Fatalf("bucket %q: no rows", bucket)
		}
		if diff := cmp.Diff(got[0], got[1]); diff != "" {
			t.Fatalf("bucket %q: rollup differs from raw on the remote server (-raw +rollup):\n%s", bucket, diff)
		}
	}
}

// countsYAML has every additive metric kind, a float sum among them: on Debian's 18.16 they
// are AggregateFunction(sum, …) states (no SimpleAggregateFunction there).
const countsYAML = `name: remote
datasources:
  - name: hits
    engine: MergeTree
    partition_by: toYYYYMM(ts)
    order_by: [site, ts]
    columns:
      - {name: ts, type: DateTime}
      - {name: site, type: String}
      - {name: user_id, type: String}
      - {name: bytes, type: UInt32}
      - {name: latency, type: Float64}
rollups:
  - name: hits_hourly
    source: hits
    time_column: ts
    dimensions: [site]
    metrics:
      - {name: hits, kind: count}
      - {name: big, kind: count_if, if: "bytes > 500"}
      - {name: total_bytes, kind: sum, column: bytes}
      - {name: total_latency, kind: sum, column: latency}
      - {name: avg_latency, kind: avg, column: latency}
      - {name: users, kind: uniq, column: user_id}
`

// rawCounts is countsYAML's rollup computed from raw rows, per hour and site.
const rawCounts = `SELECT toStartOfHour(ts) AS h, site, count(), countIf(bytes > 500), sum(bytes), sum(latency), avg(latency), uniq(user_id)
FROM %s.hits WHERE ts >= {start:DateTime} AND ts < {end:DateTime} GROUP BY h, site ORDER BY h, site`

// On the 18.16 server, counts and sums — a float sum too — are AggregateFunction(sum) states:
// a backfill, validate, reconcile (its fingerprint reads the states with finalizeAggregation),
// a late row found and repaired, and the hourly populate carrying a partition's other hours,
// all equal raw SQL written here.
func TestRemoteCountsAndSumsAreExact(t *testing.T) {
	e := shared.NeedRemote(t)
	ctx := context.Background()
	info, err := e.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	target := pipes.TargetFor(info.Version)
	if !target.NoSimpleAggregateFunction {
		t.Fatalf("the test server runs %s, which has SimpleAggregateFunction: this test is about servers without it", info.Version)
	}
	db := enginetest.TempDatabase(t, e)
	f := projecttest.DeployFor(t, e, projecttest.FromYAML(t, countsYAML, db), target)
	ra := f.A.Rollup("hits_hourly")
	insert := func(from time.Time, n, seed int) {
		enginetest.MustExec(t, e, fmt.Sprintf(`INSERT INTO %s.hits SELECT toDateTime(%d + number * 37, 'UTC'), concat('site', toString(number %% 3)),
        concat('u', toString(cityHash64(number, %d) %% 400)), (number * 7919 + %d) %% 1000, (number %% 997) / 7.0 FROM system.numbers LIMIT %d`,
			db, from.Unix(), seed, seed, n))
	}
	insert(day(1, 0), 9000, 1) // about four days
	f.Clock = day(5, 0).Add(5 * time.Minute)
	runner := populate.New(e, f.Store, f.A, populate.Options{Now: f.Now})
	rg := timerange.Range{Start: day(1, 0), End: day(5, 0)}
	if _, err := runner.Backfill(ctx, "hits_hourly", rg, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	exact := func(what string, rg timerange.Range) {
		t.Helper()
		params := engine.Params{pipes.StartParam: rg.Start, pipes.EndParam: rg.End}
		want := enginetest.MustQuery(t, e, fmt.Sprintf(rawCounts, db), params).Rows
		got := enginetest.MustQuery(t, e, ra.Read, params).Rows
		if d := cmp.Diff(want, got, projecttest.Approx); d != "" || len(want) == 0 {
			t.Fatalf("%s (-raw +rollup):\n%s", what, d)
		}
		rep, err := validate.Run(ctx, e, f.A, "hits_hourly", validate.Options{Range: rg, Now: f.Clock, Store: f.Store})
		if err != nil || !rep.Exact {
			t.Fatalf("%s: validate %v %+v", what, err, rep)
		}
	}
	exact("after the backfill", rg)
	rec, err := runner.Reconcile(ctx, "hits_hourly", rg, false)
	if err != nil || len(rec.Drifted) != 0 {
		t.Fatalf("reconcile after the backfill: %v %+v", err, rec)
	}

	// A late row: reconcile names its partition and the values it changes, repair fixes it.
	enginetest.MustExec(t, e, "INSERT INTO "+db+".hits SELECT toDateTime('2026-11-02 13:20:00', 'UTC'), 'site1', 'late', 900, 2.5")
	rec, err = runner.Reconcile(ctx, "hits_hourly", rg, true)
	if err != nil || len(rec.Drifted) != 1 || rec.Drifted[0].PartitionID != "20261102" || rec.Drifted[0].RawRows != rec.Drifted[0].RollupRows+1 {
		t.Fatalf("reconcile --repair after a late row: %v %+v", err, rec)
	}
	for _, v := range []string{"hits", "total_latency", "__hg_w_total_latency"} {
		if !slices.Contains(rec.Drifted[0].Differ, v) {
			t.Errorf("the late row changes %s, reconcile says only %v", v, rec.Drifted[0].Differ)
		}
	}
	exact("after the repair", rg)

	// The hourly populate three hours later recomputes its lookback and carries the rest of
	// the partition from the rollup's states.
	insert(day(5, 0), 290, 2) // [05 00:00, 05 03:00)
	f.Clock = day(5, 3).Add(5 * time.Minute)
	rep, err := runner.PopulateOne(ctx, "hits_hourly")
	if err != nil || !rep.Watermark.Equal(day(5, 3)) {
		t.Fatalf("populate: %v %+v", err, rep)
	}
	exact("after the hourly populate", timerange.Range{Start: day(1, 0), End: day(5, 3)})
}
