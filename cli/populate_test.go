package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewcomerFlow runs what the README tells a newcomer to do, in-process on the embedded
// engine: init, deploy, load events, backfill, populate repeatedly, status — and checks the
// rollup against raw SQL at the end.
func TestNewcomerFlow(t *testing.T) {
	needLibrary(t)
	dir := filepath.Join(t.TempDir(), "demo")
	must := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, append([]string{"--project", dir}, args...)...)
		if code != ExitOK {
			t.Fatalf("hourglass %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	fail := func(want string, args ...string) {
		t.Helper()
		code, out, errOut := run(t, append([]string{"--project", dir}, args...)...)
		if code != ExitError || !strings.Contains(errOut, want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Fatalf("hourglass %s: exit %d, stderr %q (stdout %q), want one line containing %q", strings.Join(args, " "), code, errOut, out, want)
		}
	}
	must("init", dir)
	fail("run hourglass deploy", "backfill", "events_hourly", "--from", "2026-11-01", "--to", "2026-11-03", "--now", "2026-11-10T00:00:00Z")
	must("deploy")
	must("sql", `INSERT INTO analytics.events (timestamp, workspace_id, project_id, campaign_id, environment, event_type, session_id, user_id, country, city, value_usd)
        SELECT toDateTime('2026-11-01 00:00:00', 'UTC') + number * 17, 'w1', 'p1', concat('c', toString(number % 4)), 'prod',
               ['pageview', 'click'][1 + number % 2], concat('s', toString(intDiv(number, 5))), concat('u', toString(number % 211)),
               ['DE', 'US', 'FR'][1 + number % 3], concat('city', toString(cityHash64(number) % 97)), (number % 100) / 10
        FROM numbers(20000)`)

	// With data in the raw table, plan warns about rollups that would barely shrink it.
	if code, _, errOut := run(t, "--project", dir, "plan"); code != ExitOK || !strings.Contains(errOut, "warning: rollup events_hourly would hold") {
		t.Fatalf("plan: exit %d, stderr %q: want a reduction warning for events_hourly", code, errOut)
	}

	// Bad input: one line, exit 2, nothing written.
	fail("not before", "backfill", "events_overview_hourly", "--from", "2026-11-03", "--to", "2026-11-01", "--now", "2026-11-10T00:00:00Z")
	fail("not on the hour", "backfill", "events_overview_hourly", "--from", "2026-11-01 10:30", "--to", "2026-11-03", "--now", "2026-11-10T00:00:00Z")
	fail("in the future", "backfill", "events_overview_hourly", "--from", "2026-11-01", "--to", "2026-12-01", "--now", "2026-11-10T00:00:00Z")
	fail("unknown rollup", "backfill", "nope", "--from", "2026-11-01", "--to", "2026-11-03", "--now", "2026-11-10T00:00:00Z")
	fail("never backfilled", "populate", "events_overview_hourly", "--now", "2026-11-04T00:05:00Z")

	dry := must("backfill", "events_overview_hourly", "--from", "2026-11-01", "--to", "2026-11-04", "--dry-run", "--now", "2026-11-10T00:00:00Z")
	if !strings.Contains(dry, "3 unit(s)") || !strings.Contains(dry, "REPLACE PARTITION") {
		t.Fatalf("dry run output:\n%s", dry)
	}
	out := must("backfill", "events_overview_hourly", "--from", "2026-11-01", "--to", "2026-11-03", "--now", "2026-11-03T00:05:00Z")
	if !strings.Contains(out, "2 unit(s) done") {
		t.Fatalf("backfill output: %s", out)
	}
	// The events keep coming (they already are in the table); the :05 tick runs hour after hour.
	for h := 1; h <= 30; h++ {
		must("populate", "events_overview_hourly", "--now", nowAt(h))
	}
	exact := must("-o", "json", "sql", `SELECT
        (SELECT sum(event_count) FROM analytics.events_overview_hourly) = (SELECT count() FROM analytics.events WHERE timestamp < '2026-11-04 06:00:00') AS counts,
        (SELECT uniqCombinedMerge(14)(unique_users) FROM analytics.events_overview_hourly) = (SELECT uniqCombined(14)(user_id) FROM analytics.events WHERE timestamp < '2026-11-04 06:00:00') AS users,
        (SELECT count() FROM (SELECT hour FROM analytics.events_overview_hourly GROUP BY hour)) AS hours`)
	var r struct{ Rows [][]any }
	if err := json.Unmarshal([]byte(exact), &r); err != nil {
		t.Fatal(err)
	}
	// 20000 events × 17 s cover 94.4 hours from 2026-11-01 00:00: hours 0…77 are before 11-04 06:00.
	if fmt.Sprint(r.Rows) != "[[1 1 78]]" {
		t.Log(must("sql", "SELECT toDate(hour) d, sum(event_count) FROM analytics.events_overview_hourly GROUP BY d ORDER BY d"))
		t.Log(must("sql", "SELECT toDate(timestamp) d, count() FROM analytics.events WHERE timestamp < toDateTime('2026-11-04 06:00:00', 'UTC') GROUP BY d ORDER BY d"))
		t.Fatalf("rollup vs raw: %v", r.Rows)
	}
	st := must("-o", "json", "status", "--now", nowAt(30))
	var rep statusReport
	if err := json.Unmarshal([]byte(st), &rep); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, s := range rep.Rollups {
		if s.Rollup == "events_overview_hourly" {
			found = true
			if s.Watermark.Format("2006-01-02 15") != "2026-11-04 06" || s.LagSeconds == nil || *s.LagSeconds != 0 || s.Reduction <= 1 || s.FailedUnits != 0 {
				t.Errorf("status = %+v", s)
			}
		}
	}
	if !found || len(rep.Endpoints) != 4 {
		t.Errorf("status report = %+v", rep)
	}
	text := must("status", "--now", nowAt(30))
	if !strings.Contains(text, "events_overview_hourly") || !strings.Contains(text, "sum_primitives") {
		t.Errorf("status text:\n%s", text)
	}
}

// nowAt is the :05 tick h hours after 2026-11-03 00:00.
func nowAt(h int) string {
	return fmt.Sprintf("2026-11-%02dT%02d:05:00Z", 3+h/24, h%24)
}
