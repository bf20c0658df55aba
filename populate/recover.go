package populate

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

// Suspect is a partition of a rollup version that may hold its data twice, and the units in
// doubt that left it so.
type Suspect struct {
	Rollup string `json:"rollup"`
	Table  string `json:"table"`
	// Partition is the partition's full range; PartitionID its ClickHouse id.
	Partition   timerange.Range         `json:"partition"`
	PartitionID string                  `json:"partition_id"`
	Units       []meta.SuspectPartition `json:"units"`
}

// SuspectIDs returns the partition ids of sus.
func SuspectIDs(sus []Suspect) []string {
	ids := make([]string, len(sus))
	for i, s := range sus {
		ids[i] = s.PartitionID
	}
	return ids
}

// Suspects returns the suspect partitions of a rollup's version whose data lives in table, one
// per partition, in time order.
func Suspects(ctx context.Context, store *meta.Store, rollup *datasources.Rollup, table string) ([]Suspect, error) {
	units, err := store.Suspect(ctx, table)
	if err != nil {
		return nil, err
	}
	p := timerange.Partition(rollup.Partition)
	byStart := map[time.Time]*Suspect{}
	var out []*Suspect
	for _, u := range units {
		start := timerange.PartitionStart(p, u.Start)
		s := byStart[start]
		if s == nil {
			s = &Suspect{Rollup: rollup.Name, Table: table, Partition: timerange.Range{Start: start, End: timerange.PartitionEnd(p, start)},
				PartitionID: timerange.PartitionID(p, start)}
			byStart[start] = s
			out = append(out, s)
		}
		s.Units = append(s.Units, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Partition.Start.Before(out[j].Partition.Start) })
	res := make([]Suspect, len(out))
	for i, s := range out {
		res[i] = *s
	}
	return res, nil
}

// recoverFirst redoes, whole, every suspect partition of the rollup version (see Suspects)
// before a command writes to it: a later swap or carry must never build on a partition that
// may be doubled. Each redone partition's dead units are recorded recovered together with the
// recovery unit's "done". It returns the ids of the partitions redone.
func (r *Runner) recoverFirst(ctx context.Context, ra *pipes.RollupArtifacts, dep meta.Deployment) ([]string, error) {
	sus, err := Suspects(ctx, r.store, ra.Rollup, ra.Table)
	if err != nil || len(sus) == 0 {
		return nil, err
	}
	closed := r.closedEnd(ra, dep, time.Time{})
	byStart := map[time.Time]Suspect{}
	units := make([]Unit, 0, len(sus))
	ids := SuspectIDs(sus)
	for _, s := range sus {
		// The partition's closed hours, recomputed whole; with none (a clock set back), the
		// swap of an empty staging partition drops it, which is what the rollup should hold.
		work := s.Partition.Intersect(timerange.Range{Start: s.Partition.Start, End: closed})
		if work.Empty() {
			work = timerange.Range{Start: s.Partition.Start, End: s.Partition.Start}
		}
		units = append(units, Unit{Rollup: ra.Rollup.Name, Partition: s.Partition, Range: work, PartitionID: s.PartitionID})
		byStart[s.Partition.Start] = s
	}
	rn := r.newRun(ra, KindRecover, dep)
	rn.resolves = func(u Unit) []meta.Unit {
		var rows []meta.Unit
		for _, d := range byStart[u.Partition.Start].Units {
			rows = append(rows, meta.Unit{RunID: d.RunID, Rollup: ra.Table, Hash: ra.Hash, Kind: d.Kind, Start: d.Start, End: d.End,
				Status: meta.StatusRecovered, Error: "redone by " + rn.id})
		}
		return rows
	}
	rep := &Report{RunID: rn.id, Rollup: ra.Rollup.Name, Kind: KindRecover, Units: len(units)}
	if err := r.runUnits(context.WithoutCancel(ctx), rn, units, nil, 1, 0, rep); err != nil {
		return nil, fmt.Errorf("redo the suspect partitions %v of %s first: %w", ids, ra.Table, err)
	}
	return ids, nil
}

// closedEnd is where a run that recomputes whole partitions stops: the last closed hour, end
// if it comes first (when not zero), and for trigger rollups the cut-over watermark (the view
// owns every row after it).
func (r *Runner) closedEnd(ra *pipes.RollupArtifacts, dep meta.Deployment, end time.Time) time.Time {
	c := timerange.ClosedEnd(r.now(), ra.Rollup.Delay)
	if !end.IsZero() && end.Before(c) {
		c = end
	}
	if !dep.Watermark.IsZero() && dep.Watermark.Before(c) {
		c = dep.Watermark
	}
	return c
}
