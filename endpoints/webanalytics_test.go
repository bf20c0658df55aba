package endpoints_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/deploy"
	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
	"github.com/hourglass-dev/hourglass/validate"
)

// The web-analytics test project (../testdata/webanalytics) is written after Tinybird's web
// analytics conventions: raw tracker events with a JSON payload string, sessions derived from
// them, kpis with bounce rate and session length, a trend with every hour present, top pages
// and sources with limits and list filters, web vitals quantiles. Its events span
// [waStart, waEnd); the clock stands at waNow.
var (
	waStart = time.Date(2026, 10, 28, 0, 0, 0, 0, time.UTC)
	waEnd   = time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC)
	waNow   = time.Date(2026, 11, 5, 3, 30, 0, 0, time.UTC)
)

// webAnalytics is the test project deployed, loaded and backfilled.
type webAnalytics struct {
	t     *testing.T
	e     engine.Engine
	db    string
	a     *pipes.Artifacts
	store *meta.Store
}

func loadWebAnalytics(t *testing.T, db string) *datasources.Project {
	t.Helper()
	def, err := datasources.Load(os.DirFS("../testdata/webanalytics"))
	if err != nil {
		t.Fatal(err)
	}
	def.Database = db
	return def
}

// waEvents writes the tracker's events as NDJSON, deterministically: sessions of one to six
// page hits up to 25 minutes apart (so at most about two hours long, within the rollup's
// span of 4h), each with one user agent, location and referrer (” for direct traffic), some
// with a web-vital event (LCP in ms; some without a session id).
func waEvents(sessions int) string {
	agents := []string{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Version/17.0 Mobile Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14) Chrome/120 Mobile",
		"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Firefox/121.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Chrome/120 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Version/17.0 Safari/605.1.15",
	}
	referrers := []string{"", "https://www.google.com/", "", "https://news.ycombinator.com/", "https://www.bing.com/"}
	locations := []string{"DE", "US", "FR", "US", "ES"}
	pages := []string{"/", "/pricing", "/docs", "/docs/install", "/blog/launch", "/about"}
	h := func(parts ...int) int {
		f := fnv.New32a()
		fmt.Fprint(f, parts)
		return int(f.Sum32() & 0x7fffffff)
	}
	var b strings.Builder
	span := waEnd.Sub(waStart) - 3*time.Hour
	for s := 0; s < sessions; s++ {
		start := waStart.Add(time.Duration(int64(span) * int64(s) / int64(sessions))).Add(time.Duration(h(s, 1)%600) * time.Second)
		hits := 1 + h(s, 2)%6
		ua, ref, loc := agents[h(s, 3)%len(agents)], referrers[h(s, 4)%len(referrers)], locations[h(s, 5)%len(locations)]
		at := start
		for i := 0; i < hits; i++ {
			if i > 0 {
				at = at.Add(time.Duration(1+h(s, i, 6)%1500) * time.Second)
			}
			payload := fmt.Sprintf(`{"pathname": %q, "referrer": %q, "user-agent": %q, "location": %q}`, pages[h(s, i, 7)%len(pages)], ref, ua, loc)
			fmt.Fprintf(&b, `{"timestamp": %q, "session_id": "s%d", "action": "page_hit", "version": "1", "payload": %q}`+"\n",
				at.Format(time.DateTime), s, payload)
		}
		if h(s, 8)%3 == 0 {
			sid := fmt.Sprintf(`"s%d"`, s)
			if h(s, 9)%5 == 0 {
				sid = "null"
			}
			payload := fmt.Sprintf(`{"pathname": %q, "metric": "LCP", "value": %d.%d, "user-agent": %q, "location": %q}`,
				pages[h(s, 10)%len(pages)], 600+h(s, 11)%7000, h(s, 12)%10, ua, loc)
			fmt.Fprintf(&b, `{"timestamp": %q, "session_id": %s, "action": "web_vital", "version": "1", "payload": %q}`+"\n",
				start.Add(2*time.Second).Format(time.DateTime), sid, payload)
		}
	}
	return b.String()
}

// newWebAnalytics deploys the test project into a database of its own with deploy, loads its
// events with engine.Load (as hourglass load does) and backfills every rollup, the sessions
// before the rollup that reads them.
func newWebAnalytics(t *testing.T) *webAnalytics {
	t.Helper()
	w := deployWebAnalytics(t)
	runner := populate.New(w.e, w.store, w.a, populate.Options{Now: func() time.Time { return waNow }})
	history := timerange.Range{Start: waStart.AddDate(0, 0, -2), End: waNow.Truncate(time.Hour)}
	for _, r := range populate.SourcesFirst(w.a, []string{"analytics_sessions_hourly", "analytics_pages_hourly", "analytics_sources_hourly", "analytics_vitals_hourly", "analytics_sessions"}) {
		if _, err := runner.Backfill(context.Background(), r, history, populate.BackfillOptions{}); err != nil {
			t.Fatalf("backfill %s: %v", r, err)
		}
	}
	return w
}

// deployWebAnalytics deploys the test project and loads its events, backfilling nothing.
func deployWebAnalytics(t *testing.T) *webAnalytics {
	t.Helper()
	ctx := context.Background()
	e := shared.NeedEmbedded(t)
	db := enginetest.TempDatabase(t, e)
	a, err := pipes.Compile(loadWebAnalytics(t, db))
	if err != nil {
		t.Fatal(err)
	}
	w := &webAnalytics{t: t, e: e, db: db, a: a, store: meta.New(e, db, func() time.Time { return waNow })}
	plan, err := deploy.PlanAt(ctx, e, w.store, a, waNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := deploy.Apply(ctx, e, w.store, plan, deploy.ApplyOptions{Now: waNow}); err != nil {
		t.Fatal(err)
	}
	res, err := engine.Load(ctx, e, engine.LoadRequest{Database: db, Table: "analytics_events", Format: "JSONEachRow", Data: strings.NewReader(waEvents(1500))})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows < 3000 {
		t.Fatalf("loaded %d events", res.Rows)
	}
	return w
}

// A rollup over a rollup is backfilled after its source: alone, it is refused with the
// command to run; named together, the source runs first whatever the order given.
func TestBackfillNeedsTheSourceFirst(t *testing.T) {
	w := deployWebAnalytics(t)
	runner := populate.New(w.e, w.store, w.a, populate.Options{Now: func() time.Time { return waNow }})
	rg := timerange.Range{Start: date("2026-11-01"), End: date("2026-11-03")}
	_, err := runner.Backfill(context.Background(), "analytics_sessions_hourly", rg, populate.BackfillOptions{})
	if err == nil || !strings.Contains(err.Error(), `rollup analytics_sessions_hourly reads rollup analytics_sessions, which holds no backfilled hours: backfill analytics_sessions first, from 4h0m0s before`) ||
		!strings.Contains(err.Error(), `hourglass backfill analytics_sessions analytics_sessions_hourly --from "2026-10-31 20:00:00" --to "2026-11-03 00:00:00"`) {
		t.Fatalf("backfill before the source: %v", err)
	}
	if got := populate.SourcesFirst(w.a, []string{"analytics_sessions_hourly", "analytics_pages_hourly", "analytics_sessions"}); strings.Join(got, ",") != "analytics_pages_hourly,analytics_sessions,analytics_sessions_hourly" {
		t.Errorf("order %v", got)
	}
}

// sessionsSQL derives sessions from the raw events the way Tinybird's kit does: one row per
// session over all its page hits.
const sessionsSQL = `
    SELECT coalesce(session_id, '0') AS sid, min(timestamp) AS first_hit, max(timestamp) AS latest_hit, count() AS hits,
        any(multiIf(match(user_agent, 'iPhone|Android'), 'mobile', 'desktop')) AS device,
        any(multiIf(match(user_agent, 'Firefox'), 'firefox', match(user_agent, 'Safari') AND NOT match(user_agent, 'Chrome'), 'safari', 'chrome')) AS browser,
        any(location) AS location
    FROM %[1]s.analytics_events
    WHERE action = 'page_hit'
    GROUP BY sid`

// oracle is a hand-written query over the raw events for one call, with its own parameters.
type oracle struct {
	sql    string
	params engine.Params
	// fill lists the buckets every one of which the result must hold (zero rows added
	// for missing ones, in Go), with the number of value columns after the bucket.
	fill   []time.Time
	values int
}

func days(from, to time.Time) []time.Time {
	var out []time.Time
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		out = append(out, d)
	}
	return out
}

func hours(from, to time.Time) []time.Time {
	var out []time.Time
	for h := from.Truncate(time.Hour); h.Before(to); h = h.Add(time.Hour) {
		out = append(out, h)
	}
	return out
}

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func dt(s string) time.Time {
	t, err := time.Parse(time.DateTime, s)
	if err != nil {
		panic(err)
	}
	return t
}

// kpisOracle: visits, pageviews, bounce rate and average session length per day sessions
// start in, over the Date range [from, to] (to included).
func kpisOracle(db string, from, to time.Time, device *string) oracle {
	where := "first_hit >= {from:Date} AND first_hit < {to:Date} + 1"
	p := engine.Params{"from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly)}
	if device != nil {
		where += " AND device = {device:String}"
		p["device"] = *device
	}
	return oracle{
		sql: fmt.Sprintf(`SELECT toDate(first_hit) AS day, count() AS visits, sum(hits) AS pageviews,
    countIf(hits = 1) / count() AS bounce_rate, avg(dateDiff('second', first_hit, latest_hit)) AS avg_session_sec
FROM (`+sessionsSQL+`)
WHERE %[2]s
GROUP BY day ORDER BY day`, db, where),
		params: p, fill: days(from, to), values: 4,
	}
}

// summaryOracle: the kpis over [from, to] and over the same number of days before from.
func summaryOracle(db string, from, to time.Time) oracle {
	n := int(to.Sub(from).Hours()/24) + 1
	return oracle{
		sql: fmt.Sprintf(`WITH s AS (`+sessionsSQL+`),
cur AS (SELECT count() AS v, sum(hits) AS pv, countIf(hits = 1) / count() AS br, avg(dateDiff('second', first_hit, latest_hit)) AS asd
        FROM s WHERE first_hit >= {from:Date} AND first_hit < {to:Date} + 1),
prev AS (SELECT count() AS v, sum(hits) AS pv, countIf(hits = 1) / count() AS br, avg(dateDiff('second', first_hit, latest_hit)) AS asd
        FROM s WHERE first_hit >= {from:Date} - {n:UInt32} AND first_hit < {from:Date})
SELECT cur.v, prev.v, (cur.v - prev.v) / prev.v, cur.pv, prev.pv, (cur.pv - prev.pv) / prev.pv,
    cur.br, prev.br, (cur.br - prev.br) / prev.br, cur.asd, prev.asd, (cur.asd - prev.asd) / prev.asd
FROM cur, prev`, db),
		params: engine.Params{"from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly), "n": uint32(n)},
	}
}

// trendOracle: sessions per hour they start in over [start, end), of the browsers listed.
func trendOracle(db string, start, end time.Time, browsers []string) oracle {
	where := "first_hit >= {start:DateTime} AND first_hit < {end:DateTime}"
	p := engine.Params{"start": start, "end": end}
	if browsers != nil {
		where += " AND browser IN {browsers:Array(String)}"
		p["browsers"] = browsers
	}
	return oracle{
		sql: fmt.Sprintf(`SELECT toStartOfHour(first_hit) AS hour, count() AS visits FROM (`+sessionsSQL+`)
WHERE %[2]s GROUP BY hour ORDER BY hour`, db, where),
		params: p, fill: hours(start, end), values: 1,
	}
}

// topOracle: visits (distinct sessions) and hits per page or referrer over [from, to], the
// most visited first, with a limit and an offset.
func topOracle(db, key string, from, to time.Time, where string, p engine.Params, limit, skip int) oracle {
	p["from"], p["to"] = from.Format(time.DateOnly), to.Format(time.DateOnly)
	return oracle{
		sql: fmt.Sprintf(`SELECT %[2]s, count(DISTINCT coalesce(session_id, '0')) AS visits, count() AS hits
FROM %[1]s.analytics_events
WHERE action = 'page_hit' AND timestamp >= {from:Date} AND timestamp < {to:Date} + 1 %[3]s
GROUP BY %[2]s ORDER BY visits DESC, %[2]s LIMIT %[4]d OFFSET %[5]d`, db, key, where, limit, skip),
		params: p,
	}
}

// vitalsOracle: LCP samples, p75 and p95 (the same DDSketch function: the endpoint's value
// must equal it within the metric's stated tolerance) and slow sessions per page.
func vitalsOracle(db string, start, end time.Time, minPath *string) oracle {
	where := ""
	p := engine.Params{"start": start, "end": end}
	if minPath != nil {
		where = "AND pathname >= {min_path:String}"
		p["min_path"] = *minPath
	}
	return oracle{
		sql: fmt.Sprintf(`SELECT pathname, count() AS samples,
    quantilesDD(0.01, 0.75, 0.95)(JSONExtractFloat(payload, 'value')) AS q, q[1], q[2],
    uniqIf(coalesce(session_id, '0'), JSONExtractFloat(payload, 'value') > 4000) AS slow
FROM %[1]s.analytics_events
WHERE action = 'web_vital' AND timestamp >= {start:DateTime} AND timestamp < {end:DateTime} %[2]s
GROUP BY pathname ORDER BY pathname`, db, where),
		params: p,
	}
}

// rows runs an oracle and returns its rows, with zero rows for the buckets it must hold.
func (w *webAnalytics) rows(o oracle) [][]any {
	w.t.Helper()
	got := enginetest.MustQuery(w.t, w.e, o.sql, o.params).Rows
	if o.fill == nil {
		return got
	}
	at := map[time.Time][]any{}
	for _, r := range got {
		at[r[0].(time.Time)] = r
	}
	var out [][]any
	for _, b := range o.fill {
		r, ok := at[b]
		if !ok {
			r = []any{b}
			for range o.values {
				r = append(r, nil)
			}
		}
		out = append(out, r)
	}
	return out
}

// sameRows compares rows by value: numbers as float64 within 1e-9 relative (a missing value,
// nil, equals 0), times as times. tol overrides the tolerance for some columns.
func sameRows(t *testing.T, what string, want, got [][]any, tol map[int]float64) {
	t.Helper()
	norm := func(rows [][]any) [][]any {
		var out [][]any
		for _, r := range rows {
			var n []any
			for _, v := range r {
				switch x := v.(type) {
				case nil:
					n = append(n, 0.0)
				case uint64:
					n = append(n, float64(x))
				case int64:
					n = append(n, float64(x))
				case float64:
					n = append(n, x)
				case []any:
					var fs []float64
					for _, y := range x {
						fs = append(fs, y.(float64))
					}
					n = append(n, fs)
				default:
					n = append(n, v)
				}
			}
			out = append(out, n)
		}
		return out
	}
	w, g := norm(want), norm(got)
	if len(w) == 0 {
		t.Fatalf("%s: the oracle returns no rows: the case checks nothing", what)
	}
	if len(w) != len(g) {
		t.Fatalf("%s: %d rows, want %d:\ngot  %v\nwant %v", what, len(g), len(w), g, w)
	}
	for i := range w {
		if len(w[i]) != len(g[i]) {
			t.Fatalf("%s row %d: %d columns, want %d: %v vs %v", what, i, len(g[i]), len(w[i]), g[i], w[i])
		}
		for j := range w[i] {
			rel := 1e-9
			if x, ok := tol[j]; ok {
				rel = x
			}
			if d := cmp.Diff(w[i][j], g[i][j], cmpopts.EquateApprox(rel, 1e-12), cmpopts.EquateNaNs()); d != "" {
				t.Errorf("%s row %d column %d: got %v, want %v", what, i, j, g[i][j], w[i][j])
			}
		}
	}
}

// TestWebAnalyticsEndpoints runs every endpoint of the test project with several parameter
// sets — defaults, ranges not aligned to days, empty-string filters, lists, limits and
// offsets — on its rollup version, its raw version and its published view, and checks each
// against SQL written here over the raw events. Every rollup is exact against raw, the
// derived sessions included; the switch gate passes for every endpoint.
func TestWebAnalyticsEndpoints(t *testing.T) {
	w := newWebAnalytics(t)
	ctx := context.Background()
	db := w.db
	for _, ra := range w.a.Rollups {
		rep, err := validate.Run(ctx, w.e, w.a, ra.Rollup.Name, validate.Options{
			Range: timerange.Range{Start: waStart, End: waEnd}, Now: waNow, Dimensions: dims(ra), Store: w.store,
		})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Exact || rep.Rows == 0 {
			t.Fatalf("%s", rep.Summary())
		}
	}
	mobile, empty := "mobile", ""
	docs := "/docs"
	cases := []struct {
		endpoint string
		params   map[string]string
		oracle   oracle
		tol      map[int]float64
	}{
		// The default window: the last 7 days and today, days without sessions present.
		{"kpis", map[string]string{}, kpisOracle(db, date("2026-10-29"), date("2026-11-05"), nil), nil},
		{"kpis", map[string]string{"date_from": "2026-10-30", "date_to": "2026-11-01"}, kpisOracle(db, date("2026-10-30"), date("2026-11-01"), nil), nil},
		{"kpis", map[string]string{"date_from": "2026-10-28", "date_to": "2026-11-03", "device": "mobile"}, kpisOracle(db, date("2026-10-28"), date("2026-11-03"), &mobile), nil},
		// device= is the value '': no session has it, so every day is there with zeros.
		{"kpis", map[string]string{"date_from": "2026-10-31", "date_to": "2026-11-02", "device": ""}, kpisOracle(db, date("2026-10-31"), date("2026-11-02"), &empty), nil},
		{"kpis_summary", map[string]string{"date_from": "2026-11-01", "date_to": "2026-11-03"}, summaryOracle(db, date("2026-11-01"), date("2026-11-03")), nil},
		{"kpis_summary", map[string]string{"date_from": "2026-10-31", "date_to": "2026-10-31"}, summaryOracle(db, date("2026-10-31"), date("2026-10-31")), nil},
		// Ranges not aligned to days.
		{"trend", map[string]string{"start": "2026-11-01 10:00:00", "end": "2026-11-02 15:00:00"}, trendOracle(db, dt("2026-11-01 10:00:00"), dt("2026-11-02 15:00:00"), nil), nil},
		{"trend", map[string]string{"start": "2026-10-30 21:00:00", "end": "2026-10-31 05:00:00", "browsers": "firefox,safari"},
			trendOracle(db, dt("2026-10-30 21:00:00"), dt("2026-10-31 05:00:00"), []string{"firefox", "safari"}), nil},
		{"top_pages", map[string]string{}, topOracle(db, "pathname", date("2026-10-29"), date("2026-11-05"), "", engine.Params{}, 50, 0), nil},
		{"top_pages", map[string]string{"date_from": "2026-10-29", "date_to": "2026-11-02", "devices": "mobile", "limit": "3", "skip": "2"},
			topOracle(db, "pathname", date("2026-10-29"), date("2026-11-02"), "AND multiIf(match(user_agent, 'iPhone|Android'), 'mobile', 'desktop') IN ('mobile')", engine.Params{}, 3, 2), nil},
		{"top_pages", map[string]string{"date_from": "2026-10-28", "date_to": "2026-11-03", "locations": "DE,US"},
			topOracle(db, "pathname", date("2026-10-28"), date("2026-11-03"), "AND location NOT IN ('DE', 'US')", engine.Params{}, 50, 0), nil},
		{"top_sources", map[string]string{"date_from": "2026-10-28", "date_to": "2026-11-03"},
			topOracle(db, "referrer", date("2026-10-28"), date("2026-11-03"), "", engine.Params{}, 50, 0), nil},
		// referrer= selects direct traffic, whose referrer is ''.
		{"top_sources", map[string]string{"date_from": "2026-10-28", "date_to": "2026-11-03", "referrer": ""},
			topOracle(db, "referrer", date("2026-10-28"), date("2026-11-03"), "AND referrer = ''", engine.Params{}, 50, 0), nil},
		{"top_sources", map[string]string{"date_from": "2026-11-01", "date_to": "2026-11-01", "locations": "FR,ES", "limit": "2", "skip": "1"},
			topOracle(db, "referrer", date("2026-11-01"), date("2026-11-01"), "AND location IN ('FR', 'ES')", engine.Params{}, 2, 1), nil},
		// Quantiles within twice their stated accuracy of 1%.
		{"web_vitals", map[string]string{"start": "2026-10-29 07:00:00", "end": "2026-11-03 12:00:00"},
			vitalsOracle(db, dt("2026-10-29 07:00:00"), dt("2026-11-03 12:00:00"), nil), map[int]float64{2: 0.02, 3: 0.02}},
		{"web_vitals", map[string]string{"start": "2026-10-28 00:00:00", "end": "2026-11-04 00:00:00", "min_path": "/docs"},
			vitalsOracle(db, dt("2026-10-28 00:00:00"), dt("2026-11-04 00:00:00"), &docs), map[int]float64{2: 0.02, 3: 0.02}},
	}
	for _, c := range cases {
		want := w.rows(c.oracle)
		if c.endpoint == "web_vitals" {
			// The oracle's q (the whole array) is for reading; the endpoint returns p75, p95.
			for i, r := range want {
				want[i] = append(r[:2:2], r[3:]...)
			}
		}
		for _, side := range []string{endpoints.SideRollup, endpoints.SideRaw} {
			res, err := endpoints.Run(ctx, w.e, w.a, c.endpoint, c.params, side, waNow)
			if err != nil {
				t.Fatalf("%s %v (%s): %v", c.endpoint, c.params, side, err)
			}
			sameRows(t, fmt.Sprintf("%s %v (%s)", c.endpoint, c.params, side), want, res.Rows, c.tol)
		}
	}

	// The published view answers with the same rows (deploy published the raw version;
	// switch it to the rollup through the gate first).
	for _, ea := range w.a.Endpoints {
		res, err := endpoints.Switch(ctx, w.e, w.store, w.a, ea.Endpoint.Name, endpoints.TargetRollup, endpoints.SwitchOptions{Now: waNow, Actor: "test"})
		if err != nil {
			t.Fatalf("switch %s: %v", ea.Endpoint.Name, err)
		}
		if !res.Switched {
			t.Fatalf("switch %s: %+v", ea.Endpoint.Name, res)
		}
	}
	kp := map[string]string{"date_from": "2026-10-30", "date_to": "2026-11-01"}
	view, err := endpoints.Run(ctx, w.e, w.a, "kpis", kp, endpoints.SideView, waNow)
	if err != nil {
		t.Fatal(err)
	}
	sameRows(t, "kpis view", w.rows(kpisOracle(db, date("2026-10-30"), date("2026-11-01"), nil)), view.Rows, nil)
	if len(view.Columns) != 5 || view.Columns[0].Name != "day" || view.Columns[0].Type != "Date" {
		t.Errorf("kpis columns %v: want day (a Date) first", view.Columns)
	}

	// Calls that are the caller's fault are errors naming what to do.
	for _, bad := range []struct {
		endpoint string
		params   map[string]string
		want     string
	}{
		{"top_pages", map[string]string{"limit": "500"}, "at most 100"},
		{"top_pages", map[string]string{"limit": "0"}, "returns no rows"},
		{"top_pages", map[string]string{"skip": "x"}, "whole number"},
		{"top_pages", map[string]string{"device": "mobile"}, `has no parameter "device"`},
		{"kpis", map[string]string{"date_from": "2026-11-03", "date_to": "2026-11-01"}, "is not before"},
		{"kpis", map[string]string{"date_from": "2026-11-03 10:00"}, "is not a day"},
	} {
		_, err := endpoints.Run(ctx, w.e, w.a, bad.endpoint, bad.params, endpoints.SideRollup, waNow)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s %v: %v, want an error with %q", bad.endpoint, bad.params, err, bad.want)
		}
	}
}

// dims lists a rollup's dimensions.
func dims(ra *pipes.RollupArtifacts) []string {
	var out []string
	for _, d := range ra.Rollup.Dimensions {
		out = append(out, d.Name)
	}
	return out
}

// TestLateEventsReopenTheirSessionsHour: a page hit arriving late for a session that started
// hours earlier is recomputed into the sessions rollup by the hourly populate (within its
// lookback), and re-opens the hour the session started in in the rollup reading it, although
// that hour is older than the reader's own lookback: the kpis stay equal to SQL over the raw
// events, and validate stays exact.
func TestLateEventsReopenTheirSessionsHour(t *testing.T) {
	w := newWebAnalytics(t)
	ctx := context.Background()
	clock := waNow
	runner := populate.New(w.e, w.store, w.a, populate.Options{Now: func() time.Time { return clock }})
	load := func(events ...string) {
		t.Helper()
		if _, err := engine.Load(ctx, w.e, engine.LoadRequest{Database: w.db, Table: "analytics_events", Format: "JSONEachRow", Data: strings.NewReader(strings.Join(events, "\n"))}); err != nil {
			t.Fatal(err)
		}
	}
	hit := func(at string) string {
		payload := `{"pathname": "/late", "referrer": "", "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Firefox/121.0", "location": "DE"}`
		return fmt.Sprintf(`{"timestamp": %q, "session_id": "late", "action": "page_hit", "version": "1", "payload": %q}`, at, payload)
	}
	// A session starting at 23:10 the day before with two hits, backfilled again.
	load(hit("2026-11-04 23:10:00"), hit("2026-11-04 23:40:00"))
	for _, r := range []string{"analytics_sessions", "analytics_sessions_hourly"} {
		if _, err := runner.Backfill(ctx, r, timerange.Range{Start: date("2026-11-04"), End: waNow.Truncate(time.Hour)}, populate.BackfillOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// A third hit at 02:50 arrives late: at 04:30 the populate recomputes the sessions of
	// [01:00, 04:00), and the session's start hour, 23:00 the day before, must follow.
	load(hit("2026-11-05 02:50:00"))
	clock = time.Date(2026, 11, 5, 4, 30, 0, 0, time.UTC)
	reps, err := runner.Populate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, rep := range reps {
		t.Logf("%s %s", rep.Rollup, rep.Range)
	}
	kp := map[string]string{"date_from": "2026-11-04", "date_to": "2026-11-05"}
	res, err := endpoints.Run(ctx, w.e, w.a, "kpis", kp, endpoints.SideRollup, clock)
	if err != nil {
		t.Fatal(err)
	}
	want := w.rows(kpisOracle(w.db, date("2026-11-04"), date("2026-11-05"), nil))
	if len(want) != 2 || want[0][1] != uint64(1) || want[0][2] != uint64(3) {
		t.Fatalf("the oracle should see one session of 3 hits on 11-04: %v", want)
	}
	sameRows(t, "kpis after the late hit", want, res.Rows, nil)
	rep, err := validate.Run(ctx, w.e, w.a, "analytics_sessions_hourly", validate.Options{
		Range: timerange.Range{Start: date("2026-11-04"), End: clock.Truncate(time.Hour)}, Now: clock.Add(5 * time.Hour), Store: w.store,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Exact {
		t.Errorf("%s", rep.Summary())
	}
}
