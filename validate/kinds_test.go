package validate_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
	"github.com/hourglass-dev/hourglass/validate"
)

// kindsYAML has a rollup with every metric kind issue 17 added: any and any_last of a value
// that varies inside each group, quantiles at three levels with a stated accuracy, uniq_if of a
// Nullable column, count_distinct_if and sum and min over expressions, and derived metrics over
// them.
const kindsYAML = `name: kinds
datasources:
  - name: hits
    order_by: [ts]
    columns:
      - {name: ts, type: DateTime}
      - {name: user_id, type: Nullable(String)}
      - {name: page, type: LowCardinality(String)}
      - {name: country, type: String}
      - {name: ms, type: UInt32}
      - {name: price, type: Float64}
rollups:
  - name: hits_hourly
    source: hits
    time_column: ts
    dimensions: [page]
    metrics:
      - {name: hits, kind: count}
      - {name: some_country, kind: any, column: country}
      - {name: last_country, kind: any_last, column: country}
      - {name: latency, kind: quantiles, column: ms, levels: [0.5, 0.9, 0.99], accuracy: 0.005}
      - {name: buyers, kind: uniq_if, column: user_id, if: "price > 0"}
      - {name: buyers_exact, kind: count_distinct_if, expr: "coalesce(user_id, 'anon')", type: String, if: "price > 0"}
      - {name: revenue_cents, kind: sum, expr: "toUInt64(round(price * 100))", type: UInt64}
      - {name: first_country, kind: min, expr: "lower(country)", type: String}
    derived:
      - {name: cents_per_buyer, expr: "if(buyers_exact = 0, 0, revenue_cents / buyers_exact)"}
      - {name: p90_seconds, expr: "latency[2] / 1000"}
`

// TestMetricKindsAgainstRaw fills the kinds rollup and reads every metric per day and page
// from it, and compares each with SQL written here over the raw rows: any and any_last are one
// of the group's values, quantiles within their stated tolerance of the same DDSketch over
// the raw rows and of the exact quantiles, the distinct counts, sums and minima over
// expressions exact, the derived metrics their formula over the raw values. validate proves
// the rollup exact by these rules, and finds a value that is not a member and quantile
// states that moved.
func TestMetricKindsAgainstRaw(t *testing.T) {
	e := shared.NeedEmbedded(t)
	ctx := context.Background()
	db := enginetest.TempDatabase(t, e)
	f := projecttest.Deploy(t, e, projecttest.FromYAML(t, kindsYAML, db))
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	rg := timerange.Range{Start: from, End: from.Add(72 * time.Hour)}
	f.Clock = rg.End.Add(time.Hour)
	enginetest.MustExec(t, e, fmt.Sprintf(`INSERT INTO %s.hits
SELECT toDateTime(%d + intDiv(number * 864, 100), 'UTC'),
    if(number %% 7 = 0, NULL, concat('u', toString(cityHash64(number, 1) %% 400))),
    ['/', '/docs', '/pricing'][1 + number %% 3],
    ['DE', 'us', 'Fr', 'ES'][1 + cityHash64(number, 2) %% 4],
    toUInt32(50 + cityHash64(number, 3) %% 5000 + if(number %% 11 = 0, 20000, 0)),
    if(cityHash64(number, 5) %% 3 = 0, 0, round((cityHash64(number, 4) %% 10000) / 100, 2))
FROM numbers(30000)`, db, from.Unix()))
	f.Backfill("hits_hourly", rg)

	ra := f.A.Rollup("hits_hourly")
	q, err := ra.MetricsQuery(pipes.SideRollup, "day", []string{"page"},
		[]string{"hits", "some_country", "last_country", "latency", "buyers", "buyers_exact", "revenue_cents", "first_country", "cents_per_buyer", "p90_seconds"})
	if err != nil {
		t.Fatal(err)
	}
	got := enginetest.MustQuery(t, e, q, engine.Params{pipes.StartParam: rg.Start, pipes.EndParam: rg.End}).Rows
	want := enginetest.MustQuery(t, e, fmt.Sprintf(`SELECT toDate(ts) AS day, page, count(), groupUniqArray(country),
    quantilesDD(0.005, 0.5, 0.9, 0.99)(ms), quantilesExact(0.5, 0.9, 0.99)(ms),
    uniqIf(user_id, price > 0), count(DISTINCT if(price > 0, coalesce(user_id, 'anon'), NULL)),
    sum(toUInt64(round(price * 100))), min(lower(country))
FROM %s.hits WHERE ts >= {s:DateTime} AND ts < {e:DateTime}
GROUP BY day, page ORDER BY day, page`, db), engine.Params{"s": rg.Start, "e": rg.End}).Rows
	if len(got) != len(want) || len(want) != 9 {
		t.Fatalf("%d rows from the rollup, %d from raw, want 9 (3 days × 3 pages)", len(got), len(want))
	}
	near := func(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Min(math.Abs(a), math.Abs(b)) }
	for i, w := range want {
		g := got[i]
		where := fmt.Sprintf("%v %v", w[0], w[1])
		if g[0] != w[0] || g[1] != w[1] || g[2] != w[2] {
			t.Fatalf("%s: keys or hits %v, want %v", where, g[:3], w[:3])
		}
		countries := w[3].([]any)
		for _, c := range []any{g[3], g[4]} {
			found := false
			for _, x := range countries {
				found = found || x == c
			}
			if !found {
				t.Errorf("%s: any/any_last %v is not one of the group's values %v", where, c, countries)
			}
		}
		if len(countries) < 2 {
			t.Errorf("%s: the group has one country: any is not put to the test", where)
		}
		sketch, exact, lat := w[4].([]any), w[5].([]any), g[5].([]any)
		for j := range lat {
			l, s, x := lat[j].(float64), sketch[j].(float64), float64(exact[j].(uint64))
			// The stated tolerance: twice the accuracy, against the raw sketch and the exact value.
			if tol := pipes.QuantileTolerance(0.005); !near(l, s, tol) || !near(l, x, tol) {
				t.Errorf("%s: quantile %d = %v, raw sketch %v, exact %v: beyond %v", where, j, l, s, x, tol)
			}
		}
		if g[6] != w[6] || g[7] != w[7] || g[8] != w[8] || g[9] != w[9] {
			t.Errorf("%s: uniq_if, count_distinct_if, sum, min over expressions %v, want %v", where, g[6:10], w[6:10])
		}
		if cpb := float64(w[8].(uint64)) / float64(w[7].(uint64)); w[7].(uint64) == 0 || !near(g[10].(float64), cpb, 1e-12) {
			t.Errorf("%s: cents_per_buyer %v, want %v", where, g[10], cpb)
		}
		if !near(g[11].(float64), lat[1].(float64)/1000, 1e-12) {
			t.Errorf("%s: p90_seconds %v, want latency[2]/1000 = %v", where, g[11], lat[1].(float64)/1000)
		}
	}

	// validate holds every kind to its rule, per hour and page.
	opts := validate.Options{Range: rg, Now: f.Clock, Dimensions: []string{"page"}}
	rep, err := validate.Run(ctx, e, f.A, "hits_hourly", opts)
	if err != nil {
		t.Fatal(err)
	}
	requireExact(t, rep)
	if rep.Tolerance["latency"] != pipes.QuantileTolerance(0.005) || rep.Tolerance["some_country"] != 0 {
		t.Errorf("tolerances %v", rep.Tolerance)
	}
	// A value no row of its group has, and quantile states moved by extra samples.
	hour := from.Add(5 * time.Hour)
	enginetest.MustExec(t, e, fmt.Sprintf("ALTER TABLE %s.hits_hourly UPDATE some_country = 'ZZ' WHERE hour = '%s' SETTINGS mutations_sync = 2", db, hour.Format(time.DateTime)))
	enginetest.MustExec(t, e, fmt.Sprintf(`INSERT INTO %[1]s.hits_hourly (hour, page, latency)
SELECT toDateTime('%[2]s', 'UTC'), '/docs', quantilesDDState(0.005, 0.5, 0.9, 0.99)(toUInt32(900000 + number)) FROM numbers(500)`, db, hour.Format(time.DateTime)))
	rep, err = validate.Run(ctx, e, f.A, "hits_hourly", opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Exact || rep.MismatchesByMetric["some_country"] == 0 || rep.MismatchesByMetric["latency"] == 0 {
		t.Fatalf("corrupted rollup: %s %v", rep.Summary(), rep.MismatchesByMetric)
	}
}
