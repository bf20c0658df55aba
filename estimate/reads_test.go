package estimate_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/estimate"
	"github.com/hourglass-dev/hourglass/generate"
	"github.com/hourglass-dev/hourglass/generate/generatetest"
	"github.com/hourglass-dev/hourglass/timerange"
)

// TestReadsAdviceMatchesRawSQL checks the precision report and the narrower-rollup counts of
// estimate --reads against SQL written here over the raw rows.
func TestReadsAdviceMatchesRawSQL(t *testing.T) {
	e := shared.NeedEmbedded(t)
	a, _ := generatetest.Generate(t, e, generate.Options{Events: 120_000, Days: 3, Seed: 9})
	db := a.Project.Database
	ctx := context.Background()
	rg := timerange.Range{Start: generatetest.End.AddDate(0, 0, -3), End: generatetest.End}
	bind := engine.Params{"s": rg.Start, "e": rg.End}

	p, err := estimate.Precisions(ctx, e, a, "events_overview_hourly", rg)
	if err != nil {
		t.Fatal(err)
	}
	if p.Tenant != "workspace_id" || len(p.Columns) != 2 {
		t.Fatalf("tenant %q, %d columns: %+v", p.Tenant, len(p.Columns), p)
	}
	for _, c := range p.Columns {
		for _, x := range c.Candidates {
			// The worst error over the three kinds of groups, each written out.
			q := "SELECT max(abs(toFloat64(est) - ex) / ex) FROM (" +
				"SELECT " + x.Function + "(" + c.Column + ") AS est, uniqExact(" + c.Column + ") AS ex FROM " + db + ".events WHERE timestamp >= {s:DateTime} AND timestamp < {e:DateTime}" +
				" UNION ALL SELECT " + x.Function + "(" + c.Column + "), uniqExact(" + c.Column + ") FROM " + db + ".events WHERE timestamp >= {s:DateTime} AND timestamp < {e:DateTime} GROUP BY toDate(timestamp)" +
				" UNION ALL SELECT " + x.Function + "(" + c.Column + "), uniqExact(" + c.Column + ") FROM " + db + ".events WHERE timestamp >= {s:DateTime} AND timestamp < {e:DateTime} GROUP BY toDate(timestamp), workspace_id" +
				") WHERE ex >= 100"
			want := enginetest.MustQuery(t, e, q, bind).Row()[0].(float64)
			if math.Abs(want-x.WorstError) > 1e-12 {
				t.Errorf("%s %s: worst error %g, raw SQL says %g", c.Metric, x.Function, x.WorstError, want)
			}
			if x.StateBytes <= 0 || x.Merge < 0 {
				t.Errorf("%s %s: state %v bytes, merge %v", c.Metric, x.Function, x.StateBytes, x.Merge)
			}
		}
		if c.Candidates[1].StateBytes >= c.Candidates[4].StateBytes {
			t.Errorf("%s: precision 12 states (%v B) are not smaller than precision 17's (%v B)", c.Metric, c.Candidates[1].StateBytes, c.Candidates[4].StateBytes)
		}
	}

	ns, err := estimate.Narrower(ctx, e, a, "events_overview_hourly", rg)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]estimate.Narrowing{}
	for _, n := range ns {
		got[n.Endpoint] = n
	}
	rows := func(dims string) uint64 {
		return enginetest.MustQuery(t, e, "SELECT count() FROM (SELECT DISTINCT toStartOfHour(timestamp), "+dims+" FROM "+db+".events WHERE timestamp >= {s:DateTime} AND timestamp < {e:DateTime})", bind).Row()[0].(uint64)
	}
	full := rows("workspace_id, project_id, campaign_id, event_type, event_id")
	c, ok := got["conversions_breakdown"]
	if !ok || c.Rows != rows("event_id, event_type, campaign_id") || c.RollupRows != full {
		t.Errorf("conversions_breakdown: %+v, want %d rows of %d", c, rows("event_id, event_type, campaign_id"), full)
	}
	left := enginetest.MustQuery(t, e, "SELECT count() FROM system.tables WHERE database = {db:String} AND name LIKE '__hg_estimate%'", engine.Params{"db": db})
	if n := left.Row()[0].(uint64); n != 0 {
		t.Errorf("%d scratch tables left behind", n)
	}
}

// TestRecommend: the precision that errs no more than uniq with the smallest states, and a
// narrower rollup from 2× fewer rows.
func TestRecommend(t *testing.T) {
	p := &estimate.PrecisionReport{Columns: []estimate.ColumnPrecisions{{Metric: "users", Column: "user_id", Declared: "uniq", Candidates: []estimate.Precision{
		{Function: "uniq", Kind: "uniq", WorstError: 0.008, StateBytes: 30000},
		{Function: "uniqCombined(12)", Kind: "uniq_combined", Precision: 12, WorstError: 0.03, StateBytes: 3000},
		{Function: "uniqCombined(14)", Kind: "uniq_combined", Precision: 14, WorstError: 0.0075, StateBytes: 12000},
		{Function: "uniqCombined(16)", Kind: "uniq_combined", Precision: 16, WorstError: 0.004, StateBytes: 48000},
	}}}}
	ns := []estimate.Narrowing{{Endpoint: "totals", Dimensions: []string{"campaign_id"}, Rows: 100, RollupRows: 1200, Factor: 12}, {Endpoint: "by_page", Rows: 900, RollupRows: 1200, Factor: 1.3}}
	got := estimate.Recommend(p, ns)
	if len(got) != 2 || !strings.Contains(got[0], "kind: uniq_combined, precision: 14") || !strings.Contains(got[1], "endpoint totals needs only campaign_id") {
		t.Fatalf("advice:\n%s", strings.Join(got, "\n"))
	}
}
