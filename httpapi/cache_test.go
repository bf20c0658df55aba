package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/httpapi"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
)

// TestCacheExact is the closed-bucket cache's story: the same calls through a cached runner,
// an uncached one and raw SQL written here, across populate ticks that bring new hours, late
// rows inside and beyond the lookback, a reconcile --repair of the old hour and a rollback to
// raw. The cached answer always equals the uncached one; both equal raw wherever the rollup
// holds the raw rows (everywhere once reconcile repaired the late hour).
func TestCacheExact(t *testing.T) {
	f := projecttest.New(t, shared.NeedEmbedded(t))
	f.Clock = projecttest.MonthEnd.Add(37 * time.Minute) // 2026-11-20 00:37: the watermark is 00:00
	f.LoadAndBackfill(30, "events_totals_hourly")
	ctx := context.Background()
	for _, ep := range []string{"sum_primitives", "timeseries_primitives"} {
		if _, err := endpoints.Switch(ctx, f.E, f.Store, f.A, ep, endpoints.TargetRollup, endpoints.SwitchOptions{Now: f.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	cache := &httpapi.Cache{}
	cached := &httpapi.ProjectRunner{E: f.E, Store: f.Store, Artifacts: f.A, Now: f.Now, Cache: cache, Reuse: -1}
	uncached := &httpapi.ProjectRunner{E: f.E, Store: f.Store, Artifacts: f.A, Now: f.Now, Reuse: -1}
	pop := populate.New(f.E, f.Store, f.A, populate.Options{Now: f.Now})

	series := map[string]string{"start": "-3d", "end": "now", "campaign_id": "c1"}
	closedSeries := map[string]string{"start": "2026-11-15 00:00:00", "end": "2026-11-18 00:00:00"}
	totals := map[string]string{"start": "2026-11-12 00:00:00", "end": "2026-11-19 00:00:00", "campaign_id": "c2"}
	// call runs a call cached and uncached, checks they agree, and returns the cached result.
	call := func(stage, ep string, params map[string]string, state string) *httpapi.Result {
		t.Helper()
		got, err := cached.Run(ctx, ep, params)
		if err != nil {
			t.Fatalf("%s: %s cached: %v", stage, ep, err)
		}
		want, err := uncached.Run(ctx, ep, params)
		if err != nil {
			t.Fatalf("%s: %s uncached: %v", stage, ep, err)
		}
		if diff := cmp.Diff(want.Rows, got.Rows, projecttest.Approx, cmpopts.EquateNaNs()); diff != "" {
			t.Fatalf("%s: %s %v: cached differs from uncached (-uncached +cached):\n%s", stage, ep, params, diff)
		}
		if len(got.Rows) == 0 {
			t.Fatalf("%s: %s: no rows: the test checks nothing", stage, ep)
		}
		if got.Cache != state {
			t.Errorf("%s: %s %v: cache %s, want %s", stage, ep, params, got.Cache, state)
		}
		if state == httpapi.CacheHit && got.Stats.RowsRead != 0 {
			t.Errorf("%s: a hit read %d rows", stage, got.Stats.RowsRead)
		}
		return got
	}
	// rawSeries checks a timeseries_primitives result against raw SQL, hour by hour: counts,
	// distinct sessions and users, value. skip names an hour the rollup is known not to hold
	// yet (late rows beyond the lookback).
	rawSeries := func(stage string, r *httpapi.Result, rg timerange.Range, campaign string, skip time.Time) {
		t.Helper()
		raw := enginetest.MustQuery(t, f.E, fmt.Sprintf(`SELECT toStartOfHour(timestamp) AS h, count(), uniqCombined(14)(session_id), uniqCombined(14)(user_id), sum(value_usd)
FROM %s.events WHERE timestamp >= toDateTime('%s', 'UTC') AND timestamp < toDateTime('%s', 'UTC') AND ('%s' = '' OR campaign_id = '%s')
GROUP BY h ORDER BY h`, f.DB, timerange.Format(rg.Start), timerange.Format(rg.End), campaign, campaign), nil).Rows
		want := map[time.Time][]any{}
		for _, row := range raw {
			want[row[0].(time.Time).UTC()] = row[1:]
		}
		if len(r.Rows) != rg.Hours() {
			t.Fatalf("%s: %d rows, want one per hour of %s (%d)", stage, len(r.Rows), rg, rg.Hours())
		}
		for i, row := range r.Rows {
			h := row[0].(time.Time).UTC()
			if !h.Equal(rg.Start.Add(time.Duration(i) * time.Hour)) {
				t.Fatalf("%s: row %d is hour %s", stage, i, h)
			}
			if h.Equal(skip) {
				continue
			}
			w := want[h]
			if w == nil {
				w = []any{uint64(0), uint64(0), uint64(0), 0.0}
			}
			got := []string{fmt.Sprint(row[1]), fmt.Sprint(row[2]), fmt.Sprint(row[3]), fmt.Sprintf("%.6f", row[4])}
			exp := []string{fmt.Sprint(w[0]), fmt.Sprint(w[1]), fmt.Sprint(w[2]), fmt.Sprintf("%.6f", w[3])}
			if strings.Join(got, " ") != strings.Join(exp, " ") {
				t.Errorf("%s: hour %s: served %v, raw SQL %v", stage, timerange.Format(h), got, exp)
			}
		}
	}
	rawTotals := func(stage string, r *httpapi.Result, from, to, campaign string) {
		t.Helper()
		w := enginetest.MustQuery(t, f.E, fmt.Sprintf(`SELECT count(), uniqCombined(14)(session_id), uniqCombined(14)(user_id), sum(value_usd) FROM %s.events
WHERE timestamp >= toDateTime('%s', 'UTC') AND timestamp < toDateTime('%s', 'UTC') AND campaign_id = '%s'`, f.DB, from, to, campaign), nil).Rows[0]
		row := r.Rows[0]
		got := fmt.Sprintf("%v %v %v %.6f", row[0], row[1], row[2], row[3])
		exp := fmt.Sprintf("%v %v %v %.6f", w[0], w[1], w[2], w[3])
		if got != exp {
			t.Errorf("%s: totals %s, raw SQL %s", stage, got, exp)
		}
	}
	day := projecttest.Day

	// Tick 0: the first calls read everything; the second ones only the hours after the
	// boundary (the watermark less the 2 h lookback), or nothing for closed ranges.
	rg := timerange.Range{Start: day(17, 0), End: day(20, 0)}
	first := call("first call", "timeseries_primitives", series, httpapi.CacheMiss)
	rawSeries("first call", first, rg, "c1", time.Time{})
	again := call("same call", "timeseries_primitives", series, httpapi.CachePartial)
	rawSeries("same call", again, rg, "c1", time.Time{})
	if again.Stats.RowsRead == 0 || again.Stats.RowsRead >= first.Stats.RowsRead {
		t.Errorf("the partial call read %d rows, the first %d: it should read only the last hours", again.Stats.RowsRead, first.Stats.RowsRead)
	}
	call("closed series", "timeseries_primitives", closedSeries, httpapi.CacheMiss)
	call("closed series again", "timeseries_primitives", closedSeries, httpapi.CacheHit)
	rawTotals("totals", call("totals", "sum_primitives", totals, httpapi.CacheMiss), totals["start"], totals["end"], "c2")
	rawTotals("totals again", call("totals again", "sum_primitives", totals, httpapi.CacheHit), totals["start"], totals["end"], "c2")
	// A range ending now ends at the watermark: kept until the next populate.
	recent := map[string]string{"start": "-2d", "end": "now", "campaign_id": "c1"}
	call("totals to now", "sum_primitives", recent, httpapi.CacheMiss)
	call("totals to now again", "sum_primitives", recent, httpapi.CacheHit)

	// Tick 1 at 02:07: two new hours, late rows for 23:00 (inside the lookback) and for 11-18
	// 10:00 (beyond it: populate leaves them to reconcile).
	f.InsertEvents(day(20, 0), day(20, 2), 40, 7)
	f.InsertEvents(day(19, 23), day(20, 0), 9, 8)
	f.InsertEvents(day(18, 10), day(18, 11), 25, 9)
	f.Clock = day(20, 2).Add(7 * time.Minute)
	if _, err := pop.PopulateOne(ctx, "events_totals_hourly"); err != nil {
		t.Fatal(err)
	}
	rg = timerange.Range{Start: day(17, 2), End: day(20, 2)}
	tick1 := call("after populate", "timeseries_primitives", series, httpapi.CachePartial)
	rawSeries("after populate", tick1, rg, "c1", day(18, 10))
	call("closed series after populate", "timeseries_primitives", closedSeries, httpapi.CacheHit)
	call("totals after populate", "sum_primitives", totals, httpapi.CacheHit)
	call("totals to the new now", "sum_primitives", recent, httpapi.CacheMiss)

	// reconcile --repair rewrites 11-18: what was kept of it and later is dropped, the
	// closed series before it stays.
	rep, err := pop.Reconcile(ctx, "events_totals_hourly", timerange.Range{Start: day(10, 0), End: day(20, 2)}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Drifted) == 0 {
		t.Fatal("reconcile found no drift: the late rows beyond the lookback should have drifted")
	}
	repaired := call("after repair", "timeseries_primitives", series, httpapi.CachePartial)
	rawSeries("after repair", repaired, rg, "c1", time.Time{})
	rawTotals("totals after repair", call("totals after repair", "sum_primitives", totals, httpapi.CacheMiss), totals["start"], totals["end"], "c2")
	call("closed series after repair", "timeseries_primitives", closedSeries, httpapi.CacheHit)

	// Over HTTP the header says what the cache did.
	api := httpapi.New(cached, httpapi.Options{})
	req := httptest.NewRequest(http.MethodGet, "/v0/pipes/sum_primitives.json?start=2026-11-12%2000:00:00&end=2026-11-19%2000:00:00&campaign_id=c2", nil)
	req.RemoteAddr = local
	w := httptest.NewRecorder()
	api.ServeHTTP(w, req)
	if w.Code != http.StatusOK || w.Header().Get("X-Hourglass-Cache") != httpapi.CacheHit {
		t.Errorf("HTTP: status %d, X-Hourglass-Cache %q, want a hit", w.Code, w.Header().Get("X-Hourglass-Cache"))
	}

	// A rollback serves raw: nothing is kept or reused.
	if _, err := endpoints.Switch(ctx, f.E, f.Store, f.A, "timeseries_primitives", endpoints.TargetRaw, endpoints.SwitchOptions{Now: f.Now()}); err != nil {
		t.Fatal(err)
	}
	rawSeries("served raw", call("served raw", "timeseries_primitives", series, httpapi.CacheOff), rg, "c1", time.Time{})
	if n := cache.Len(); n == 0 || n > 5 {
		t.Errorf("the cache keeps %d answers, want one per distinct call (at most 5)", n)
	}
}

// TestCacheDaySeries is the cache on a day series over a Date range (the range's start can
// only move by whole days): kept days answer, the day after the boundary is asked again, and a
// repair drops the repaired day onwards — each answer equal to raw SQL written here.
func TestCacheDaySeries(t *testing.T) {
	e := shared.NeedEmbedded(t)
	f := projecttest.Deploy(t, e, projecttest.Project(t, enginetest.TempDatabase(t, e), map[string]string{"endpoints/daily.yaml": `
- name: daily
  rollup: events_totals_hourly
  metrics: [event_count, unique_users]
  bucket: day
  fill: true
  range: {from: date_from, to: date_to}
  params:
    - {name: date_from, type: Date, default: -7d}
    - {name: date_to, type: Date, default: today}
    - {name: campaign_id, type: String}
  filters:
    - {dimension: campaign_id, param: campaign_id}
`}))
	f.Clock = projecttest.MonthEnd.Add(37 * time.Minute)
	f.LoadAndBackfill(30, "events_totals_hourly")
	ctx := context.Background()
	if _, err := endpoints.Switch(ctx, f.E, f.Store, f.A, "daily", endpoints.TargetRollup, endpoints.SwitchOptions{Now: f.Now()}); err != nil {
		t.Fatal(err)
	}
	cached := &httpapi.ProjectRunner{E: f.E, Store: f.Store, Artifacts: f.A, Now: f.Now, Cache: &httpapi.Cache{}, Reuse: -1}
	params := map[string]string{"date_from": "2026-11-10", "date_to": "2026-11-19", "campaign_id": "c4"}
	check := func(stage, state string) {
		t.Helper()
		got, err := cached.Run(ctx, "daily", params)
		if err != nil {
			t.Fatal(err)
		}
		if got.Cache != state {
			t.Errorf("%s: cache %s, want %s", stage, got.Cache, state)
		}
		raw := enginetest.MustQuery(t, f.E, fmt.Sprintf(`SELECT toDate(timestamp) AS d, count(), uniqCombined(14)(user_id) FROM %s.events
WHERE timestamp >= toDateTime('2026-11-10 00:00:00', 'UTC') AND timestamp < toDateTime('2026-11-20 00:00:00', 'UTC') AND campaign_id = 'c4'
GROUP BY d ORDER BY d`, f.DB), nil).Rows
		if len(raw) != 10 || len(got.Rows) != 10 {
			t.Fatalf("%s: %d served days, %d raw days, want 10 each", stage, len(got.Rows), len(raw))
		}
		for i := range raw {
			if g, w := fmt.Sprint(got.Rows[i]), fmt.Sprint(raw[i]); g != w {
				t.Errorf("%s: day %d: served %s, raw SQL %s", stage, i, g, w)
			}
		}
	}
	check("first call", httpapi.CacheMiss)
	check("same call", httpapi.CachePartial)
	f.InsertEvents(projecttest.Day(15, 6), projecttest.Day(15, 7), 30, 11)
	pop := populate.New(f.E, f.Store, f.A, populate.Options{Now: f.Now})
	if _, err := pop.Reconcile(ctx, "events_totals_hourly", timerange.Range{Start: projecttest.Day(10, 0), End: projecttest.Day(20, 0)}, true); err != nil {
		t.Fatal(err)
	}
	check("after repair", httpapi.CachePartial)
	check("again", httpapi.CachePartial)
}
