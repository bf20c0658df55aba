package populate_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hourglass-dev/hourglass/deploy"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
)

const triggerProject = `name: trigger
datasources:
  - name: hits
    partition_by: toYYYYMMDD(ts)
    order_by: [site, ts]
    columns:
      - {name: ts, type: DateTime}
      - {name: site, type: String}
      - {name: user_id, type: String}
      - {name: value, type: Float64}
rollups:
  - name: hits_live
    source: hits
    time_column: ts
    mode: trigger
    dimensions: [site]
    metrics:
      - {name: hits, kind: count}
      - {name: users, kind: uniq, column: user_id}
      - {name: total, kind: sum, column: value}
`

// TestTriggerCutOverWithConcurrentInserts deploys a trigger rollup (its view takes rows at or
// after the watermark T, the backfill the rows before it), keeps inserting rows on both sides
// of T while the backfill runs, and checks the rollup equals raw over the whole range.
func TestTriggerCutOverWithConcurrentInserts(t *testing.T) {
	e := shared.NeedEmbedded(t)
	ctx := context.Background()
	db := enginetest.TempDatabase(t, e)
	def := projecttest.FromYAML(t, triggerProject, db)
	a, err := pipes.Compile(def)
	if err != nil {
		t.Fatal(err)
	}
	deployedAt := projecttest.Day(3, 9).Add(20 * time.Minute)
	store := meta.New(e, db, func() time.Time { return deployedAt })
	plan, err := deploy.PlanAt(ctx, e, store, a, deployedAt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := deploy.Apply(ctx, e, store, plan, deploy.ApplyOptions{Now: deployedAt}); err != nil {
		t.Fatal(err)
	}
	deps, err := store.Deployments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cut := deps["hits_live"].Watermark
	if !cut.Equal(projecttest.Day(3, 10)) {
		t.Fatalf("watermark = %v, want the next hour after deploy, %v", cut, projecttest.Day(3, 10))
	}
	insert := func(from time.Time, n, seed int) {
		enginetest.MustExec(t, e, fmt.Sprintf(`INSERT INTO %s.hits SELECT toDateTime(%d + number * 7, 'UTC'), concat('s', toString(number %% 3)),
            concat('u', toString(cityHash64(number, %d) %% 97)), (cityHash64(number, %d, 1) %% 1000) / 8.0 FROM numbers(%d)`, db, from.Unix(), seed, seed, n))
	}
	// History before the cut-over, then the cut-over itself with inserts on both sides of T
	// arriving while the backfill runs (including rows at exactly T and T-1s).
	insert(projecttest.Day(1, 0), 40000, 1)
	enginetest.MustExec(t, e, fmt.Sprintf("INSERT INTO %s.hits VALUES ('2026-11-03 09:59:59', 's0', 'edge1', 1), ('2026-11-03 10:00:00', 's0', 'edge2', 2)", db))
	now := cut.Add(2*time.Hour + 10*time.Minute)
	runner := populate.New(e, store, a, populate.Options{Now: func() time.Time { return now }})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			insert(cut.Add(time.Duration(i-10)*6*time.Minute), 300, 100+i)
		}
	}()
	rg := timerange.Range{Start: projecttest.Day(1, 0), End: cut.Add(2 * time.Hour)}
	rep, err := runner.Backfill(ctx, "hits_live", rg, populate.BackfillOptions{Parallel: 2})
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if last := rep.Range; !last.Start.Equal(rg.Start) || rep.Units != 3 {
		t.Fatalf("report %+v: want 3 units (days 1, 2 and the 3rd up to the watermark)", rep)
	}
	// Rows before T inserted after the backfill read them are late data: the next backfill (or
	// reconcile) picks them up; the view already has every row from T on.
	if _, err := runner.Backfill(ctx, "hits_live", rg, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, bucket := range []string{"hour", ""} {
		raw, _ := a.Rollups[0].MetricsQuery(pipes.SideRaw, bucket, []string{"site"}, nil)
		roll, _ := a.Rollups[0].MetricsQuery(pipes.SideRollup, bucket, []string{"site"}, nil)
		p := map[string]any{pipes.StartParam: rg.Start, pipes.EndParam: rg.End}
		want, got := enginetest.MustQuery(t, e, raw, p).Rows, enginetest.MustQuery(t, e, roll, p).Rows
		if len(want) == 0 {
			t.Fatalf("bucket %q: no raw rows", bucket)
		}
		if diff := cmp.Diff(want, got, projecttest.Approx); diff != "" {
			t.Fatalf("bucket %q: rollup differs from raw across the cut-over (-raw +rollup):\n%s", bucket, diff)
		}
	}
	// Both sides of the split partition exist: the backfill's and the view's.
	r := enginetest.MustQuery(t, e, "SELECT groupUniqArray(partition_id) FROM system.parts WHERE database = {db:String} AND table = 'hits_live' AND active AND partition_id LIKE '20261103%'", map[string]any{"db": db})
	if ids := fmt.Sprint(r.Row()[0]); ids != "[20261103-0 20261103-1]" && ids != "[20261103-1 20261103-0]" {
		t.Fatalf("partitions of the cut-over day = %s, want 20261103-0 and 20261103-1", ids)
	}
}
