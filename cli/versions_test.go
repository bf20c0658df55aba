package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// story is the default project driven through the command line, in-process, with the clock
// fixed per command: what a user types, and what they see.
type story struct {
	t   *testing.T
	dir string
	now time.Time
	// ran are the commands run, their arguments joined by NUL.
	ran map[string]bool
}

// hg runs one command at the story's clock.
func (s *story) hg(args ...string) (int, string, string) {
	s.t.Helper()
	var out, errb bytes.Buffer
	now := s.now
	if s.ran == nil {
		s.ran = map[string]bool{}
	}
	s.ran[strings.Join(args, "\x00")] = true
	code := Main(context.Background(), append([]string{"--project", s.dir}, args...),
		IO{In: strings.NewReader(""), Out: &out, Err: &errb, Now: func() time.Time { return now }}, Build{Version: "test"})
	s.t.Logf("%s $ hourglass %s → exit %d\n%s%s", now.Format("15:04:05"), strings.Join(args, " "), code, out.String(), errb.String())
	return code, out.String(), errb.String()
}

// must runs a command that must succeed and returns its output.
func (s *story) must(args ...string) string {
	s.t.Helper()
	code, out, errOut := s.hg(args...)
	if code != ExitOK {
		s.t.Fatalf("hourglass %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// rows runs a query through hourglass sql and returns its rows as text.
func (s *story) rows(q string) string {
	s.t.Helper()
	var r struct{ Rows [][]any }
	if err := json.Unmarshal([]byte(s.must("-o", "json", "sql", q)), &r); err != nil {
		s.t.Fatal(err)
	}
	return fmt.Sprint(r.Rows)
}

// insert adds n raw events spread evenly over [from, to): four campaigns, 97 users, sessions
// of four events, values in quarters (exact in binary, so sums compare exactly).
func (s *story) insert(from, to time.Time, n, seed int) {
	s.t.Helper()
	step := to.Sub(from).Milliseconds() / int64(n)
	s.must("sql", fmt.Sprintf(`INSERT INTO analytics.events (timestamp, workspace_id, project_id, campaign_id, environment, event_id, event_type, session_id, user_id, country, time_on_page, value_usd)
        SELECT toDateTime(%d + intDiv(number * %d, 1000), 'UTC'), 'w1', 'p1', concat('c', toString(number %% 4)), 'prod', concat('e', toString(number %% 3)),
               ['pageview', 'click', 'purchase'][1 + number %% 3], concat('s%d_', toString(intDiv(number, 4))), concat('u', toString(cityHash64(number, %d) %% 97)),
               'DE', cityHash64(number, %d) %% 300, (number %% 8) / 4
        FROM numbers(%d)`, from.Unix(), step, seed, seed, seed, n))
}

// servedMatchesRaw checks the endpoint sum_primitives, as users read it (its published view),
// against raw SQL written here over [first, last closed hour), and that every closed hour of
// table (the version it serves) equals raw per hour: count, distinct users, value and — when
// maxTime — the maximum time on page.
func (s *story) servedMatchesRaw(first time.Time, table string, maxTime bool) {
	s.t.Helper()
	closed := s.now.Add(-5 * time.Minute).Truncate(time.Hour)
	var ep struct{ Rows [][]any }
	if err := json.Unmarshal([]byte(s.must("-o", "json", "endpoint", "run", "sum_primitives", "--param", "start="+first.Format(time.DateTime), "--param", "end=now")), &ep); err != nil {
		s.t.Fatal(err)
	}
	where := fmt.Sprintf("timestamp >= toDateTime(%d, 'UTC') AND timestamp < toDateTime(%d, 'UTC')", first.Unix(), closed.Unix())
	// The default project counts distinct values with uniqCombined(14), and so does the edit.
	fn, merge := "uniqCombined(14)", "uniqCombinedMerge(14)"
	raw := s.rows("SELECT count(), " + fn + "(session_id) AS s, " + fn + "(user_id), sum(value_usd)," +
		" if(s = 0, 0, countIf(is_page_unload = 1) / s), if(s = 0, 0, sum(time_on_page) / s) FROM analytics.events WHERE " + where)
	if got := fmt.Sprint(ep.Rows); got != raw {
		s.t.Fatalf("at %s sum_primitives serves %s, raw SQL gives %s", s.now.Format(time.DateTime), got, raw)
	}
	metric, state := "0", "0"
	if maxTime {
		metric, state = "max(time_on_page)", "max(max_time_on_page)"
	}
	perHour := s.rows(fmt.Sprintf(`SELECT count(), countIf(r.c != o.c OR r.u != o.u OR r.v != o.v OR r.m != o.m) FROM
        (SELECT toStartOfHour(timestamp) AS h, count() AS c, %s(user_id) AS u, sum(value_usd) AS v, %s AS m FROM analytics.events WHERE %s GROUP BY h) AS r
        FULL OUTER JOIN
        (SELECT hour AS h, sum(event_count) AS c, %s(unique_users) AS u, sum(total_value_usd) AS v, %s AS m FROM analytics.%s
         WHERE hour >= toDateTime(%d, 'UTC') AND hour < toDateTime(%d, 'UTC') GROUP BY h) AS o USING h`,
		fn, metric, where, merge, state, table, first.Unix(), closed.Unix()))
	if want := fmt.Sprintf("[[%d 0]]", closed.Sub(first)/time.Hour); perHour != want {
		s.t.Fatalf("at %s %s per hour against raw SQL: [hours, hours that differ] = %s, want %s", s.now.Format(time.DateTime), table, perHour, want)
	}
}

// versionStatus is one version's entry in hourglass status --output json.
type versionStatus struct {
	Rollup     string    `json:"rollup"`
	Version    int       `json:"version"`
	Newest     bool      `json:"newest"`
	Table      string    `json:"table"`
	Watermark  time.Time `json:"watermark"`
	LagSeconds *float64  `json:"lag_seconds"`
	ReadBy     []string  `json:"read_by"`
	Populated  bool      `json:"populated"`
	Prunable   bool      `json:"prunable"`
	Note       string    `json:"note"`
	Covered    *struct {
		Start, End time.Time
	} `json:"covered"`
}

// versionsOf returns the status of every version of rollup.
func (s *story) versionsOf(rollup string) []versionStatus {
	s.t.Helper()
	var rep struct{ Rollups []versionStatus }
	if err := json.Unmarshal([]byte(s.must("-o", "json", "status")), &rep); err != nil {
		s.t.Fatal(err)
	}
	var out []versionStatus
	for _, r := range rep.Rollups {
		if r.Rollup == rollup {
			out = append(out, r)
		}
	}
	return out
}

// TestChangeAndPromote is the life of a rollup change on the default project, as a user runs
// it at minutes that are not on the hour: backfill, switch, add a metric to the rollup the
// endpoint reads, deploy (a new version, never backfilled, beside the served one), populate
// hour after hour — the served endpoint stays exact because the old version is still
// populated — backfill the new version, switch (proven over its whole history), prune the old
// one. Every step is compared with raw SQL written here. The README's "Changing a rollup"
// block is made of commands this test runs, as written.
func TestChangeAndPromote(t *testing.T) {
	needLibrary(t)
	const rollup = "events_totals_hourly"
	first := time.Date(2026, 11, 17, 0, 0, 0, 0, time.UTC)
	s := &story{t: t, dir: initProject(t), now: time.Date(2026, 11, 20, 10, 37, 21, 0, time.UTC)}
	s.must("deploy")
	s.insert(first, s.now, 2400, 1)

	// Version 1: backfilled, proven, served.
	s.must("backfill", rollup, "--from", "-4d", "--to", "now")
	if out := s.must("switch", "sum_primitives", "--to", "rollup"); !strings.Contains(out, rollup+": EXACT — 82 hour buckets") {
		t.Fatalf("switch did not prove the 82 hours from %s:\n%s", first, out)
	}
	s.servedMatchesRaw(first, rollup, false)

	// Add a metric to the rollup the endpoint reads: a new version, beside the served one.
	edit(t, s.dir, "rollups/events.yaml", "  metrics: *event_metrics\n  # Computed", `  metrics:
    - {name: event_count, kind: count}
    - {name: unique_sessions, kind: uniq_combined, precision: 14, column: session_id}
    - {name: unique_users, kind: uniq_combined, precision: 14, column: user_id}
    - {name: total_value_usd, kind: sum, column: value_usd}
    - {name: page_unload_count, kind: count_if, if: "is_page_unload = 1"}
    - {name: total_time_on_page, kind: sum, column: time_on_page}
    - {name: max_time_on_page, kind: max, column: time_on_page}
  # Computed`)
	if code, _, errOut := s.hg("deploy"); code != ExitError || !strings.Contains(errOut, "--allow-destructive") {
		t.Fatalf("deploy of a changed rollup without --allow-destructive: exit %d, %s", code, errOut)
	}
	out := s.must("deploy", "--allow-destructive")
	for _, want := range []string{
		"deployed rollup " + rollup + " (version 2, table " + rollup + "_v2)",
		"new version 2 of " + rollup + " (table " + rollup + "_v2) starts never backfilled: it needs [2026-11-17 00:00:00, 2026-11-20 10:00:00): run hourglass backfill " + rollup + ` --from "2026-11-17 00:00:00" --to now`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, out)
		}
	}
	vs := s.versionsOf(rollup)
	if len(vs) != 2 || vs[0].Version != 1 || vs[0].Newest || fmt.Sprint(vs[0].ReadBy) != "[sum_primitives]" || !vs[0].Populated || vs[0].Prunable ||
		vs[1].Version != 2 || !vs[1].Newest || vs[1].LagSeconds != nil || vs[1].Covered != nil || len(vs[1].ReadBy) != 0 ||
		!strings.Contains(vs[1].Note, `never backfilled: run hourglass backfill `+rollup+` --from "2026-11-17 00:00:00" --to now`) {
		t.Fatalf("status after the deploy: %+v", vs)
	}
	if out := s.must("status"); !strings.Contains(out, "v2 (newest)") || !strings.Contains(out, "never backfilled") {
		t.Errorf("status text:\n%s", out)
	}

	// Hours pass; raw events keep coming (some late, inside the lookback). The version the
	// endpoint reads is populated every hour; the new one waits for its backfill.
	for i, tick := range []time.Time{
		time.Date(2026, 11, 20, 11, 37, 21, 0, time.UTC),
		time.Date(2026, 11, 20, 12, 12, 40, 0, time.UTC),
		time.Date(2026, 11, 20, 13, 58, 3, 0, time.UTC),
	} {
		s.insert(s.now, tick, 90, 10+i)
		s.insert(s.now.Add(-90*time.Minute), s.now.Add(-65*time.Minute), 7, 20+i) // late rows
		s.now = tick
		out := s.must("populate", rollup)
		if !strings.Contains(out, "populate "+rollup+" v1 (table "+rollup+") [") || !strings.Contains(out, "populate "+rollup+" v2 (table "+rollup+"_v2): never backfilled, while endpoints read an older version: run hourglass backfill "+rollup+` --from "2026-11-17 00:00:00" --to now, then switch them`) {
			t.Fatalf("populate at %s:\n%s", tick.Format(time.DateTime), out)
		}
		s.servedMatchesRaw(first, rollup, false)
		if v := s.versionsOf(rollup)[0]; !v.Watermark.Equal(tick.Add(-5*time.Minute).Truncate(time.Hour)) || v.LagSeconds == nil || *v.LagSeconds != 0 {
			t.Fatalf("v1 after the populate at %s: %+v", tick.Format(time.DateTime), v)
		}
	}

	// --compare reads the version served (compiled from its recorded definition), not the newest.
	if out := s.must("endpoint", "run", "sum_primitives", "--param", "start=-3d", "--param", "end=now", "--compare"); !strings.Contains(out, "raw vs rollup "+rollup+" (serves rollup)") ||
		!strings.Contains(out, "results: EQUAL") {
		t.Errorf("--compare while version 1 serves:\n%s", out)
	}

	// Bad input, nothing changed: the served version cannot be pruned, the newest neither, and
	// the endpoint cannot switch to a version never backfilled.
	tables := tableNames(t, s.dir)
	if code, _, errOut := s.hg("prune", rollup, "--version", "1", "--yes"); code != ExitError ||
		errOut != "hourglass: prune refused: "+rollup+" version 1 (table "+rollup+") is read by endpoint sum_primitives: switch it to the newest version (hourglass switch ENDPOINT --to rollup) or to raw first; nothing dropped\n" {
		t.Errorf("prune of the served version: exit %d, %q", code, errOut)
	}
	if code, _, errOut := s.hg("prune", rollup, "--version", "2", "--yes"); code != ExitError || !strings.Contains(errOut, "is the newest version") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("prune of the newest version: exit %d, %q", code, errOut)
	}
	if code, out, errOut := s.hg("switch", "sum_primitives", "--to", "rollup"); code != ExitCheckFailed || !strings.Contains(out, "holds no backfilled hours") ||
		!strings.Contains(errOut, "sum_primitives keeps reading its rollup version, table "+rollup+")") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("switch to a version never backfilled: exit %d\n%s%s", code, out, errOut)
	}
	if after := tableNames(t, s.dir); after != tables {
		t.Errorf("refused commands changed the tables:\n%s\n%s", tables, after)
	}
	s.servedMatchesRaw(first, rollup, false)

	// Backfill the new version with the command deploy printed, then promote it: the gate
	// proves its whole history (86 hours), not a window.
	s.now = s.now.Add(9 * time.Minute) // 14:07, after the 14:05 tick
	s.must("populate", rollup)
	s.must("backfill", rollup, "--from", "2026-11-17 00:00:00", "--to", "now")
	s.servedMatchesRaw(first, rollup, false) // still v1
	out = s.must("switch", "sum_primitives", "--to", "rollup")
	if !strings.Contains(out, rollup+": EXACT — 86 hour buckets") || !strings.Contains(out, "sum_primitives now reads its rollup version ("+rollup+"_v2)") {
		t.Fatalf("switch to version 2:\n%s", out)
	}
	s.servedMatchesRaw(first, rollup+"_v2", true)

	// Nobody reads version 1 any more: populate leaves it, plan lists it, prune drops it.
	s.insert(s.now, s.now.Add(65*time.Minute), 40, 30)
	s.now = s.now.Add(65 * time.Minute) // 15:12
	if out := s.must("populate", rollup); strings.Contains(out, " v1 ") {
		t.Errorf("populate still writes version 1, which nobody reads:\n%s", out)
	}
	s.servedMatchesRaw(first, rollup+"_v2", true)
	vs = s.versionsOf(rollup)
	if len(vs) != 2 || !vs[0].Prunable || vs[0].Populated || !vs[0].Watermark.Equal(time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)) ||
		fmt.Sprint(vs[1].ReadBy) != "[sum_primitives]" || !vs[1].Watermark.Equal(time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)) || *vs[1].LagSeconds != 0 {
		t.Fatalf("status after the switch: %+v", vs)
	}
	if out := s.must("plan"); !strings.Contains(out, "rollup versions no endpoint reads any more (hourglass prune drops them):\n  "+rollup+" version 1 (table "+rollup+")") {
		t.Errorf("plan does not list version 1:\n%s", out)
	}
	if out := s.must("prune"); !strings.Contains(out, "would drop "+rollup+" version 1 (table "+rollup+")") || !strings.Contains(out, "dry run: nothing dropped") ||
		tableNames(t, s.dir) != tables {
		t.Errorf("prune without --yes:\n%s", out)
	}
	if out := s.must("prune", "--yes"); !strings.Contains(out, "dropped "+rollup+" version 1 (table "+rollup+")") {
		t.Errorf("prune --yes:\n%s", out)
	}
	if got := " " + tableNames(t, s.dir) + " "; strings.Contains(got, " "+rollup+" ") || !strings.Contains(got, " "+rollup+"_v2 ") || strings.Contains(got, " "+rollup+"_staging ") {
		t.Errorf("tables after the prune: %s", got)
	}
	if vs := s.versionsOf(rollup); len(vs) != 1 || vs[0].Version != 2 {
		t.Errorf("status after the prune: %+v", vs)
	}
	if out := s.must("prune"); !strings.Contains(out, "nothing to prune") {
		t.Errorf("second prune:\n%s", out)
	}
	s.servedMatchesRaw(first, rollup+"_v2", true)
	if out := s.must("endpoint", "run", "sum_primitives", "--param", "start="+first.Format(time.DateTime), "--param", "end=now", "--compare"); !strings.Contains(out, "raw vs rollup "+rollup+"_v2") ||
		!strings.Contains(out, "results: EQUAL") {
		t.Errorf("--compare after the prune:\n%s", out)
	}

	// The next change in one step: deploy --backfill fills the new version right away.
	edit(t, s.dir, "rollups/events.yaml", "    - {name: max_time_on_page, kind: max, column: time_on_page}\n",
		"    - {name: max_time_on_page, kind: max, column: time_on_page}\n    - {name: min_time_on_page, kind: min, column: time_on_page}\n")
	out = s.must("deploy", "--allow-destructive", "--backfill")
	if !strings.Contains(out, "new version 3 of "+rollup+" (table "+rollup+"_v3) starts never backfilled: it needs [2026-11-17 00:00:00, 2026-11-20 15:00:00): backfilling it now") ||
		!strings.Contains(out, "backfill "+rollup+" [2026-11-17 00:00:00, 2026-11-20 15:00:00): 4 unit(s) done") {
		t.Fatalf("deploy --backfill:\n%s", out)
	}
	vs = s.versionsOf(rollup)
	if len(vs) != 2 || vs[0].Version != 2 || fmt.Sprint(vs[0].ReadBy) != "[sum_primitives]" || vs[1].Version != 3 || !vs[1].Newest ||
		vs[1].LagSeconds == nil || *vs[1].LagSeconds != 0 || vs[1].Covered == nil || !vs[1].Covered.Start.Equal(first) {
		t.Fatalf("status after deploy --backfill: %+v", vs)
	}
	s.servedMatchesRaw(first, rollup+"_v2", true)
	if out := s.must("switch", "sum_primitives", "--to", "rollup"); !strings.Contains(out, rollup+": EXACT — 87 hour buckets") {
		t.Fatalf("switch to version 3:\n%s", out)
	}
	s.servedMatchesRaw(first, rollup+"_v3", true)

	for _, line := range readmeBlock(t, "## Changing a rollup") {
		words := splitCommand(t, line)
		if words[0] != "hourglass" || !s.ran[strings.Join(words[1:], "\x00")] {
			t.Errorf("the README's %q is not a command this story runs", line)
		}
	}
}
