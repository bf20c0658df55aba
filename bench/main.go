// Command bench is hourglass's benchmark (make bench; never part of make test). It builds one
// project in a temporary folder, fills it with BENCH_EVENTS synthetic events (default 10 M)
// over BENCH_DAYS days (default 365), and measures, each figure the median of BENCH_RUNS runs
// (default 3):
//
//  1. backfill throughput (events/s) and peak RSS of hourglass's partition-by-partition
//     backfill of the wide events_hourly over 90 days vs one hand-written
//     INSERT INTO … SELECT … GROUP BY hour, dims of the same rollup on the same rows;
//  2. peak RSS of a 30-day vs a 365-day backfill;
//  3. time of one hourly populate with 7 days vs 90 days of rollup history;
//  4. validate time of events_hourly over 30 days and over its whole history;
//  5. per endpoint, rows read and latency raw vs rollup at 7, 30 and 365 days.
//
// Every backfill, populate, INSERT and validate is a child process (the hourglass binary,
// BENCH_BIN, default ./bin/hourglass), so its peak RSS is the child's own (wait4 rusage
// Maxrss); the endpoints are measured in this process on the embedded engine. Results go to
// bench/results.json and bench/results.md, and into docs/benchmarks.md between the
// <!-- bench:begin --> and <!-- bench:end --> markers.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/demo"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

type measurement struct {
	Seconds float64 `json:"seconds"`
	RSSMB   float64 `json:"peak_rss_mb"`
}

type figure struct {
	Name     string        `json:"name"`
	Runs     []measurement `json:"runs"`
	Seconds  float64       `json:"median_seconds"`
	RSSMB    float64       `json:"median_peak_rss_mb"`
	Events   int64         `json:"events,omitempty"`
	EventsPS float64       `json:"events_per_second,omitempty"`
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
		m, _ := child(args...)
		f.Runs = append(f.Runs, m)
		fmt.Fprintf(os.Stderr, "bench: %s: %.2f s, peak RSS %.0f MB\n", name, m.Seconds, m.RSSMB)
	}
	var secs, rss []float64
	for _, m := range f.Runs {
		secs, rss = append(secs, m.Seconds), append(rss, m.RSSMB)
	}
	f.Seconds, f.RSSMB = demo.Median(secs), demo.Median(rss)
	if events > 0 && f.Seconds > 0 {
		f.EventsPS = float64(events) / f.Seconds
	}
	return f
}

func main() {
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

	// 1. backfill vs hand-written INSERT … SELECT, 90 days of the wide events_hourly.
	insert := handWritten(ago(90), f(end))
	child("sql", "CREATE TABLE analytics.events_hourly_handwritten AS analytics.events_hourly")
	hw := repeat("hand-written INSERT … SELECT, events_hourly, 90 d", runs, ev90,
		func() { child("sql", "TRUNCATE TABLE analytics.events_hourly_handwritten") }, "sql", insert)
	bf90 := repeat("hourglass backfill, events_hourly, 90 d", runs, ev90, nil, "backfill", "events_hourly", "--from", ago(90), "--to", f(end))
	// 2. 30 days vs 365 days.
	bf30 := repeat("hourglass backfill, events_hourly, 30 d", runs, ev30, nil, "backfill", "events_hourly", "--from", ago(30), "--to", f(end))
	bf365 := repeat("hourglass backfill, events_hourly, 365 d", max(1, runs-1), ev365, nil, "backfill", "events_hourly", "--from", ago(days), "--to", f(end))
	// 3. hourly populate with 7 vs 90 days of history (events_overview_hourly).
	now := end.Add(5 * time.Minute).Format(time.RFC3339)
	child("backfill", "events_overview_hourly", "--from", ago(7), "--to", f(end.Add(-time.Hour)))
	pop7 := repeat("hourly populate, 7 d of history", runs, 0, nil, "populate", "events_overview_hourly", "--now", now)
	child("backfill", "events_overview_hourly", "--from", ago(days), "--to", ago(7))
	pop90 := repeat(fmt.Sprintf("hourly populate, %d d of history", days), runs, 0, nil, "populate", "events_overview_hourly", "--now", now)
	// 4. validate 30 days.
	val := repeat("validate events_hourly, 30 d", runs, ev30, nil, "validate", "events_hourly", "--from", ago(30), "--to", f(end))
	// 4b. validate the whole history the rollup holds (no --from/--to): the per-hour diff runs
	// inside the engine, so this is the cost of the two aggregations.
	valAll := repeat(fmt.Sprintf("validate events_hourly, whole history (%d d)", days), runs, ev365, nil, "validate", "events_hourly")
	res.Figures = []figure{hw, bf90, bf30, bf365, pop7, pop90, val, valAll}

	// 5. endpoints: hourglass demo on the data set (BENCH_EVENTS over 90 days), which
	// measures every default endpoint unfiltered and for its busiest tenant at 7 d, 30 d and all
	// time, raw vs the served planned read, interleaved.
	res.Demo = demoTable(events, runs+4, dir)
	res.Table = res.Demo.Table
	// Targets.
	t := func(ok bool, format string, args ...any) string {
		v := "met"
		if !ok {
			v = "GAP"
		}
		return v + ": " + fmt.Sprintf(format, args...)
	}
	res.Targets = append(res.Targets,
		t(bf90.EventsPS >= 0.9*hw.EventsPS, "backfill throughput ≥ 0.9× hand-written: %.2f× (%.0f vs %.0f events/s)", bf90.EventsPS/hw.EventsPS, bf90.EventsPS, hw.EventsPS),
		t(bf90.RSSMB <= hw.RSSMB/10, "backfill peak RSS ≤ 1/10 of hand-written (90 d): %.0f MB vs %.0f MB (%.2f×)", bf90.RSSMB, hw.RSSMB, bf90.RSSMB/hw.RSSMB),
		t(bf365.RSSMB <= 1.2*bf30.RSSMB, "backfill peak RSS flat from 30 d to %d d: %.0f MB vs %.0f MB", days, bf30.RSSMB, bf365.RSSMB),
		t(pop90.Seconds <= 1.2*pop7.Seconds && pop7.Seconds <= 1.2*pop90.Seconds, "hourly populate flat within 20 %%: %.2f s (7 d) vs %.2f s (%d d)", pop7.Seconds, pop90.Seconds, days),
	)
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

// handWritten is one INSERT INTO … SELECT … GROUP BY hour, dims of events_hourly over
// [from, to): the compiler's populate SELECT with the range written in.
func handWritten(from, to string) string {
	def, err := datasources.Load(os.DirFS(proj))
	must(err)
	a, err := pipes.Compile(def)
	must(err)
	ra := a.Rollup("events_hourly")
	q := ra.PopulateSelect
	q = strings.ReplaceAll(q, "{start:DateTime}", "toDateTime('"+from+"', 'UTC')")
	q = strings.ReplaceAll(q, "{end:DateTime}", "toDateTime('"+to+"', 'UTC')")
	return "INSERT INTO analytics.events_hourly_handwritten " + q
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
	fmt.Fprintf(&md, "Run %s: %d events over %d days (BENCH_EVENTS=%d), median of %d runs. Machine: %s, %s CPUs, %s RAM, %s, ClickHouse %s (embedded chDB).\n\n",
		res.End.Format("2006-01-02"), res.Events, res.Days, res.Events, res.Runs, res.Machine["cpu"], res.Machine["nproc"], res.Machine["memory"], res.Machine["go"], res.Machine["clickhouse"])
	fmt.Fprintf(&md, "Generate: %.1f s, %.0f events/s, peak RSS %.0f MB.\n\n", res.Generate.Seconds, res.Generate.EventsPS, res.Generate.RSSMB)
	md.WriteString("| measurement | median time | events/s | median peak RSS |\n| --- | ---: | ---: | ---: |\n")
	for _, f := range res.Figures {
		eps := "—"
		if f.EventsPS > 0 {
			eps = fmt.Sprintf("%.0f", f.EventsPS)
		}
		fmt.Fprintf(&md, "| %s | %.2f s | %s | %.0f MB |\n", f.Name, f.Seconds, eps, f.RSSMB)
	}
	if res.Demo != nil {
		d := res.Demo
		fmt.Fprintf(&md, "\nEndpoints: `hourglass demo`, %d events and %d sessions over %s, median of %d interleaved runs per side; load average (1, 5, 15 min) %s. Served = the planned read (grains, hours, raw tail); dc error = largest relative error of the served distinct counts against uniqExact.\n\n",
			d.Data.Events, d.Data.Sessions, d.Range, d.Runs, d.Load)
		md.WriteString(demo.MarkdownTable(res.Table))
	}
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

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
}
