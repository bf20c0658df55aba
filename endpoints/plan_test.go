package endpoints_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
	"github.com/hourglass-dev/hourglass/validate"
)

// readsYAML has a rollup with day and week grains and distinct counts of every kind, a totals
// endpoint, a time series with finals per hour and one per day.
const readsYAML = `name: reads
datasources:
  - name: hits
    partition_by: toYYYYMM(ts)
    order_by: [site, ts]
    columns:
      - {name: ts, type: DateTime}
      - {name: site, type: LowCardinality(String)}
      - {name: page, type: String}
      - {name: user_id, type: String}
      - {name: value, type: Float64}
rollups:
  - name: hits_hourly
    source: hits
    time_column: ts
    dimensions: [site, page]
    grains: [day, week]
    metrics:
      - {name: hits, kind: count}
      - {name: users, kind: uniq_combined, precision: 14, column: user_id}
      - {name: users_uniq, kind: uniq, column: user_id}
      - {name: users_exact, kind: uniq_exact, column: user_id}
      - {name: value, kind: sum, column: value}
      - {name: value_q, kind: quantiles, column: value, levels: [0.5, 0.9]}
    derived:
      - {name: value_per_hit, expr: "if(hits = 0, 0, value / hits)"}
endpoints:
  - name: totals
    rollup: hits_hourly
    metrics: [hits, users, users_uniq, users_exact, value]
    params: [{name: site, type: String}]
    filters: [{dimension: site, param: site}]
  - name: by_page
    rollup: hits_hourly
    metrics: [hits, users]
    group_by: [page]
    params: [{name: site, type: String}]
    filters: [{dimension: site, param: site}]
    order_by: [hits DESC, page]
  - name: hourly
    rollup: hits_hourly
    metrics: [hits, users]
    bucket: hour
    params: [{name: site, type: String}]
    filters: [{dimension: site, param: site}]
    finals: true
  - name: daily
    rollup: hits_hourly
    metrics: [hits, users]
    bucket: day
    params: [{name: site, type: String}]
    filters: [{dimension: site, param: site}]
    finals: [[], [site]]
  - name: trend
    rollup: hits_hourly
    metrics: [hits, users, value_per_hit]
    bucket: day
    fill: true
    compare: previous_period
    params: [{name: site, type: String}, {name: pages, type: Array(String)}]
    filters: [{dimension: site, param: site}, {dimension: page, param: pages, op: in}]
    finals: true
  - name: top_pages
    rollup: hits_hourly
    metrics: [hits, users, value_q]
    group_by: [page]
    params: [{name: site, type: String}, {name: pages, type: Array(String)}]
    filters: [{dimension: site, param: site}, {dimension: page, param: pages, op: not in}]
    order_by: [hits DESC, page]
    limit: {param: limit, default: 3, max: 10}
    offset: {param: offset, max: 10}
`

// The reads fixture: 40 days of hits ending at readsEnd, every rollup hour backfilled (which
// keeps the grains and finals in step), the clock in the open hour after it.
var (
	readsStart = time.Date(2026, 10, 3, 7, 0, 0, 0, time.UTC) // a Saturday, off midnight
	readsEnd   = readsStart.AddDate(0, 0, 40)
)

func insertHits(t testing.TB, e engine.Engine, db string, from, to time.Time, n, seed int) {
	t.Helper()
	step := to.Sub(from).Seconds() / float64(n)
	enginetest.MustExec(t, e, fmt.Sprintf(`INSERT INTO %s.hits (ts, site, page, user_id, value)
SELECT toDateTime(%d + intDiv(number * %d, 1000), 'UTC'), concat('s', toString(cityHash64(number, %d) %% 3)),
    concat('/p', toString(cityHash64(number, %d, 1) %% 7)), concat('u', toString(cityHash64(number, %d, 2) %% 20000)),
    (cityHash64(number, %d, 3) %% 100000) / 7.0
FROM numbers(%d)`, db, from.Unix(), int64(step*1000), seed, seed, seed, seed, n))
}

// sketches compares the uniq_combined columns of a result by their sketch's rule: exact but at
// the sketch's set size (see pipes.Sketch).
func sketches(f *projecttest.Fixture, res *endpoints.RunResult) cmp.Option {
	return endpoints.SketchEqual(endpoints.Sketches(f.A.Rollup("hits_hourly"), res.Columns))
}

func newReadsFixture(t *testing.T) *projecttest.Fixture {
	t.Helper()
	e := shared.NeedEmbedded(t)
	f := projecttest.Deploy(t, e, projecttest.FromYAML(t, readsYAML, enginetest.TempDatabase(t, e)))
	f.Clock = readsEnd.Add(20 * time.Minute)
	insertHits(t, e, f.DB, readsStart, readsEnd, 60000, 1)
	f.Backfill("hits_hourly", timerange.Range{Start: readsStart, End: readsEnd})
	return f
}

// rawTotals is the totals endpoint written by hand over the raw table.
const rawTotals = `SELECT count(), uniqCombined(14)(user_id), uniq(user_id), uniqExact(user_id), sum(value)
FROM %s.hits WHERE ts >= {s:DateTime} AND ts < {e:DateTime} AND ({site:String} = '' OR site = {site:String})`

const rawByPage = `SELECT page, count() AS hits, uniqCombined(14)(user_id) FROM %s.hits
WHERE ts >= {s:DateTime} AND ts < {e:DateTime} AND ({site:String} = '' OR site = {site:String})
GROUP BY page ORDER BY hits DESC, page`

const rawHourly = `SELECT toStartOfHour(ts), count(), uniqCombined(14)(user_id) FROM %s.hits
WHERE ts >= {s:DateTime} AND ts < {e:DateTime} AND ({site:String} = '' OR site = {site:String})
GROUP BY 1 ORDER BY 1`

const rawDaily = `SELECT toDate(ts), count(), uniqCombined(14)(user_id) FROM %s.hits
WHERE ts >= {s:DateTime} AND ts < {e:DateTime} AND ({site:String} = '' OR site = {site:String})
GROUP BY 1 ORDER BY 1`

// TestPlannedReads shares one fixture (a 40-day backfill) between its parts, in order: the
// first reads only, the second changes old days, the third adds rows after the watermark.
func TestPlannedReads(t *testing.T) {
	f := newReadsFixture(t)
	for _, c := range []struct {
		name string
		run  func(*testing.T, *projecttest.Fixture)
	}{
		{"EqualRaw", plannedReadsEqualRaw},
		{"DashboardShapes", plannedDashboardShapes},
		{"FollowLateRowsAndRepopulates", servedReadsFollowLateRowsAndRepopulates},
		{"GateProvesGrainsAndFinals", gateProvesGrainsAndFinals},
		{"OpenHourWithoutPopulate", openHourServedWithoutPopulate},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.T = t // the fixture's helpers fail the part that runs
			c.run(t, f)
		})
	}
}

// plannedReadsEqualRaw runs each endpoint as it is served — the planned read over weeks,
// days, hours, finals and the raw tail — over ranges that start and end off every boundary, for
// every tenant and none, and compares its rows with SQL over the raw table written here, with
// the same distinct-count functions. The plans must use the grains and finals they exist for.
func plannedReadsEqualRaw(t *testing.T, f *projecttest.Fixture) {
	ctx := context.Background()
	format := timerange.Format
	ranges := []timerange.Range{
		{Start: readsStart, End: readsEnd},                                                         // everything: weeks, days, hours
		{Start: readsEnd.AddDate(0, 0, -30), End: readsEnd},                                        // 30 days
		{Start: readsStart.Add(90 * time.Minute), End: readsEnd.Add(-150 * time.Minute)},           // off the hour at both ends
		{Start: readsStart.AddDate(0, 0, 2).Add(-7 * time.Hour), End: readsStart.AddDate(0, 0, 3)}, // one whole day and hours
	}
	usedKinds := map[string]bool{}
	for _, rg := range ranges {
		for _, site := range []string{"", "s1"} {
			// A filter applies when its parameter is given: "" leaves site out.
			p := map[string]string{"start": format(rg.Start), "end": format(rg.End)}
			if site != "" {
				p["site"] = site
			}
			bind := engine.Params{"s": rg.Start, "e": rg.End, "site": site}
			for _, c := range []struct{ endpoint, raw string }{
				{"totals", rawTotals}, {"by_page", rawByPage}, {"hourly", rawHourly}, {"daily", rawDaily},
			} {
				res, err := endpoints.RunWith(ctx, f.E, f.A, c.endpoint, p, endpoints.RunOptions{Side: endpoints.SideRollup, Now: f.Clock, Store: f.Store})
				if err != nil {
					t.Fatalf("%s %v: %v", c.endpoint, p, err)
				}
				want := enginetest.MustQuery(t, f.E, fmt.Sprintf(c.raw, f.DB), bind).Rows
				if len(want) == 0 {
					t.Fatalf("%s %v: no raw rows: the comparison checks nothing", c.endpoint, p)
				}
				if d := cmp.Diff(want, res.Rows, projecttest.Approx, sketches(f, res)); d != "" {
					t.Errorf("%s %v (plan %s): served differs from raw (-raw +served):\n%s", c.endpoint, p, res.Plan.Summary(), d)
				}
				for _, s := range res.Plan.Segments {
					usedKinds[c.endpoint+" "+s.Kind] = true
				}
			}
		}
	}
	for _, k := range []string{"totals week", "totals day", "totals hour", "totals raw", "by_page week", "hourly final", "daily final", "daily hour", "hourly raw"} {
		if !usedKinds[k] {
			t.Errorf("no plan used %q: the test does not cover it (used %v)", k, usedKinds)
		}
	}
	if usedKinds["hourly week"] || usedKinds["hourly day"] || usedKinds["daily week"] {
		t.Errorf("a plan used a grain coarser than the endpoint's bucket: %v", usedKinds)
	}
}

// openHourServedWithoutPopulate inserts hits into the hour that is still open and into the
// last closed hour, which no populate has stored, and reads them through the planned read at
// once: the raw tail serves them, exactly. An endpoint with fresh: false stops at the
// watermark.
func openHourServedWithoutPopulate(t *testing.T, f *projecttest.Fixture) {
	ctx := context.Background()
	// The watermark stands at readsEnd; the clock is 20 minutes into the hour after it. Two
	// hours later, hours [readsEnd, +2h) are closed but not populated, and +2h is open.
	f.Clock = readsEnd.Add(2*time.Hour + 20*time.Minute)
	insertHits(t, f.E, f.DB, readsEnd, readsEnd.Add(2*time.Hour+15*time.Minute), 900, 7)
	end := readsEnd.Add(3 * time.Hour) // the end of the open hour
	p := map[string]string{"start": timerange.Format(readsEnd.AddDate(0, 0, -10)), "end": timerange.Format(end)}
	bind := engine.Params{"s": readsEnd.AddDate(0, 0, -10), "e": end, "site": ""}
	w, ok, err := f.Store.Watermark(ctx, "hits_hourly")
	if err != nil || !ok || !w.Equal(readsEnd) {
		t.Fatalf("watermark %v %v %v, want %s", w, ok, err, readsEnd)
	}
	res, err := endpoints.RunWith(ctx, f.E, f.A, "hourly", p, endpoints.RunOptions{Side: endpoints.SideRollup, Now: f.Clock, Store: f.Store})
	if err != nil {
		t.Fatal(err)
	}
	want := enginetest.MustQuery(t, f.E, fmt.Sprintf(rawHourly, f.DB), bind).Rows
	if d := cmp.Diff(want, res.Rows, sketches(f, res)); d != "" {
		t.Fatalf("hourly with the open hour (plan %s): served differs from raw (-raw +served):\n%s", res.Plan.Summary(), d)
	}
	last := res.Rows[len(res.Rows)-1]
	if !last[0].(time.Time).Equal(readsEnd.Add(2*time.Hour)) || last[1].(uint64) == 0 {
		t.Fatalf("the open hour %s is not served: last row %v", timerange.Format(readsEnd.Add(2*time.Hour)), last)
	}
	totals, err := endpoints.RunWith(ctx, f.E, f.A, "totals", p, endpoints.RunOptions{Side: endpoints.SideRollup, Now: f.Clock, Store: f.Store})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(enginetest.MustQuery(t, f.E, fmt.Sprintf(rawTotals, f.DB), bind).Rows, totals.Rows, projecttest.Approx, sketches(f, totals)); d != "" {
		t.Fatalf("totals with the open hour (plan %s): served differs from raw:\n%s", totals.Plan.Summary(), d)
	}

	// fresh: false stops at the watermark: the same call without the tail equals raw up to it.
	f.A.Endpoint("totals").Endpoint.NoFresh = true
	defer func() { f.A.Endpoint("totals").Endpoint.NoFresh = false }()
	closed, err := endpoints.RunWith(ctx, f.E, f.A, "totals", p, endpoints.RunOptions{Side: endpoints.SideRollup, Now: f.Clock, Store: f.Store})
	if err != nil {
		t.Fatal(err)
	}
	bind["e"] = readsEnd
	if d := cmp.Diff(enginetest.MustQuery(t, f.E, fmt.Sprintf(rawTotals, f.DB), bind).Rows, closed.Rows, projecttest.Approx, sketches(f, closed)); d != "" {
		t.Fatalf("fresh: false (plan %s): served differs from raw up to the watermark:\n%s", closed.Plan.Summary(), d)
	}
	for _, s := range closed.Plan.Segments {
		if s.Kind == pipes.SegmentRaw {
			t.Fatalf("fresh: false read raw rows: %s", closed.Plan.Summary())
		}
	}
}

// servedReadsFollowLateRowsAndRepopulates changes data that the grains already hold — late
// rows in an old day, rows deleted from another — re-runs populate over those days (the
// hourly table, its day and week grains and the finals are rebuilt in one unit each), and
// checks the served reads against raw again, and that --explain reads each segment.
func servedReadsFollowLateRowsAndRepopulates(t *testing.T, f *projecttest.Fixture) {
	ctx := context.Background()
	late := readsStart.AddDate(0, 0, 10).Add(13*time.Hour + 17*time.Minute)
	insertHits(t, f.E, f.DB, late, late.Add(30*time.Minute), 500, 11)
	gone := readsStart.AddDate(0, 0, 20)
	enginetest.MustExec(t, f.E, fmt.Sprintf("ALTER TABLE %s.hits DELETE WHERE ts >= %d AND ts < %d SETTINGS mutations_sync = 2", f.DB, gone.Unix(), gone.Add(5*time.Hour).Unix()))
	for _, d := range []time.Time{late, gone} {
		day := d.Truncate(24 * time.Hour)
		f.Backfill("hits_hourly", timerange.Range{Start: day, End: day.AddDate(0, 0, 1)})
	}
	rg := timerange.Range{Start: readsStart, End: readsEnd}
	p := map[string]string{"start": timerange.Format(rg.Start), "end": timerange.Format(rg.End), "site": "s2"}
	bind := engine.Params{"s": rg.Start, "e": rg.End, "site": "s2"}
	for endpoint, raw := range map[string]string{"totals": rawTotals, "daily": rawDaily, "hourly": rawHourly} {
		res, err := endpoints.RunWith(ctx, f.E, f.A, endpoint, p, endpoints.RunOptions{Side: endpoints.SideRollup, Now: f.Clock, Store: f.Store, Explain: true})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(enginetest.MustQuery(t, f.E, fmt.Sprintf(raw, f.DB), bind).Rows, res.Rows, projecttest.Approx, sketches(f, res)); d != "" {
			t.Errorf("%s after late and deleted rows (plan %s): served differs from raw:\n%s", endpoint, res.Plan.Summary(), d)
		}
		if len(res.Segments) != len(res.Plan.Segments) {
			t.Fatalf("%s: explain gave %d segments for a plan of %d", endpoint, len(res.Segments), len(res.Plan.Segments))
		}
		for _, s := range res.Segments {
			if s.Stats.RowsRead == 0 {
				t.Errorf("%s: segment %s %s read no rows", endpoint, s.Kind, s.Table)
			}
		}
	}
	// The rollup's own validation still holds, and nothing is left behind.
	f.RequireExact("hits_hourly", rg)
	left := enginetest.MustQuery(t, f.E, "SELECT count() FROM system.tables WHERE database = {db:String} AND name LIKE '%\\_\\_stg\\_%'", engine.Params{"db": f.DB})
	if n := left.Row()[0].(uint64); n != 0 {
		t.Errorf("%d staging tables left behind", n)
	}
}

// gateProvesGrainsAndFinals validates the grain and finals tables against raw, then breaks the
// week grain (a week's row counted twice) and a finals row, and checks that validate says so
// and the switch gate refuses the endpoints whose plans read them; a backfill over those days
// repairs both.
func gateProvesGrainsAndFinals(t *testing.T, f *projecttest.Fixture) {
	ctx := context.Background()
	rg := timerange.Range{Start: readsStart, End: readsEnd}
	check := func(want bool) {
		t.Helper()
		for _, g := range []datasources.Grain{datasources.GrainDay, datasources.GrainWeek} {
			rep, err := validate.Run(ctx, f.E, f.A, "hits_hourly", validate.Options{Range: rg, Now: f.Clock, Grain: g, Dimensions: []string{"site"}, Store: f.Store})
			if err != nil {
				t.Fatal(err)
			}
			exact := want || g == datasources.GrainDay // only the week is broken
			if rep.Exact != exact || rep.Buckets == 0 || rep.Range.Start.Before(rg.Start) {
				t.Fatalf("validate --grain %s: %s, want exact %v", g, rep.Summary(), exact)
			}
		}
		rep, err := validate.Finals(ctx, f.E, f.A.Rollup("hits_hourly"), "hourly", validate.Options{Range: rg, Now: f.Clock, Store: f.Store})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Exact != want || rep.Rows == 0 {
			t.Fatalf("finals of hourly: %s, want exact %v", rep.Summary(), want)
		}
	}
	check(true)
	week := time.Date(2026, 10, 12, 0, 0, 0, 0, time.UTC) // a Monday
	enginetest.MustExec(t, f.E,
		fmt.Sprintf("INSERT INTO %s.hits_hourly_week SELECT * FROM %s.hits_hourly_week WHERE hour = %d AND site = 's1' LIMIT 1", f.DB, f.DB, week.Unix()),
		fmt.Sprintf("INSERT INTO %s.hourly_final_hits_hourly SELECT hour, __hg_set, site, hits + 1, users FROM %s.hourly_final_hits_hourly WHERE hour = %d AND __hg_set = 1 AND site = 's2'", f.DB, f.DB, week.Add(5*time.Hour).Unix()),
		fmt.Sprintf("ALTER TABLE %s.hourly_final_hits_hourly DELETE WHERE hour = %d AND __hg_set = 1 AND site = 's2' AND hits = (SELECT min(hits) FROM %s.hourly_final_hits_hourly WHERE hour = %d AND __hg_set = 1 AND site = 's2') SETTINGS mutations_sync = 2",
			f.DB, week.Add(5*time.Hour).Unix(), f.DB, week.Add(5*time.Hour).Unix()))
	check(false)
	for endpoint, table := range map[string]string{"totals": "hits_hourly_week", "hourly": "hourly_final_hits_hourly"} {
		res, err := endpoints.Switch(ctx, f.E, f.Store, f.A, endpoint, endpoints.TargetRollup, endpoints.SwitchOptions{Now: f.Clock, Actor: "t"})
		if !errors.Is(err, endpoints.ErrRefused) || res == nil || !strings.Contains(res.Validation, table) {
			t.Fatalf("switch %s with a broken %s: %v (%+v)", endpoint, table, err, res)
		}
	}
	f.Backfill("hits_hourly", timerange.Range{Start: week, End: week.AddDate(0, 0, 1)})
	check(true)
	if _, err := endpoints.Switch(ctx, f.E, f.Store, f.A, "hourly", endpoints.TargetRollup, endpoints.SwitchOptions{Now: f.Clock, Actor: "t"}); err != nil {
		t.Fatalf("switch hourly after the repair: %v", err)
	}
}
