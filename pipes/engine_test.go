package pipes

import (
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/ident"
)

// TestEngine runs every compiled statement on the embedded ClickHouse engine: it creates the
// project, loads raw rows, populates the rollups through staging and REPLACE PARTITION (twice,
// to prove idempotency), feeds the trigger rollup through its view, and checks that every
// metric read from each rollup equals the same metric computed from the raw rows.
func TestEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	if _, err := os.Stat(engine.LibraryPath()); err != nil {
		t.Skipf("embedded engine not installed (%s): run make engine", engine.LibraryPath())
	}
	ctx := context.Background()
	e, err := engine.Open(ctx, "chdb://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	exec := func(sql string, params engine.Params) {
		t.Helper()
		if err := e.Exec(ctx, sql, params); err != nil {
			t.Fatalf("%v\n%s", err, sql)
		}
	}
	query := func(sql string, params engine.Params) *engine.Result {
		t.Helper()
		res, err := e.Query(ctx, sql, params)
		if err != nil {
			t.Fatalf("%v\n%s", err, sql)
		}
		return res
	}

	p := webProject("")
	a := mustCompile(t, p)
	db := p.Database
	exec(a.CreateDatabase, nil)
	for _, d := range a.Datasources {
		exec(d.CreateTable, nil)
	}
	for _, r := range a.Rollups {
		exec(r.CreateTable, nil)
		exec(r.CreateStaging, nil)
	}
	for _, ep := range a.Endpoints {
		exec(ep.RawView, nil)
		exec(ep.RollupView, nil)
	}
	day1 := mustTime(t, "2025-01-01T00:00:00Z")
	watermark := mustTime(t, "2025-01-02T00:00:00Z")
	live := a.Rollup("sessions_live")
	mv, err := live.TriggerViewSQL(watermark)
	if err != nil {
		t.Fatal(err)
	}
	exec(mv, nil)

	exec("INSERT INTO "+ident.Qualified(db, "events")+
		" (timestamp, workspace_id, campaign_id, event_type, session_id, user_id, value_usd, time_on_page, properties, country)"+`
SELECT
    toDateTime64('2025-01-01 00:00:00', 3, 'UTC') + toIntervalMillisecond(number * 345678),
    ['w1', 'w2'][number % 2 + 1],
    ['c1', 'c2', 'c3'][number % 3 + 1],
    ['page_view', 'page_unload', 'click', 'debug'][number % 4 + 1],
    concat('s', toString(number % 37)),
    if(number % 5 = 0, NULL, concat('u', toString(number % 23))),
    (number % 7) * 0.5,
    number % 100,
    multiIf(number % 3 = 0, '{"utm":{"source":"google","medium":"cpc"}}', number % 3 = 1, '{"utm":{"source":"fb"}}', '{}'),
    ['de', 'fr', 'us'][number % 3 + 1]
FROM numbers(600)`, nil)
	exec("INSERT INTO "+ident.Qualified(db, "sessions")+
		" (started_at, workspace_id, campaign_id, session_id, user_id, country, device_type, referrer, landing_page, is_returning, duration, revenue, price, _timestamp)"+`
SELECT
    toDateTime('2025-01-01 00:00:00', 'UTC') + number * 317,
    ['w1', 'w2'][number % 2 + 1],
    ['c1', 'c2', 'c3'][number % 3 + 1],
    concat('s', toString(number)),
    concat('u', toString(number % 41)),
    ['de', 'fr', 'us', 'es'][number % 4 + 1],
    ['mobile', 'desktop'][number % 2 + 1],
    if(number % 3 = 0, NULL, ['google', 'direct'][number % 2 + 1]),
    concat('/p', toString(number % 11)),
    number % 2,
    number % 13,
    if(number % 4 = 0, NULL, toInt64(number % 9) - 3),
    CAST(number % 50 AS Decimal(10, 2)) / 4,
    now()
FROM numbers(600)`, nil)

	// Populate [start, end) into staging, then swap each partition into the rollup.
	populate := func(r *RollupArtifacts, start, end time.Time) {
		t.Helper()
		exec("TRUNCATE TABLE "+ident.Qualified(db, r.StagingTable), nil)
		exec(r.Populate, engine.Params{"start": start, "end": end})
		res := query("SELECT DISTINCT partition_id FROM system.parts WHERE database = {db:String} AND table = {table:String} AND active ORDER BY partition_id",
			engine.Params{"db": db, "table": r.StagingTable})
		for _, row := range res.Rows {
			exec(fmt.Sprintf("ALTER TABLE %s REPLACE PARTITION ID %s FROM %s",
				ident.Qualified(db, r.Table), ident.String(row[0].(string)), ident.Qualified(db, r.StagingTable)), nil)
		}
	}
	end := mustTime(t, "2025-01-04T00:00:00Z")
	for i := 0; i < 2; i++ { // twice: populating is idempotent
		populate(a.Rollup("events_hourly"), day1, end)
		populate(a.Rollup("sessions_hourly"), day1, end)
		populate(live, day1, watermark) // the backfill takes ts < watermark, the view the rest
	}

	params := engine.Params{"start": day1, "end": end}
	compare := func(name, rawSQL, rollupSQL string, params engine.Params) {
		t.Helper()
		raw := query(rawSQL, params)
		roll := query(rollupSQL, params)
		if len(raw.Rows) == 0 {
			t.Fatalf("%s: raw query returned no rows", name)
		}
		if d := cmp.Diff(raw.Columns, roll.Columns); d != "" {
			t.Errorf("%s: columns differ (-raw +rollup):\n%s", name, d)
		}
		sortRows(raw.Rows)
		sortRows(roll.Rows)
		if d := cmp.Diff(raw.Rows, roll.Rows, cmp.Comparer(closeFloat)); d != "" {
			t.Errorf("%s: rows differ (-raw +rollup):\n%s", name, d)
		}
	}
	for _, r := range a.Rollups {
		compare(r.Table+" per hour", r.RawRead, r.Read, params)
		for _, bucket := range []string{"", "day"} {
			var group []string
			if len(r.Rollup.Dimensions) > 1 {
				group = []string{r.Rollup.Dimensions[1].Name}
			}
			rawSQL, err := MetricsQuery(p, r.Rollup, SideRaw, bucket, group, nil)
			if err != nil {
				t.Fatal(err)
			}
			rollSQL, err := MetricsQuery(p, r.Rollup, SideRollup, bucket, group, nil)
			if err != nil {
				t.Fatal(err)
			}
			compare(fmt.Sprintf("%s bucket %q", r.Table, bucket), rawSQL, rollSQL, params)
		}
	}
	for _, ep := range a.Endpoints {
		for _, v := range []map[string]string{{}, {"campaign_id": "c2", "workspace_id": "w1"}} {
			ps := engine.Params{"start": day1, "end": end}
			for _, f := range ep.Endpoint.Filters {
				val, given := v[f.Dimension]
				ps[f.Param], ps[GivenParam(f.Param)] = val, uint8(0)
				if given {
					ps[GivenParam(f.Param)] = uint8(1)
				}
			}
			compare(fmt.Sprintf("endpoint %s %v", ep.Endpoint.Name, v), ep.RawSQL, ep.RollupSQL, ps)
		}
	}
}

func sortRows(rows [][]any) {
	sort.SliceStable(rows, func(i, j int) bool { return fmt.Sprint(rows[i]) < fmt.Sprint(rows[j]) })
}

// closeFloat compares floats with the stated float tolerance (relative 1e-9); NaNs are equal.
func closeFloat(x, y float64) bool {
	if math.IsNaN(x) || math.IsNaN(y) {
		return math.IsNaN(x) && math.IsNaN(y)
	}
	return x == y || math.Abs(x-y) <= 1e-9*math.Max(math.Abs(x), math.Abs(y))
}
