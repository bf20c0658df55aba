// Package validate proves a rollup returns the same numbers as its raw datasource: it computes
// every metric of the rollup twice over the same closed hours — from the raw table with the
// rollup's own definitions and from the rollup with its read queries (RollupArtifacts.MetricsQuery, on the deployed version's table) — per
// bucket and, when asked, per dimension value, and diffs them.
//
// Counts, integer sums, min/max and distinct counts from merged states must match exactly;
// float sums and averages within a relative tolerance (DefaultTolerance unless overridden per
// metric). A bucket present on one side only is a mismatch too: a coverage gap. The hour that
// is still open (not yet closed by the rollup's delay) is never compared.
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

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hourglass-dev/hourglass/chtype"
	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
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
	// Raw and RollupStats are what each side's query read.
	RawStats    engine.Stats `json:"raw_stats"`
	RollupStats engine.Stats `json:"rollup_stats"`
	// Elapsed is the wall time of the whole validation.
	Elapsed time.Duration `json:"elapsed_ns"`
	// Exact is true when nothing differs.
	Exact bool `json:"exact"`
	// SQL are the two queries compared, with {start:DateTime} and {end:DateTime} bound to Range.
	SQL struct {
		Raw    string `json:"raw"`
		Rollup string `json:"rollup"`
	} `json:"sql"`
}

// Status is "EXACT" or "MISMATCH".
func (r *Report) Status() string {
	if r.Exact {
		return "EXACT"
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
	if !r.Exact {
		s += fmt.Sprintf("%d of %d values differ; ", r.MismatchCount, r.Values)
	}
	s += fmt.Sprintf("%s × %d metrics over %s in %.1f s", what, len(r.Metrics), r.Range, r.Elapsed.Seconds())
	if !r.Exact && r.LargestMetric != "" {
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
		MismatchesByMetric: map[string]int{}, Mismatches: []Mismatch{},
	}
	closed := timerange.ClosedEnd(now, r.Delay)
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
	for _, m := range r.Metrics {
		rep.Metrics = append(rep.Metrics, m.Name)
	}
	rep.Tolerance = tol

	rawQ, err := ra.MetricsQuery(pipes.SideRaw, by, opts.Dimensions, rep.Metrics)
	if err != nil {
		return nil, err
	}
	rollQ, err := ra.MetricsQuery(pipes.SideRollup, by, opts.Dimensions, rep.Metrics)
	if err != nil {
		return nil, err
	}
	rep.SQL.Raw, rep.SQL.Rollup = rawQ, rollQ
	params := engine.Params{pipes.StartParam: rep.Range.Start, pipes.EndParam: rep.Range.End}
	raw, err := e.Query(ctx, rawQ, params)
	if err != nil {
		return nil, fmt.Errorf("read %s from the raw table %s: %w", r.Name, r.Source, err)
	}
	rolled, err := e.Query(ctx, rollQ, params)
	if err != nil {
		return nil, fmt.Errorf("read the rollup %s: %w", r.Name, err)
	}
	rep.RawStats, rep.RollupStats = raw.Stats, rolled.Stats
	if err := compare(rep, raw, rolled, opts.MaxMismatches); err != nil {
		return nil, err
	}
	rep.Elapsed = time.Since(started)
	return rep, nil
}

func dimensionNames(r *datasources.Rollup) []string {
	var out []string
	for _, d := range r.Dimensions {
		out = append(out, d.Name)
	}
	return out
}

// tolerances returns the relative tolerance of every metric: the override when given, else
// DefaultTolerance for float sums and averages and 0 (exact) for everything else.
func tolerances(ra *pipes.RollupArtifacts, override map[string]float64) (map[string]float64, error) {
	out := map[string]float64{}
	for _, m := range ra.Rollup.Metrics {
		if isFloatMetric(ra, m) {
			out[m.Name] = DefaultTolerance
		} else {
			out[m.Name] = 0
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

// isFloatMetric reports whether a metric is a float sum or an average: the metrics whose
// result depends on the order of additions.
func isFloatMetric(ra *pipes.RollupArtifacts, m *datasources.Metric) bool {
	switch m.Kind {
	case datasources.MetricAvg:
		return true
	case datasources.MetricSum, datasources.MetricSumIf:
		for _, c := range ra.Columns {
			if c.Role == pipes.RoleMetric && c.Metric == m.Name {
				t, err := chtype.Parse(c.Type)
				if err != nil {
					return false
				}
				// SimpleAggregateFunction(sum, T): the stored type is the last argument.
				if t.Name == "SimpleAggregateFunction" && len(t.Args) > 0 {
					t = t.Args[len(t.Args)-1]
				}
				return t.IsFloat()
			}
		}
	}
	return false
}

// row is one side's values for a key.
type row struct {
	bucket time.Time
	dims   []any
	values []any
}

// compare matches the rows of both sides by (bucket, dimension values) and fills rep.
func compare(rep *Report, raw, rolled *engine.Result, maxMismatches int) error {
	nd, nm := len(rep.Dimensions), len(rep.Metrics)
	index := func(res *engine.Result, side string) (map[string]*row, error) {
		if len(res.Columns) != 1+nd+nm {
			return nil, fmt.Errorf("%s query returned %d columns, want %d", side, len(res.Columns), 1+nd+nm)
		}
		out := make(map[string]*row, len(res.Rows))
		for _, r := range res.Rows {
			b, ok := r[0].(time.Time)
			if !ok {
				return nil, fmt.Errorf("%s query: bucket %v is a %T, want a time", side, r[0], r[0])
			}
			k := key(b, r[1:1+nd])
			if _, dup := out[k]; dup {
				return nil, fmt.Errorf("%s query returned the bucket %s twice", side, timerange.Format(b))
			}
			out[k] = &row{bucket: b, dims: r[1 : 1+nd], values: r[1+nd:]}
		}
		return out, nil
	}
	rawRows, err := index(raw, "raw")
	if err != nil {
		return err
	}
	rollRows, err := index(rolled, "rollup")
	if err != nil {
		return err
	}
	keys := map[string]*row{}
	buckets := map[time.Time]bool{}
	for k, r := range rawRows {
		keys[k] = r
		buckets[r.bucket] = true
	}
	for k, r := range rollRows {
		if _, ok := keys[k]; !ok {
			keys[k] = r
		}
		buckets[r.bucket] = true
	}
	ordered := make([]*row, 0, len(keys))
	byRow := map[*row]string{}
	for k, r := range keys {
		ordered = append(ordered, r)
		byRow[r] = k
	}
	sort.Slice(ordered, func(i, j int) bool {
		a, b := ordered[i], ordered[j]
		if !a.bucket.Equal(b.bucket) {
			return a.bucket.Before(b.bucket)
		}
		return byRow[a] < byRow[b]
	})
	rep.Buckets, rep.Rows, rep.Values = len(buckets), len(keys), len(keys)*nm
	limit := maxMismatches
	if limit == 0 {
		limit = DefaultMaxMismatches
	}
	add := func(m Mismatch) {
		rep.MismatchCount++
		rep.MismatchesByMetric[m.Metric]++
		if m.RelativeError > rep.LargestRelativeError {
			rep.LargestRelativeError, rep.LargestMetric = m.RelativeError, m.Metric
		}
		if limit < 0 || len(rep.Mismatches) < limit {
			rep.Mismatches = append(rep.Mismatches, m)
		} else {
			rep.Truncated = true
		}
	}
	for _, r := range ordered {
		k := byRow[r]
		rw, rl := rawRows[k], rollRows[k]
		dims := map[string]string{}
		for i, d := range rep.Dimensions {
			dims[d] = FormatValue(r.dims[i])
		}
		if len(dims) == 0 {
			dims = nil
		}
		for i, metric := range rep.Metrics {
			tol := rep.Tolerance[metric]
			m := Mismatch{Bucket: r.bucket, Dimensions: dims, Metric: metric, Tolerance: tol}
			switch {
			case rw == nil:
				m.Kind, m.Rollup, m.RelativeError = KindMissingInRaw, rl.values[i], 1
				m.Difference, _ = toFloat(rl.values[i])
				add(m)
			case rl == nil:
				m.Kind, m.Raw, m.RelativeError = KindMissingInRollup, rw.values[i], 1
				d, _ := toFloat(rw.values[i])
				m.Difference = -d
				add(m)
			default:
				a, b := rw.values[i], rl.values[i]
				rel, diff, numeric := relativeError(a, b)
				if numeric && rel > rep.LargestRelativeError && rel <= tol {
					// within tolerance: still the largest error seen
					rep.LargestRelativeError, rep.LargestMetric = rel, metric
				}
				if equal(a, b, tol) {
					continue
				}
				m.Kind, m.Raw, m.Rollup, m.Difference, m.RelativeError = KindValue, a, b, diff, rel
				if !numeric {
					m.RelativeError = 1
				}
				add(m)
			}
		}
	}
	rep.Exact = rep.MismatchCount == 0
	return nil
}

// equal compares two values of the same metric: exactly (cmp.Equal) when tol is 0, within a
// relative tolerance for floats otherwise.
func equal(a, b any, tol float64) bool {
	if tol > 0 {
		fa, oka := toFloat(a)
		fb, okb := toFloat(b)
		if oka && okb {
			return cmp.Equal(fa, fb, cmpopts.EquateApprox(tol, 0), cmpopts.EquateNaNs())
		}
	}
	return cmp.Equal(a, b, cmpopts.EquateNaNs())
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

func key(bucket time.Time, dims []any) string {
	var b strings.Builder
	b.WriteString(bucket.UTC().Format(time.RFC3339))
	for _, d := range dims {
		b.WriteByte(0)
		fmt.Fprintf(&b, "%T:%v", d, d)
	}
	return b.String()
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
