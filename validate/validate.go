// Package validate proves a rollup returns the same numbers as its raw datasource: it computes
// every metric of the rollup twice over the same closed hours — from the raw table with the
// rollup's own definitions and from the rollup with its read queries
// (RollupArtifacts.MetricsQuery, on the deployed version's table) — per bucket and, when asked,
// per dimension value, and diffs them inside the engine: one query joins both sides and returns
// only the totals and the first mismatching values (pipes.DiffQuery), so validating the whole
// history costs what the two aggregations cost. CompareQueries runs the same comparison on any
// two queries (an endpoint against the user's current query).
//
// Counts, integer sums, min/max and distinct counts from merged states must match exactly;
// float sums and averages within a relative tolerance (DefaultTolerance unless overridden per
// metric); quantiles within their stated tolerance (pipes.QuantileTolerance); any and
// any_last must be one of the values of their group. Derived metrics are proven through
// their inputs. A bucket present on one side only is a mismatch too: a coverage gap. The hour that
// is still open (not yet closed by the rollup's delay) is never compared, and a partition a
// crashed run may have doubled is never reported exact. ReadHistory says which hours a rollup
// version holds, from the run log and watermark of its table.
package validate

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

// DefaultTolerance is the relative tolerance of float sums and averages.
const DefaultTolerance = 1e-9

// DefaultMaxMismatches is how many mismatches a report lists when Options.MaxMismatches is 0.
const DefaultMaxMismatches = 20

// Options say what to compare.
type Options struct {
	// Range is the range to compare; its end is clipped to the last closed hour.
	Range timerange.Range
	// By is the bucket: "hour" (default) or "day".
	By string
	// Dimensions are the dimensions to compare per value (none: per bucket only).
	Dimensions []string
	// Tolerance overrides the relative tolerance per metric name. Metrics not named use
	// DefaultTolerance when they are float sums or averages and are exact otherwise.
	Tolerance map[string]float64
	// Now is the clock that decides which hours are closed (time.Now when zero).
	Now time.Time
	// MaxMismatches is how many mismatches the report lists (DefaultMaxMismatches when 0,
	// all of them when negative). All are counted.
	MaxMismatches int
	// Store is hourglass's metadata; with it, partitions a crashed unit may have doubled are
	// never reported exact (see Report.Suspect). Nil skips that check.
	Store *meta.Store
	// Grain validates one of the rollup's grain tables (day, week) instead of its hourly
	// table: per period of the grain, over the whole periods of Range.
	Grain datasources.Grain
}

// Mismatch kinds.
const (
	// KindValue is a metric whose value differs between raw and rollup.
	KindValue = "value"
	// KindMissingInRollup is a bucket (and dimension values) the raw table has and the rollup
	// lacks: a coverage gap.
	KindMissingInRollup = "missing_in_rollup"
	// KindMissingInRaw is a bucket the rollup has and the raw table lacks.
	KindMissingInRaw = "missing_in_raw"
)

// Mismatch is one metric value that differs.
type Mismatch struct {
	Kind   string    `json:"kind"`
	Bucket time.Time `json:"bucket"`
	// Dimensions are the dimension values of the row (Report.Dimensions), as text.
	Dimensions map[string]string `json:"dimensions,omitempty"`
	Metric     string            `json:"metric"`
	// Raw and Rollup are the two values; nil on the side that lacks the row.
	Raw    any `json:"raw"`
	Rollup any `json:"rollup"`
	// Difference is rollup − raw for numeric values (0 otherwise).
	Difference float64 `json:"difference"`
	// RelativeError is |rollup − raw| / max(|raw|, |rollup|): 1 for a missing row or a
	// non-numeric difference.
	RelativeError float64 `json:"relative_error"`
	// Tolerance is the relative tolerance the metric was held to (0: exact).
	Tolerance float64 `json:"tolerance"`
	// Reference names the side Raw holds when it is not the raw table (e.g. "current", the
	// user's current query); Rollup then holds what the endpoint serves.
	Reference string `json:"reference,omitempty"`
}

// Report is the result of a validation.
type Report struct {
	Rollup string `json:"rollup"`
	// Requested is the range asked for; Range is the range compared (clipped to closed hours).
	Requested timerange.Range `json:"requested"`
	Range     timerange.Range `json:"range"`
	// OpenHourExcluded says the requested end reached into hours that are not closed yet;
	// Note says so in words.
	OpenHourExcluded bool   `json:"open_hour_excluded"`
	Note             string `json:"note,omitempty"`
	By               string `json:"by"`
	// Dimensions are the dimensions compared per value; Metrics every metric compared, with
	// the relative tolerance each was held to in Tolerance (0: exact).
	Dimensions []string           `json:"dimensions"`
	Metrics    []string           `json:"metrics"`
	Tolerance  map[string]float64 `json:"tolerance"`
	Differences
	// Suspect are the partitions in Range that a unit left unfinished by a process that died
	// may have doubled: while there is one, the report is never exact.
	Suspect []timerange.Range `json:"suspect"`
	// Stats is what the comparison read: both sides are computed and diffed inside the engine,
	// in one query.
	Stats engine.Stats `json:"stats"`
	// Elapsed is the wall time of the whole validation.
	Elapsed time.Duration `json:"elapsed_ns"`
	// Exact is true when nothing differs.
	Exact bool `json:"exact"`
	// SQL are the two queries compared and the query comparing them (the one that runs), with
	// {start:DateTime} and {end:DateTime} bound to Range.
	SQL struct {
		Raw    string `json:"raw"`
		Rollup string `json:"rollup"`
		Diff   string `json:"diff"`
	} `json:"sql"`
}

// Differences are the totals of a comparison and the first mismatches it found.
type Differences struct {
	// Buckets is the number of distinct buckets seen on either side; Rows the number of
	// (bucket, dimension values) keys; Values = Rows × metrics.
	Buckets int `json:"buckets"`
	Rows    int `json:"rows"`
	Values  int `json:"values"`
	// MismatchCount counts every mismatching value; Mismatches lists the first of them
	// (Truncated when there are more).
	MismatchCount int        `json:"mismatch_count"`
	Mismatches    []Mismatch `json:"mismatches"`
	Truncated     bool       `json:"truncated"`
	// MismatchesByMetric counts mismatching values per metric.
	MismatchesByMetric map[string]int `json:"mismatches_by_metric"`
	// LargestRelativeError is the largest relative error over all values (0 when exact),
	// seen on LargestMetric.
	LargestRelativeError float64 `json:"largest_relative_error"`
	LargestMetric        string  `json:"largest_metric,omitempty"`
}

// Status is "EXACT", "MISMATCH", or "SUSPECT" when only suspect partitions keep it from exact.
func (r *Report) Status() string {
	switch {
	case r.Exact:
		return "EXACT"
	case r.MismatchCount == 0 && len(r.Suspect) > 0:
		return "SUSPECT"
	}
	return "MISMATCH"
}

// Summary is the one-line verdict, e.g.
// "events_hourly: EXACT — 720 buckets × 6 metrics over [2026-11-01 00:00:00, 2026-12-01 00:00:00) in 0.4 s".
func (r *Report) Summary() string {
	what := fmt.Sprintf("%d %s buckets", r.Buckets, r.By)
	if len(r.Dimensions) > 0 {
		what = fmt.Sprintf("%d %s buckets (%d rows by %s)", r.Buckets, r.By, r.Rows, strings.Join(r.Dimensions, ", "))
	}
	s := fmt.Sprintf("%s: %s — ", r.Rollup, r.Status())
	if r.MismatchCount > 0 {
		s += fmt.Sprintf("%d of %d values differ; ", r.MismatchCount, r.Values)
	}
	if len(r.Suspect) > 0 {
		s += fmt.Sprintf("%d partition(s) may be doubled by a unit a crashed run left unfinished (%s): run hourglass populate or backfill over them; ",
			len(r.Suspect), joinRanges(r.Suspect))
	}
	s += fmt.Sprintf("%s × %d metrics over %s in %.1f s", what, len(r.Metrics), r.Range, r.Elapsed.Seconds())
	if r.MismatchCount > 0 && r.LargestMetric != "" {
		s += fmt.Sprintf("; largest relative error %.3g (%s)", r.LargestRelativeError, r.LargestMetric)
	}
	return s
}

// Run validates rollup over opts.Range on engine e. It returns an error only when it cannot
// compare (unknown rollup, bad options, a query that fails); mismatches are in the report.
func Run(ctx context.Context, e engine.Engine, a *pipes.Artifacts, rollup string, opts Options) (*Report, error) {
	started := time.Now()
	ra := a.Rollup(rollup)
	if ra == nil {
		var names []string
		for _, r := range a.Rollups {
			names = append(names, r.Rollup.Name)
		}
		return nil, fmt.Errorf("unknown rollup %q: the project has %s", rollup, strings.Join(names, ", "))
	}
	r := ra.Rollup
	by := opts.By
	if by == "" {
		by = "hour"
	}
	if by != "hour" && by != "day" {
		return nil, fmt.Errorf("--by %q: use hour or day", opts.By)
	}
	for _, d := range opts.Dimensions {
		if r.Dimension(d) == nil {
			return nil, fmt.Errorf("rollup %s has no dimension %q: it has %s", r.Name, d, strings.Join(dimensionNames(r), ", "))
		}
	}
	if slices.Contains(opts.Dimensions, by) {
		return nil, fmt.Errorf("dimension %q has the bucket's name", by)
	}
	if err := timerange.Check(opts.Range, timerange.Options{AllowFuture: true}); err != nil {
		return nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	rep := &Report{
		Rollup: r.Name, Requested: opts.Range, Range: opts.Range, By: by,
		Dimensions: append([]string{}, opts.Dimensions...), Tolerance: map[string]float64{},
		Differences: Differences{MismatchesByMetric: map[string]int{}, Mismatches: []Mismatch{}}, Suspect: []timerange.Range{},
	}
	closed := ClosedEnd(ra, now)
	if rep.Range.End.After(closed) {
		rep.Range.End = closed
		rep.OpenHourExcluded = true
		rep.Note = fmt.Sprintf("hours from %s on are not closed yet (now %s, delay %s): compared up to %s",
			timerange.Format(closed), timerange.Format(now), r.Delay, timerange.Format(closed))
		if !rep.Range.Start.Before(rep.Range.End) {
			return nil, fmt.Errorf("nothing to compare: %s starts after the last closed hour, which ends at %s (now %s, delay %s)",
				opts.Range, timerange.Format(closed), timerange.Format(now), r.Delay)
		}
	}

	tol, err := tolerances(ra, opts.Tolerance)
	if err != nil {
		return nil, err
	}
	var values []pipes.DiffValue
	for _, m := range r.Metrics {
		rep.Metrics = append(rep.Metrics, m.Name)
		v, _ := ra.MetricValue(m.Name)
		v.Tolerance = tol[m.Name]
		values = append(values, v)
	}
	rep.Tolerance = tol

	rawQ, rollQ, err := rep.queries(ra, opts)
	if err != nil {
		return nil, err
	}
	by = rep.By
	rep.SQL.Raw, rep.SQL.Rollup = rawQ, rollQ
	qr, err := CompareQueries(ctx, e, QueryComparison{
		Reference: rawQ, Candidate: rollQ, Params: engine.Params{pipes.StartParam: rep.Range.Start, pipes.EndParam: rep.Range.End},
		Bucket: by, Keys: opts.Dimensions, Values: values, MaxMismatches: opts.MaxMismatches,
	})
	if err != nil {
		return nil, fmt.Errorf("compare %s with the raw table %s: %w", r.Name, r.Source, err)
	}
	rep.Differences, rep.Stats, rep.SQL.Diff = qr.Differences, qr.Stats, qr.SQL
	if err := rep.checkSuspect(ctx, opts.Store, ra); err != nil {
		return nil, err
	}
	rep.Exact = rep.MismatchCount == 0 && len(rep.Suspect) == 0
	rep.Elapsed = time.Since(started)
	return rep, nil
}

// queries returns the raw and rollup queries a validation compares: the hourly table's per
// bucket, or with opts.Grain the grain table's per period over the whole periods of the range
// (rep.Range and rep.By follow).
func (rep *Report) queries(ra *pipes.RollupArtifacts, opts Options) (raw, rollup string, err error) {
	if opts.Grain == "" {
		if raw, err = ra.MetricsQuery(pipes.SideReference, rep.By, opts.Dimensions, rep.Metrics); err != nil {
			return "", "", err
		}
		rollup, err = ra.MetricsQuery(pipes.SideRollup, rep.By, opts.Dimensions, rep.Metrics)
		return raw, rollup, err
	}
	ga := ra.Grain(opts.Grain)
	if ga == nil {
		return "", "", fmt.Errorf("rollup %s has no grain %q: add it to its grains (grains: [day, week]), or leave --grain out", ra.Rollup.Name, opts.Grain)
	}
	whole := ga.WholePeriods(rep.Range)
	if whole.Empty() {
		return "", "", fmt.Errorf("--grain %s: %s holds no whole %s of closed hours: give a longer range", opts.Grain, rep.Range, opts.Grain)
	}
	rep.Range, rep.By, rep.Rollup = whole, string(opts.Grain), ga.Table
	if raw, err = ga.MetricsQuery(pipes.SideReference, opts.Dimensions, rep.Metrics); err != nil {
		return "", "", err
	}
	rollup, err = ga.MetricsQuery(pipes.SideRollup, opts.Dimensions, rep.Metrics)
	return raw, rollup, err
}

func dimensionNames(r *datasources.Rollup) []string {
	var out []string
	for _, d := range r.Dimensions {
		out = append(out, d.Name)
	}
	return out
}

// ClosedEnd is the end of the last hour of rollup ra that is final at now: the last closed
// hour, or for a rollup over a rollup (sessions from events) the last hour whose entities can
// no longer change — an entity starting in hour h may take rows until h + 1h + span.
func ClosedEnd(ra *pipes.RollupArtifacts, now time.Time) time.Time {
	return timerange.ClosedEnd(now, ra.Rollup.Delay).Add(-ra.Rollup.Span)
}

// tolerances returns the relative tolerance of every metric: the override when given, else
// DefaultTolerance for float sums and averages and 0 (exact) for everything else.
func tolerances(ra *pipes.RollupArtifacts, override map[string]float64) (map[string]float64, error) {
	out := map[string]float64{}
	for _, m := range ra.Rollup.Metrics {
		v, _ := ra.MetricValue(m.Name)
		out[m.Name] = v.Tolerance
		if v.Float && v.Tolerance < DefaultTolerance {
			out[m.Name] = DefaultTolerance
		}
	}
	names := make([]string, 0, len(override))
	for n := range override {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := override[n]
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("--tolerance %s: rollup %s has no metric %q (metrics: %s)", n, ra.Rollup.Name, n, strings.Join(metricNames(ra.Rollup), ", "))
		}
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("--tolerance %s=%v: a relative tolerance is a number ≥ 0, e.g. 1e-6", n, v)
		}
		if mv, _ := ra.MetricValue(n); v > 0 && !mv.Numeric {
			return nil, fmt.Errorf("--tolerance %s: metric %s is not a number, so it is compared exactly", n, n)
		}
		out[n] = v
	}
	return out, nil
}

func metricNames(r *datasources.Rollup) []string {
	var out []string
	for _, m := range r.Metrics {
		out = append(out, m.Name)
	}
	return out
}

func relativeError(a, b any) (rel, diff float64, numeric bool) {
	fa, oka := toFloat(a)
	fb, okb := toFloat(b)
	if !oka || !okb {
		return 0, 0, false
	}
	diff = fb - fa
	den := math.Max(math.Abs(fa), math.Abs(fb))
	if diff == 0 || den == 0 {
		return 0, diff, true
	}
	rel = math.Abs(diff) / den
	if math.IsNaN(rel) || math.IsInf(rel, 0) {
		rel = 1
	}
	return rel, diff, true
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

// FormatValue renders a metric or dimension value as text: NULL, strings as they are, times
// as UTC "2006-01-02 15:04:05", floats in full precision.
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return x
	case time.Time:
		return timerange.Format(x)
	case float64:
		return formatFloat(x)
	}
	return fmt.Sprint(v)
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
