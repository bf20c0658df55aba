package endpoints_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
)

var shared enginetest.Shared

func TestMain(m *testing.M) {
	os.Exit(enginetest.Main(m, &shared, enginetest.Options{}))
}

// fixture is the default project set up in a fresh database of the embedded engine, the way
// deploy would (tables from the artifacts, metadata tables, rollup deployments recorded).
type fixture struct {
	t     *testing.T
	e     engine.Engine
	db    string
	a     *pipes.Artifacts
	store *meta.Store
	clock time.Time
}

func day(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }

// dataStart and dataEnd bound the 30 days of test data; the clock stands in the open hour
// right after dataEnd.
var (
	dataEnd   = day(20, 0)
	dataStart = dataEnd.AddDate(0, 0, -30)
)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	e := shared.NeedEmbedded(t)
	db := enginetest.TempDatabase(t, e)
	fs := fstest.MapFS{}
	for path, b := range datasources.Scaffold() {
		fs[path] = &fstest.MapFile{Data: b}
	}
	def, err := datasources.Load(fs)
	if err != nil {
		t.Fatal(err)
	}
	def.Database = db
	a, err := pipes.Compile(def)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, e: e, db: db, a: a, clock: dataEnd.Add(30 * time.Minute)}
	f.store = meta.New(e, db, func() time.Time { return f.clock })
	ctx := context.Background()
	if err := f.store.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	for _, d := range a.Datasources {
		enginetest.MustExec(t, e, d.CreateTable)
	}
	for _, r := range a.Rollups {
		enginetest.MustExec(t, e, r.CreateTable)
		if err := f.store.RecordDeployment(ctx, meta.Deployment{Object: r.Rollup.Name, Kind: "rollup", Version: 1, Table: r.Table, Hash: r.Hash}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// insertEvents adds n events spread evenly over [from, to), deterministically by seed.
func (f *fixture) insertEvents(from, to time.Time, n int, seed int) {
	f.t.Helper()
	step := to.Sub(from).Seconds() / float64(n)
	enginetest.MustExec(f.t, f.e, fmt.Sprintf(`INSERT INTO %s.events (timestamp, workspace_id, project_id, campaign_id, environment, event_id, event_type,
    session_id, user_id, device_type, country, city, utm_source, value_usd, time_on_page, is_page_unload)
SELECT toDateTime(%d + intDiv(number * %d, 1000), 'UTC'), concat('w', toString(cityHash64(number, %d) %% 2)), 'p1',
    concat('c', toString(cityHash64(number, %d, 1) %% 5)), 'prod', concat('e', toString(number %% 4)), ['pageview','click','purchase'][1 + number %% 3],
    concat('s', toString(intDiv(number, 4) + %d * 1000000)), concat('u', toString(cityHash64(number, %d, 2) %% 300)),
    ['desktop','mobile'][1 + number %% 2], ['DE','US','FR'][1 + cityHash64(number, 3) %% 3], 'Berlin', 'google',
    (cityHash64(number, %d, 4) %% 1000000) / 7.0, cityHash64(number, 5) %% 120, number %% 7 = 0
FROM numbers(%d)`, f.db, from.Unix(), int64(step*1000), seed, seed, seed, seed, seed, n))
}

func (f *fixture) insertSessions(from, to time.Time, n int) {
	f.t.Helper()
	step := to.Sub(from).Seconds() / float64(n)
	enginetest.MustExec(f.t, f.e, fmt.Sprintf(`INSERT INTO %s.sessions (session_start, session_id, user_id, workspace_id, project_id, campaign_id, environment,
    device_type, country, is_returning, duration, event_count)
SELECT toDateTime(%d + intDiv(number * %d, 1000), 'UTC'), concat('s', toString(number)), concat('u', toString(number %% 97)), 'w1', 'p1',
    concat('c', toString(number %% 3)), 'prod', ['desktop','mobile'][1 + number %% 2], ['DE','US'][1 + number %% 2],
    number %% 3 = 0, number %% 11, 1 + number %% 5
FROM numbers(%d)`, f.db, from.Unix(), int64(step*1000), n))
}

// loadAndPopulate fills 30 days of events and sessions and backfills the named rollups (every
// rollup when none is named) over the last days of them.
func (f *fixture) loadAndPopulate(days int, rollups ...string) {
	f.t.Helper()
	f.insertEvents(dataStart, dataEnd, 4000, 1)
	f.insertSessions(dataStart, dataEnd, 2000)
	if len(rollups) == 0 {
		for _, ra := range f.a.Rollups {
			rollups = append(rollups, ra.Rollup.Name)
		}
	}
	for _, r := range rollups {
		f.populate(r, timerange.Range{Start: dataEnd.AddDate(0, 0, -days), End: dataEnd})
	}
}

func (f *fixture) populate(rollup string, rg timerange.Range) {
	f.t.Helper()
	r := populate.New(f.e, f.store, f.a, populate.Options{Now: func() time.Time { return f.clock }})
	if _, err := r.Backfill(context.Background(), rollup, rg, populate.BackfillOptions{}); err != nil {
		f.t.Fatalf("backfill %s: %v", rollup, err)
	}
}

// deployViews publishes every endpoint on its raw version, as deploy does at first deploy.
func (f *fixture) deployViews() {
	f.t.Helper()
	for _, ea := range f.a.Endpoints {
		enginetest.MustExec(f.t, f.e, ea.RawView)
	}
}

// viewDefinition returns the stored definition of an endpoint's view.
func (f *fixture) viewDefinition(name string) string {
	f.t.Helper()
	r := enginetest.MustQuery(f.t, f.e, "SELECT create_table_query FROM system.tables WHERE database = {db:String} AND name = {n:String}",
		engine.Params{"db": f.db, "n": name})
	if len(r.Rows) != 1 {
		f.t.Fatalf("view %s not found", name)
	}
	return r.Row()[0].(string)
}

// reads reports which table a view reads: "rollup" or "raw".
func (f *fixture) reads(name string) string {
	f.t.Helper()
	def := f.viewDefinition(name)
	ra := f.a.Rollup(f.a.Endpoint(name).Endpoint.Rollup)
	switch {
	case strings.Contains(def, f.db+"."+ra.Table+" ") || strings.Contains(def, "`"+ra.Table+"`"):
		return "rollup"
	case strings.Contains(def, f.db+"."+ra.Rollup.Source+" ") || strings.Contains(def, "`"+ra.Rollup.Source+"`"):
		return "raw"
	}
	f.t.Fatalf("cannot tell what %s reads: %s", name, def)
	return ""
}

var week = map[string]string{"start": "2026-11-13", "end": "2026-11-20 00:00:00"}

func params(extra ...string) map[string]string {
	out := map[string]string{}
	for k, v := range week {
		out[k] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		out[extra[i]] = extra[i+1]
	}
	return out
}

func TestFourDefaultEndpointsSameRowsFromRawAndRollup(t *testing.T) {
	f := newFixture(t)
	f.loadAndPopulate(8)
	ctx := context.Background()
	cases := []struct {
		endpoint string
		params   map[string]string
	}{
		{"sum_primitives", params("campaign_id", "c1")},
		{"sum_primitives", params("campaign_id", "")},
		{"timeseries_primitives", params("campaign_id", "c2")},
		{"audience_breakdown", params("campaign_id", "c0")},
		{"conversions_breakdown", params("campaign_id", "c3")},
		{"conversions_breakdown", params("campaign_id", "c3", "event_type", "click")},
		{"timeseries_primitives", map[string]string{"start": "2026-11-19 05:00", "end": "2026-11-19 09:00", "campaign_id": "c4"}},
	}
	for _, c := range cases {
		cmp, err := endpoints.Compare(ctx, f.e, f.a, c.endpoint, c.params)
		if err != nil {
			t.Fatalf("%s: %v", c.endpoint, err)
		}
		if !cmp.Equal {
			t.Errorf("%s %v: raw and rollup differ:\n%s", c.endpoint, c.params, cmp.Difference)
		}
		if len(cmp.Raw.Rows) == 0 {
			t.Errorf("%s %v: no rows: the comparison checks nothing", c.endpoint, c.params)
		}
		if cmp.Raw.Stats.RowsRead == 0 || cmp.Rollup.Stats.RowsRead == 0 || cmp.Raw.Stats.BytesRead == 0 {
			t.Errorf("%s: statistics missing: %+v / %+v", c.endpoint, cmp.Raw.Stats, cmp.Rollup.Stats)
		}
		if strings.HasPrefix(c.endpoint, "sum_") || strings.HasPrefix(c.endpoint, "timeseries_") {
			if cmp.RowsReadReduction <= 1 {
				t.Errorf("%s: the narrow rollup read %d rows, raw %d: no reduction", c.endpoint, cmp.Rollup.Stats.RowsRead, cmp.Raw.Stats.RowsRead)
			}
		}
	}
	if len(f.a.Endpoints) != 4 {
		t.Fatalf("the default project has %d endpoints, want 4", len(f.a.Endpoints))
	}
	// The published views return the same rows as the SQL they publish, on either version.
	f.deployViews()
	for _, ea := range f.a.Endpoints {
		p := params("campaign_id", "c1")
		viaView, err := endpoints.Run(ctx, f.e, f.a, ea.Endpoint.Name, p, endpoints.SideView)
		if err != nil {
			t.Fatalf("%s view: %v", ea.Endpoint.Name, err)
		}
		raw, err := endpoints.Run(ctx, f.e, f.a, ea.Endpoint.Name, p, endpoints.SideRaw)
		if err != nil {
			t.Fatal(err)
		}
		if d := endpoints.RowsDiff(raw.Rows, viaView.Rows, 0); d != "" || len(raw.Rows) == 0 {
			t.Errorf("%s: view and raw SQL differ (%d rows):\n%s", ea.Endpoint.Name, len(raw.Rows), d)
		}
	}
	// Only whole hours compare.
	if _, err := endpoints.Compare(ctx, f.e, f.a, "sum_primitives", map[string]string{"start": "2026-11-19 10:30", "end": "2026-11-20"}); err == nil || !strings.Contains(err.Error(), "not on the hour") {
		t.Errorf("unaligned compare: %v", err)
	}
	// Unknown and missing parameters are clear errors.
	if _, err := endpoints.Run(ctx, f.e, f.a, "sum_primitives", params("campaing_id", "c1"), endpoints.SideRaw); err == nil || !strings.Contains(err.Error(), "campaign_id") {
		t.Errorf("misspelt parameter: %v", err)
	}
	if _, err := endpoints.Run(ctx, f.e, f.a, "sum_primitives", map[string]string{"end": "2026-11-20"}, endpoints.SideRaw); err == nil || !strings.Contains(err.Error(), "start") {
		t.Errorf("missing start: %v", err)
	}
}

func TestSwitchRefusedOnDriftAcceptedWhenCleanAndRolledBack(t *testing.T) {
	f := newFixture(t)
	f.loadAndPopulate(8, "events_overview_hourly", "audience_hourly")
	f.deployViews()
	ctx := context.Background()
	opts := endpoints.SwitchOptions{Actor: "ana@ci", Now: f.clock}

	// Clean: the switch is accepted, in one statement, and recorded.
	res, err := endpoints.Switch(ctx, f.e, f.store, f.a, "sum_primitives", endpoints.TargetRollup, opts)
	if err != nil || !res.Switched || res.Forced || !res.Reports[0].Exact || res.Table != "events_overview_hourly" {
		t.Fatalf("switch when clean = %+v, %v", res, err)
	}
	if !strings.HasPrefix(res.Statement, "CREATE OR REPLACE VIEW") || strings.Count(res.Statement, ";") != 0 {
		t.Errorf("statement %q is not one CREATE OR REPLACE VIEW", res.Statement)
	}
	if f.reads("sum_primitives") != "rollup" {
		t.Fatal("the view does not read the rollup after the switch")
	}
	st, err := f.store.Endpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s := st["sum_primitives"]; s.Target != "rollup" || s.Actor != "ana@ci" || s.Forced || !strings.Contains(s.Validation, "EXACT") || s.Table != "events_overview_hourly" {
		t.Errorf("recorded state %+v", s)
	}
	// The view now serves the rollup's rows, equal to raw.
	p := params("campaign_id", "c2")
	viaView, err := endpoints.Run(ctx, f.e, f.a, "sum_primitives", p, endpoints.SideView)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := endpoints.Run(ctx, f.e, f.a, "sum_primitives", p, endpoints.SideRaw)
	if d := endpoints.RowsDiff(raw.Rows, viaView.Rows, 1e-9); d != "" {
		t.Errorf("view on rollup differs from raw:\n%s", d)
	}
	if viaView.Stats.RowsRead >= raw.Stats.RowsRead {
		t.Errorf("view on rollup read %d rows, raw %d", viaView.Stats.RowsRead, raw.Stats.RowsRead)
	}

	// Rollback restores the raw version.
	res, err = endpoints.Switch(ctx, f.e, f.store, f.a, "sum_primitives", endpoints.TargetRaw, opts)
	if err != nil || !res.Switched || res.Previous != "rollup" || len(res.Reports) != 0 {
		t.Fatalf("rollback = %+v, %v", res, err)
	}
	if f.reads("sum_primitives") != "raw" {
		t.Fatal("rollback did not restore the raw version")
	}
	if def, want := f.viewDefinition("sum_primitives"), f.viewDefinitionOf(f.a.Endpoint("sum_primitives").RawView); def != want {
		t.Errorf("after rollback the view is\n%s\nwant the raw version\n%s", def, want)
	}

	// Drift: a rollup row removed two days ago.
	enginetest.MustExec(t, f.e, fmt.Sprintf("ALTER TABLE %s.events_overview_hourly DELETE WHERE hour = '2026-11-18 06:00:00' SETTINGS mutations_sync = 2", f.db))
	res, err = endpoints.Switch(ctx, f.e, f.store, f.a, "sum_primitives", endpoints.TargetRollup, opts)
	if !errors.Is(err, endpoints.ErrRefused) || res == nil || !res.Refused || res.Switched || len(res.Reports) != 1 || res.Reports[0].Exact {
		t.Fatalf("switch on drift = %+v, %v", res, err)
	}
	if m := res.Reports[0].Mismatches[0]; !m.Bucket.Equal(day(18, 6)) || m.Metric != "event_count" {
		t.Errorf("first mismatch %s", m.Line())
	}
	if f.reads("sum_primitives") != "raw" {
		t.Fatal("a refused switch changed the view")
	}
	if hist, _ := f.store.EndpointHistory(ctx, "sum_primitives"); len(hist) != 2 {
		t.Errorf("a refused switch was recorded: %+v", hist)
	}
	// The window decides: drift older than the window does not block.
	res, err = endpoints.Switch(ctx, f.e, f.store, f.a, "sum_primitives", endpoints.TargetRollup, endpoints.SwitchOptions{Actor: "ana@ci", Now: f.clock, Window: 36 * time.Hour})
	if err != nil || !res.Switched || !res.Window.Start.Equal(day(18, 12)) {
		t.Fatalf("switch with a 36h window = %+v, %v", res, err)
	}
	if _, err := endpoints.Switch(ctx, f.e, f.store, f.a, "sum_primitives", endpoints.TargetRaw, opts); err != nil {
		t.Fatal(err)
	}

	// --force skips validation, says so and is recorded, even on drift.
	enginetest.MustExec(t, f.e, fmt.Sprintf("ALTER TABLE %s.audience_hourly DELETE WHERE hour = '2026-11-19 02:00:00' SETTINGS mutations_sync = 2", f.db))
	if _, err := endpoints.Switch(ctx, f.e, f.store, f.a, "audience_breakdown", endpoints.TargetRollup, opts); !errors.Is(err, endpoints.ErrRefused) {
		t.Fatalf("audience_breakdown on drift: %v", err)
	}
	res, err = endpoints.Switch(ctx, f.e, f.store, f.a, "audience_breakdown", endpoints.TargetRollup, endpoints.SwitchOptions{Actor: "bo@laptop", Now: f.clock, Force: true})
	if err != nil || !res.Switched || !res.Forced || !strings.Contains(res.Skipped, "audience_hourly") || len(res.Reports) != 0 {
		t.Fatalf("forced switch = %+v, %v", res, err)
	}
	hist, err := f.store.EndpointHistory(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hist {
		got = append(got, fmt.Sprintf("%s:%s:%v", h.Endpoint, h.Target, h.Forced))
	}
	want := "audience_breakdown:rollup:true sum_primitives:raw:false sum_primitives:rollup:false sum_primitives:raw:false sum_primitives:rollup:false"
	if strings.Join(got, " ") != want {
		t.Errorf("history = %v\nwant %s", got, want)
	}
	if !strings.Contains(hist[0].Validation, "skipped") {
		t.Errorf("forced switch recorded validation %q", hist[0].Validation)
	}

	// Bad requests.
	if _, err := endpoints.Switch(ctx, f.e, f.store, f.a, "nope", endpoints.TargetRollup, opts); err == nil || !strings.Contains(err.Error(), "sum_primitives") {
		t.Errorf("unknown endpoint: %v", err)
	}
	if _, err := endpoints.Switch(ctx, f.e, f.store, f.a, "sum_primitives", "cache", opts); err == nil {
		t.Error("unknown target accepted")
	}
}

// viewDefinitionOf creates a scratch view from a statement and returns its stored definition
// with the scratch name replaced back.
func (f *fixture) viewDefinitionOf(stmt string) string {
	f.t.Helper()
	name := "sum_primitives"
	scratch := strings.Replace(stmt, "`"+name+"`", "`"+name+"_scratch`", 1)
	if scratch == stmt {
		scratch = strings.Replace(stmt, "."+name+" ", "."+name+"_scratch ", 1)
	}
	enginetest.MustExec(f.t, f.e, scratch)
	def := f.viewDefinition(name + "_scratch")
	enginetest.MustExec(f.t, f.e, "DROP VIEW "+f.db+"."+name+"_scratch")
	return strings.Replace(def, name+"_scratch", name, 1)
}

// oldServer is an engine that reports an old ClickHouse version.
type oldServer struct{ engine.Engine }

func (o oldServer) Info(ctx context.Context) (engine.Info, error) {
	return engine.Info{Kind: "remote", Version: "18.16.1"}, nil
}

func TestOldServerNamesTheVersionNeeded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := endpoints.Switch(ctx, oldServer{f.e}, f.store, f.a, "sum_primitives", endpoints.TargetRaw, endpoints.SwitchOptions{Now: f.clock})
	if !errors.Is(err, endpoints.ErrUnsupported) || !strings.Contains(err.Error(), "23.1") || !strings.Contains(err.Error(), "18.16.1") {
		t.Fatalf("switch on 18.16 = %v", err)
	}
	_, err = endpoints.Run(ctx, oldServer{f.e}, f.a, "sum_primitives", params("campaign_id", "c1"), endpoints.SideView)
	if !errors.Is(err, endpoints.ErrUnsupported) {
		t.Fatalf("run view on 18.16 = %v", err)
	}
	// Running one version's SQL needs no view.
	if _, err := endpoints.Run(ctx, oldServer{f.e}, f.a, "sum_primitives", params("campaign_id", "c1"), endpoints.SideRaw); err != nil {
		t.Fatal(err)
	}
}
