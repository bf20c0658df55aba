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
)

// Drift is one partition whose rollup no longer matches its raw rows.
type Drift struct {
	Partition   timerange.Range `json:"partition"`
	PartitionID string          `json:"partition_id"`
	// RawRows counts the raw rows of the partition's closed hours (with the rollup's filter);
	// RollupRows is the same count as the rollup stores it.
	RawRows    uint64 `json:"raw_rows"`
	RollupRows uint64 `json:"rollup_rows"`
}

// ReconcileReport lists the partitions that drifted and what repair did.
type ReconcileReport struct {
	Rollup string          `json:"rollup"`
	Range  timerange.Range `json:"range"`
	// Metric is the count metric compared.
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
		if m.Kind == datasources.MetricCount {
			return m.Name
		}
	}
	return ""
}

// Reconcile compares, per partition, the raw table's row counts with the counts the rollup
// stores, over the closed hours of rg, and lists the partitions that drifted (raw data that
// arrived later than the lookback, back-filled raw data, deleted raw data). With repair it
// first redoes the rollup version's suspect partitions, then recomputes exactly the drifted
// ones.
func (r *Runner) Reconcile(ctx context.Context, rollup string, rg timerange.Range, repair bool) (*ReconcileReport, error) {
	ra, err := r.rollup(rollup)
	if err != nil {
		return nil, err
	}
	dep, err := r.deployment(ctx, ra)
	if err != nil {
		return nil, err
	}
	metric := countMetric(ra.Rollup)
	if metric == "" {
		return nil, fmt.Errorf("rollup %s has no count metric to reconcile with: add `- {name: row_count, kind: count}` to its metrics", rollup)
	}
	var recovered []string
	if repair {
		if recovered, err = r.recoverFirst(ctx, ra, dep); err != nil {
			return nil, err
		}
	}
	end := r.closedEnd(ra, dep, rg.End)
	rg = timerange.Range{Start: rg.Start, End: end}
	rep := &ReconcileReport{Rollup: rollup, Range: rg, Metric: metric, Drifted: []Drift{}, Recovered: recovered}
	if rg.Empty() {
		return rep, nil
	}
	raw, err := r.countsByPartition(ctx, ra, pipes.SideRaw, metric, rg)
	if err != nil {
		return nil, err
	}
	rolled, err := r.countsByPartition(ctx, ra, pipes.SideRollup, metric, rg)
	if err != nil {
		return nil, err
	}
	p := timerange.Partition(ra.Rollup.Partition)
	units := Plan(ra, rg, end)
	rep.Partitions = len(units)
	var redo []Unit
	for _, u := range units {
		if raw[u.Partition.Start] != rolled[u.Partition.Start] {
			rep.Drifted = append(rep.Drifted, Drift{Partition: u.Partition, PartitionID: timerange.PartitionID(p, u.Partition.Start),
				RawRows: raw[u.Partition.Start], RollupRows: rolled[u.Partition.Start]})
			redo = append(redo, u)
		}
	}
	if !repair || len(redo) == 0 {
		return rep, nil
	}
	started := time.Now()
	rn := r.newRun(ra, KindReconcile, dep)
	rep.Repaired = &Report{RunID: rn.id, Rollup: rollup, Kind: KindReconcile, Range: rg, Units: len(redo), Recovered: recovered}
	err = r.runUnits(ctx, rn, redo, nil, 1, 0, rep.Repaired)
	rep.Repaired.Duration = time.Since(started)
	return rep, err
}

// countsByPartition sums the count metric per partition over the closed hours of rg (whole
// partitions: the range is widened to the partitions it touches).
func (r *Runner) countsByPartition(ctx context.Context, ra *pipes.RollupArtifacts, side pipes.Side, metric string, rg timerange.Range) (map[time.Time]uint64, error) {
	q, err := ra.MetricsQuery(side, "day", nil, []string{metric})
	if err != nil {
		return nil, err
	}
	p := timerange.Partition(ra.Rollup.Partition)
	parts := timerange.Partitions(p, rg)
	start := parts[0].Start
	res, err := r.e.Query(ctx, q, engine.Params{pipes.StartParam: start, pipes.EndParam: rg.End})
	if err != nil {
		return nil, fmt.Errorf("count %s rows of %s: %w", side, ra.Rollup.Name, err)
	}
	out := map[time.Time]uint64{}
	for _, row := range res.Rows {
		day, _ := row[0].(time.Time)
		n, err := toUint(row[len(row)-1])
		if err != nil {
			return nil, fmt.Errorf("count %s rows of %s: %w", side, ra.Rollup.Name, err)
		}
		out[timerange.PartitionStart(p, day)] += n
	}
	return out, nil
}

func toUint(v any) (uint64, error) {
	switch x := v.(type) {
	case uint64:
		return x, nil
	case int64:
		return uint64(x), nil
	case nil:
		return 0, nil
	}
	return 0, fmt.Errorf("unexpected count value %v (%T)", v, v)
}

// SortDrift orders drifted partitions by time (for stable output).
func SortDrift(d []Drift) {
	sort.Slice(d, func(i, j int) bool { return d[i].Partition.Start.Before(d[j].Partition.Start) })
}
