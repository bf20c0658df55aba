package cli

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
	"github.com/hourglass-dev/hourglass/validate"
)

// accuracyProject writes the default project into a temporary folder, sets it up on the
// embedded engine the way deploy would (tables, metadata, endpoint views on raw), loads two
// days of events and sessions, backfills every rollup and closes the engine. It returns the
// global flags that point the CLI at it.
func accuracyProject(t *testing.T) []string {
	t.Helper()
	needLibrary(t)
	dir := t.TempDir()
	for path, b := range datasources.Scaffold() {
		p := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dsn := "chdb://" + filepath.Join(dir, "data")
	g := &globals{project: dir}
	proj, err := g.loadProject()
	if err != nil {
		t.Fatal(err)
	}
	a := proj.artifacts
	ctx := context.Background()
	e, err := engine.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	clock := func() time.Time { return cliNow }
	store := meta.New(e, a.Project.Database, clock)
	exec := func(q string) {
		t.Helper()
		if err := e.Exec(ctx, q, nil); err != nil {
			t.Fatalf("%s\n→ %v", q, err)
		}
	}
	if err := store.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	for _, d := range a.Datasources {
		exec(d.CreateTable)
	}
	for _, r := range a.Rollups {
		for _, q := range r.CreateTables() {
			exec(q)
		}
		if err := store.RecordDeployment(ctx, meta.Deployment{Object: r.Rollup.Name, Kind: "rollup", Version: 1, Table: r.Table, Hash: r.Hash}); err != nil {
			t.Fatal(err)
		}
	}
	for _, ea := range a.Endpoints {
		exec(ea.RawView)
	}
	db := a.Project.Database
	from := cliStart.Unix()
	exec(fmt.Sprintf(`INSERT INTO %s.events (timestamp, workspace_id, project_id, campaign_id, environment, event_id, event_type, session_id, user_id, device_type, country, value_usd, time_on_page, is_page_unload)
SELECT toDateTime(%d + number * 97, 'UTC'), 'w1', 'p1', concat('c', toString(number %% 3)), 'prod', concat('e', toString(number %% 4)),
    ['pageview','click','purchase'][1 + number %% 3], concat('s', toString(intDiv(number, 3))), concat('u', toString(number %% 41)),
    ['desktop','mobile'][1 + number %% 2], ['DE','US'][1 + number %% 2], (number %% 1000) / 3.0, number %% 60, number %% 5 = 0
FROM numbers(1780)`, db, from))
	exec(fmt.Sprintf(`INSERT INTO %s.sessions (session_start, session_id, user_id, workspace_id, project_id, campaign_id, environment, device_type, country, is_returning, duration, event_count)
SELECT toDateTime(%d + number * 173, 'UTC'), concat('s', toString(number)), concat('u', toString(number %% 29)), 'w1', 'p1',
    concat('c', toString(number %% 3)), 'prod', ['desktop','mobile'][1 + number %% 2], ['DE','US'][1 + number %% 2], number %% 4 = 0, number %% 7, 1 + number %% 5
FROM numbers(990)`, db, from))
	runner := populate.New(e, store, a, populate.Options{Now: clock})
	for _, r := range a.Rollups {
		if _, err := runner.Backfill(ctx, r.Rollup.Name, timerange.Range{Start: cliStart, End: cliEnd}, populate.BackfillOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return []string{"--project", dir, "--dsn", dsn}
}

var (
	cliStart = time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC)
	cliEnd   = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	cliNow   = cliEnd.Add(30 * time.Minute)
	nowFlag  = "--now=" + cliNow.Format(time.RFC3339)
)

func args(global []string, rest ...string) []string {
	return append(append([]string{}, global...), rest...)
}

type junitDoc struct {
	Tests  int `xml:"tests,attr"`
	Fail   int `xml:"failures,attr"`
	Suites []struct {
		Name  string `xml:"name,attr"`
		Cases []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func readJUnit(t *testing.T, path string) junitDoc {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return doc
}

func TestValidateExitCodesAndJUnit(t *testing.T) {
	g := accuracyProject(t)
	junit := filepath.Join(t.TempDir(), "accuracy.xml")

	// Exact: exit 0, a readable verdict, a JUnit file with no failure.
	code, out, errOut := run(t, args(g, "validate", "events_overview_hourly", "audience_hourly", "--from", "2026-11-18", "--to", "2026-11-20 02:00", nowFlag, "--junit", junit)...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"events_overview_hourly: EXACT — 48 hour buckets × 6 metrics over [2026-11-18 00:00:00, 2026-11-20 00:00:00) in ",
		"audience_hourly: EXACT — 48 hour buckets × 7 metrics",
		"note: hours from 2026-11-20 00:00:00 on are not closed yet",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	doc := readJUnit(t, junit)
	if doc.Tests != 13 || doc.Fail != 0 || len(doc.Suites) != 2 {
		t.Errorf("junit: %+v", doc)
	}

	// JSON.
	code, out, _ = run(t, args(g, "-o", "json", "validate", "sessions_hourly", "--from", "2026-11-18", "--to", "2026-11-20", "--by", "day", "--dimensions", "campaign_id,country", nowFlag)...)
	var rep validate.Report
	if code != ExitOK || json.Unmarshal([]byte(out), &rep) != nil || !rep.Exact || rep.Buckets != 2 || rep.Rows != 12 {
		t.Fatalf("json: exit %d %+v\n%s", code, rep, out)
	}

	// Drift: a rollup hour removed → exit 1, the table names bucket, dimension and metric.
	if code, _, errOut := run(t, args(g, "sql", "ALTER TABLE analytics.events_overview_hourly DELETE WHERE hour = '2026-11-19 07:00:00' AND campaign_id = 'c1' SETTINGS mutations_sync = 2")...); code != ExitOK {
		t.Fatal(errOut)
	}
	code, out, errOut = run(t, args(g, "validate", "events_overview_hourly", "--from", "2026-11-18", "--to", "2026-11-20", "--dimensions", "campaign_id", nowFlag, "--junit", junit, "--max-mismatches", "4")...)
	if code != ExitCheckFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"events_overview_hourly: MISMATCH — 6 of ",
		"hour                 campaign_id  metric",
		"2026-11-19 07:00:00  c1           event_count",
		"no rollup row",
		"… 2 more mismatches not listed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "events_overview_hourly (6 of") {
		t.Errorf("stderr %q", errOut)
	}
	doc = readJUnit(t, junit)
	if doc.Tests != 6 || doc.Fail != 6 {
		t.Fatalf("junit after drift: %+v", doc)
	}
	f := doc.Suites[0].Cases[0].Failure
	if f == nil || !strings.Contains(f.Text, `2026-11-19 07:00:00 campaign_id="c1" event_count: raw `) || !strings.Contains(f.Text, "coverage gap") {
		t.Errorf("junit failure %+v", f)
	}

	// Errors: exit 2.
	for _, bad := range [][]string{
		{"validate", "nope", "--from", "2026-11-18", "--to", "2026-11-20", nowFlag},
		{"validate", "events_overview_hourly", "--from", "2026-11-18", nowFlag},
		{"validate", "events_overview_hourly", "--from", "2026-11-18 10:30", "--to", "2026-11-20", nowFlag},
		{"validate", "events_overview_hourly", "--from", "2026-11-18", "--to", "2026-11-20", "--by", "week", nowFlag},
		{"validate", "events_overview_hourly", "--from", "2026-11-18", "--to", "2026-11-20", "--tolerance", "total_value_usd", nowFlag},
		{"validate", "events_overview_hourly", "--from", "2026-11-18", "--to", "2026-11-20", "--dimensions", "nope", nowFlag},
		{"validate", "--from", "2026-11-18", "--to", "2026-11-20"},
	} {
		code, _, errOut := run(t, args(g, bad...)...)
		if code != ExitError || !strings.HasPrefix(errOut, "hourglass: ") {
			t.Errorf("%v: exit %d stderr %q, want 2", bad, code, errOut)
		}
	}
	// The help shows examples.
	if code, out, _ := run(t, "validate", "--help"); code != ExitOK || !strings.Contains(out, "--junit accuracy.xml") {
		t.Errorf("help: %d %s", code, out)
	}
}

func TestSwitchAndEndpointCommands(t *testing.T) {
	g := accuracyProject(t)
	// Clean: switch accepted, recorded.
	code, out, errOut := run(t, args(g, "switch", "sum_primitives", "--to", "rollup", "--window", "2d", nowFlag)...)
	if code != ExitOK || !strings.Contains(out, "EXACT") || !strings.Contains(out, "sum_primitives now reads its rollup version (events_totals_hourly)") {
		t.Fatalf("switch: exit %d\n%s\n%s", code, out, errOut)
	}
	// The endpoint runs from the view.
	code, out, errOut = run(t, args(g, "endpoint", "run", "sum_primitives", "--param", "start=2026-11-18", "--param", "end=2026-11-20", "--param", "campaign_id=c1")...)
	if code != ExitOK || !strings.Contains(out, "event_count") || !strings.Contains(out, "1 row(s)") {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	// --compare: raw vs rollup, equal, with a reduction.
	code, out, errOut = run(t, args(g, "endpoint", "run", "timeseries_primitives", "--param", "start=2026-11-18", "--param", "end=2026-11-20", "--param", "campaign_id=c2", "--compare")...)
	if code != ExitOK || !strings.Contains(out, "rows read") || !strings.Contains(out, "bytes read") || !strings.Contains(out, "results: EQUAL (48 rows") {
		t.Fatalf("compare: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = run(t, args(g, "-o", "json", "endpoint", "run", "audience_breakdown", "--param", "start=2026-11-18", "--param", "end=2026-11-20", "--param", "campaign_id=c0", "--compare")...)
	var cmp endpoints.Comparison
	if code != ExitOK || json.Unmarshal([]byte(out), &cmp) != nil || !cmp.Equal || len(cmp.Raw.Rows) == 0 || cmp.Raw.Stats.RowsRead == 0 {
		t.Fatalf("compare json: exit %d %s", code, out)
	}
	// Drift: the switch of another endpoint on the same rollup is refused with exit 1.
	run(t, args(g, "sql", "ALTER TABLE analytics.events_totals_hourly DELETE WHERE hour = '2026-11-19 13:00:00' SETTINGS mutations_sync = 2")...)
	code, out, errOut = run(t, args(g, "switch", "timeseries_primitives", "--to", "rollup", nowFlag)...)
	if code != ExitCheckFailed || !strings.Contains(out, "MISMATCH") || !strings.Contains(out, "2026-11-19 13:00:00") || !strings.Contains(out, "REFUSED") {
		t.Fatalf("refused switch: exit %d\n%s\n%s", code, out, errOut)
	}
	// --force says what it skips and is recorded.
	code, out, _ = run(t, args(g, "switch", "timeseries_primitives", "--to", "rollup", "--force", nowFlag)...)
	if code != ExitOK || !strings.Contains(out, "WARNING: skipped validation of events_totals_hourly") || !strings.Contains(out, "(forced)") {
		t.Fatalf("forced: exit %d\n%s", code, out)
	}
	// Rollback.
	code, out, _ = run(t, args(g, "switch", "sum_primitives", "--to", "raw")...)
	if code != ExitOK || !strings.Contains(out, "sum_primitives now reads its raw version (events)") {
		t.Fatalf("rollback: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, args(g, "-o", "json", "endpoint", "history")...)
	var hist []meta.EndpointState
	if code != ExitOK || json.Unmarshal([]byte(out), &hist) != nil || len(hist) != 3 {
		t.Fatalf("history: exit %d %s", code, out)
	}
	if hist[0].Endpoint != "sum_primitives" || hist[0].Target != "raw" || !hist[1].Forced || hist[2].Forced || !strings.Contains(hist[2].Validation, "EXACT") {
		t.Errorf("history %+v", hist)
	}
	// Usage errors exit 2.
	for _, bad := range [][]string{
		{"switch", "sum_primitives"},
		{"switch", "sum_primitives", "--to", "cache"},
		{"switch", "nope", "--to", "raw"},
		{"switch", "sum_primitives", "--to", "rollup", "--window", "soon"},
		{"endpoint", "run", "sum_primitives", "--param", "start=2026-11-18"},
		{"endpoint", "run", "sum_primitives", "--param", "start=2026-11-18", "--param", "end=2026-11-20", "--param", "campain=c1"},
		{"endpoint", "run", "sum_primitives", "--param", "oops"},
	} {
		code, _, errOut := run(t, args(g, bad...)...)
		if code != ExitError {
			t.Errorf("%v: exit %d stderr %q, want 2", bad, code, errOut)
		}
	}
	_ = pipes.SideRaw
}

// TestReconcileExitCodes: reconcile exits 1 when a partition drifted (here a summed column
// updated in place: the row counts still agree), 0 once --repair made it match again.
func TestReconcileExitCodes(t *testing.T) {
	g := accuracyProject(t)
	rc := func(extra ...string) (int, string, string) {
		return run(t, args(g, append([]string{"reconcile", "events_overview_hourly", "--from", "2026-11-18", "--to", "now", nowFlag}, extra...)...)...)
	}
	if code, out, errOut := rc(); code != ExitOK || !strings.Contains(out, "2 partition(s) checked") || !strings.Contains(out, "0 drifted") {
		t.Fatalf("clean: exit %d\n%s%s", code, out, errOut)
	}
	run(t, args(g, "sql", "ALTER TABLE analytics.events_overview_hourly UPDATE total_time_on_page = total_time_on_page + 1 WHERE hour = '2026-11-19 08:00:00' SETTINGS mutations_sync = 2")...)
	code, out, errOut := rc()
	if code != ExitCheckFailed || !strings.Contains(out, "20261119") || !strings.Contains(out, "total_time_on_page") || !strings.Contains(out, "--repair") ||
		!strings.Contains(errOut, "drifted from raw in 1 partition(s)") {
		t.Fatalf("drift: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := rc("--repair"); code != ExitOK || !strings.Contains(out, "repaired 1 partition(s); checked again: 0 drifted") {
		t.Fatalf("repair: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := rc(); code != ExitOK {
		t.Fatalf("after repair: exit %d\n%s%s", code, out, errOut)
	}
}

// TestValidateEndpoint: validate --endpoint runs the endpoint as it is served (its planned
// read) against its reference (here its raw version: the scaffold's endpoints carry no current
// query) over the whole history the rollup holds; a drifted row of the day grain it reads is
// named with its row, column and parameters, exit 1.
func TestValidateEndpoint(t *testing.T) {
	g := accuracyProject(t)
	code, out, errOut := run(t, args(g, "validate", "--endpoint", "conversions_breakdown", nowFlag)...)
	if code != ExitOK || !strings.Contains(out, "conversions_breakdown against its raw version on events_overview_hourly: EXACT — 1 cases") {
		t.Fatalf("clean: exit %d\n%s%s", code, out, errOut)
	}
	// The endpoint is served from the day grain for the whole day of 2026-11-19: drift there
	// is what it returns.
	run(t, args(g, "sql", "ALTER TABLE analytics.events_overview_hourly_day UPDATE event_count = event_count + 2 WHERE hour = '2026-11-19 00:00:00' AND event_id = 'e1' SETTINGS mutations_sync = 2")...)
	code, out, errOut = run(t, args(g, "validate", "--endpoint", "conversions_breakdown", "--from", "2026-11-19", "--to", "now", nowFlag)...)
	if code != ExitCheckFailed || !strings.Contains(out, "DIFFERENT") || !strings.Contains(out, `the whole range (end="2026-11-20 00:00:00" limit=100 offset=0 start="2026-11-19 00:00:00")`) ||
		!regexp.MustCompile(`event_id=e1 event_type=\w+ +event_count`).MatchString(out) {
		t.Fatalf("drift: exit %d\n%s%s", code, out, errOut)
	}
	var v endpoints.Verification
	code, out, _ = run(t, args(g, "-o", "json", "validate", "--endpoint", "conversions_breakdown", nowFlag)...)
	if code != ExitCheckFailed || json.Unmarshal([]byte(out), &v) != nil || v.Exact || v.Cases[0].MismatchCount == 0 {
		t.Fatalf("json: exit %d %s", code, out)
	}
	for _, bad := range [][]string{
		{"validate", "--endpoint", "nope", nowFlag},
		{"validate", "events_hourly", "--endpoint", "sum_primitives", nowFlag},
	} {
		if code, _, errOut := run(t, args(g, bad...)...); code != ExitError || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%v: exit %d stderr %q", bad, code, errOut)
		}
	}
}
