// Package projecttest sets up the default web-analytics project (datasources.Scaffold) in a
// fresh database of a real engine, the way deploy would, and gives tests the data and
// comparison helpers they share: deterministic event and session inserts, and every metric of
// a rollup computed from raw rows and from the rollup.
package projecttest

import (
	"context"
	"fmt"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
)

// Fixture is the default project deployed into a database of its own.
type Fixture struct {
	T     testing.TB
	E     engine.Engine
	DB    string
	A     *pipes.Artifacts
	Store *meta.Store
	// Clock is what Now returns; tests move it.
	Clock time.Time
}

// Day returns 2026-11-d h:00 UTC.
func Day(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }

// Project loads the default project with its database renamed to db, plus any extra files
// (path → YAML, e.g. "endpoints/daily.yaml").
func Project(t testing.TB, db string, extra ...map[string]string) *datasources.Project {
	t.Helper()
	fs := fstest.MapFS{}
	for path, b := range datasources.Scaffold() {
		fs[path] = &fstest.MapFile{Data: b}
	}
	for _, files := range extra {
		for path, text := range files {
			fs[path] = &fstest.MapFile{Data: []byte(text)}
		}
	}
	return load(t, fs, db)
}

// FromYAML loads a project written as one hourglass.yaml, with its database set to db.
func FromYAML(t testing.TB, yaml, db string) *datasources.Project {
	t.Helper()
	return load(t, fstest.MapFS{datasources.ProjectFile: &fstest.MapFile{Data: []byte(yaml)}}, db)
}

func load(t testing.TB, fs fstest.MapFS, db string) *datasources.Project {
	t.Helper()
	def, err := datasources.Load(fs)
	if err != nil {
		t.Fatal(err)
	}
	def.Database = db
	return def
}

// New deploys the default project into a new database of e (dropped when the test ends):
// raw tables, rollup tables, metadata tables, and a deployment record per rollup.
func New(t testing.TB, e engine.Engine) *Fixture {
	t.Helper()
	db := enginetest.TempDatabase(t, e)
	return Deploy(t, e, Project(t, db))
}

// Deploy compiles def and sets it up in its database (which must exist) the way deploy
// would for scheduled rollups: raw tables, rollup tables with their grain and finals tables,
// metadata tables, and a deployment record per rollup.
func Deploy(t testing.TB, e engine.Engine, def *datasources.Project) *Fixture {
	t.Helper()
	return DeployFor(t, e, def, pipes.Target{})
}

// DeployFor is Deploy with the statements compiled for target (pipes.TargetFor the server's
// version: an old server stores counts and sums as AggregateFunction states).
func DeployFor(t testing.TB, e engine.Engine, def *datasources.Project, target pipes.Target) *Fixture {
	t.Helper()
	a, err := pipes.CompileFor(def, target)
	if err != nil {
		t.Fatal(err)
	}
	f := &Fixture{T: t, E: e, DB: def.Database, A: a, Clock: Day(10, 0)}
	f.Store = meta.New(e, def.Database, f.Now)
	ctx := context.Background()
	if err := f.Store.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	for _, d := range a.Datasources {
		enginetest.MustExec(t, e, d.CreateTable)
	}
	for _, r := range a.Rollups {
		enginetest.MustExec(t, e, r.CreateTables()...)
		if err := f.Store.RecordDeployment(ctx, meta.Deployment{Object: r.Rollup.Name, Kind: "rollup", Version: 1, Table: r.Table, Hash: r.Hash}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// Now is the fixture's clock.
func (f *Fixture) Now() time.Time { return f.Clock }

// InsertEvents adds n events spread evenly over [from, to), deterministically by seed.
func (f *Fixture) InsertEvents(from, to time.Time, n int, seed int) {
	f.T.Helper()
	step := to.Sub(from).Seconds() / float64(n)
	enginetest.MustExec(f.T, f.E, fmt.Sprintf(`INSERT INTO %s.events (timestamp, workspace_id, project_id, campaign_id, environment, event_id, event_type,
    session_id, user_id, device_type, country, city, utm_source, value_usd, time_on_page, is_page_unload)
SELECT toDateTime(%d + intDiv(number * %d, 1000), 'UTC'), concat('w', toString(cityHash64(number, %d) %% 2)), 'p1',
    concat('c', toString(cityHash64(number, %d, 1) %% 5)), 'prod', concat('e', toString(number %% 4)), ['pageview','click','purchase'][1 + number %% 3],
    concat('s', toString(intDiv(number, 4) + %d * 1000000)), concat('u', toString(cityHash64(number, %d, 2) %% 300)),
    ['desktop','mobile'][1 + number %% 2], ['DE','US','FR'][1 + cityHash64(number, 3) %% 3], 'Berlin', 'google',
    (cityHash64(number, %d, 4) %% 1000000) / 7.0, cityHash64(number, 5) %% 120, number %% 7 = 0
FROM numbers(%d)`, f.DB, from.Unix(), int64(step*1000), seed, seed, seed, seed, seed, n))
}

// InsertSessions adds n sessions spread evenly over [from, to).
func (f *Fixture) InsertSessions(from, to time.Time, n int) {
	f.T.Helper()
	step := to.Sub(from).Seconds() / float64(n)
	enginetest.MustExec(f.T, f.E, fmt.Sprintf(`INSERT INTO %s.sessions (session_start, session_id, user_id, workspace_id, project_id, campaign_id, environment,
    device_type, country, is_returning, duration, event_count)
SELECT toDateTime(%d + intDiv(number * %d, 1000), 'UTC'), concat('s', toString(number)), concat('u', toString(number %% 97)), 'w1', 'p1',
    concat('c', toString(number %% 3)), 'prod', ['desktop','mobile'][1 + number %% 2], ['DE','US'][1 + number %% 2],
    number %% 3 = 0, number %% 11, 1 + number %% 5
FROM numbers(%d)`, f.DB, from.Unix(), int64(step*1000), n))
}

// Approx compares floats within 1e-9 relative: float sums differ in their last bits when
// added in another order.
var Approx = cmpopts.EquateApprox(1e-9, 0)

// Metrics returns every metric of a rollup per hour and per dimension over rg, from side.
func (f *Fixture) Metrics(rollup string, side pipes.Side, rg timerange.Range) [][]any {
	f.T.Helper()
	ra := f.A.Rollup(rollup)
	var dims []string
	for _, d := range ra.Rollup.Dimensions {
		dims = append(dims, d.Name)
	}
	q, err := ra.MetricsQuery(side, "hour", dims, nil)
	if err != nil {
		f.T.Fatal(err)
	}
	return enginetest.MustQuery(f.T, f.E, q, engine.Params{pipes.StartParam: rg.Start, pipes.EndParam: rg.End}).Rows
}

// RequireExact fails the test unless every metric of the rollup equals raw over rg, per hour
// and per dimension value, and there is something to compare.
func (f *Fixture) RequireExact(rollup string, rg timerange.Range) {
	f.T.Helper()
	raw, rolled := f.Metrics(rollup, pipes.SideRaw, rg), f.Metrics(rollup, pipes.SideRollup, rg)
	if len(raw) == 0 {
		f.T.Fatalf("%s: no raw rows in %s: the test checks nothing", rollup, rg)
	}
	if diff := cmp.Diff(raw, rolled, Approx); diff != "" {
		f.T.Fatalf("%s over %s: rollup differs from raw (-raw +rollup):\n%s", rollup, rg, diff)
	}
}

// Backfill fills a rollup over rg with the fixture's clock, failing the test on error.
func (f *Fixture) Backfill(rollup string, rg timerange.Range) {
	f.T.Helper()
	r := populate.New(f.E, f.Store, f.A, populate.Options{Now: f.Now})
	if _, err := r.Backfill(context.Background(), rollup, rg, populate.BackfillOptions{}); err != nil {
		f.T.Fatalf("backfill %s: %v", rollup, err)
	}
}

// Month is the 30 days of data LoadAndBackfill loads: [MonthEnd − 30 days, MonthEnd).
var (
	MonthEnd   = Day(20, 0)
	MonthStart = MonthEnd.AddDate(0, 0, -30)
)

// LoadAndBackfill inserts 30 days of events and sessions (Month) and backfills the named
// rollups (every rollup when none is named) over the last days of them.
func (f *Fixture) LoadAndBackfill(days int, rollups ...string) {
	f.T.Helper()
	f.InsertEvents(MonthStart, MonthEnd, 4000, 1)
	f.InsertSessions(MonthStart, MonthEnd, 2000)
	if len(rollups) == 0 {
		for _, ra := range f.A.Rollups {
			rollups = append(rollups, ra.Rollup.Name)
		}
	}
	for _, r := range rollups {
		f.Backfill(r, timerange.Range{Start: MonthEnd.AddDate(0, 0, -days), End: MonthEnd})
	}
}

// LegacyYAML is a project Debian's clickhouse-server 18.16 can run: it has no
// SimpleAggregateFunction or LowCardinality, so its rollup holds distinct counts, exact
// distinct counts and argMax states (AggregateFunction), which the old server knows and merges
// exactly. Load it with FromYAML.
const LegacyYAML = `name: remote
datasources:
  - name: hits
    engine: MergeTree
    partition_by: toYYYYMM(ts)
    order_by: [site, ts]
    columns:
      - {name: ts, type: DateTime}
      - {name: site, type: String}
      - {name: user_id, type: String}
      - {name: page, type: String}
rollups:
  - name: hits_hourly
    source: hits
    time_column: ts
    dimensions: [site]
    metrics:
      - {name: users, kind: uniq, column: user_id}
      - {name: exact_users, kind: uniq_exact, column: user_id}
      - {name: last_page, kind: arg_max, column: page, by: ts}
`

// JSONYAML is a project with both JSON shapes: payload arrives as a JSON object, props as a string
// holding JSON text. A scheduled rollup runs every six hours with a two-hour lookback; a
// trigger rollup is fed by its insert trigger. Load it with FromYAML.
const JSONYAML = `name: web
datasources:
  - name: hits
    partition_by: toYYYYMM(ts)
    order_by: [site, ts]
    columns:
      - {name: ts, type: DateTime}
      - {name: site, type: LowCardinality(String)}
      - {name: user_id, type: String}
      - {name: duration, type: UInt32}
      - {name: payload, type: String}
      - {name: pathname, type: String, json: $.payload.pathname}
      - {name: depth, type: UInt8, json: $.payload.scroll.depth}
      - {name: props, type: String}
      - {name: utm_source, type: LowCardinality(String), json: props.$.utm.source}
      - {name: utm_medium, type: Nullable(String), json: props.$.utm.medium}
rollups:
  - name: hits_hourly
    source: hits
    time_column: ts
    schedule: "5 */6 * * *"
    lookback: 2h
    dimensions: [site, pathname, utm_source, utm_medium]
    metrics:
      - {name: hits, kind: count}
      - {name: users, kind: uniq_exact, column: user_id}
      - {name: total_duration, kind: sum, column: duration}
      - {name: max_depth, kind: max, column: depth}
      - {name: avg_duration, kind: avg, column: duration}
      - {name: last_path, kind: arg_max, column: pathname, by: ts}
  - name: hits_live
    source: hits
    time_column: ts
    mode: trigger
    dimensions: [site, utm_source]
    metrics:
      - {name: hits, kind: count}
      - {name: users, kind: uniq_exact, column: user_id}
`
