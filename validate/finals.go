package validate

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

// Finals validates the finals table an endpoint keeps over the rollup version ra: for each of
// its filter combinations, every row must equal the endpoint's metrics computed from raw rows
// (with the same functions) per bucket, group-by dimension and dimension of the combination,
// over the whole buckets of opts.Range clipped to closed hours. One report sums every
// combination.
func Finals(ctx context.Context, e engine.Engine, ra *pipes.RollupArtifacts, endpoint string, opts Options) (*Report, error) {
	started := time.Now()
	fa := ra.FinalsOf(endpoint)
	if fa == nil {
		return nil, fmt.Errorf("endpoint %s keeps no finals over %s: add finals: true to it", endpoint, ra.Table)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	rg := opts.Range
	if closed := timerange.ClosedEnd(now, ra.Rollup.Delay); rg.End.After(closed) {
		rg.End = closed
	}
	rep := &Report{
		Rollup: fa.Table, Requested: opts.Range, Range: fa.WholeBuckets(rg), By: fa.Bucket, Tolerance: map[string]float64{},
		Differences: Differences{MismatchesByMetric: map[string]int{}, Mismatches: []Mismatch{}}, Suspect: []timerange.Range{},
	}
	if rep.Range.Empty() {
		return nil, fmt.Errorf("finals of %s: %s holds no whole %s of closed hours", endpoint, opts.Range, fa.Bucket)
	}
	tol, err := tolerances(ra, opts.Tolerance)
	if err != nil {
		return nil, err
	}
	var values []pipes.DiffValue
	for _, m := range fa.Metrics() {
		v, _ := ra.MetricValue(m)
		v.Tolerance = tol[m]
		rep.Metrics = append(rep.Metrics, m)
		rep.Tolerance[m] = tol[m]
		values = append(values, v)
	}
	for _, mask := range fa.Combos {
		raw, finals, keys, err := fa.CompareQueries(mask)
		if err != nil {
			return nil, err
		}
		qr, err := CompareQueries(ctx, e, QueryComparison{
			Reference: raw, Candidate: finals, Params: engine.Params{pipes.StartParam: rep.Range.Start, pipes.EndParam: rep.Range.End},
			Bucket: keys[0], Keys: keys[1:], Values: values, MaxMismatches: opts.MaxMismatches,
		})
		if err != nil {
			return nil, fmt.Errorf("compare %s with the raw table %s: %w", fa.Table, ra.Rollup.Source, err)
		}
		rep.add(qr, keys[1:])
		rep.SQL.Raw, rep.SQL.Rollup, rep.SQL.Diff = raw, finals, qr.SQL
	}
	if err := rep.checkSuspect(ctx, opts.Store, ra); err != nil {
		return nil, err
	}
	rep.Exact = rep.MismatchCount == 0 && len(rep.Suspect) == 0
	rep.Elapsed = time.Since(started)
	return rep, nil
}

// add sums one comparison into the report (the buckets counted once: every combination
// covers the same ones).
func (rep *Report) add(qr *QueryReport, dims []string) {
	d := qr.Differences
	rep.Buckets = max(rep.Buckets, d.Buckets)
	rep.Rows += d.Rows
	rep.Values += d.Values
	rep.MismatchCount += d.MismatchCount
	rep.Mismatches = append(rep.Mismatches, d.Mismatches...)
	rep.Truncated = rep.Truncated || d.Truncated
	for k, v := range d.MismatchesByMetric {
		rep.MismatchesByMetric[k] += v
	}
	if d.LargestRelativeError > rep.LargestRelativeError || math.IsNaN(rep.LargestRelativeError) {
		rep.LargestRelativeError, rep.LargestMetric = d.LargestRelativeError, d.LargestMetric
	}
	for _, x := range dims {
		if !slices.Contains(rep.Dimensions, x) {
			rep.Dimensions = append(rep.Dimensions, x)
		}
	}
	rep.Stats.RowsRead += qr.Stats.RowsRead
	rep.Stats.BytesRead += qr.Stats.BytesRead
	rep.Stats.Elapsed += qr.Stats.Elapsed
}
