package populate

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
	"github.com/hourglass-dev/hourglass/validate"
)

// Drift is one partition whose rollup no longer matches its raw rows.
type Drift struct {
	Partition   timerange.Range `json:"partition"`
	PartitionID string          `json:"partition_id"`
	// RawRows counts the raw rows of the partition's closed hours (with the rollup's filter);
	// RollupRows is the same count as the rollup stores it (its count metric; both 0 when the
	// rollup has none).
	RawRows    uint64 `json:"raw_rows"`
	RollupRows uint64 `json:"rollup_rows"`
	// Differ names the fingerprint values that differ: a metric over the whole partition, or
	// "__hg_w_<state>", the key-weighted sum of an additive state (see pipes.Fingerprint).
	Differ []string `json:"differ"`
}

// ReconcileReport lists the partitions that drifted and what repair did.
type ReconcileReport struct {
	Rollup string          `json:"rollup"`
	Range  timerange.Range `json:"range"`
	// Metric is the count metric RawRows and RollupRows come from ("" when none); every metric
	// is part of the fingerprint.
	Metric     string  `json:"metric"`
	Partitions int     `json:"partitions_checked"`
	Drifted    []Drift `json:"drifted"`
	Repaired   *Report `json:"repaired,omitempty"`
	// Recovered lists the suspect partitions (ids) a repair redid first.
	Recovered []string `json:"recovered,omitempty"`
}

// countMetric returns the rollup's plain count metric (no condition): the number of source
// rows each hour holds.
func countMetric(r *datasources.Rollup) string {
	for _, m := range r.Metrics {
		if m.Kind == datasources.MetricCount && m.Column == "" {
			return m.Name
		}
	}
	return ""
}

// Reconcile compares, per partition, a fingerprint of the raw rows with the same fingerprint
// of the rollup over the closed hours of rg — every metric over the partition and, for counts
// and sums, their sum weighted by a hash of each row's hour and dimensions (pipes.Fingerprint),
// compared inside the engine — and lists the partitions that drifted (raw data that arrived
// later than the lookback, back-filled or deleted raw data, a rollup changed in place). With
// repair it first redoes the rollup version's suspect partitions, then recomputes exactly the
// drifted ones.
func (r *Runner) Reconcile(ctx context.Context, rollup string, rg timerange.Range, repair bool) (*ReconcileReport, error) {
	ra, err := r.rollup(rollup)
	if err != nil {
		return nil, err
	}
	dep, err := r.deployment(ctx, ra)
	if err != nil {
		return nil, err
	}
	var recovered []string
	var shards []*shard
	if repair {
		var closeShards func()
		if shards, closeShards, err = r.topology(ctx, ra); err != nil {
			return nil, err
		}
		defer closeShards()
		if recovered, err = r.recoverFirst(ctx, ra, dep, shards); err != nil {
			return nil, err
		}
	}
	end := r.closedEnd(ra, dep, rg.End)
	rg = timerange.Range{Start: rg.Start, End: end}
	rep := &ReconcileReport{Rollup: rollup, Range: rg, Metric: countMetric(ra.Rollup), Drifted: []Drift{}, Recovered: recovered}
	if rg.Empty() {
		return rep, nil
	}
	p := timerange.Partition(ra.Rollup.Partition)
	units := Plan(ra, rg, end)
	rep.Partitions = len(units)
	drifted, err := r.drift(ctx, ra, timerange.Range{Start: timerange.PartitionStart(p, rg.Start), End: end}, rep.Metric)
	if err != nil {
		return nil, err
	}
	var redo []Unit
	for _, u := range units {
		if d, ok := drifted[u.Partition.Start]; ok {
			d.Partition, d.PartitionID = u.Partition, timerange.PartitionID(p, u.Partition.Start)
			rep.Drifted = append(rep.Drifted, d)
			redo = append(redo, u)
		}
	}
	if !repair || len(redo) == 0 {
		return rep, nil
	}
	started := time.Now()
	rn := r.newRun(ra, KindReconcile, dep)
	rep.Repaired = &Report{RunID: rn.id, Rollup: rollup, Kind: KindReconcile, Range: rg, Units: len(redo), Recovered: recovered}
	err = r.runUnits(ctx, rn, shards, redo, nil, 1, 0, rep.Repaired)
	rep.Repaired.Duration = time.Since(started)
	return rep, err
}

// drift compares the fingerprints of raw and rollup over rg (whole partitions from rg.Start)
// inside the engine and returns the partitions that differ, by partition start.
func (r *Runner) drift(ctx context.Context, ra *pipes.RollupArtifacts, rg timerange.Range, count string) (map[time.Time]Drift, error) {
	rawQ, rollQ, values, err := ra.Fingerprint()
	if err != nil {
		return nil, err
	}
	for i := range values {
		if values[i].Float {
			values[i].Tolerance = validate.DefaultTolerance
		}
	}
	qr, err := validate.CompareQueries(ctx, r.e, validate.QueryComparison{
		Reference: rawQ, Candidate: rollQ, Params: engine.Params{pipes.StartParam: rg.Start, pipes.EndParam: rg.End},
		Bucket: pipes.FingerprintPartition, Values: values, MaxMismatches: -1,
	})
	if err != nil {
		return nil, fmt.Errorf("compare the fingerprints of %s and its raw table: %w", ra.Rollup.Name, err)
	}
	p := timerange.Partition(ra.Rollup.Partition)
	out := map[time.Time]Drift{}
	for _, row := range qr.MismatchingRows {
		d := Drift{Differ: row.Differ}
		if count != "" {
			d.RawRows, _ = toUint(row.Reference[count])
			d.RollupRows, _ = toUint(row.Candidate[count])
		}
		out[timerange.PartitionStart(p, row.Bucket)] = d
	}
	return out, nil
}

func toUint(v any) (uint64, error) {
	if n, ok := engine.Uint(v); ok {
		return n, nil
	}
	return 0, fmt.Errorf("unexpected count value %v (%T)", v, v)
}

// SortDrift orders drifted partitions by time (for stable output).
func SortDrift(d []Drift) {
	sort.Slice(d, func(i, j int) bool { return d[i].Partition.Start.Before(d[j].Partition.Start) })
}
