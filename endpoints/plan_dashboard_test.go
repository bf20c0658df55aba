package endpoints_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

// rawTrendDays is one period of the trend endpoint written by hand over the raw table: per day,
// hits, users (the rollup's uniqCombined(14)) and value per hit; pages filters only when given.
const rawTrendDays = `SELECT toDate(ts) AS d, count(), uniqCombined(14)(user_id), if(count() = 0, 0, sum(value) / count())
FROM %s.hits WHERE ts >= {s:DateTime} AND ts < {e:DateTime}
    AND ({site:String} = '' OR site = {site:String}) AND (empty({pages:Array(String)}) OR has({pages:Array(String)}, page))
GROUP BY d ORDER BY d`

// rawTopPages is top_pages by hand: pages not in the list, by hits, one page skipped, three
// returned, with the quantiles of value.
const rawTopPages = `SELECT page, count() AS h, uniqCombined(14)(user_id), quantilesDD(0.01, 0.5, 0.9)(value) FROM %s.hits
WHERE ts >= {s:DateTime} AND ts < {e:DateTime} AND ({site:String} = '' OR site = {site:String}) AND NOT has({pages:Array(String)}, page)
GROUP BY page ORDER BY h DESC, page LIMIT 3 OFFSET 1`

// plannedDashboardShapes runs, through the planned read, the endpoint shapes dashboards send —
// a filled daily series compared with the previous period with a derived metric and a list
// filter (the finals serve it only without the list), and a paged breakdown with a not-in
// filter and quantiles from the grains — and compares them with SQL over the raw table
// written here.
func plannedDashboardShapes(t *testing.T, f *projecttest.Fixture) {
	ctx := context.Background()
	rg := timerange.Range{Start: readsEnd.AddDate(0, 0, -10), End: readsEnd} // 07:00 to 07:00
	prev := timerange.Range{Start: rg.Start.AddDate(0, 0, -10), End: rg.Start}
	for _, c := range []struct {
		site, pages string
		finals      bool
	}{
		{"s1", "/p1,/p3", false}, {"s1", "", true}, {"", "", true},
	} {
		p := map[string]string{"start": timerange.Format(rg.Start), "end": timerange.Format(rg.End)}
		if c.site != "" {
			p["site"] = c.site
		}
		var pages []any
		if c.pages != "" {
			p["pages"] = c.pages
			for _, pg := range strings.Split(c.pages, ",") {
				pages = append(pages, pg)
			}
		}
		res, err := endpoints.RunWith(ctx, f.E, f.A, "trend", p, endpoints.RunOptions{Side: endpoints.SideRollup, Now: f.Clock, Store: f.Store})
		if err != nil {
			t.Fatalf("trend %v: %v", p, err)
		}
		// The expected rows: each day of the range (filled), its numbers, the numbers of the
		// day ten days before, and the change.
		period := func(r timerange.Range) map[time.Time][]any {
			out := map[time.Time][]any{}
			for _, row := range enginetest.MustQuery(t, f.E, fmt.Sprintf(rawTrendDays, f.DB), engine.Params{"s": r.Start, "e": r.End, "site": c.site, "pages": pages}).Rows {
				out[row[0].(time.Time)] = row[1:]
			}
			return out
		}
		cur, before := period(rg), period(prev)
		var want [][]any
		for d := rg.Start.Truncate(24 * time.Hour); d.Before(rg.End); d = d.AddDate(0, 0, 1) {
			row := []any{d}
			c, p := cur[d], before[d.AddDate(0, 0, -10)]
			for i, zero := range []any{uint64(0), uint64(0), float64(0)} {
				cv, pv := zero, zero
				if c != nil {
					cv = c[i]
				}
				if p != nil {
					pv = p[i]
				}
				fc, fp := toFloat(cv), toFloat(pv)
				var change any
				if fp != 0 {
					change = (fc - fp) / fp
				}
				row = append(row, cv, pv, change)
			}
			want = append(want, row)
		}
		if d := cmp.Diff(want, res.Rows, projecttest.Approx); d != "" {
			t.Errorf("trend %v (plan %s): served differs from raw (-raw +served):\n%s\nSQL:\n%s", p, res.Plan.Summary(), d, res.Plan.SQL)
		}
		usedFinals := false
		prevSegments := false
		for _, s := range res.Plan.Segments {
			usedFinals = usedFinals || s.Kind == pipes.SegmentFinal
			prevSegments = prevSegments || s.Previous
		}
		if usedFinals != c.finals || !prevSegments {
			t.Errorf("trend %v: plan %s (notes %v): finals used %v, want %v; previous period planned %v", p, res.Plan.Summary(), res.Plan.Notes, usedFinals, c.finals, prevSegments)
		}
	}

	top := timerange.Range{Start: readsEnd.AddDate(0, 0, -20).Add(-30 * time.Minute), End: readsEnd}
	p := map[string]string{"start": timerange.Format(top.Start), "end": timerange.Format(top.End), "site": "s2", "pages": "/p0", "offset": "1"}
	res, err := endpoints.RunWith(ctx, f.E, f.A, "top_pages", p, endpoints.RunOptions{Side: endpoints.SideRollup, Now: f.Clock, Store: f.Store})
	if err != nil {
		t.Fatal(err)
	}
	want := enginetest.MustQuery(t, f.E, fmt.Sprintf(rawTopPages, f.DB), engine.Params{"s": top.Start, "e": top.End, "site": "s2", "pages": []any{"/p0"}}).Rows
	if len(want) != 3 || len(res.Rows) != 3 {
		t.Fatalf("top_pages %v (plan %s): %d rows, raw %d: want 3", p, res.Plan.Summary(), len(res.Rows), len(want))
	}
	for i := range want {
		// Pages, hits and users exactly; the quantiles within twice their accuracy (a DDSketch
		// merged from day and week states holds the same buckets as one built from the rows).
		if d := cmp.Diff(want[i][:3], res.Rows[i][:3]); d != "" {
			t.Errorf("top_pages row %d (plan %s): (-raw +served):\n%s", i, res.Plan.Summary(), d)
		}
		wq, gq := floats(want[i][3]), floats(res.Rows[i][3])
		if len(wq) != 2 || len(gq) != 2 {
			t.Fatalf("top_pages row %d: quantiles %v, raw %v", i, gq, wq)
		}
		for j := range wq {
			if math.Abs(wq[j]-gq[j]) > 2*0.01*math.Abs(wq[j]) {
				t.Errorf("top_pages row %d quantile %d: %v, raw %v", i, j, gq[j], wq[j])
			}
		}
	}
	kinds := map[string]bool{}
	for _, s := range res.Plan.Segments {
		kinds[s.Kind] = true
	}
	if !kinds[pipes.SegmentWeek] || !kinds[pipes.SegmentRaw] {
		t.Errorf("top_pages over 20 days off the hour: plan %s, want weeks and a raw edge", res.Plan.Summary())
	}
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case uint64:
		return float64(x)
	case float64:
		return x
	}
	return math.NaN()
}

func floats(v any) []float64 {
	var out []float64
	switch x := v.(type) {
	case []float64:
		return x
	case []any:
		for _, e := range x {
			out = append(out, toFloat(e))
		}
	}
	return out
}
