package validate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
	"github.com/hourglass-dev/hourglass/validate"
)

var shared enginetest.Shared

func TestMain(m *testing.M) {
	os.Exit(enginetest.Main(m, &shared, enginetest.Options{Server: true}))
}

// fixture is the default project deployed in a database of its own (see projecttest), with
// the clock in the open hour right after dataEnd.
type fixture struct{ *projecttest.Fixture }

func day(d, h int) time.Time { return projecttest.Day(d, h) }

// dataStart and dataEnd bound the 30 days of test data; the clock stands in the open hour
// right after dataEnd.
var dataStart, dataEnd = projecttest.MonthStart, projecttest.MonthEnd

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{projecttest.New(t, shared.NeedEmbedded(t))}
	f.Clock = dataEnd.Add(30 * time.Minute)
	return f
}

func (f *fixture) validate(rollup string, opts validate.Options) *validate.Report {
	f.T.Helper()
	if opts.Now.IsZero() {
		opts.Now = f.Clock
	}
	rep, err := validate.Run(context.Background(), f.E, f.A, rollup, opts)
	if err != nil {
		f.T.Fatalf("validate %s: %v", rollup, err)
	}
	// Every report is JSON-serialisable.
	if _, err := json.Marshal(rep); err != nil {
		f.T.Fatalf("report of %s is not JSON-serialisable: %v", rollup, err)
	}
	return rep
}

func dims(ra *pipes.RollupArtifacts) []string {
	var out []string
	for _, d := range ra.Rollup.Dimensions {
		out = append(out, d.Name)
	}
	return out
}

func requireExact(t *testing.T, rep *validate.Report) {
	t.Helper()
	if !rep.Exact || rep.MismatchCount != 0 {
		var lines []string
		for _, m := range rep.Mismatches {
			lines = append(lines, m.Line())
		}
		t.Fatalf("%s\n%s", rep.Summary(), strings.Join(lines, "\n"))
	}
	if rep.Buckets == 0 || rep.Values == 0 {
		t.Fatalf("%s: compared nothing", rep.Summary())
	}
}

func TestCleanRollupsAreExactOver7_15_30Days(t *testing.T) {
	f := newFixture(t)
	f.LoadAndBackfill(30)
	for _, ra := range f.A.Rollups {
		for _, days := range []int{7, 15, 30} {
			rg := timerange.Range{Start: dataEnd.AddDate(0, 0, -days), End: dataEnd}
			for _, c := range []struct {
				by   string
				dims []string
			}{
				{"hour", nil},
				{"day", nil},
				{"day", []string{"campaign_id"}},
				{"hour", dims(ra)},
			} {
				rep := f.validate(ra.Rollup.Name, validate.Options{Range: rg, By: c.by, Dimensions: c.dims})
				requireExact(t, rep)
				if len(rep.Metrics) != len(ra.Rollup.Metrics) {
					t.Errorf("%s: compared %d metrics, want all %d", ra.Rollup.Name, len(rep.Metrics), len(ra.Rollup.Metrics))
				}
				wantBuckets := days * 24
				if c.by == "day" {
					wantBuckets = days
				}
				if rep.Buckets != wantBuckets {
					t.Errorf("%s by %s over %d days: %d buckets, want %d", ra.Rollup.Name, c.by, days, rep.Buckets, wantBuckets)
				}
				if rep.OpenHourExcluded {
					t.Errorf("%s: range ends at a closed hour but the report says it excluded the open hour", ra.Rollup.Name)
				}
			}
		}
	}
	// The verdict reads at a glance.
	rep := f.validate("events_hourly", validate.Options{Range: timerange.Range{Start: dataStart, End: dataEnd}})
	if s := rep.Summary(); !strings.HasPrefix(s, "events_hourly: EXACT — 720 hour buckets × 6 metrics over [2026-10-21 00:00:00, 2026-11-20 00:00:00) in ") {
		t.Errorf("summary %q", s)
	}
	if rep.Tolerance["total_value_usd"] != validate.DefaultTolerance || rep.Tolerance["event_count"] != 0 || rep.Tolerance["unique_users"] != 0 {
		t.Errorf("tolerances %v: want 1e-9 for the float sum, exact for the rest", rep.Tolerance)
	}
}

func TestOpenHourIsExcluded(t *testing.T) {
	f := newFixture(t)
	f.LoadAndBackfill(2, "events_overview_hourly")
	// Events of the open hour exist in raw, and the rollup has none of them yet.
	f.InsertEvents(dataEnd, dataEnd.Add(30*time.Minute), 50, 9)
	rep := f.validate("events_overview_hourly", validate.Options{Range: timerange.Range{Start: dataEnd.AddDate(0, 0, -1), End: dataEnd.Add(3 * time.Hour)}})
	requireExact(t, rep)
	if !rep.OpenHourExcluded || !rep.Range.End.Equal(dataEnd) || !strings.Contains(rep.Note, "not closed yet") {
		t.Fatalf("report = range %s, excluded %v, note %q", rep.Range, rep.OpenHourExcluded, rep.Note)
	}
	// The delay: at 00:04 the 23:00 hour is not closed yet either (delay 5m).
	f.Clock = dataEnd.Add(4 * time.Minute)
	rep = f.validate("events_overview_hourly", validate.Options{Range: timerange.Range{Start: dataEnd.AddDate(0, 0, -1), End: dataEnd}})
	if !rep.Range.End.Equal(dataEnd.Add(-time.Hour)) || !rep.OpenHourExcluded {
		t.Fatalf("with the delay, range = %s", rep.Range)
	}
	// A range entirely in the open hour is an error, not an empty success.
	if _, err := validate.Run(context.Background(), f.E, f.A, "events_overview_hourly", validate.Options{Range: timerange.Range{Start: dataEnd, End: dataEnd.Add(time.Hour)}, Now: f.Clock}); err == nil {
		t.Fatal("validating only the open hour succeeded")
	}
}

func findMismatch(rep *validate.Report, metric string, bucket time.Time) *validate.Mismatch {
	for i, m := range rep.Mismatches {
		if m.Metric == metric && m.Bucket.Equal(bucket) {
			return &rep.Mismatches[i]
		}
	}
	return nil
}

func TestDriftRollupRowRemoved(t *testing.T) {
	f := newFixture(t)
	f.LoadAndBackfill(7, "events_overview_hourly")
	hour := day(15, 10)
	r := enginetest.MustQuery(t, f.E, fmt.Sprintf("SELECT campaign_id, sum(event_count) FROM %s.events_overview_hourly WHERE hour = {h:DateTime} GROUP BY campaign_id ORDER BY campaign_id LIMIT 1", f.DB), engine.Params{"h": hour})
	if len(r.Rows) == 0 {
		t.Fatal("no rollup rows in the chosen hour")
	}
	campaign, count := r.Row()[0].(string), r.Row()[1].(uint64)
	enginetest.MustExec(t, f.E, fmt.Sprintf("ALTER TABLE %s.events_overview_hourly DELETE WHERE hour = '%s' AND campaign_id = '%s' SETTINGS mutations_sync = 2",
		f.DB, timerange.Format(hour), campaign))
	rg := timerange.Range{Start: dataEnd.AddDate(0, 0, -7), End: dataEnd}

	// Per hour: the hour's values are lower.
	rep := f.validate("events_overview_hourly", validate.Options{Range: rg})
	if rep.Exact {
		t.Fatal("validation passed with a rollup row removed")
	}
	m := findMismatch(rep, "event_count", hour)
	if m == nil || m.Kind != validate.KindValue || m.Raw.(uint64)-m.Rollup.(uint64) != count {
		t.Fatalf("mismatch for event_count at %s = %+v, want a value lower by %d; report:\n%v", hour, m, count, rep.Mismatches)
	}
	for _, mm := range rep.Mismatches {
		if !mm.Bucket.Equal(hour) {
			t.Errorf("mismatch in another bucket: %s", mm.Line())
		}
	}
	// Per campaign: a coverage gap that names the bucket, the dimension value and every metric.
	rep = f.validate("events_overview_hourly", validate.Options{Range: rg, Dimensions: []string{"campaign_id"}, MaxMismatches: -1})
	if rep.MismatchCount != 6 || rep.Rows == 0 {
		t.Fatalf("per campaign: %d mismatches, want 6 (one per metric): %v", rep.MismatchCount, rep.Mismatches)
	}
	for _, mm := range rep.Mismatches {
		if mm.Kind != validate.KindMissingInRollup || !mm.Bucket.Equal(hour) || mm.Dimensions["campaign_id"] != campaign || mm.Rollup != nil {
			t.Errorf("mismatch %s: want a coverage gap at %s campaign_id=%s", mm.Line(), hour, campaign)
		}
	}
	if line := rep.Mismatches[0].Line(); !strings.Contains(line, timerange.Format(hour)) || !strings.Contains(line, "campaign_id=\""+campaign+"\"") || !strings.Contains(line, "coverage gap") {
		t.Errorf("line %q", line)
	}
}

func TestDriftRawEventAddedAfterPopulate(t *testing.T) {
	f := newFixture(t)
	f.LoadAndBackfill(7, "events_hourly", "events_overview_hourly")
	at := day(18, 7).Add(17 * time.Minute)
	enginetest.MustExec(t, f.E, fmt.Sprintf(`INSERT INTO %s.events (timestamp, workspace_id, project_id, campaign_id, environment, event_type, session_id, user_id, value_usd)
VALUES ('%s', 'w0', 'p1', 'c_late', 'prod', 'click', 's_late', 'u_late', 1.5)`, f.DB, timerange.Format(at)))
	rg := timerange.Range{Start: dataEnd.AddDate(0, 0, -7), End: dataEnd}
	for _, rollup := range []string{"events_hourly", "events_overview_hourly"} {
		rep := f.validate(rollup, validate.Options{Range: rg, Dimensions: []string{"campaign_id"}})
		if rep.Exact || rep.MismatchCount != 6 {
			t.Fatalf("%s: %s", rollup, rep.Summary())
		}
		m := findMismatch(rep, "event_count", day(18, 7))
		if m == nil || m.Kind != validate.KindMissingInRollup || m.Dimensions["campaign_id"] != "c_late" || m.Raw != uint64(1) {
			t.Fatalf("%s: event_count mismatch = %+v", rollup, m)
		}
		// By hour alone the same event shows as values off by one.
		rep = f.validate(rollup, validate.Options{Range: rg})
		m = findMismatch(rep, "event_count", day(18, 7))
		if m == nil || m.Kind != validate.KindValue || m.Difference != -1 {
			t.Fatalf("%s by hour: event_count mismatch = %+v", rollup, m)
		}
		if findMismatch(rep, "unique_users", day(18, 7)) == nil || findMismatch(rep, "total_value_usd", day(18, 7)) == nil {
			t.Errorf("%s: the new user and value are not reported: %v", rollup, rep.Mismatches)
		}
	}
}

func TestDriftFloatBeyondTolerance(t *testing.T) {
	f := newFixture(t)
	f.LoadAndBackfill(7, "events_overview_hourly")
	rg := timerange.Range{Start: dataEnd.AddDate(0, 0, -7), End: dataEnd}
	hour := day(17, 3)
	// A raw event worth 1e-6 of the hour's total value, with no other effect on the metrics
	// that the test checks: it perturbs total_value_usd by 1e-6 relative.
	r := enginetest.MustQuery(t, f.E, fmt.Sprintf("SELECT sum(value_usd), any(campaign_id), any(session_id), any(user_id), any(workspace_id), any(event_type) FROM %s.events WHERE toStartOfHour(timestamp) = {h:DateTime}", f.DB), engine.Params{"h": hour})
	total := r.Row()[0].(float64)
	enginetest.MustExec(t, f.E, fmt.Sprintf(`INSERT INTO %s.events (timestamp, workspace_id, project_id, campaign_id, environment, event_type, session_id, user_id, value_usd)
VALUES ('%s', '%s', 'p1', '%s', 'prod', '%s', '%s', '%s', %v)`, f.DB, timerange.Format(hour.Add(time.Minute)), r.Row()[4], r.Row()[1], r.Row()[5], r.Row()[2], r.Row()[3], total*1e-6))
	rep := f.validate("events_overview_hourly", validate.Options{Range: rg})
	m := findMismatch(rep, "total_value_usd", hour)
	if rep.Exact || m == nil || m.RelativeError < 0.9e-6 || m.RelativeError > 1.1e-6 || m.Tolerance != validate.DefaultTolerance {
		t.Fatalf("total_value_usd mismatch = %+v (%s)", m, rep.Summary())
	}

	// The rollup's stored float itself perturbed by 2e-6: only total_value_usd differs, and a
	// tolerance of 1e-5 for it accepts the difference.
	enginetest.MustExec(t, f.E, fmt.Sprintf("ALTER TABLE %s.events_overview_hourly UPDATE total_value_usd = total_value_usd * (1 + 2e-6) WHERE hour = '%s' SETTINGS mutations_sync = 2",
		f.DB, timerange.Format(day(16, 5))))
	rep = f.validate("events_overview_hourly", validate.Options{Range: timerange.Range{Start: day(16, 0), End: day(17, 0)}, Dimensions: []string{"campaign_id"}})
	if rep.Exact {
		t.Fatal("a 2e-6 float perturbation passed the default tolerance")
	}
	for _, mm := range rep.Mismatches {
		if mm.Metric != "total_value_usd" || !mm.Bucket.Equal(day(16, 5)) || mm.Dimensions["campaign_id"] == "" {
			t.Errorf("unexpected mismatch %s", mm.Line())
		}
	}
	if rep.LargestMetric != "total_value_usd" || rep.LargestRelativeError < 1.9e-6 || rep.LargestRelativeError > 2.1e-6 {
		t.Errorf("largest relative error %g on %q", rep.LargestRelativeError, rep.LargestMetric)
	}
	rep = f.validate("events_overview_hourly", validate.Options{Range: timerange.Range{Start: day(16, 0), End: day(17, 0)}, Dimensions: []string{"campaign_id"},
		Tolerance: map[string]float64{"total_value_usd": 1e-5}})
	requireExact(t, rep)
	// A tolerance cannot name an unknown metric.
	if _, err := validate.Run(context.Background(), f.E, f.A, "events_overview_hourly", validate.Options{Range: rg, Now: f.Clock, Tolerance: map[string]float64{"nope": 1}}); err == nil || !strings.Contains(err.Error(), "no metric") {
		t.Errorf("unknown tolerance metric: %v", err)
	}
}

func TestSessionEdgeCasesAreExact(t *testing.T) {
	f := newFixture(t)
	f.InsertSessions(dataStart, dataEnd, 1500)
	// Hand-made sessions: crossing an hour, crossing a day, single-event, the bounce threshold
	// (duration < 3 bounces, exactly 3 does not), and one returning user over several sessions.
	enginetest.MustExec(t, f.E, fmt.Sprintf(`INSERT INTO %s.sessions (session_start, session_id, user_id, workspace_id, project_id, campaign_id, environment, device_type, country, is_returning, duration, event_count) VALUES
    ('2026-11-12 10:59:58', 'x_hour', 'x_u1', 'wx', 'p1', 'cx', 'prod', 'desktop', 'DE', 0, 600, 4),
    ('2026-11-12 23:59:59', 'x_day', 'x_u2', 'wx', 'p1', 'cx', 'prod', 'desktop', 'DE', 0, 7200, 9),
    ('2026-11-12 23:00:00', 'x_single', 'x_u3', 'wx', 'p1', 'cx', 'prod', 'mobile', 'US', 0, 0, 1),
    ('2026-11-12 23:10:00', 'x_three', 'x_u4', 'wx', 'p1', 'cx', 'prod', 'mobile', 'US', 0, 3, 2),
    ('2026-11-12 23:20:00', 'x_two', 'x_u5', 'wx', 'p1', 'cx', 'prod', 'mobile', 'US', 0, 2, 2),
    ('2026-11-12 10:05:00', 'x_ret1', 'x_ret', 'wx', 'p1', 'cx', 'prod', 'desktop', 'DE', 0, 30, 3),
    ('2026-11-12 10:40:00', 'x_ret2', 'x_ret', 'wx', 'p1', 'cx', 'prod', 'desktop', 'DE', 1, 40, 3),
    ('2026-11-13 00:00:00', 'x_ret3', 'x_ret', 'wx', 'p1', 'cx', 'prod', 'desktop', 'DE', 1, 50, 3)`, f.DB))
	for _, rollup := range []string{"sessions_hourly", "audience_hourly"} {
		f.Backfill(rollup, timerange.Range{Start: day(10, 0), End: day(15, 0)})
		for _, c := range []struct {
			by   string
			dims []string
		}{{"hour", nil}, {"day", nil}, {"hour", []string{"workspace_id", "campaign_id", "country"}}, {"hour", dims(f.A.Rollup(rollup))}} {
			requireExact(t, f.validate(rollup, validate.Options{Range: timerange.Range{Start: day(10, 0), End: day(15, 0)}, By: c.by, Dimensions: c.dims}))
		}
	}
	// The hand-made sessions land where the rules say, read from the rollup.
	q, err := pipes.MetricsQuery(f.A.Project, f.A.Rollup("audience_hourly").Rollup, pipes.SideRollup, "hour", []string{"workspace_id"}, []string{"session_count", "unique_users", "bounced_sessions", "returning_sessions", "new_sessions"})
	if err != nil {
		t.Fatal(err)
	}
	r := enginetest.MustQuery(t, f.E, "SELECT * FROM ("+q+") WHERE workspace_id = 'wx'", engine.Params{"start": day(12, 0), "end": day(14, 0)})
	want := map[time.Time][]any{
		// x_hour, x_ret1 and x_ret2 start in hour 10: one returning session, two users.
		day(12, 10): {uint64(3), uint64(2), uint64(0), uint64(1), uint64(2)},
		// x_day (starts 23:59:59, ends the next day), x_single (0 s, bounced), x_three (3 s: not
		// bounced), x_two (2 s: bounced).
		day(12, 23): {uint64(4), uint64(4), uint64(2), uint64(0), uint64(4)},
		day(13, 0):  {uint64(1), uint64(1), uint64(0), uint64(1), uint64(0)},
	}
	if len(r.Rows) != len(want) {
		t.Fatalf("rows %v", r.Rows)
	}
	for _, row := range r.Rows {
		w, ok := want[row[0].(time.Time)]
		if !ok || fmt.Sprint(row[2:]) != fmt.Sprint(w) {
			t.Errorf("hour %v: got %v, want %v", row[0], row[2:], w)
		}
	}
	// Unique users over the two days merge states: x_ret counts once.
	q, _ = pipes.MetricsQuery(f.A.Project, f.A.Rollup("audience_hourly").Rollup, pipes.SideRollup, "", []string{"workspace_id"}, []string{"unique_users", "session_count"})
	r = enginetest.MustQuery(t, f.E, "SELECT * FROM ("+q+") WHERE workspace_id = 'wx'", engine.Params{"start": day(12, 0), "end": day(14, 0)})
	if fmt.Sprint(r.Row()) != "[wx 6 8]" {
		t.Errorf("two-day totals = %v, want 6 users and 8 sessions", r.Row())
	}
}

func TestJUnitReport(t *testing.T) {
	f := newFixture(t)
	f.LoadAndBackfill(4, "audience_hourly", "events_overview_hourly")
	rg := timerange.Range{Start: day(16, 0), End: day(17, 0)}
	enginetest.MustExec(t, f.E, fmt.Sprintf("ALTER TABLE %s.audience_hourly DELETE WHERE hour = '%s' SETTINGS mutations_sync = 2", f.DB, timerange.Format(day(16, 4))))
	bad := f.validate("audience_hourly", validate.Options{Range: rg})
	good := f.validate("events_overview_hourly", validate.Options{Range: rg})
	var buf bytes.Buffer
	if err := validate.WriteJUnit(&buf, bad, good); err != nil {
		t.Fatal(err)
	}
	var doc struct {
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
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if doc.Tests != 7+6 || doc.Fail != 7 || len(doc.Suites) != 2 {
		t.Fatalf("tests %d failures %d suites %d:\n%s", doc.Tests, doc.Fail, len(doc.Suites), buf.String())
	}
	c := doc.Suites[0].Cases[0]
	if c.Name != "session_count" || c.Failure == nil || !strings.Contains(c.Failure.Text, "2026-11-16 04:00:00 session_count: raw ") || !strings.Contains(c.Failure.Message, "1 of 24 values differ") {
		t.Errorf("first case = %+v", c)
	}
	for _, c := range doc.Suites[1].Cases {
		if c.Failure != nil {
			t.Errorf("exact rollup has a failing case %+v", c)
		}
	}
}

// TestRemoteServer: the comparison runs inside Debian's clickhouse-server 18.16 too (no
// SimpleAggregateFunction there: distinct counts and argMax states), exact when clean and
// naming the hour and site when a rollup row is gone.
func TestRemoteServer(t *testing.T) {
	e := shared.NeedRemote(t)
	db := enginetest.TempDatabase(t, e)
	f := projecttest.Deploy(t, e, projecttest.FromYAML(t, projecttest.LegacyYAML, db))
	f.Clock = day(10, 0)
	enginetest.MustExec(t, e, fmt.Sprintf(`INSERT INTO %s.hits SELECT toDateTime('2026-11-01 00:00:00') + number * 29, concat('site', toString(number %% 3)),
        concat('u', toString(cityHash64(number) %% 500)), concat('/p', toString(number %% 17)) FROM system.numbers LIMIT 20000`, db))
	rg := timerange.Range{Start: day(1, 0), End: day(8, 0)}
	f.Backfill("hits_hourly", rg)
	run := func(dims []string) *validate.Report {
		t.Helper()
		rep, err := validate.Run(context.Background(), e, f.A, "hits_hourly", validate.Options{Range: rg, Dimensions: dims, Now: f.Clock, Store: f.Store})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	requireExact(t, run([]string{"site"}))
	enginetest.MustExec(t, e, fmt.Sprintf("ALTER TABLE %s.hits_hourly DELETE WHERE hour = '2026-11-03 05:00:00' AND site = 'site1'", db))
	time.Sleep(500 * time.Millisecond) // 18.16 runs mutations in the background
	rep := run([]string{"site"})
	if rep.Exact || rep.MismatchCount != 3 || rep.Mismatches[0].Kind != validate.KindMissingInRollup || rep.Mismatches[0].Dimensions["site"] != "site1" ||
		!rep.Mismatches[0].Bucket.Equal(day(3, 5)) {
		t.Fatalf("%s: %+v", rep.Summary(), rep.Mismatches)
	}
}

// TestDiffQuerySemantics runs the compiler's in-engine comparison on two hand-written row
// sets: NULL keys match NULL keys, NaN matches NaN, floats match within the tolerance and not
// beyond it, a row on one side only mismatches every value, and only mismatching rows come
// back, in key order.
func TestDiffQuerySemantics(t *testing.T) {
	e := shared.NeedEmbedded(t)
	ref := `SELECT k, toNullable(s) AS s, n, f FROM VALUES('k Nullable(String), s String, n UInt64, f Float64',
        ('a', 'x', 1, 1.0), (NULL, 'y', 2, nan), ('b', 'z', 3, 100.0), ('c', 'only ref', 4, 0), ('d', 'w', 5, 1.0))`
	cand := `SELECT k, toNullable(s) AS s, n, f FROM VALUES('k Nullable(String), s String, n UInt64, f Float64',
        ('a', 'x', 1, 1.0), (NULL, 'y', 2, nan), ('b', 'z', 3, 100.0000000001), ('e', 'only cand', 6, 0), ('d', 'w', 7, 1.001))`
	q, err := pipes.DiffQuery(pipes.Diff{Reference: ref, Candidate: cand, Keys: []string{"k"}, Sample: -1, Values: []pipes.DiffValue{
		{Name: "s"}, {Name: "n", Numeric: true}, {Name: "f", Numeric: true, Float: true, Tolerance: 1e-9},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := enginetest.MustQuery(t, e, q, nil).Row()
	// rows a, NULL, b, c, d, e; keys 6; s differs on c and e (missing), n on c, d, e; f on c, e, d.
	if got := fmt.Sprint(r[:8]); got != "[6 6 2 1 3 1 3 1]" {
		t.Errorf("totals = %s, want [6 6 2 1 3 1 3 1]", got)
	}
	var keys []string
	for _, x := range r[8].([]any) {
		row := x.([]any)
		keys = append(keys, fmt.Sprint(row[1], ":", row[2], row[3]))
	}
	if got := strings.Join(keys, " "); got != "c:1 0 d:1 1 e:0 1" {
		t.Errorf("mismatching rows = %s, want c (raw only), d (both), e (rollup only)", got)
	}
}

// TestSuspectPartitionIsNeverExact: a unit of a run that is no longer alive left swapping (its
// partition may hold old and new rows at once) keeps validation from EXACT over that
// partition, even when the numbers happen to agree — the write path's own list
// (meta.Store.Suspect), which tells a live run from a dead one: the same unit of a run still
// holding its lease is a swap in flight, atomic for readers, and exact. Once a later run
// records the dead unit recovered, it is exact again. (A partition a killed process really
// doubled: reliability/TestEmbeddedKillAtEveryStep.)
func TestSuspectPartitionIsNeverExact(t *testing.T) {
	f := newFixture(t)
	f.LoadAndBackfill(3, "events_overview_hourly")
	ctx := context.Background()
	rg := timerange.Range{Start: dataEnd.AddDate(0, 0, -3), End: dataEnd}
	unit := meta.Unit{RunID: "alive", Rollup: "events_overview_hourly", Hash: f.A.Rollup("events_overview_hourly").Hash, Kind: "backfill",
		Start: day(18, 0), End: day(19, 0), Status: meta.StatusSwapping}
	lease, err := f.Store.TakeRunLease(ctx, unit.Rollup, unit.RunID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Store.RecordUnit(ctx, unit); err != nil {
		t.Fatal(err)
	}
	requireExact(t, f.validate("events_overview_hourly", validate.Options{Range: rg, Store: f.Store}))
	// The run ends without confirming its swap: dead, its partition suspect.
	if err := f.Store.ReleaseRunLease(ctx, lease); err != nil {
		t.Fatal(err)
	}
	rep := f.validate("events_overview_hourly", validate.Options{Range: rg, Store: f.Store})
	if rep.Exact || rep.MismatchCount != 0 || rep.Status() != "SUSPECT" || len(rep.Suspect) != 1 || !rep.Suspect[0].Start.Equal(day(18, 0)) ||
		!strings.Contains(rep.Summary(), "may be doubled") {
		t.Fatalf("with a unit of a dead run left swapping: %s (suspect %v)", rep.Summary(), rep.Suspect)
	}
	// Outside the suspect partition, exact.
	requireExact(t, f.validate("events_overview_hourly", validate.Options{Range: timerange.Range{Start: day(19, 0), End: dataEnd}, Store: f.Store}))
	unit.Status = meta.StatusRecovered
	if err := f.Store.RecordUnit(ctx, unit); err != nil {
		t.Fatal(err)
	}
	requireExact(t, f.validate("events_overview_hourly", validate.Options{Range: rg, Store: f.Store}))
}
