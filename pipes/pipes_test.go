package pipes

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/ident"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustCompile(t *testing.T, p *datasources.Project) *Artifacts {
	t.Helper()
	a, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func allSQL(t *testing.T, a *Artifacts) []string {
	t.Helper()
	out := []string{a.CreateDatabase}
	for _, d := range a.Datasources {
		out = append(out, d.CreateTable)
	}
	for _, r := range a.Rollups {
		out = append(out, r.CreateTable, r.CreateStaging, r.Populate, r.Read, r.RawRead, r.DropTriggerView)
	}
	for _, e := range a.Endpoints {
		out = append(out, e.RawSQL, e.RollupSQL, e.RawView, e.RollupView)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	a1 := mustCompile(t, webProject("main"))
	a2 := mustCompile(t, webProject("main"))
	if d := cmp.Diff(allSQL(t, a1), allSQL(t, a2)); d != "" {
		t.Fatalf("two compiles differ:\n%s", d)
	}
	if !reflect.DeepEqual(ClickHouseFiles(a1), ClickHouseFiles(a2)) {
		t.Fatal("ClickHouseFiles differ between compiles")
	}
	t1, err := Tinybird(a1)
	if err != nil {
		t.Fatal(err)
	}
	t2, _ := Tinybird(a2)
	if !reflect.DeepEqual(t1, t2) {
		t.Fatal("Tinybird files differ between compiles")
	}
}

func TestIdentifiersQuoted(t *testing.T) {
	p := webProject("")
	// A hand-built model (bypassing the loader) with a hostile column name: the compiler
	// refuses it with Check...
	ev := p.Datasource("events")
	ev.Columns = append(ev.Columns, &datasources.Column{Name: "x`; DROP TABLE t; --", Type: "String"})
	if _, err := Compile(p); err == nil {
		t.Fatal("Compile accepted a column name with a backtick")
	}
	// ...and wherever it is used unchecked, Quote escapes it.
	p = webProject("")
	ev = p.Datasource("events")
	bad := "x`y"
	ev.Columns = append(ev.Columns, &datasources.Column{Name: bad, Type: "String"})
	rp := &rollupPlan{p: p, src: ev}
	r := &datasources.Rollup{Name: "r", Source: "events", TimeColumn: "timestamp"}
	rp.r = r
	mp, err := rp.planMetric(&datasources.Metric{Name: "m", Kind: datasources.MetricUniq, Column: bad})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := mp.raw, "uniq(`x\\`y`)"; got != want {
		t.Fatalf("raw aggregate = %s, want %s", got, want)
	}

	// In a valid project every name appears quoted.
	a := mustCompile(t, webProject("main"))
	for _, s := range allSQL(t, a) {
		for _, name := range []string{"analytics", "events_hourly", "session_id", "workspace_id", "main"} {
			if regexp.MustCompile("(^|[^`\\w{/])" + name + "($|[^`\\w/])").MatchString(s) {
				t.Errorf("%q appears unquoted in:\n%s", name, s)
			}
		}
	}
}

func TestHash(t *testing.T) {
	base := mustCompile(t, webProject("")).Rollup("events_hourly").Hash

	p := webProject("")
	p.Endpoints[0].Metrics = []string{"event_count"}
	p.Endpoints[0].Limit = 5
	if h := mustCompile(t, p).Rollup("events_hourly").Hash; h != base {
		t.Error("hash changed when only an endpoint changed")
	}
	p = webProject("")
	p.Rollup("events_hourly").Schedule = "10 * * * *"
	if h := mustCompile(t, p).Rollup("events_hourly").Hash; h != base {
		t.Error("hash changed when only the schedule changed")
	}

	p = webProject("")
	p.Rollup("events_hourly").Metric("page_unload_count").If = "event_type = 'unload'"
	if h := mustCompile(t, p).Rollup("events_hourly").Hash; h == base {
		t.Error("hash did not change when a metric condition changed")
	}
	p = webProject("")
	p.Rollup("events_hourly").Metric("unique_users").Kind = datasources.MetricUniqExact
	if h := mustCompile(t, p).Rollup("events_hourly").Hash; h == base {
		t.Error("hash did not change when a metric kind changed")
	}
	p = webProject("")
	p.Rollup("events_hourly").Filter = ""
	if h := mustCompile(t, p).Rollup("events_hourly").Hash; h == base {
		t.Error("hash did not change when the filter changed")
	}
}

func TestTriggerViewWatermark(t *testing.T) {
	a := mustCompile(t, webProject(""))
	r := a.Rollup("sessions_live")
	for _, bad := range []string{"2025-01-02T03:30:00Z", "2025-01-02T03:00:01Z", "2025-01-02T03:00:00.5Z", "2025-01-02T03:00:00+05:30"} {
		if _, err := r.TriggerViewSQL(mustTime(t, bad)); err == nil {
			t.Errorf("watermark %s accepted", bad)
		}
	}
	// Hour-aligned in another zone is fine and written in UTC.
	s, err := r.TriggerViewSQL(mustTime(t, "2025-01-02T05:00:00+02:00"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s, "`started_at` >= toDateTime('2025-01-02 03:00:00', 'UTC')") {
		t.Errorf("watermark not in UTC:\n%s", s)
	}
	if strings.Contains(s, "POPULATE") || strings.Contains(s, "{start") {
		t.Errorf("trigger view must not populate or take parameters:\n%s", s)
	}
	if _, err := a.Rollup("events_hourly").TriggerViewSQL(mustTime(t, "2025-01-02T03:00:00Z")); err == nil {
		t.Error("scheduled rollup got a trigger view")
	}
}

func TestStateTypes(t *testing.T) {
	a := mustCompile(t, webProject(""))
	types := map[string]string{}
	for _, r := range a.Rollups {
		for _, c := range r.Columns {
			types[r.Table+"."+c.Name] = c.Type
		}
	}
	want := map[string]string{
		"events_hourly.hour":                   "DateTime('UTC')",
		"events_hourly.utm_source":             "LowCardinality(String)",
		"events_hourly.is_paid":                "String",
		"events_hourly.event_count":            "SimpleAggregateFunction(sum, UInt64)",
		"events_hourly.unique_users":           "AggregateFunction(uniq, Nullable(String))",
		"events_hourly.total_value_usd":        "SimpleAggregateFunction(sum, Float64)",
		"events_hourly.total_time_on_page":     "SimpleAggregateFunction(sum, UInt64)",
		"sessions_hourly.referrer":             "Nullable(String)",
		"sessions_hourly.unique_users":         "AggregateFunction(uniqExact, String)",
		"sessions_hourly.avg_duration_sum":     "SimpleAggregateFunction(sum, UInt64)",
		"sessions_hourly.avg_duration_count":   "SimpleAggregateFunction(sum, UInt64)",
		"sessions_hourly.min_duration":         "SimpleAggregateFunction(min, UInt32)",
		"sessions_hourly.last_landing_page":    "AggregateFunction(argMax, String, DateTime('UTC'))",
		"sessions_hourly.total_revenue":        "SimpleAggregateFunction(sum, Nullable(Int64))",
		"sessions_hourly.max_revenue":          "SimpleAggregateFunction(max, Nullable(Int64))",
		"sessions_hourly.avg_price_sum":        "SimpleAggregateFunction(sum, Decimal(38, 2))",
		"sessions_live.first_landing_page":     "AggregateFunction(argMin, String, DateTime('UTC'))",
		"sessions_hourly.returning_revenue":    "SimpleAggregateFunction(sum, Nullable(Int64))",
		"events_hourly.page_unload_count":      "SimpleAggregateFunction(sum, UInt64)",
		"sessions_hourly.device_type":          "LowCardinality(String)",
		"sessions_live.unique_users":           "AggregateFunction(uniq, String)",
		"events_hourly.unique_sessions":        "AggregateFunction(uniq, String)",
		"sessions_hourly.bounced_sessions":     "SimpleAggregateFunction(sum, UInt64)",
		"sessions_hourly.total_duration":       "SimpleAggregateFunction(sum, UInt64)",
		"sessions_hourly.max_duration":         "SimpleAggregateFunction(max, UInt32)",
		"sessions_hourly.new_sessions":         "SimpleAggregateFunction(sum, UInt64)",
		"sessions_hourly.session_count":        "SimpleAggregateFunction(sum, UInt64)",
		"sessions_live.session_count":          "SimpleAggregateFunction(sum, UInt64)",
		"sessions_hourly.avg_price_count":      "SimpleAggregateFunction(sum, UInt64)",
		"events_hourly.workspace_id":           "LowCardinality(String)",
		"sessions_live.hour":                   "DateTime('UTC')",
		"sessions_hourly.campaign_id":          "String",
		"sessions_hourly.hour":                 "DateTime('UTC')",
		"sessions_hourly.country":              "LowCardinality(String)",
		"sessions_hourly.workspace_id":         "LowCardinality(String)",
		"events_hourly.event_type":             "LowCardinality(String)",
		"events_hourly.campaign_id":            "String",
		"sessions_live.device_type":            "LowCardinality(String)",
		"sessions_live.workspace_id":           "LowCardinality(String)",
		"events_hourly.nonexistent_for_sanity": "",
	}
	delete(want, "events_hourly.nonexistent_for_sanity")
	if d := cmp.Diff(want, types); d != "" {
		t.Errorf("state types (-want +got):\n%s", d)
	}
}

func TestSortingKey(t *testing.T) {
	a := mustCompile(t, webProject(""))
	// Default: tenant-like dimensions in declared order, hour, the rest.
	if s := a.Rollup("events_hourly").CreateTable; !strings.Contains(s, "ORDER BY (`workspace_id`, `campaign_id`, `hour`, `event_type`, `utm_source`, `is_paid`)") {
		t.Errorf("events_hourly sorting key:\n%s", s)
	}
	// Declared and partial: completed with every dimension; Nullable key allowed.
	s := a.Rollup("sessions_hourly").CreateTable
	if !strings.Contains(s, "ORDER BY (`workspace_id`, `campaign_id`, `hour`, `country`, `device_type`, `referrer`)") {
		t.Errorf("sessions_hourly sorting key:\n%s", s)
	}
	if !strings.Contains(s, ", allow_nullable_key = 1") || strings.Contains(a.Rollup("events_hourly").CreateTable, "allow_nullable_key") {
		t.Errorf("allow_nullable_key only where a key column is Nullable")
	}
	if !strings.Contains(s, "PARTITION BY toYYYYMM(`hour`)") {
		t.Errorf("month partition:\n%s", s)
	}
}

func TestMetricsQuerySides(t *testing.T) {
	p := webProject("")
	r := p.Rollup("sessions_hourly")
	raw, err := MetricsQuery(p, r, SideRaw, "day", []string{"country"}, []string{"avg_duration", "unique_users", "last_landing_page"})
	if err != nil {
		t.Fatal(err)
	}
	roll, err := MetricsQuery(p, r, SideRollup, "day", []string{"country"}, []string{"avg_duration", "unique_users", "last_landing_page"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"avg(`duration`)", "uniqExact(`user_id`)", "argMax(`landing_page`, `started_at`)", "FROM `analytics`.`sessions`", "`started_at` >= {start:DateTime}", "`started_at` < {end:DateTime}", "toDate(toStartOfHour(`started_at`, 'UTC'))"} {
		if !strings.Contains(raw, want) {
			t.Errorf("raw query lacks %q:\n%s", want, raw)
		}
	}
	for _, want := range []string{"sum(`avg_duration_sum`) / sum(`avg_duration_count`)", "uniqExactMerge(`unique_users`)", "argMaxMerge(`last_landing_page`)", "FROM `analytics`.`sessions_hourly`", "`hour` >= {start:DateTime}", "toDate(`hour`)"} {
		if !strings.Contains(roll, want) {
			t.Errorf("rollup query lacks %q:\n%s", want, roll)
		}
	}
	// Same outer SELECT on both sides.
	outer := func(s string) string { return s[:strings.Index(s, "FROM")] }
	if outer(raw) != outer(roll) {
		t.Errorf("output columns differ:\n%s\n%s", outer(raw), outer(roll))
	}
	if !strings.HasSuffix(raw, "ORDER BY `day`, `country`") {
		t.Errorf("default order:\n%s", raw)
	}
	// The rollup filter is ANDed into raw reads only.
	pe := p.Rollup("events_hourly")
	raw, _ = MetricsQuery(p, pe, SideRaw, "", nil, nil)
	roll, _ = MetricsQuery(p, pe, SideRollup, "", nil, nil)
	if !strings.Contains(raw, "AND (event_type != 'debug')") || strings.Contains(roll, "debug") {
		t.Errorf("filter placement:\n%s\n%s", raw, roll)
	}
	for _, bad := range []struct {
		bucket string
		group  []string
		m      []string
	}{{"week", nil, nil}, {"", []string{"nope"}, nil}, {"", nil, []string{"nope"}}} {
		if _, err := MetricsQuery(p, r, SideRaw, bad.bucket, bad.group, bad.m); err == nil {
			t.Errorf("MetricsQuery accepted %+v", bad)
		}
	}
}

func TestEndpointSQL(t *testing.T) {
	a := mustCompile(t, webProject(""))
	e := a.Endpoint("events_timeseries")
	if !strings.Contains(e.RollupSQL, "AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})") {
		t.Errorf("filter:\n%s", e.RollupSQL)
	}
	if !strings.HasPrefix(e.RollupView, "CREATE OR REPLACE VIEW `analytics`.`events_timeseries` AS\nSELECT") {
		t.Errorf("view:\n%s", e.RollupView)
	}
	b := a.Endpoint("audience_breakdown")
	if !strings.HasSuffix(b.RawSQL, "ORDER BY `session_count` DESC, `country`\nLIMIT 10") {
		t.Errorf("order/limit:\n%s", b.RawSQL)
	}
	v, err := EndpointViewSQL(a.Project, b.Endpoint, SideRaw)
	if err != nil || v != b.RawView {
		t.Errorf("EndpointViewSQL = %q, %v", v, err)
	}
	p := webProject("")
	p.Endpoints[1].OrderBy = []string{"nope DESC"}
	if _, err := Compile(p); err == nil {
		t.Error("order_by on an unknown column accepted")
	}
}

func TestCompileErrors(t *testing.T) {
	for name, mutate := range map[string]func(p *datasources.Project){
		"bad database":      func(p *datasources.Project) { p.Database = "a.b" },
		"unknown source":    func(p *datasources.Project) { p.Rollups[0].Source = "nope" },
		"time not datetime": func(p *datasources.Project) { p.Rollups[0].TimeColumn = "session_id" },
		"sum of string":     func(p *datasources.Project) { p.Rollups[0].Metrics[3].Column = "session_id" },
		"dimension hour":    func(p *datasources.Project) { p.Rollups[0].Dimensions[0].Name = "hour" },
		"duplicate column":  func(p *datasources.Project) { p.Rollups[0].Metrics[1].Name = "event_count" },
		"count_if no cond":  func(p *datasources.Project) { p.Rollups[0].Metrics[4].If = "" },
		"table clash":       func(p *datasources.Project) { p.Rollups[0].Name = "events" },
		"staging clash":     func(p *datasources.Project) { p.Endpoints[0].Name = "events_hourly_staging" },
		"endpoint rollup":   func(p *datasources.Project) { p.Endpoints[0].Rollup = "nope" },
		"filter dim":        func(p *datasources.Project) { p.Endpoints[0].Filters[0].Dimension = "nope" },
		"bad engine":        func(p *datasources.Project) { p.Datasources[0].Engine = "Memory" },
		"json source":       func(p *datasources.Project) { p.Datasources[0].Columns[9].JSONSource = "nope" },
		"order_by unknown":  func(p *datasources.Project) { p.Rollups[1].OrderBy = []string{"nope"} },
	} {
		p := webProject("")
		mutate(p)
		if _, err := Compile(p); err == nil {
			t.Errorf("%s: Compile succeeded", name)
		}
	}
	p := webProject("")
	p.Rollups[0].Pos = datasources.Pos{File: "rollups/events.yaml", Line: 3, Col: 1}
	p.Rollups[0].Source = "nope"
	if _, err := Compile(p); err == nil || !strings.HasPrefix(err.Error(), "rollups/events.yaml:3:1: ") {
		t.Errorf("error without position: %v", err)
	}
}

func TestDatasourceDDL(t *testing.T) {
	a := mustCompile(t, webProject(""))
	s := a.Datasource("events").CreateTable
	for _, want := range []string{
		"`utm_source` LowCardinality(String) MATERIALIZED JSONExtractString(`properties`, 'utm', 'source')",
		"`utm_medium` LowCardinality(Nullable(String)) MATERIALIZED JSONExtract(`properties`, 'utm', 'medium', 'Nullable(String)')",
		"`properties` String CODEC(ZSTD(3))",
		"`country` LowCardinality(String) DEFAULT 'unknown'",
		"ORDER BY (`workspace_id`, `campaign_id`, toStartOfHour(timestamp), `timestamp`)",
		"TTL toDateTime(timestamp) + INTERVAL 10 YEAR",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("events DDL lacks %q:\n%s", want, s)
		}
	}
	c := mustCompile(t, webProject("main"))
	if s := c.Datasource("sessions").CreateTable; !strings.Contains(s, "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/analytics/sessions_local', '{replica}', _timestamp)") ||
		!strings.Contains(s, "CREATE TABLE IF NOT EXISTS `analytics`.`sessions_local` ON CLUSTER `main`") {
		t.Errorf("cluster DDL:\n%s", s)
	}
	if s, want := c.Datasource("sessions").CreateDistributed, "CREATE TABLE IF NOT EXISTS `analytics`.`sessions` ON CLUSTER `main` AS `analytics`.`sessions_local`\nENGINE = Distributed('main', 'analytics', 'sessions_local', cityHash64(user_id))"; s != want {
		t.Errorf("Distributed DDL:\n%s\nwant\n%s", s, want)
	}
	if s := c.Rollup("events_hourly").CreateStaging; strings.Contains(s, "Replicated") || !strings.Contains(s, "ON CLUSTER") {
		t.Errorf("staging DDL:\n%s", s)
	}
	// A populate unit's staging table lives on the host that runs the unit, which drops it.
	if s := c.Rollup("events_hourly").CreateStagingNamed("x"); strings.Contains(s, "Replicated") || strings.Contains(s, "ON CLUSTER") {
		t.Errorf("unit staging DDL:\n%s", s)
	}
	p := webProject("")
	p.Datasources[0].Managed = false
	if s := mustCompile(t, p).Datasource("events").CreateTable; s != "" {
		t.Errorf("unmanaged datasource got DDL:\n%s", s)
	}
}

func TestVersionedMetricsQueryReadsTheVersionTable(t *testing.T) {
	a := mustCompile(t, webProject(""))
	ra := a.Rollups[0]
	v, err := ra.Versioned(ra.Table + "_v2")
	if err != nil {
		t.Fatal(err)
	}
	q, err := v.MetricsQuery(SideRollup, "hour", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(q, ident.Quote(ra.Table+"_v2")) {
		t.Errorf("versioned rollup query does not read %s_v2:\n%s", ra.Table, q)
	}
	base, _ := ra.MetricsQuery(SideRollup, "hour", nil, nil)
	fn, _ := MetricsQuery(a.Project, ra.Rollup, SideRollup, "hour", nil, nil)
	if base != fn {
		t.Errorf("method and function differ for the base version")
	}
}

// Replaced parts must leave the disk at once, or a restart reloads them (see OutdatedParts).
func TestRollupTablesPurgeReplacedParts(t *testing.T) {
	a := mustCompile(t, webProject(""))
	for _, ra := range a.Rollups {
		for _, ddl := range []string{ra.CreateTable, ra.CreateStaging, ra.CreateStagingNamed("x")} {
			if !strings.Contains(ddl, "SETTINGS old_parts_lifetime = 0, cleanup_delay_period = 1, cleanup_delay_period_random_add = 0") {
				t.Errorf("%s: DDL lacks the cleanup settings:\n%s", ra.Rollup.Name, ddl)
			}
		}
	}
}

func TestEndpointRollupViewFollowsTheVersion(t *testing.T) {
	a := mustCompile(t, webProject(""))
	ea := a.Endpoints[0]
	ra := a.Rollup(ea.Endpoint.Rollup)
	base, err := ra.EndpointRollupView(ea.Endpoint)
	if err != nil || base != ea.RollupView {
		t.Fatalf("base version view differs from the compiled one (%v):\n%s\n---\n%s", err, base, ea.RollupView)
	}
	v, _ := ra.Versioned(ra.Table + "_v3")
	view, err := v.EndpointRollupView(ea.Endpoint)
	if err != nil || !strings.Contains(view, ident.Quote(ra.Table+"_v3")) || !strings.Contains(view, ident.Quote(ea.Endpoint.Name)) {
		t.Fatalf("versioned view (%v):\n%s", err, view)
	}
}

func TestEndpointRollupSQLIsTheCompiledOneForTheBaseVersion(t *testing.T) {
	a := mustCompile(t, webProject(""))
	for _, ea := range a.Endpoints {
		sql, err := a.Rollup(ea.Endpoint.Rollup).EndpointRollupSQL(ea.Endpoint)
		if err != nil || sql != ea.RollupSQL {
			t.Errorf("%s: EndpointRollupSQL differs from RollupSQL (%v)", ea.Endpoint.Name, err)
		}
	}
}

// A rollup over a rollup reads the version of its source deploy recorded; its own versions
// keep reading it; a change of the source makes a new hash for both.
func TestRollupOverRollupVersions(t *testing.T) {
	a := mustCompile(t, kitProject(t))
	ra := a.Rollup("analytics_sessions_hourly")
	if ra.SourceRollup() != "analytics_sessions" || ra.SourceTable() != "analytics_sessions" || a.Rollup("analytics_sessions").SourceRollup() != "" {
		t.Fatalf("source: %q %q", ra.SourceRollup(), ra.SourceTable())
	}
	v, err := ra.ReadingSource("analytics_sessions_v2")
	if err != nil {
		t.Fatal(err)
	}
	if v.Table != ra.Table || v.Hash != ra.Hash || !strings.Contains(v.PopulateSelect, "FROM `analytics`.`analytics_sessions_v2`") ||
		!strings.Contains(v.CountSource(), "`analytics_sessions_v2`") || strings.Contains(v.PopulateSelect, "`analytics_sessions`\n") {
		t.Errorf("reading v2:\n%s", v.PopulateSelect)
	}
	w, err := v.Versioned("analytics_sessions_hourly_v3")
	if err != nil || !strings.Contains(w.PopulateSelect, "analytics_sessions_v2") || !strings.HasPrefix(w.Populate, "INSERT INTO `analytics`.`analytics_sessions_hourly_v3_staging`") {
		t.Errorf("version of a reader: %v\n%s", err, w.Populate)
	}
	if _, err := a.Rollup("analytics_sessions").ReadingSource("x"); err == nil {
		t.Error("ReadingSource of a rollup of a datasource")
	}
	p := kitProject(t)
	p.Rollup("analytics_sessions").Metrics[2].Kind = "count_if"
	p.Rollup("analytics_sessions").Metrics[2].If = "1"
	b := mustCompile(t, p)
	if b.Rollup("analytics_sessions_hourly").Hash == ra.Hash {
		t.Error("a change of the source leaves the reader's hash")
	}
}

// Units running side by side share the server's threads: the populate INSERT says how many it
// may take, and the server's max_threads is read in both of the forms servers print it.
func TestPopulateIntoThreads(t *testing.T) {
	ra := mustCompile(t, webProject("")).Rollups[0]
	if got, want := ra.PopulateIntoThreads("stg", 0), ra.PopulateInto("stg"); got != want {
		t.Errorf("0 threads: %q, want the plain INSERT", got)
	}
	if got := ra.PopulateIntoThreads("stg", 1); !strings.HasPrefix(got, ra.PopulateInto("stg")) || !strings.HasSuffix(got, "\nSETTINGS max_threads = 1") {
		t.Errorf("1 thread: %q", got)
	}
	for in, want := range map[string]int{"'auto(2)'": 2, "16": 16, "auto(12)": 12, "": 0, "'auto'": 0} {
		if got := ParseMaxThreads(in); got != want {
			t.Errorf("ParseMaxThreads(%q) = %d, want %d", in, got, want)
		}
	}
}
