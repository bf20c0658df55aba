package datasources

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mapFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for k, v := range files {
		m[k] = &fstest.MapFile{Data: []byte(v)}
	}
	return m
}

func mustLoad(t *testing.T, files map[string]string) *Project {
	t.Helper()
	p, err := Load(mapFS(files))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p
}

func TestScaffoldLoadsCleanly(t *testing.T) {
	files := Scaffold()
	for _, f := range []string{"hourglass.yaml", "README.md", "datasources/events.yaml", "datasources/sessions.yaml",
		"rollups/events.yaml", "rollups/sessions.yaml", "endpoints/overview.yaml", "endpoints/breakdowns.yaml"} {
		if len(files[f]) == 0 {
			t.Errorf("scaffold has no %s", f)
		}
	}
	fsys := fstest.MapFS{}
	for k, v := range files {
		fsys[k] = &fstest.MapFile{Data: v}
	}
	p, err := Load(fsys)
	if err != nil {
		t.Fatalf("scaffold does not load:\n%v", err)
	}
	if w := Lint(p); len(w) != 0 {
		t.Fatalf("scaffold has warnings: %v", w)
	}
	var names []string
	for _, r := range p.Rollups {
		names = append(names, r.Name)
	}
	if diff := cmp.Diff([]string{"events_hourly", "events_overview_hourly", "events_totals_hourly", "sessions_hourly", "audience_hourly"}, names); diff != "" {
		t.Errorf("rollups (-want +got):\n%s", diff)
	}
	for _, e := range []string{"sum_primitives", "timeseries_primitives", "audience_breakdown", "conversions_breakdown"} {
		ep := p.Endpoint(e)
		if ep == nil {
			t.Errorf("no endpoint %s", e)
			continue
		}
		if ep.Param("start") == nil || ep.Param("end") == nil || ep.Param("campaign_id") == nil {
			t.Errorf("endpoint %s params: want start, end, campaign_id", e)
		}
	}
	// The aliased metric list is shared by the overview rollup.
	if got := len(p.Rollup("events_overview_hourly").Metrics); got != 6 {
		t.Errorf("events_overview_hourly has %d metrics, want 6", got)
	}
	pp := p.Datasource("events").Column("page_path")
	if pp.JSONSource != "properties" || !cmp.Equal(pp.JSONPath, []string{"page", "path"}) || pp.JSONObject {
		t.Errorf("page_path json = %q %q object %v", pp.JSONSource, pp.JSONPath, pp.JSONObject)
	}
	// Scaffold returns a fresh map every call.
	files["hourglass.yaml"] = nil
	if len(Scaffold()["hourglass.yaml"]) == 0 {
		t.Error("Scaffold shares its map between calls")
	}
}

const minimal = `
name: p
datasources:
  - name: events
    order_by: [workspace_id, ts]
    columns:
      - {name: ts, type: DateTime}
      - {name: workspace_id, type: String}
      - {name: country, type: String}
      - {name: campaign_id, type: String}
rollups:
  - name: r
    source: events
    dimensions: [country, campaign_id, workspace_id]
    metrics: [{name: c, kind: count}]
endpoints:
  - name: e
    rollup: r
    metrics: [c]
    params: [{name: campaign_id}]
    filters: [campaign_id]
`

func TestDefaults(t *testing.T) {
	p := mustLoad(t, map[string]string{"hourglass.yaml": minimal})
	if p.Database != "analytics" || p.Dir != "" || p.DSN != "" || p.Cluster != "" {
		t.Errorf("project = %+v", p)
	}
	d := p.Datasource("events")
	if !d.Managed || d.Engine != "MergeTree" {
		t.Errorf("datasource managed=%v engine=%q, want true MergeTree", d.Managed, d.Engine)
	}
	r := p.Rollup("r")
	checks := []struct {
		name      string
		got, want any
	}{
		{"partition", r.Partition, PartitionDay},
		{"schedule", r.Schedule, "5 * * * *"},
		{"lookback", r.Lookback, 2 * time.Hour},
		{"delay", r.Delay, 5 * time.Minute},
		{"mode", r.Mode, ModeScheduled},
		{"granularity", r.Granularity, GranularityHour},
		{"time column (the only DateTime column)", r.TimeColumn, "ts"},
		{"order by: tenant dims in declared order, hour, the rest", r.OrderBy, []string{"campaign_id", "workspace_id", "hour", "country"}},
		{"dimension column is its name", r.Dimension("country").Column, "country"},
	}
	for _, c := range checks {
		if !cmp.Equal(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	e := p.Endpoint("e")
	var params []string
	for _, pr := range e.Params {
		params = append(params, pr.Name+" "+pr.Type)
	}
	if diff := cmp.Diff([]string{"start DateTime", "end DateTime", "campaign_id String"}, params); diff != "" {
		t.Errorf("params (-want +got):\n%s", diff)
	}
	if f := e.Filters[0]; f.Dimension != "campaign_id" || f.Param != "campaign_id" {
		t.Errorf("filter shorthand = %+v", f)
	}
	if e.Bucket != "" || e.Limit != 0 {
		t.Errorf("bucket %q limit %d, want none", e.Bucket, e.Limit)
	}
}

func TestProjectDefaultsOverride(t *testing.T) {
	p := mustLoad(t, map[string]string{"hourglass.yaml": strings.Replace(`
name: p
database: web
dsn: clickhouse://localhost:9000
cluster: main
defaults: {partition: month, schedule: "10 * * * *", lookback: 90m, delay: 0s}
`+strings.Replace(strings.SplitN(minimal, "\n", 3)[2], "endpoints:", `  - name: r2
    source: events
    lookback: 0s
    schedule: "@hourly"
    mode: trigger
    partition: day
    order_by: [workspace_id, hour, hour_of_day]
    dimensions: [workspace_id, {name: hour_of_day, expr: toHour(ts)}]
    metrics: [{name: c, kind: count}]
endpoints:`, 1), "order_by: [workspace_id, ts]", "order_by: [workspace_id, ts]\n    shard_by: cityHash64(workspace_id)", 1)})
	if p.Database != "web" || p.DSN != "clickhouse://localhost:9000" || p.Cluster != "main" {
		t.Errorf("project = %+v", p)
	}
	r := p.Rollup("r")
	if r.Partition != PartitionMonth || r.Schedule != "10 * * * *" || r.Lookback != 90*time.Minute || r.Delay != 0 {
		t.Errorf("r inherits %v %q %v %v", r.Partition, r.Schedule, r.Lookback, r.Delay)
	}
	r2 := p.Rollup("r2")
	if r2.Partition != PartitionDay || r2.Schedule != "@hourly" || r2.Lookback != 0 || r2.Mode != ModeTrigger {
		t.Errorf("r2 overrides %v %q %v %v", r2.Partition, r2.Schedule, r2.Lookback, r2.Mode)
	}
	if d := r2.Dimension("hour_of_day"); d.Expr != "toHour(ts)" || d.Column != "" {
		t.Errorf("expr dimension = %+v", d)
	}
	if s := p.Datasource("events").ShardBy; s != "cityHash64(workspace_id)" {
		t.Errorf("shard_by = %q", s)
	}
}

func TestDefinitionFiles(t *testing.T) {
	p := mustLoad(t, map[string]string{
		"hourglass.yaml": "name: p\n",
		"datasources/events.yaml": `name: events
engine: ReplicatedReplacingMergeTree(ts)
managed: false
columns: [{name: ts, type: "DateTime64(3, 'UTC')"}, {name: v, type: Nullable(Float64)}]
`,
		// Two YAML documents, the second a list.
		"rollups/r.yml": `name: a
source: events
metrics: [{name: s, kind: sum, column: v}]
---
- name: b
  source: events
  metrics: [{name: m, kind: arg_max, column: v, by: ts}]
`,
		"endpoints/e.yaml":   "name: e\nrollup: a\nmetrics: [s]\nbucket: day\norder_by: [day DESC, s]\nlimit: 10\n",
		"notes/ignored.yaml": "this: is not read",
	})
	if len(p.Datasources) != 1 || len(p.Rollups) != 2 || len(p.Endpoints) != 1 {
		t.Fatalf("got %d datasources, %d rollups, %d endpoints", len(p.Datasources), len(p.Rollups), len(p.Endpoints))
	}
	d := p.Datasources[0]
	if d.Managed || d.Pos != (Pos{File: "datasources/events.yaml", Line: 1, Col: 1}) {
		t.Errorf("datasource managed=%v pos=%v", d.Managed, d.Pos)
	}
	if b := p.Rollup("b"); b.Pos != (Pos{File: "rollups/r.yml", Line: 5, Col: 3}) || b.OrderBy[0] != "hour" {
		t.Errorf("rollup b pos=%v order=%v", b.Pos, b.OrderBy)
	}
}

func TestErrorsAcrossFilesInSourceOrder(t *testing.T) {
	_, err := Load(mapFS(map[string]string{
		"hourglass.yaml":          "name: p\nrollups:\n  - name: r\n    source: nope\n    metrics: [{name: c, kind: count}]\n",
		"datasources/events.yaml": "name: events\ncolumns: [{name: ts, type: Strng}]\norder_by: [ts]\n",
		"endpoints/e.yaml":        "- name: e\n  rollup: r\n  metrics: [c]\n  limit: -1\n",
	}))
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v", err)
	}
	var codes []string
	for _, d := range *errs {
		codes = append(codes, d.Pos.String()+" "+d.Code)
	}
	want := []string{
		"datasources/events.yaml:2:28 HG110",
		"endpoints/e.yaml:4:10 HG145",
		"hourglass.yaml:4:13 HG120",
	}
	if diff := cmp.Diff(want, codes); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s\n%v", diff, err)
	}
	first := strings.Split(err.Error(), "\n")[0]
	if !strings.HasPrefix(first, "datasources/events.yaml:2:28: column \"ts\": type \"Strng\"") {
		t.Errorf("Error() first line = %q", first)
	}
}

func TestMissingProjectFile(t *testing.T) {
	_, err := Load(fstest.MapFS{})
	if err == nil || !strings.Contains(err.Error(), "hourglass.yaml:1:1: cannot read hourglass.yaml") || !strings.Contains(err.Error(), "hourglass init") {
		t.Fatalf("err = %v", err)
	}
}

func TestDefinitionFileShape(t *testing.T) {
	_, err := Load(mapFS(map[string]string{
		"hourglass.yaml":          "name: p\n",
		"datasources/events.yaml": "datasources:\n  - name: events\n",
	}))
	if err == nil || !strings.Contains(err.Error(), "datasources/events.yaml:1:1: unknown key \"datasources\": a file under datasources/ holds the datasource definitions directly") {
		t.Fatalf("err = %v", err)
	}
}

func TestLint(t *testing.T) {
	p := mustLoad(t, map[string]string{"hourglass.yaml": `
name: p
datasources:
  - name: hourly
    partition_by: toStartOfHour(ts)
    order_by: [ts]
    columns: [{name: ts, type: DateTime}]
  - name: bare
    partition_by: ts
    order_by: [ts]
    columns: [{name: ts, type: DateTime}]
  - name: none
    order_by: [ts]
    columns: [{name: ts, type: DateTime}]
  - name: notime
    partition_by: kind
    order_by: [ts]
    columns: [{name: ts, type: DateTime}, {name: kind, type: String}]
  - name: daily
    partition_by: toYYYYMMDD(ts)
    shard_by: rand()
    order_by: [ts]
    columns: [{name: ts, type: DateTime}, {name: workspace_id, type: String}]
  - name: external
    managed: false
    columns: [{name: ts, type: DateTime}]
rollups:
  - name: r
    source: daily
    dimensions: [workspace_id]
    order_by: [hour, workspace_id]
    metrics: [{name: c, kind: count}]
  - name: ok
    source: daily
    dimensions: [workspace_id]
    metrics: [{name: c, kind: count}]
`})
	var got []string
	for _, d := range Lint(p) {
		if !d.IsWarning() {
			t.Errorf("%v is not a warning", d)
		}
		got = append(got, d.Pos.String()+" "+d.Code)
	}
	want := []string{
		"hourglass.yaml:4:5 HGW002",  // hourly partitions
		"hourglass.yaml:8:5 HGW002",  // bare DateTime: per second
		"hourglass.yaml:12:5 HGW003", // no partition_by
		"hourglass.yaml:15:5 HGW003", // partition_by not on time
		"hourglass.yaml:19:5 HGW004", // shard_by without a cluster
		"hourglass.yaml:28:5 HGW001", // hour before the tenant
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lint (-want +got):\n%s", diff)
	}
}

func TestPrimaryKey(t *testing.T) {
	r := &Rollup{OrderBy: []string{"a", "b", "hour", "c", "d", "e", "f", "g", "h", "i"}}
	if diff := cmp.Diff([]string{"a", "b", "hour", "c", "d", "e", "f", "g"}, r.PrimaryKey()); diff != "" {
		t.Error(diff)
	}
	short := &Rollup{OrderBy: []string{"a", "hour"}}
	if diff := cmp.Diff([]string{"a", "hour"}, short.PrimaryKey()); diff != "" {
		t.Error(diff)
	}
}

func TestScheduleProblem(t *testing.T) {
	for s, want := range map[string]string{
		"5 * * * *":                 "",
		"0 */2 * * *":               "",
		"@hourly":                   "",
		"@daily":                    "",
		"*/5 * * * *":               "fires every 5m0s",
		"* * * * *":                 "fires every 1m0s",
		"0,30 * * * *":              "fires every 30m0s",
		"@every 10m":                "fires every 10m0s",
		"61 * * * *":                "is not a valid cron expression",
		"TZ=Europe/Paris 5 * * * *": "schedules are in UTC",
	} {
		got := scheduleProblem(s)
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("scheduleProblem(%q) = %q, want %q", s, got, want)
		}
	}
}

// TestJSONObjectPath: json: $.object.key reads a key of an object the events hold, the
// object being a String column of the datasource.
func TestJSONObjectPath(t *testing.T) {
	p, err := Load(fstest.MapFS{ProjectFile: &fstest.MapFile{Data: []byte(`name: p
datasources:
  - name: hits
    order_by: [ts]
    columns:
      - {name: ts, type: DateTime}
      - {name: payload, type: String}
      - {name: depth, type: UInt8, json: $.payload.scroll.depth}
`)}})
	if err != nil {
		t.Fatal(err)
	}
	c := p.Datasource("hits").Column("depth")
	if c.JSONSource != "payload" || !cmp.Equal(c.JSONPath, []string{"scroll", "depth"}) || !c.JSONObject {
		t.Errorf("depth json = %q %q object %v", c.JSONSource, c.JSONPath, c.JSONObject)
	}
}

// TestEndpointCurrentSQLAndTests: an endpoint carries the query it replaces, inline or from a
// file, and parameter sets to check it with; what can be wrong without an engine is one
// diagnostic each, at its line.
func TestEndpointCurrentSQLAndTests(t *testing.T) {
	base := `name: p
datasources:
  - name: events
    order_by: [ts]
    columns: [{name: ts, type: DateTime}, {name: c, type: String}, {name: s, type: Nullable(String)}]
rollups:
  - {name: r, source: events, dimensions: [c], metrics: [{name: n, kind: count}, {name: v, kind: uniq, column: s}]}
endpoints:
  - name: e
    rollup: r
    metrics: [n, v]
    params: [{name: c, type: String}]
    filters: [c]
`
	p := mustLoad(t, map[string]string{"hourglass.yaml": base + `    current_sql: |
      SELECT count() AS n, uniqExact(ifNull(s, '')) AS v FROM events
      WHERE ts >= {start:DateTime} AND ts < {end:DateTime} AND ({c:String} = '' OR c = {c:String}); -- the old one
    tests:
      - {c: a}
      - {c: "", start: "2026-11-01", end: now}
      - {}
`})
	e := p.Endpoint("e")
	if !strings.HasPrefix(e.CurrentSQL, "SELECT count() AS n") || e.CurrentSQLFile != "" || len(e.Tests) != 3 ||
		e.Tests[0].Params["c"] != "a" || e.Tests[1].Params["end"] != "now" || len(e.Tests[2].Params) != 0 {
		t.Fatalf("endpoint = %+v, tests %+v", e, e.Tests)
	}
	if got := strings.Join(QueryParams(e.CurrentSQL), ","); got != "start,end,c" {
		t.Errorf("QueryParams = %s", got)
	}
	p = mustLoad(t, map[string]string{"hourglass.yaml": base + "    current_sql_file: sql/e.sql\n", "sql/e.sql": "SELECT 1 AS n, 2 AS v;\n"})
	if e := p.Endpoint("e"); e.CurrentSQL != "SELECT 1 AS n, 2 AS v" || e.CurrentSQLFile != "sql/e.sql" {
		t.Errorf("from a file: %q (%q)", e.CurrentSQL, e.CurrentSQLFile)
	}
	for _, c := range []struct{ yaml, want string }{
		{"    current_sql: \"SELECT {campaign:String} AS n\"\n", `hourglass.yaml:14:18: endpoint "e" current SQL uses the parameter {campaign:…}, which the endpoint does not declare`},
		{"    current_sql: \"SELECT 1 AS n; DROP TABLE events\"\n", "current SQL holds `;`"},
		{"    current_sql: \"  ; \"\n", "current SQL is empty"},
		{"    current_sql_file: nope.sql\n", "current_sql_file nope.sql cannot be read"},
		{"    current_sql: SELECT 1\n    current_sql_file: x.sql\n", "has both current_sql and current_sql_file"},
		{"    tests: [{campaign: a}]\n", `tests: parameter "campaign" is not declared`},
		{"    tests: [a]\n", "each entry of endpoint \"e\" tests is a mapping"},
	} {
		_, err := Load(mapFS(map[string]string{"hourglass.yaml": base + c.yaml}))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Count(err.Error(), "\n") != 0 {
			t.Errorf("%q: err = %v, want one diagnostic containing %q", c.yaml, err, c.want)
		}
	}
	// Quoted semicolons and comments are not statement separators.
	if _, err := Load(mapFS(map[string]string{"hourglass.yaml": base + "    current_sql: \"SELECT ';' AS n -- a; b\\n, 1 AS v\"\n"})); err != nil {
		t.Errorf("quoted semicolon: %v", err)
	}
}
