package endpoints_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/timerange"
	"github.com/hourglass-dev/hourglass/validate"
)

// TestCompareReadsTheServedVersionOverClosedHours: --compare compares raw with the version
// the endpoint serves, not the newest one, and only over closed hours.
func TestCompareReadsTheServedVersionOverClosedHours(t *testing.T) {
	f := newFixture(t)
	f.InsertEvents(dataEnd.AddDate(0, 0, -2), dataEnd, 800, 1)
	f.Backfill("events_totals_hourly", timerange.Range{Start: dataEnd.AddDate(0, 0, -2), End: dataEnd})
	ctx := context.Background()
	if _, err := endpoints.Switch(ctx, f.E, f.Store, f.A, "sum_primitives", endpoints.TargetRollup, endpoints.SwitchOptions{Now: f.Clock, Actor: "t"}); err != nil {
		t.Fatal(err)
	}
	// A second version is deployed beside it, empty: the endpoint still serves the first.
	v1 := f.A.Rollup("events_totals_hourly")
	v2, err := v1.Versioned("events_totals_hourly_v2")
	if err != nil {
		t.Fatal(err)
	}
	enginetest.MustExec(t, f.E, v2.CreateTable)
	if err := f.Store.RecordDeployment(ctx, meta.Deployment{Object: "events_totals_hourly", Kind: "rollup", Version: 2, Table: v2.Table, Hash: v1.Hash}); err != nil {
		t.Fatal(err)
	}
	live := *f.A
	live.Rollups = append(live.Rollups[:0:0], f.A.Rollups...)
	for i, ra := range live.Rollups {
		if ra.Rollup.Name == "events_totals_hourly" {
			live.Rollups[i] = v2
		}
	}
	week := map[string]string{"start": "-2d", "end": "now"}
	c, err := endpoints.Compare(ctx, f.E, &live, "sum_primitives", week, endpoints.CompareOptions{Store: f.Store, Now: f.Clock})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Equal || c.Table != "events_totals_hourly" || c.Serving != "rollup" || len(c.Raw.Rows) == 0 {
		t.Fatalf("compare on the served v1 = equal %v table %s serving %s:\n%s", c.Equal, c.Table, c.Serving, c.Difference)
	}
	// Without the store it compares the deployed v2, never populated: without a watermark its
	// planned read takes every hour from raw rows, so it serves the same rows.
	if c, err = endpoints.Compare(ctx, f.E, &live, "sum_primitives", week, endpoints.CompareOptions{Now: f.Clock}); err != nil || !c.Equal || c.Table != v2.Table {
		t.Fatalf("compare on v2 = %+v, %v", c, err)
	}
	if got := c.Rollup.Plan.Summary(); !strings.HasPrefix(got, "raw h×") || strings.Contains(got, "+") {
		t.Fatalf("v2 without a watermark is read as %s, want raw rows only", got)
	}

	// 00:03, and the 23:00 hour's events are in raw but not yet populated: end=now means the
	// end of the last closed hour (22:00 → 23:00 is not closed until 00:05), so still EQUAL.
	f.Clock = dataEnd.Add(time.Hour + 3*time.Minute)
	f.InsertEvents(dataEnd, dataEnd.Add(time.Hour), 40, 7)
	c, err = endpoints.Compare(ctx, f.E, &live, "sum_primitives", week, endpoints.CompareOptions{Store: f.Store, Now: f.Clock})
	if err != nil || !c.Equal || !c.Range.End.Equal(dataEnd) {
		t.Fatalf("compare at 01:03 = %+v, %v", c, err)
	}
	// An explicit end in the open hour is clipped, and the note says so.
	c, err = endpoints.Compare(ctx, f.E, &live, "sum_primitives", map[string]string{"start": "2026-11-19", "end": "2026-11-20 02:00"}, endpoints.CompareOptions{Store: f.Store, Now: f.Clock})
	if err != nil || !c.Equal || !c.Range.End.Equal(dataEnd) || !strings.Contains(c.Note, "not closed yet") {
		t.Fatalf("compare with an open end = %+v, %v", c, err)
	}
	// At 01:05 the 00:00 hour is closed but not populated: the served read takes it from raw
	// rows (the hours from the watermark on), so --compare is still EQUAL, and the plan says so.
	f.Clock = dataEnd.Add(time.Hour + 5*time.Minute)
	c, err = endpoints.Compare(ctx, f.E, &live, "sum_primitives", week, endpoints.CompareOptions{Store: f.Store, Now: f.Clock})
	if err != nil || !c.Equal || !c.Range.End.Equal(dataEnd.Add(time.Hour)) {
		t.Fatalf("compare after the hour closed = %+v, %v", c, err)
	}
	if got := c.Rollup.Plan.Summary(); !strings.HasSuffix(got, "raw h×1") {
		t.Fatalf("the unpopulated closed hour is read as %s, want it from raw rows", got)
	}
}

// nullProject has sessions whose id may be NULL; its current query counted a NULL session as
// one visit, while the rollup's uniq skips NULLs (the real project that every hourglass check
// called EXACT).
const nullProject = `name: nulls
datasources:
  - name: hits
    order_by: [site, ts]
    columns:
      - {name: ts, type: DateTime}
      - {name: site, type: String}
      - {name: session_id, type: Nullable(String)}
rollups:
  - name: hits_hourly
    source: hits
    time_column: ts
    dimensions: [site]
    metrics:
      - {name: hits, kind: count}
      - {name: visits, kind: uniq, column: session_id}
endpoints:
  - name: visits_by_site
    rollup: hits_hourly
    metrics: [hits, visits]
    group_by: [site]
    bucket: day
    params: [{name: site, type: String}]
    filters: [site]
    current_sql: |
      SELECT toStartOfDay(ts) AS day, site, count() AS hits, uniq(ifNull(session_id, '')) AS visits
      FROM hits
      WHERE ts >= {start:DateTime} AND ts < {end:DateTime} AND ({site:String} = '' OR site = {site:String})
      GROUP BY day, site
      ORDER BY day, site
    tests:
      - {site: s1, start: "2026-11-18", end: "2026-11-19"}
      - {site: s2}
`

// TestCurrentQueryWithOtherNULLSemanticsIsRefused: rollup and raw agree (both skip NULL
// session ids), but the endpoint's current query counts them as a visit: the gate compares the
// endpoint with that query and refuses, naming the parameters, the rows and the column.
func TestCurrentQueryWithOtherNULLSemanticsIsRefused(t *testing.T) {
	e := shared.NeedEmbedded(t)
	db := enginetest.TempDatabase(t, e)
	f := projecttest.Deploy(t, e, projecttest.FromYAML(t, nullProject, db))
	f.Clock = dataEnd.Add(30 * time.Minute)
	ctx := context.Background()
	// Two days, two sites, 10 sessions per site per hour; on 2026-11-18 site s1 has hits
	// without a session id, in one hour.
	enginetest.MustExec(t, e, fmt.Sprintf(`INSERT INTO %s.hits SELECT toDateTime('2026-11-18 00:00:00', 'UTC') + number * 36, ['s1', 's2'][1 + number %% 2],
        if(toHour(toDateTime('2026-11-18 00:00:00', 'UTC') + number * 36) = 7 AND toDate(toDateTime('2026-11-18 00:00:00', 'UTC') + number * 36) = '2026-11-18' AND number %% 2 = 0 AND number %% 5 = 0,
           NULL, concat('s', toString(intDiv(number, 10)))) FROM numbers(4800)`, db))
	f.Backfill("hits_hourly", timerange.Range{Start: dataEnd.AddDate(0, 0, -2), End: dataEnd})

	// validate against raw says EXACT: raw and rollup agree.
	rep, err := validate.Run(ctx, e, f.A, "hits_hourly", validate.Options{Range: timerange.Range{Start: day(18, 0), End: dataEnd}, Dimensions: []string{"site"}, Now: f.Clock, Store: f.Store})
	if err != nil || !rep.Exact {
		t.Fatalf("raw vs rollup: %v %v", rep.Summary(), err)
	}
	res, err := endpoints.Switch(ctx, e, f.Store, f.A, "visits_by_site", endpoints.TargetRollup, endpoints.SwitchOptions{Now: f.Clock, Actor: "t"})
	if !errors.Is(err, endpoints.ErrRefused) || res == nil || !res.Refused || res.Switched || res.Verification == nil || res.Verification.Exact {
		t.Fatalf("switch = %+v, %v", res, err)
	}
	v := res.Verification
	if v.Reference != endpoints.ReferenceCurrent || len(v.Cases) != 3 {
		t.Fatalf("verification %+v", v)
	}
	// tests[1] (s1 on the 18th) and its run over the whole range differ; tests[2] (s2) does not.
	var bad []string
	for _, c := range v.Cases {
		if !c.Exact {
			bad = append(bad, c.Name)
			if c.Params["site"] != "s1" || c.MismatchCount != 1 || len(c.Mismatches) != 1 {
				t.Errorf("%s: %+v", c.Describe(), c.Mismatches)
				continue
			}
			m := c.Mismatches[0]
			// One NULL among the hour's sessions: the current query counts one visit more.
			if !m.Bucket.Equal(day(18, 0)) || m.Dimensions["site"] != "s1" || m.Metric != "visits" || m.Kind != validate.KindValue ||
				m.Raw.(uint64) != m.Rollup.(uint64)+1 || m.Reference != "current" {
				t.Errorf("%s: mismatch %s", c.Name, m.Line())
			}
		}
	}
	if strings.Join(bad, ",") != "tests[1],tests[1] over the whole range" {
		t.Errorf("differing cases %v", bad)
	}
	if s := v.Summary(); !strings.Contains(s, "DIFFERENT — 2 of 3 cases differ") || !strings.Contains(s, "site=s1") ||
		!strings.Contains(s, `2026-11-18 00:00:00 site="s1" visits: current `) {
		t.Errorf("summary %q", s)
	}
	if hist, _ := f.Store.EndpointHistory(ctx, ""); len(hist) != 0 {
		t.Errorf("a refused switch was recorded: %+v", hist)
	}
	// A test case with no closed hour proves nothing: an error, not a vacuous EXACT.
	ep := f.A.Endpoint("visits_by_site").Endpoint
	ep.Tests = append(ep.Tests, &datasources.EndpointTest{Params: map[string]string{"start": "now", "end": "now"}})
	if _, err := endpoints.Verify(ctx, e, f.Store, f.A, "visits_by_site", endpoints.VerifyOptions{Now: f.Clock}); err == nil || !strings.Contains(err.Error(), "tests[3]") {
		t.Errorf("empty test case: %v", err)
	}
}

// TestCurrentQueryThatDoesNotRun: a current query the engine cannot parse, or that lacks a
// column of the endpoint, stops the gate with one clear error and changes nothing.
func TestCurrentQueryThatDoesNotRun(t *testing.T) {
	e := shared.NeedEmbedded(t)
	ctx := context.Background()
	for _, c := range []struct{ sql, want string }{
		{"SELEC day, site FROM hits", "its current query does not run"},
		{"SELECT toStartOfDay(ts) AS day, site, count() AS hits FROM hits WHERE ts >= {start:DateTime} AND ts < {end:DateTime} GROUP BY day, site", "returns day, site, hits but not visits"},
	} {
		yaml := strings.Replace(nullProject, "    current_sql: |", "    current_sql: |\n      "+c.sql+"\n    old_sql: |", 1)
		yaml = strings.Replace(yaml, "    old_sql: |", "    tests: [{site: s1}]\n    x_old: |", 1)
		yaml = yaml[:strings.Index(yaml, "    x_old: |")]
		db := enginetest.TempDatabase(t, e)
		f := projecttest.Deploy(t, e, projecttest.FromYAML(t, yaml, db))
		f.Clock = dataEnd.Add(30 * time.Minute)
		enginetest.MustExec(t, e, fmt.Sprintf("INSERT INTO %s.hits SELECT toDateTime('2026-11-19 00:00:00', 'UTC') + number * 60, 's1', toString(number) FROM numbers(1440)", db))
		f.Backfill("hits_hourly", timerange.Range{Start: day(19, 0), End: dataEnd})
		res, err := endpoints.Switch(ctx, e, f.Store, f.A, "visits_by_site", endpoints.TargetRollup, endpoints.SwitchOptions{Now: f.Clock, Actor: "t"})
		if err == nil || errors.Is(err, endpoints.ErrRefused) || res != nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "visits_by_site") {
			t.Errorf("%s: switch = %+v, %v; want an error containing %q", c.sql, res, err, c.want)
		}
		if hist, _ := f.Store.EndpointHistory(ctx, ""); len(hist) != 0 {
			t.Errorf("%s: recorded %+v", c.sql, hist)
		}
		if r := enginetest.MustQuery(t, e, "SELECT count() FROM system.tables WHERE database = {db:String} AND name = 'visits_by_site'", map[string]any{"db": db}); r.Row()[0] != uint64(0) {
			t.Errorf("%s: the view was created", c.sql)
		}
	}
}
