// Package demo runs the whole product once, end to end, on a fresh project and measures it:
// init (the default project), generate (realistic synthetic events and sessions), deploy,
// backfill every rollup, validate every rollup (it must be exact), switch the four endpoints
// to their rollups, and then the Tinybird plan's "Expected QPS Reduction" table measured in
// that run: for 7 days, 30 days and all the data, each endpoint's rows read and latency on its
// raw version and on its rollup version, the reduction and the speed-up.
//
// Every figure in the table is measured, never assumed: rows read are what the engine reports
// it scanned (whole granules, so a rollup read never counts less than one granule of a
// touched part), latencies are the median of Options.Runs runs after one warm-up run, and each
// endpoint's raw and rollup rows are compared once per period (they must be equal). The rows
// each side holds in the range (count() on the raw table and on the rollup table) are reported
// beside the rows read, so the figures can be checked against hand-written SQL.
//
// The data ends at the last closed hour when Run starts, so every generated hour is closed,
// backfilled and validated.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/deploy"
	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/estimate"
	"github.com/hourglass-dev/hourglass/generate"
	"github.com/hourglass-dev/hourglass/ident"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
	"github.com/hourglass-dev/hourglass/validate"
)

// Defaults applied to zero Options fields.
const (
	DefaultDir    = "hourglass-demo"
	DefaultEvents = generate.DefaultEvents
	DefaultDays   = generate.DefaultDays
	DefaultRuns   = 5
	// ResultsFile is written into the project folder: the Result as JSON.
	ResultsFile = "demo-results.json"
)

// ErrNotExact is returned (wrapped) when a rollup does not validate exactly.
var ErrNotExact = errors.New("validation found mismatches")

// ErrNotEmpty is returned (wrapped) when the project folder is not empty and ForceNew is off.
var ErrNotEmpty = errors.New("folder is not empty")

// Options configure a demo run.
type Options struct {
	// Dir is the project folder (DefaultDir when empty). It must be missing or empty unless
	// ForceNew, which deletes its contents first.
	Dir      string
	ForceNew bool
	// Events and Days size the data (10 M events over 90 days by default).
	Events int64
	Days   int
	// Seed selects the data set.
	Seed uint64
	// DSN is the engine (default chdb://DIR/.hourglass/data).
	DSN string
	// Runs is how many timed runs each endpoint measurement takes (median; DefaultRuns).
	Runs int
	// Now is the clock (time.Now when zero); the data ends at the last closed hour at Now.
	Now time.Time
	// Log receives one progress line per step, with its timing (nothing when nil).
	Log io.Writer
	// Backfill receives the backfills' progress events (the CLI's progress bar).
	Backfill func(populate.Event)
	// BackfillDone is called after each rollup's backfill (the CLI ends its bar there).
	BackfillDone func()
}

// Step is one step of the run and how long it took.
type Step struct {
	Name     string        `json:"name"`
	Detail   string        `json:"detail"`
	Duration time.Duration `json:"duration_ns"`
}

// RollupResult is one rollup after its backfill and validation.
type RollupResult struct {
	Rollup      string  `json:"rollup"`
	Source      string  `json:"source"`
	RawRows     uint64  `json:"raw_rows"`
	RollupRows  uint64  `json:"rollup_rows"`
	Reduction   float64 `json:"reduction"`
	Units       int     `json:"units"`
	BackfillDur float64 `json:"backfill_seconds"`
	// Validation is validate's one-line summary; Exact its verdict.
	Validation  string  `json:"validation"`
	Exact       bool    `json:"exact"`
	ValidateDur float64 `json:"validate_seconds"`
}

// Side is one version of an endpoint measured over one period.
type Side struct {
	// RowsRead and BytesRead are what the engine scanned (median over the runs; they do not
	// vary between runs).
	RowsRead  uint64 `json:"rows_read"`
	BytesRead uint64 `json:"bytes_read"`
	// RowsInRange is count() of the table the side reads over the period.
	RowsInRange uint64 `json:"rows_in_range"`
	// Latency is the median wall time over the runs; Latencies every run.
	Latency   time.Duration   `json:"latency_ns"`
	Latencies []time.Duration `json:"latencies_ns"`
	Table     string          `json:"table"`
}

// Line is one line of the table: an endpoint over a period, unfiltered or for one tenant.
type Line struct {
	Endpoint string          `json:"endpoint"`
	Period   string          `json:"period"`
	Range    timerange.Range `json:"range"`
	// Filters are the filter parameters of the calls (none: unfiltered); Tenant names them
	// for people ("all", or "campaign_id=cmp_01").
	Filters map[string]string `json:"filters,omitempty"`
	Tenant  string            `json:"tenant"`
	// Raw is the endpoint's raw version; Rollup the version it serves: the planned read of
	// its rollup (grains, hours, the raw tail after the watermark).
	Raw    Side `json:"raw"`
	Rollup Side `json:"rollup"`
	// Plan is the served read's plan in one line (pipes.ReadPlan.Summary).
	Plan string `json:"plan"`
	// Reduction is the share of raw rows read that the rollup does not read (99.9 = 99.9 %).
	Reduction float64 `json:"reduction_percent"`
	// RowsFactor is raw rows read / rollup rows read; Speedup raw latency / rollup latency.
	RowsFactor float64 `json:"rows_factor"`
	Speedup    float64 `json:"speedup"`
	// Equal says both versions returned the same rows.
	Equal bool `json:"equal"`
	// DistinctError is the largest relative error of the served distinct counts against
	// uniqExact over the raw rows of the same call (0 for an endpoint without distinct counts,
	// or whose distinct counts are exact).
	DistinctError float64 `json:"distinct_count_error"`
}

// Result is what a demo run did and measured.
type Result struct {
	Dir      string                  `json:"dir"`
	DSN      string                  `json:"dsn"`
	Engine   string                  `json:"engine_version"`
	Data     *generate.Stats         `json:"data"`
	Range    timerange.Range         `json:"range"`
	Steps    []Step                  `json:"steps"`
	Rollups  []RollupResult          `json:"rollups"`
	Switched map[string]string       `json:"switched"`
	Table    []Line                  `json:"table"`
	Runs     int                     `json:"runs"`
	Estimate *estimate.Report        `json:"estimate_events_hourly"`
	Warning  string                  `json:"estimate_warning"`
	Exact    bool                    `json:"exact"`
	Duration time.Duration           `json:"duration_ns"`
	Targets  map[string]TargetResult `json:"targets"`
	// Load is the machine's load average while it was measured, when the caller knows it.
	Load string `json:"load,omitempty"`
}

// TargetResult says whether one of the targets was met in this run.
type TargetResult struct {
	Met    bool   `json:"met"`
	Detail string `json:"detail"`
}

// Periods of the table.
var periods = []struct {
	name string
	d    time.Duration
}{{"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}, {"all", 0}}

func (o Options) withDefaults() Options {
	if o.Dir == "" {
		o.Dir = DefaultDir
	}
	if o.Events == 0 {
		o.Events = DefaultEvents
	}
	if o.Days == 0 {
		o.Days = DefaultDays
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.DSN == "" {
		o.DSN = "chdb://" + filepath.Join(o.Dir, ".hourglass", "data")
	}
	if o.Runs <= 0 {
		o.Runs = DefaultRuns
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o
}

// Run runs the demo. On a validation mismatch it returns the result so far with an error
// wrapping ErrNotExact.
func Run(ctx context.Context, opts Options) (*Result, error) {
	o := opts.withDefaults()
	if o.Events < 1 || o.Days < 1 {
		return nil, fmt.Errorf("--events and --days must be positive")
	}
	began := time.Now()
	res := &Result{Dir: o.Dir, DSN: o.DSN, Runs: o.Runs, Switched: map[string]string{}, Targets: map[string]TargetResult{}}
	step := func(name string, started time.Time, format string, args ...any) {
		s := Step{Name: name, Detail: fmt.Sprintf(format, args...), Duration: time.Since(started)}
		res.Steps = append(res.Steps, s)
		fmt.Fprintf(o.Log, "demo: %-9s %s (%s)\n", s.Name, s.Detail, s.Duration.Round(time.Millisecond))
	}

	// 1. init
	t := time.Now()
	if err := prepareDir(o.Dir, o.ForceNew); err != nil {
		return nil, err
	}
	files := datasources.Scaffold()
	for name, b := range files {
		path := filepath.Join(o.Dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return nil, err
		}
	}
	def, err := datasources.Load(os.DirFS(o.Dir))
	if err != nil {
		return nil, fmt.Errorf("load the default project: %w", err)
	}
	def.Dir = o.Dir
	a, err := pipes.Compile(def)
	if err != nil {
		return nil, fmt.Errorf("compile the default project: %w", err)
	}
	step("init", t, "wrote the default project (%d files) into %s", len(files), o.Dir)

	e, err := engine.Open(ctx, o.DSN)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	if info, err := e.Info(ctx); err == nil {
		res.Engine = info.Version
	}
	store := meta.New(e, def.Database, nil)

	// 2. deploy
	t = time.Now()
	plan, err := deploy.Plan(ctx, e, store, a)
	if err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	if _, err := deploy.Apply(ctx, e, store, plan, deploy.ApplyOptions{Now: time.Now()}); err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	step("deploy", t, "%s", plan.Summary())

	// 3. generate
	t = time.Now()
	end := timerange.ClosedEnd(o.Now, maxDelay(a))
	st, err := generate.Generate(ctx, e, def, generate.Options{Events: o.Events, Days: o.Days, Seed: o.Seed, End: end})
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	res.Data = st
	res.Range = timerange.Range{Start: st.Start, End: st.End}
	step("generate", t, "%d events, %d sessions over %s: %s events/s", st.Events, st.Sessions, res.Range, estimate.Count(uint64(st.EventsPerSecond)))

	// 4. backfill every rollup, 5. validate it
	runner := populate.New(e, store, a, populate.Options{Events: o.Backfill})
	res.Exact = true
	for _, ra := range a.Rollups {
		name := ra.Rollup.Name
		t = time.Now()
		rep, err := runner.Backfill(ctx, name, res.Range, populate.BackfillOptions{Parallel: 1})
		if o.BackfillDone != nil {
			o.BackfillDone()
		}
		if err != nil {
			return res, fmt.Errorf("backfill %s: %w", name, err)
		}
		rr := RollupResult{Rollup: name, Source: ra.Rollup.Source, Units: rep.Units, BackfillDur: time.Since(t).Seconds()}
		if rr.RawRows, err = count(ctx, e, def.Database, ra.Rollup.Source, ra.Rollup.TimeColumn, res.Range); err != nil {
			return res, err
		}
		if rr.RollupRows, err = count(ctx, e, def.Database, ra.Table, pipes.HourColumn, res.Range); err != nil {
			return res, err
		}
		if rr.RollupRows > 0 {
			rr.Reduction = float64(rr.RawRows) / float64(rr.RollupRows)
		}
		step("backfill", t, "%s: %d units, %d raw rows → %d rollup rows (%s×)", name, rep.Units, rr.RawRows, rr.RollupRows, ratio(rr.Reduction))
		t = time.Now()
		vr, err := validate.Run(ctx, e, a, name, validate.Options{Range: res.Range, Now: o.Now})
		if err != nil {
			return res, fmt.Errorf("validate %s: %w", name, err)
		}
		rr.Validation, rr.Exact, rr.ValidateDur = vr.Summary(), vr.Exact, time.Since(t).Seconds()
		res.Exact = res.Exact && vr.Exact
		res.Rollups = append(res.Rollups, rr)
		step("validate", t, "%s", vr.Summary())
	}
	if !res.Exact {
		res.Duration = time.Since(began)
		_ = res.save()
		return res, fmt.Errorf("%w: the endpoints stay on their raw versions", ErrNotExact)
	}

	// 6. switch the endpoints to their rollups (each switch validates its rollup again over
	// the last 7 days, as the command does).
	for _, ea := range a.Endpoints {
		t = time.Now()
		sr, err := endpoints.Switch(ctx, e, store, a, ea.Endpoint.Name, endpoints.TargetRollup, endpoints.SwitchOptions{Now: o.Now, Actor: "hourglass demo"})
		if err != nil {
			return res, fmt.Errorf("switch %s: %w", ea.Endpoint.Name, err)
		}
		res.Switched[ea.Endpoint.Name] = sr.Table
		step("switch", t, "%s now reads %s (%s)", ea.Endpoint.Name, sr.Table, sr.Validation)
	}

	// 7. the estimate of the plan's wide rollup, reported as it is.
	t = time.Now()
	if a.Rollup("events_hourly") != nil {
		rep, err := estimate.Estimate(ctx, e, a, "events_hourly", res.Range)
		if err != nil {
			return res, fmt.Errorf("estimate events_hourly: %w", err)
		}
		rep.Dimensions = rep.Dimensions[:min(3, len(rep.Dimensions))]
		res.Estimate, res.Warning = rep, estimate.Warn(rep)
		step("estimate", t, "%s", res.EstimateLine())
	}

	// 8. the table: every endpoint unfiltered and for the busiest tenant, each period.
	t = time.Now()
	exact, err := ExactVariant(def)
	if err != nil {
		return res, err
	}
	tenants, err := TenantsBySize(ctx, e, def.Database)
	if err != nil {
		return res, err
	}
	filters := []map[string]string{nil}
	if len(tenants) > 0 {
		filters = append(filters, map[string]string{"campaign_id": tenants[0]})
	}
	for _, ea := range a.Endpoints {
		for _, fl := range filters {
			if fl != nil && ea.Endpoint.Param("campaign_id") == nil {
				continue
			}
			for _, p := range periods {
				rg := res.Range
				if p.d > 0 && rg.End.Add(-p.d).After(rg.Start) {
					rg.Start = rg.End.Add(-p.d)
				}
				l, err := Measure(ctx, e, a, exact, ea.Endpoint.Name, rg, fl, o.Runs)
				if err != nil {
					return res, err
				}
				l.Period = p.name
				res.Table = append(res.Table, *l)
			}
		}
	}
	step("measure", t, "%d endpoint × tenant × period lines, %d timed runs per side", len(res.Table), o.Runs)
	res.judge()
	res.Duration = time.Since(began)
	return res, res.save()
}

// maxDelay is the longest close delay of the project's rollups.
func maxDelay(a *pipes.Artifacts) time.Duration {
	d := time.Duration(0)
	for _, ra := range a.Rollups {
		d = max(d, ra.Rollup.Delay)
	}
	return d
}

func prepareDir(dir string, force bool) error {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return err
	case len(ents) == 0:
		return nil
	case !force:
		return fmt.Errorf("%s: %w (the demo starts from a fresh project): pass --force-new to delete its contents, or --dir NEW", dir, ErrNotEmpty)
	}
	// --force-new only ever deletes an hourglass project (a previous demo), never an
	// arbitrary folder someone pointed --dir at.
	if _, err := os.Stat(filepath.Join(dir, datasources.ProjectFile)); err != nil {
		return fmt.Errorf("%s: %w and holds no %s, so --force-new will not delete it: pass --dir NEW", dir, ErrNotEmpty, datasources.ProjectFile)
	}
	for _, de := range ents {
		if err := os.RemoveAll(filepath.Join(dir, de.Name())); err != nil {
			return err
		}
	}
	return nil
}

// count counts the rows of table with column in range rg.
func count(ctx context.Context, e engine.Engine, db, table, column string, rg timerange.Range) (uint64, error) {
	r, err := e.Query(ctx, pipes.CountInRange(db, table, column), engine.Params{pipes.StartParam: rg.Start, pipes.EndParam: rg.End})
	if err != nil {
		return 0, fmt.Errorf("count %s.%s: %w", db, table, err)
	}
	n, _ := r.Row()[0].(uint64)
	return n, nil
}

// Measure runs an endpoint's raw version and its served version (the planned read of its
// rollup) over rg with filters (nil: unfiltered): one comparison (which also warms both up),
// then runs timed runs of each side, alternating. With exact (the project compiled with every
// distinct count as uniq_exact, see ExactVariant) it also measures the served distinct counts'
// error. Period is left for the caller to name.
func Measure(ctx context.Context, e engine.Engine, a, exact *pipes.Artifacts, endpoint string, rg timerange.Range, filters map[string]string, runs int) (*Line, error) {
	ra := a.Rollup(a.Endpoint(endpoint).Endpoint.Rollup)
	params := map[string]string{pipes.StartParam: timerange.Format(rg.Start), pipes.EndParam: timerange.Format(rg.End)}
	tenant := []string{}
	for k, v := range filters {
		params[k] = v
		tenant = append(tenant, k+"="+v)
	}
	sort.Strings(tenant)
	c, err := endpoints.Compare(ctx, e, a, endpoint, params, endpoints.CompareOptions{})
	if err != nil {
		return nil, fmt.Errorf("compare %s over %s: %w", endpoint, rg, err)
	}
	l := &Line{Endpoint: endpoint, Range: rg, Equal: c.Equal, Filters: filters, Tenant: "all", Plan: c.Rollup.Plan.Summary()}
	if len(tenant) > 0 {
		l.Tenant = strings.Join(tenant, " ")
	}
	l.Raw.Table = ident.Qualified(a.Project.Database, ra.Rollup.Source)
	l.Rollup.Table = ident.Qualified(a.Project.Database, ra.Table)
	// What the metadata says is read once, as a server reuses it between calls (see
	// httpapi.ProjectRunner.Reuse): the timed runs are the plan and its query.
	served, err := endpoints.Resolve(ctx, e, nil, a, endpoint)
	if err != nil {
		return nil, err
	}
	var rawRows, rollRows, rawBytes, rollBytes []uint64
	for range runs {
		for _, side := range []string{endpoints.SideRaw, endpoints.SideRollup} {
			r, err := endpoints.RunWith(ctx, e, a, endpoint, params, endpoints.RunOptions{Side: side, Served: served})
			if err != nil {
				return nil, err
			}
			if side == endpoints.SideRaw {
				l.Raw.Latencies = append(l.Raw.Latencies, r.Wall)
				rawRows, rawBytes = append(rawRows, r.Stats.RowsRead), append(rawBytes, r.Stats.BytesRead)
			} else {
				l.Rollup.Latencies = append(l.Rollup.Latencies, r.Wall)
				rollRows, rollBytes = append(rollRows, r.Stats.RowsRead), append(rollBytes, r.Stats.BytesRead)
			}
		}
	}
	l.Raw.RowsRead, l.Raw.BytesRead, l.Raw.Latency = Median(rawRows), Median(rawBytes), Median(l.Raw.Latencies)
	l.Rollup.RowsRead, l.Rollup.BytesRead, l.Rollup.Latency = Median(rollRows), Median(rollBytes), Median(l.Rollup.Latencies)
	if l.Raw.RowsInRange, err = count(ctx, e, a.Project.Database, ra.Rollup.Source, ra.Rollup.TimeColumn, rg); err != nil {
		return nil, err
	}
	if l.Rollup.RowsInRange, err = count(ctx, e, a.Project.Database, ra.Table, pipes.HourColumn, rg); err != nil {
		return nil, err
	}
	if l.Raw.RowsRead > 0 {
		l.Reduction = 100 * (1 - float64(l.Rollup.RowsRead)/float64(l.Raw.RowsRead))
	}
	if l.Rollup.RowsRead > 0 {
		l.RowsFactor = float64(l.Raw.RowsRead) / float64(l.Rollup.RowsRead)
	}
	if l.Rollup.Latency > 0 {
		l.Speedup = float64(l.Raw.Latency) / float64(l.Rollup.Latency)
	}
	if exact != nil {
		if l.DistinctError, err = distinctError(ctx, e, a, exact, endpoint, params, c.Rollup); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// ExactVariant compiles project def with every distinct count (uniq, uniq_combined; uniq_if)
// counted exactly (uniq_exact; count_distinct_if): its raw versions give the exact counts the
// served ones are measured against.
func ExactVariant(def *datasources.Project) (*pipes.Artifacts, error) {
	p := *def
	p.Rollups = nil
	for _, r := range def.Rollups {
		c := *r
		c.Metrics = nil
		for _, m := range r.Metrics {
			x := *m
			switch m.Kind {
			case datasources.MetricUniq, datasources.MetricUniqCombined:
				x.Kind, x.Precision = datasources.MetricUniqExact, 0
			case datasources.MetricUniqIf:
				x.Kind = datasources.MetricCountDistinctIf
			}
			c.Metrics = append(c.Metrics, &x)
		}
		p.Rollups = append(p.Rollups, &c)
	}
	return pipes.Compile(&p)
}

// distinctError runs the endpoint's raw version with exact distinct counts (from exact) and
// returns the largest relative error of served's distinct-count columns against it, rows
// matched on their other columns' values.
func distinctError(ctx context.Context, e engine.Engine, a, exact *pipes.Artifacts, endpoint string, params map[string]string, served *endpoints.RunResult) (float64, error) {
	ra := a.Rollup(a.Endpoint(endpoint).Endpoint.Rollup)
	distinct := map[int]bool{}
	for i, col := range served.Columns {
		if m := ra.Rollup.Metric(col.Name); m != nil && pipes.DistinctFunction(m) != "" && m.Kind != datasources.MetricUniqExact && m.Kind != datasources.MetricCountDistinctIf {
			distinct[i] = true
		}
	}
	if len(distinct) == 0 {
		return 0, nil
	}
	ref, err := endpoints.RunWith(ctx, e, exact, endpoint, params, endpoints.RunOptions{Side: endpoints.SideRaw})
	if err != nil {
		return 0, fmt.Errorf("%s with exact distinct counts: %w", endpoint, err)
	}
	key := func(row []any) string {
		var k []string
		for i, v := range row {
			// Rows match on their keys: neither metrics nor derived metrics (computed from
			// distinct counts, they differ with them).
			if n := served.Columns[i].Name; !distinct[i] && ra.Rollup.Metric(n) == nil && ra.Rollup.DerivedMetric(n) == nil {
				k = append(k, fmt.Sprint(v))
			}
		}
		return strings.Join(k, "\x00")
	}
	want := map[string][]any{}
	for _, row := range ref.Rows {
		want[key(row)] = row
	}
	worst := 0.0
	for _, row := range served.Rows {
		w, ok := want[key(row)]
		if !ok {
			return 0, fmt.Errorf("%s: served row %v has no exact counterpart", endpoint, row)
		}
		for i := range distinct {
			got, _ := row[i].(uint64)
			exactN, _ := w[i].(uint64)
			if exactN > 0 {
				worst = max(worst, math.Abs(float64(got)-float64(exactN))/float64(exactN))
			}
		}
	}
	return worst, nil
}

// Median returns the median of xs (the lower middle for an even count); zero when empty.
func Median[T ~int64 | ~uint64 | ~float64](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := append([]T(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)/2]
}

// TenantsBySize returns the campaigns of the events table, the one with the most events first.
func TenantsBySize(ctx context.Context, e engine.Engine, db string) ([]string, error) {
	r, err := e.Query(ctx, "SELECT campaign_id FROM "+ident.Qualified(db, "events")+" GROUP BY campaign_id ORDER BY count() DESC, campaign_id", nil)
	if err != nil {
		return nil, fmt.Errorf("list the campaigns: %w", err)
	}
	var out []string
	for _, row := range r.Rows {
		out = append(out, fmt.Sprint(row[0]))
	}
	return out, nil
}

// Targets of issue 15, at 30 days and all time, unfiltered and for a tenant.
const (
	TargetRowsFactor     = 100 // events endpoints read ≥ 100× fewer rows than raw
	TargetSpeedup        = 10  // events endpoints ≥ 10× faster than raw
	TargetAudienceSpeed  = 5   // audience_breakdown ≥ 5× faster
	TargetAllTimeLatency = 100 * time.Millisecond
)

// Judge checks the lines against the targets and returns, per target, whether every
// line met it and which did not.
func Judge(lines []Line) map[string]TargetResult {
	rows, speed, audience, fast, equal := TargetResult{Met: true}, TargetResult{Met: true}, TargetResult{Met: true}, TargetResult{Met: true}, TargetResult{Met: true}
	miss := func(t *TargetResult, l Line, format string, args ...any) {
		t.Met = false
		t.Detail += fmt.Sprintf("%s %s %s: ", l.Endpoint, l.Tenant, l.Period) + fmt.Sprintf(format, args...) + "; "
	}
	for _, l := range lines {
		if !l.Equal {
			miss(&equal, l, "served rows differ from raw")
		}
		if l.Period == "7d" {
			continue
		}
		if l.Endpoint == "audience_breakdown" {
			if l.Speedup < TargetAudienceSpeed {
				miss(&audience, l, "%.1f×", l.Speedup)
			}
		} else {
			if l.RowsFactor < TargetRowsFactor {
				miss(&rows, l, "%.0f×", l.RowsFactor)
			}
			if l.Speedup < TargetSpeedup {
				miss(&speed, l, "%.1f×", l.Speedup)
			}
		}
		if l.Period == "all" && l.Rollup.Latency >= TargetAllTimeLatency {
			miss(&fast, l, "%s", l.Rollup.Latency.Round(time.Millisecond))
		}
	}
	return map[string]TargetResult{
		"rows_100x": rows, "latency_10x": speed, "audience_5x": audience,
		"all_time_under_100ms": fast, "served_equals_raw": equal,
	}
}

// judge records the endpoint targets and whether every rollup was exact.
func (r *Result) judge() {
	r.Targets = Judge(r.Table)
	r.Targets["exact"] = TargetResult{Met: r.Exact}
}

func (r *Result) save() error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(r.Dir, ResultsFile), append(b, '\n'), 0o644)
}

// EstimateLine is the advisor's verdict on events_hourly in one line.
func (r *Result) EstimateLine() string {
	if r.Estimate == nil {
		return ""
	}
	x := r.Estimate
	s := fmt.Sprintf("estimate events_hourly (the plan's wide rollup): %s raw rows → %s rollup rows (%.1f rows per hour), reduction %s×",
		estimate.Count(x.RawRows), estimate.Count(x.RollupRows), x.RowsPerHour, ratio(x.Reduction))
	if len(x.Dimensions) > 0 {
		s += fmt.Sprintf("; %s inflates it most (×%s)", x.Dimensions[0].Name, ratio(x.Dimensions[0].Inflation))
	}
	return s
}

// WriteText writes the result for people: the rollups, the estimate line and the table.
func (r *Result) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "\nhourglass demo: %d events and %d sessions over %s, ClickHouse %s\n\n",
		r.Data.Events, r.Data.Sessions, r.Range, r.Engine)
	fmt.Fprintf(w, "%-24s %-9s %12s %12s %10s  %s\n", "rollup", "source", "raw rows", "rollup rows", "reduction", "validation")
	for _, rr := range r.Rollups {
		fmt.Fprintf(w, "%-24s %-9s %12d %12d %9s×  %s\n", rr.Rollup, rr.Source, rr.RawRows, rr.RollupRows, ratio(rr.Reduction), rr.Validation)
	}
	fmt.Fprintf(w, "\n%s\n", r.EstimateLine())
	if r.Warning != "" {
		fmt.Fprintf(w, "warning: %s\n", r.Warning)
	}
	fmt.Fprintf(w, "\nExpected QPS Reduction, measured (rows read and median latency of %d interleaved runs; raw vs the served planned read):\n\n", r.Runs)
	WriteTable(w, r.Table)
	fmt.Fprintln(w)
	names := make([]string, 0, len(r.Targets))
	for k := range r.Targets {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := r.Targets[k]
		verdict := "met"
		if !v.Met {
			verdict = "NOT met: " + v.Detail
		}
		fmt.Fprintf(w, "target %-21s %s\n", k, verdict)
	}
	_, err := fmt.Fprintf(w, "\ndone in %s; results in %s\n", r.Duration.Round(time.Second), filepath.Join(r.Dir, ResultsFile))
	return err
}

// WriteTable writes the measured lines as an aligned text table.
func WriteTable(w io.Writer, lines []Line) {
	fmt.Fprintf(w, "%-22s %-21s %-6s %10s %8s %8s %9s %9s %8s %8s  %s\n", "endpoint", "tenant", "period", "raw rows", "served", "fewer", "raw", "served", "speed-up", "dc error", "plan")
	for _, l := range lines {
		fmt.Fprintf(w, "%-22s %-21s %-6s %10d %8d %7.0f× %9s %9s %7.1f× %7.2f%%  %s\n", l.Endpoint, l.Tenant, l.Period, l.Raw.RowsRead, l.Rollup.RowsRead,
			l.RowsFactor, ms(l.Raw.Latency), ms(l.Rollup.Latency), l.Speedup, 100*l.DistinctError, l.Plan)
	}
}

// MarkdownTable renders the measured lines as a Markdown table.
func MarkdownTable(lines []Line) string {
	var b strings.Builder
	b.WriteString("| endpoint | tenant | period | raw rows read | served rows read | fewer rows | raw | served | speed-up | dc error | plan |\n")
	b.WriteString("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, l := range lines {
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %.0f× | %s | %s | %.1f× | %.2f %% | %s |\n", l.Endpoint, l.Tenant, l.Period, l.Raw.RowsRead, l.Rollup.RowsRead,
			l.RowsFactor, ms(l.Raw.Latency), ms(l.Rollup.Latency), l.Speedup, 100*l.DistinctError, l.Plan)
	}
	return b.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

func ratio(x float64) string {
	if x >= 100 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.1f", x)
}
