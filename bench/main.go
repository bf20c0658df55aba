// Command bench is hourglass's benchmark (make bench; never part of make test). It builds one
// project in a temporary folder (the default project plus events_overview_monthly, the narrow
// events rollup partitioned by month), fills it with BENCH_EVENTS synthetic events (default
// 10 M) over BENCH_DAYS days (default 365), and measures, each figure the median of BENCH_RUNS
// runs (default 3), the runs of the figures compared with each other interleaved:
//
//  1. the write path: backfill throughput (events/s) and peak RSS of hourglass's backfill of
//     events_hourly (wide) and events_overview_hourly (narrow) over 90 days, with --parallel 1
//     and 2, vs one hand-written INSERT INTO … SELECT … GROUP BY hour, dims of the same rollup
//     on the same rows (and, for a rollup with grains, vs the hand-written INSERTs of the same
//     tables: that INSERT then one merge per grain); peak RSS of a 30-day vs a 365-day
//     backfill; the engine's open time after a backfill; one hourly populate at 00:07 and at
//     23:07 (the watermark an hour behind, so it recomputes 3 hours), with 7 and with 365 days
//     of rollup history, for day (events_overview_hourly) and month (events_overview_monthly)
//     partitions, BENCH_RUNS + 4 runs each;
//  2. validate time of events_hourly over 30 days and over its whole history;
//  3. reads: hourglass demo on the data set (BENCH_EVENTS over 90 days, a project of
//     its own), which measures every default endpoint unfiltered and for its busiest tenant
//     at 7 d, 30 d and all time: rows read, the median of interleaved runs of raw and of the
//     served planned read (BENCH_RUNS + 4 each), the plan and the distinct-count error against
//     uniqExact; the load average before and after it is recorded;
//  4. hourglass serve, on that demo project: requests/s and p50/p99 latency of
//     /v0/pipes/sum_primitives.json and timeseries_primitives.json for the busiest campaign
//     over 30 days, cold vs cached, from a bounded load generator on loopback (bench/serve.go).
//
// BENCH_ONLY=serve BENCH_PROJECT=DIR measures only 4, on the project in DIR as hourglass demo
// leaves it (make demo, then BENCH_ONLY=serve BENCH_PROJECT=hourglass-demo make bench).
//
// Every backfill, populate, INSERT, validate and the demo is a child process (the hourglass
// binary, BENCH_BIN, default ./bin/hourglass), so its peak RSS is the child's own (wait4 rusage
// Maxrss). Results go to
// bench/results.json and bench/results.md, and into docs/benchmarks.md between the
// <!-- bench:begin --> and <!-- bench:end --> markers.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/demo"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/ident"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

type measurement struct {
	Seconds float64 `json:"seconds"`
	RSSMB   float64 `json:"peak_rss_mb"`
	// WorkSeconds is what the command reported as its own duration, when it reports one.
	WorkSeconds float64 `json:"work_seconds,omitempty"`
}

type figure struct {
	Name     string        `json:"name"`
	Runs     []measurement `json:"runs"`
	Seconds  float64       `json:"median_seconds"`
	RSSMB    float64       `json:"median_peak_rss_mb"`
	Events   int64         `json:"events,omitempty"`
	EventsPS float64       `json:"events_per_second,omitempty"`
	// WorkSeconds is the median of the durations the command reported for its own work
	// (populate's report, without the process start and the engine open).
	WorkSeconds float64 `json:"median_work_seconds,omitempty"`
}

type results struct {
	Machine  map[string]string `json:"machine"`
	Events   int64             `json:"events"`
	Days     int               `json:"days"`
	Runs     int               `json:"runs"`
	End      time.Time         `json:"end"`
	Generate figure            `json:"generate"`
	Figures  []figure          `json:"figures"`
	Table    []demo.Line       `json:"endpoints"`
	Demo     *demo.Result      `json:"demo"`
	Serve    []serveLine       `json:"serve"`
	Targets  []string          `json:"targets"`
}

var (
	bin  = env("BENCH_BIN", "./bin/hourglass")
	proj string
)

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func envInt(k string, def int64) int64 {
	v, err := strconv.ParseFloat(env(k, ""), 64)
	if err != nil {
		return def
	}
	return int64(v)
}

// child runs hourglass with args in the project and returns its wall time and peak RSS.
func child(args ...string) (measurement, string) {
	full := append([]string{"--project", proj}, args...)
	cmd := exec.Command(bin, full...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	t := time.Now()
	err := cmd.Run()
	m := measurement{Seconds: time.Since(t).Seconds()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.RSSMB = float64(ru.Maxrss) / 1024 // KiB on Linux
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: hourglass %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		os.Exit(2)
	}
	return m, out.String()
}

func repeat(name string, runs int, events int64, prepare func(), args ...string) figure {
	f := figure{Name: name, Events: events}
	for range runs {
		if prepare != nil {
			prepare()
		}
		m, out := child(args...)
		m.WorkSeconds = reportedSeconds(out)
		f.Runs = append(f.Runs, m)
		fmt.Fprintf(os.Stderr, "bench: %s: %.2f s, peak RSS %.0f MB\n", name, m.Seconds, m.RSSMB)
	}
	summarise(&f)
	return f
}

func main() {
	if env("BENCH_ONLY", "") == "serve" {
		lines := serveTable(context.Background(), env("BENCH_PROJECT", "hourglass-demo"))
		var md strings.Builder
		writeServe(&md, lines)
		fmt.Print(md.String())
		return
	}
	events := envInt("BENCH_EVENTS", 10_000_000)
	days := int(envInt("BENCH_DAYS", 365))
	runs := int(envInt("BENCH_RUNS", 3))
	dir, err := os.MkdirTemp(env("BENCH_TMP", ""), "hourglass-bench-")
	must(err)
	defer os.RemoveAll(dir)
	proj = filepath.Join(dir, "p")
	end := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Hour)
	res := &results{Events: events, Days: days, Runs: runs, End: end, Machine: machine()}
	f := func(t time.Time) string { return timerange.Format(t) }
	ago := func(d int) string { return f(end.Add(-time.Duration(d) * 24 * time.Hour)) }

	child("init", proj)
	must(os.WriteFile(filepath.Join(proj, "rollups", "bench_monthly.yaml"), []byte(monthlyRollup), 0o644))
	child("deploy")
	m, _ := child("generate", "--events", fmt.Sprint(events), "--days", fmt.Sprint(days), "--end", f(end))
	res.Generate = figure{Name: "generate", Runs: []measurement{m}, Seconds: m.Seconds, RSSMB: m.RSSMB, Events: events, EventsPS: float64(events) / m.Seconds}
	fmt.Fprintf(os.Stderr, "bench: generated %d events over %d days in %.1f s (%.0f events/s)\n", events, days, m.Seconds, res.Generate.EventsPS)
	_, ver := child("-o", "json", "sql", "SELECT version() AS v")
	var vr engine.Result
	if json.Unmarshal([]byte(ver), &vr) == nil && len(vr.Rows) > 0 {
		res.Machine["clickhouse"] = fmt.Sprint(vr.Rows[0][0])
	}

	count := func(from string) int64 {
		_, out := child("-o", "json", "sql", "SELECT count() FROM analytics.events WHERE timestamp >= '"+from+"' AND timestamp < '"+f(end)+"'")
		var r engine.Result
		must(json.Unmarshal([]byte(out), &r))
		return int64(r.Rows[0][0].(float64))
	}
	ev90, ev30, ev365 := count(ago(90)), count(ago(30)), count(ago(365))

	// 1. The write path. Backfill vs hand-written INSERT … SELECT, both events rollups, 90 days.
	var wp []figure
	ratio := map[string]float64{}
	var hwWide, bfWide figure
	var hourlyOnly []string // ratios against the rollup's INSERT alone, for rollups with grains
	for _, r := range []string{"events_hourly", "events_overview_hourly"} {
		tables := handWrittenTables(r)
		for _, t := range tables {
			child("sql", "CREATE TABLE analytics."+t+"_handwritten AS analytics."+t)
		}
		// Emptied right after each run, so that no later process merges its parts meanwhile.
		empty := func() {
			for _, t := range tables {
				child("sql", "TRUNCATE TABLE analytics."+t+"_handwritten")
			}
		}
		specs := []spec{
			{name: "hand-written INSERT … SELECT, " + r + ", 90 d", events: ev90, cleanup: empty, args: []string{"sql", handWritten(r, ago(90), f(end))}},
			{name: "hourglass backfill, " + r + ", 90 d, --parallel 1", events: ev90, args: []string{"backfill", r, "--from", ago(90), "--to", f(end)}},
			{name: "hourglass backfill, " + r + ", 90 d, --parallel 2", events: ev90, args: []string{"backfill", r, "--from", ago(90), "--to", f(end), "--parallel", "2"}},
		}
		if len(tables) > 1 {
			// The backfill of a rollup with grains also fills its grain tables: the hand-written
			// equivalent is the rollup's INSERT and one merge INSERT per grain, in one process.
			specs = append(specs, spec{name: "hand-written INSERTs … SELECT of the same tables (" + strings.Join(tables, ", ") + "), 90 d", events: ev90,
				cleanup: empty, args: []string{"sql", handWrittenWithGrains(r, ago(90), f(end))}})
		}
		// A rollup with grains backfills 90 days in ~3 s, and the same 3 s vary by a third
		// from one round to the next on a shared machine (hand-written 1.79–2.69 s in one
		// run): more rounds than the other figures, so the medians do not follow one slow one.
		rounds := runs
		if len(tables) > 1 {
			rounds = runs + 4
		}
		set := interleave(rounds, specs...)
		wp = append(wp, set...)
		base := set[0]
		if len(set) > 3 {
			base = set[3]
			hourlyOnly = append(hourlyOnly, fmt.Sprintf("%s: backfill %.2f× / %.2f× (--parallel 1 / 2) the rollup's INSERT alone, which fills no grain", r,
				set[1].EventsPS/set[0].EventsPS, set[2].EventsPS/set[0].EventsPS))
		}
		ratio[r+" p1"], ratio[r+" p2"] = set[1].EventsPS/base.EventsPS, set[2].EventsPS/base.EventsPS
		if r == "events_hourly" {
			hwWide, bfWide = set[0], set[1]
		}
	}
	// Peak RSS against the range's length.
	bf30 := repeat("hourglass backfill, events_hourly, 30 d", runs, ev30, nil, "backfill", "events_hourly", "--from", ago(30), "--to", f(end))
	bf365 := repeat("hourglass backfill, events_hourly, 365 d", max(1, runs-1), ev365, nil, "backfill", "events_hourly", "--from", ago(days), "--to", f(end))
	open := repeat("engine open (hourglass sql SELECT 1) after the backfills", runs+2, 0, nil, "sql", "SELECT 1")
	wp = append(wp, bf30, bf365, open)
	// The hourly populate at 00:07 and 23:07, with 7 and 365 days of history, day and month
	// partitions. Each (partitioning, history) is a rollup of its own (events_overview_hourly
	// and its copy events_overview_hourly_7d with its grains; events_overview_monthly and
	// events_overview_monthly_7d), so the eight figures are measured interleaved like the
	// others: a machine whose load drifts (background merges the generator left, other
	// sessions) weighs on all of them alike. Before each run the watermark is set an hour behind
	// the tick, as the previous tick leaves it, so every run recomputes the same 3 hours.
	day := end.Truncate(24 * time.Hour)
	ticks := []struct {
		name string
		at   time.Time
	}{{"23:07", day.Add(-time.Hour)}, {"00:07", day}}
	type popFigure struct{ base, rollup string }
	var popSpecs []spec
	var popOf []popFigure
	for _, hist := range []int{7, days} {
		for _, base := range []string{"events_overview_hourly", "events_overview_monthly"} {
			r := base
			if hist == 7 {
				r += "_7d"
			}
			child("backfill", r, "--from", f(day.AddDate(0, 0, -hist-1)), "--to", f(day.Add(-2*time.Hour)), "--now", day.Add(-2*time.Hour+7*time.Minute).Format(time.RFC3339))
			for _, tick := range ticks {
				w := tick.at.Add(-time.Hour)
				popSpecs = append(popSpecs, spec{name: fmt.Sprintf("hourly populate at %s, %s, %d d of history", tick.name, base, hist),
					prepare: func() { setWatermark(r, w) }, args: []string{"-o", "json", "populate", r, "--now", tick.at.Add(7 * time.Minute).Format(time.RFC3339)}})
				popOf = append(popOf, popFigure{base: base, rollup: r})
			}
		}
	}
	// A populate's own work is a fifth of a second: more runs than the other figures, so the
	// median does not follow one slow run.
	pop := map[string][]float64{} // the populate's own work, by partitioning
	for i, fg := range interleave(runs+4, popSpecs...) {
		pop[popOf[i].base] = append(pop[popOf[i].base], fg.WorkSeconds)
		wp = append(wp, fg)
	}
	// 4. validate 30 days.
	val := repeat("validate events_hourly, 30 d", runs, ev30, nil, "validate", "events_hourly", "--from", ago(30), "--to", f(end))
	// validate the whole history the rollup holds (no --from/--to): the per-hour diff runs
	// inside the engine, so this is the cost of the two aggregations.
	valAll := repeat(fmt.Sprintf("validate events_hourly, whole history (%d d)", days), runs, ev365, nil, "validate", "events_hourly")
	res.Figures = append(wp, val, valAll)

	// 5. endpoints: hourglass demo on the data set (BENCH_EVENTS over 90 days), which
	// measures every default endpoint unfiltered and for its busiest tenant at 7 d, 30 d and all
	// time, raw vs the served planned read, interleaved.
	res.Demo = demoTable(events, runs+4, dir)
	res.Table = res.Demo.Table
	// 6. serve, on the demo's project: its endpoints are switched to their rollups.
	res.Serve = serveTable(context.Background(), filepath.Join(dir, "demo"))
	// Targets.
	t := func(ok bool, format string, args ...any) string {
		v := "met"
		if !ok {
			v = "GAP"
		}
		return v + ": " + fmt.Sprintf(format, args...)
	}
	for _, k := range []string{"events_hourly p1", "events_hourly p2", "events_overview_hourly p1", "events_overview_hourly p2"} {
		res.Targets = append(res.Targets, t(ratio[k] >= 0.9, "backfill throughput ≥ 0.9× hand-written (the same tables), %s: %.2f×", k, ratio[k]))
	}
	for _, l := range hourlyOnly {
		res.Targets = append(res.Targets, "info: "+l)
	}
	res.Targets = append(res.Targets,
		t(bfWide.RSSMB <= hwWide.RSSMB/5, "backfill peak RSS ≤ 1/5 of hand-written (events_hourly, 90 d): %.0f MB vs %.0f MB (%.2f×)", bfWide.RSSMB, hwWide.RSSMB, bfWide.RSSMB/hwWide.RSSMB),
		t(bf365.RSSMB <= 1.2*bf30.RSSMB, "backfill peak RSS flat from 30 d to %d d: %.0f MB vs %.0f MB", days, bf30.RSSMB, bf365.RSSMB),
	)
	for _, r := range []string{"events_overview_hourly", "events_overview_monthly"} {
		lo, hi := slices.Min(pop[r]), slices.Max(pop[r])
		res.Targets = append(res.Targets, t(hi <= 1.2*lo, "hourly populate's own work within ±20 %% across hour of day (00:07, 23:07) and history (7 d, %d d), %s: %.3f s to %.3f s",
			days, r, lo, hi))
	}
	names := make([]string, 0, len(res.Demo.Targets))
	for k := range res.Demo.Targets {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := res.Demo.Targets[k]
		res.Targets = append(res.Targets, t(v.Met, "endpoints %s%s", k, strings.TrimSuffix(": "+v.Detail, ": ")))
	}
	write(res)
}

// monthlyRollup is events_overview_hourly partitioned by month, for the populate figures, and
// the copies of it and of events_overview_hourly (grains included) that hold 7 days of history
// (see the populate figures).
const monthlyRollup = `- name: events_overview_monthly
  source: events
  time_column: timestamp
  partition: month
  dimensions: [workspace_id, project_id, campaign_id, event_type, event_id]
  metrics: &monthly_metrics
    - {name: event_count, kind: count}
    - {name: unique_sessions, kind: uniq, column: session_id}
    - {name: unique_users, kind: uniq, column: user_id}
    - {name: total_value_usd, kind: sum, column: value_usd}
    - {name: page_unload_count, kind: count_if, if: "is_page_unload = 1"}
    - {name: total_time_on_page, kind: sum, column: time_on_page}
- name: events_overview_monthly_7d
  source: events
  time_column: timestamp
  partition: month
  dimensions: [workspace_id, project_id, campaign_id, event_type, event_id]
  metrics: *monthly_metrics
- name: events_overview_hourly_7d
  source: events
  time_column: timestamp
  dimensions: [workspace_id, project_id, campaign_id, event_type, event_id]
  grains: [day, week]
  metrics:
    - {name: event_count, kind: count}
    - {name: unique_sessions, kind: uniq_combined, precision: 14, column: session_id}
    - {name: unique_users, kind: uniq_combined, precision: 14, column: user_id}
    - {name: total_value_usd, kind: sum, column: value_usd}
    - {name: page_unload_count, kind: count_if, if: "is_page_unload = 1"}
    - {name: total_time_on_page, kind: sum, column: time_on_page}
`

// handWritten is one INSERT INTO <rollup>_handwritten … SELECT … GROUP BY hour, dims over
// [from, to): the compiler's populate SELECT of the rollup with the range written in.
func handWritten(rollup, from, to string) string {
	q := compiled().Rollup(rollup).PopulateSelect
	q = strings.ReplaceAll(q, "{start:DateTime}", "toDateTime('"+from+"', 'UTC')")
	q = strings.ReplaceAll(q, "{end:DateTime}", "toDateTime('"+to+"', 'UTC')")
	return "INSERT INTO analytics." + rollup + "_handwritten " + q
}

// handWrittenTables are the tables a backfill of rollup fills: its own, then its grains'.
func handWrittenTables(rollup string) []string {
	ra := compiled().Rollup(rollup)
	tables := []string{ra.Table}
	for _, g := range ra.Grains {
		tables = append(tables, g.Table)
	}
	return tables
}

// handWrittenWithGrains is handWritten followed by one INSERT … SELECT per grain of the rollup,
// merging it from its finer hand-written table as the compiler's grain fill does: the
// statements filling by hand the tables a backfill fills.
func handWrittenWithGrains(rollup, from, to string) string {
	stmts := []string{handWritten(rollup, from, to)}
	for _, g := range compiled().Rollup(rollup).Grains {
		fill := g.CreateFilled()[2] // DROP, CREATE, INSERT … SELECT, RENAME
		fill = strings.Replace(fill, ident.Qualified("analytics", g.Table+"__hg_fill"), ident.Qualified("analytics", g.Table+"_handwritten"), 1)
		fill = strings.Replace(fill, ident.Qualified("analytics", g.From), ident.Qualified("analytics", g.From+"_handwritten"), 1)
		stmts = append(stmts, fill)
	}
	return strings.Join(stmts, ";\n")
}

// compiled is the bench project compiled.
func compiled() *pipes.Artifacts {
	def, err := datasources.Load(os.DirFS(proj))
	must(err)
	a, err := pipes.Compile(def)
	must(err)
	return a
}

// setWatermark records a rollup's watermark as hourglass does (the latest state row wins).
func setWatermark(rollup string, w time.Time) {
	child("sql", fmt.Sprintf("INSERT INTO analytics._hourglass_state SELECT '%s', 'watermark', '%s', now(), toUInt64(toUnixTimestamp64Nano(now64(9)))",
		rollup, w.UTC().Format(time.RFC3339)))
}

// spec is one figure of a set measured in interleaved runs; prepare and cleanup run (in other
// processes, not measured) before and after each run.
type spec struct {
	name             string
	events           int64
	prepare, cleanup func()
	args             []string
}

// interleave measures the specs runs times each, alternating between them (run 1 of each,
// then run 2 of each, …), so a machine whose load drifts weighs on all of them alike.
func interleave(runs int, specs ...spec) []figure {
	out := make([]figure, len(specs))
	for i, sp := range specs {
		out[i] = figure{Name: sp.name, Events: sp.events}
	}
	for range runs {
		for i, sp := range specs {
			if sp.prepare != nil {
				sp.prepare()
			}
			m, stdout := child(sp.args...)
			m.WorkSeconds = reportedSeconds(stdout)
			out[i].Runs = append(out[i].Runs, m)
			fmt.Fprintf(os.Stderr, "bench: %s: %.2f s, peak RSS %.0f MB\n", sp.name, m.Seconds, m.RSSMB)
			if sp.cleanup != nil {
				sp.cleanup()
			}
		}
	}
	for i := range out {
		summarise(&out[i])
	}
	return out
}

// reportedSeconds sums the durations of the reports a command printed with -o json (a
// populate prints one report per rollup), or 0.
func reportedSeconds(out string) float64 {
	var reps []struct {
		Duration int64 `json:"duration_ns"`
	}
	if json.Unmarshal([]byte(out), &reps) != nil {
		return 0
	}
	var ns int64
	for _, r := range reps {
		ns += r.Duration
	}
	return float64(ns) / 1e9
}

// summarise sets a figure's medians from its runs.
func summarise(f *figure) {
	var secs, rss, work []float64
	for _, m := range f.Runs {
		secs, rss = append(secs, m.Seconds), append(rss, m.RSSMB)
		if m.WorkSeconds > 0 {
			work = append(work, m.WorkSeconds)
		}
	}
	f.Seconds, f.RSSMB, f.WorkSeconds = demo.Median(secs), demo.Median(rss), demo.Median(work)
	if f.Events > 0 && f.Seconds > 0 {
		f.EventsPS = float64(f.Events) / f.Seconds
	}
}

// demoTable runs hourglass demo (a child process, on a fresh project of its own: events over
// 90 days) with runs timed runs per side and returns its result, with the machine's load
// average read before and after it.
func demoTable(events int64, runs int, dir string) *demo.Result {
	before := loadAvg()
	out := filepath.Join(dir, "demo")
	cmd := exec.Command(bin, "demo", "--dir", out, "--events", fmt.Sprint(events), "--days", "90", "--runs", fmt.Sprint(runs))
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = os.Stderr, &errb
	fmt.Fprintf(os.Stderr, "bench: hourglass demo --events %d --days 90 --runs %d\n", events, runs)
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: hourglass demo: %v\n%s", err, errb.String())
		os.Exit(2)
	}
	b, err := os.ReadFile(filepath.Join(out, demo.ResultsFile))
	must(err)
	var r demo.Result
	must(json.Unmarshal(b, &r))
	r.Load = before + " → " + loadAvg()
	return &r
}

// loadAvg is the machine's 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func machine() map[string]string {
	m := map[string]string{"nproc": fmt.Sprint(runtime.NumCPU()), "go": runtime.Version(), "os": runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				m["memory"] = fmt.Sprintf("%.1f GiB", kb/1024/1024)
			}
		}
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m["cpu"] = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

func write(res *results) {
	b, err := json.MarshalIndent(res, "", "  ")
	must(err)
	must(os.WriteFile("bench/results.json", append(b, '\n'), 0o644))
	var md strings.Builder
	fmt.Fprintf(&md, "Run %s: %d events over %d days (BENCH_EVENTS=%d), median of %d runs (%d for the backfills of events_overview_hourly and the hourly populates, which vary more). Machine: %s, %s CPUs, %s RAM, %s, ClickHouse %s (embedded chDB).\n\n",
		res.End.Format("2006-01-02"), res.Events, res.Days, res.Events, res.Runs, res.Runs+4, res.Machine["cpu"], res.Machine["nproc"], res.Machine["memory"], res.Machine["go"], res.Machine["clickhouse"])
	fmt.Fprintf(&md, "Generate: %.1f s, %.0f events/s, peak RSS %.0f MB.\n\n", res.Generate.Seconds, res.Generate.EventsPS, res.Generate.RSSMB)
	md.WriteString("| measurement | median time | its own work (reported) | events/s | median peak RSS |\n| --- | ---: | ---: | ---: | ---: |\n")
	for _, f := range res.Figures {
		eps, work := "—", "—"
		if f.EventsPS > 0 {
			eps = fmt.Sprintf("%.0f", f.EventsPS)
		}
		if f.WorkSeconds > 0 {
			work = fmt.Sprintf("%.3f s", f.WorkSeconds)
		}
		fmt.Fprintf(&md, "| %s | %.2f s | %s | %s | %.0f MB |\n", f.Name, f.Seconds, work, eps, f.RSSMB)
	}
	if res.Demo != nil {
		d := res.Demo
		fmt.Fprintf(&md, "\nEndpoints: `hourglass demo`, %d events and %d sessions over %s, median of %d interleaved runs per side; load average (1, 5, 15 min) %s. Served = the planned read (grains, hours, raw tail); dc error = largest relative error of the served distinct counts against uniqExact.\n\n",
			d.Data.Events, d.Data.Sessions, d.Range, d.Runs, d.Load)
		md.WriteString(demo.MarkdownTable(res.Table))
	}
	writeServe(&md, res.Serve)
	md.WriteString("\nTargets:\n\n")
	for _, t := range res.Targets {
		fmt.Fprintf(&md, "- %s\n", t)
	}
	must(os.WriteFile("bench/results.md", []byte(md.String()), 0o644))
	fmt.Print(md.String())
	const begin, stop = "<!-- bench:begin -->", "<!-- bench:end -->"
	doc, err := os.ReadFile("docs/benchmarks.md")
	if err != nil {
		return
	}
	s := string(doc)
	i, j := strings.Index(s, begin), strings.Index(s, stop)
	if i < 0 || j < i {
		return
	}
	s = s[:i+len(begin)] + "\n" + md.String() + s[j:]
	must(os.WriteFile("docs/benchmarks.md", []byte(s), 0o644))
}

// writeServe writes the serve table.
func writeServe(md *strings.Builder, lines []serveLine) {
	fmt.Fprintf(md, "\nhourglass serve, /v0/pipes/NAME.json, %d clients on loopback, at most %d requests or %s per line:\n\n", serveClients, serveMaxRequests, serveMaxTime)
	md.WriteString("| endpoint | query | cache | requests | requests/s | p50 | p99 | cache answers |\n| --- | --- | --- | ---: | ---: | ---: | ---: | --- |\n")
	for _, l := range lines {
		cache := "cold (--cache=false)"
		if l.Cache {
			cache = "cached"
		}
		fmt.Fprintf(md, "| %s | %s | %s | %d | %.0f | %.2f ms | %.2f ms | %v |\n", l.Endpoint, l.Query, cache, l.Requests, l.RPS, l.P50MS, l.P99MS, l.States)
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
}
