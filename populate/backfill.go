package populate

import (
	"context"
	"fmt"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

// BackfillOptions configure a backfill.
type BackfillOptions struct {
	// Parallel is how many units run at once (default 1).
	Parallel int
	// Resume skips the units the latest backfill of the rollup completed.
	Resume bool
	// Batch is the most partitions one INSERT recomputes (0: as many as keep it to about
	// groupRows rollup rows, up to maxGroup; 1: one partition per INSERT).
	Batch int
}

// DryRun is what a backfill would do.
type DryRun struct {
	Rollup string          `json:"rollup"`
	Range  timerange.Range `json:"range"`
	Units  []Unit          `json:"units"`
	// Statements are the statements of the first unit, with its parameters.
	Statements []string `json:"statements"`
}

// PlanBackfill returns the units of a backfill without running anything.
func (r *Runner) PlanBackfill(ctx context.Context, rollup string, rg timerange.Range) (*DryRun, error) {
	ra, err := r.rollup(rollup)
	if err != nil {
		return nil, err
	}
	dep, err := r.deployment(ctx, ra)
	if err != nil {
		return nil, err
	}
	units := Plan(ra, rg, r.closedEnd(ra, dep, rg.End))
	dr := &DryRun{Rollup: rollup, Range: rg, Units: units}
	if len(units) > 0 {
		u := units[0]
		stg := ra.StagingPrefix() + u.PartitionID + "_<run>"
		id := ra.BackfillPartitionID(u.PartitionID)
		dr.Statements = []string{
			ra.CreateStagingNamed(stg),
			ra.PopulateInto(stg) + fmt.Sprintf("\n-- start = %s, end = %s", timerange.Format(u.Range.Start), timerange.Format(u.Range.End)),
			ra.ReplacePartitionFrom(id, stg),
			ra.PurgeReplaced(),
			ra.DropTableNamed(stg),
		}
	}
	return dr, nil
}

// Backfill recomputes every partition [rg.Start, rg.End) touches, up to the last closed hour,
// and advances the watermark when the backfill reaches it. It first redoes the rollup
// version's suspect partitions. Interrupted (ctx cancelled), it finishes the units in progress
// and returns *InterruptedError; run it again with Resume.
func (r *Runner) Backfill(ctx context.Context, rollup string, rg timerange.Range, opts BackfillOptions) (*Report, error) {
	started := time.Now()
	ra, err := r.rollup(rollup)
	if err != nil {
		return nil, err
	}
	dep, err := r.deployment(ctx, ra)
	if err != nil {
		return nil, err
	}
	recovered, err := r.recoverFirst(ctx, ra, dep)
	if err != nil {
		return nil, err
	}
	units := Plan(ra, rg, r.closedEnd(ra, dep, rg.End))
	skip := map[time.Time]bool{}
	if opts.Resume {
		if skip, err = r.durableUnits(ctx, ra); err != nil {
			return nil, err
		}
	}
	rn := r.newRun(ra, KindBackfill, dep)
	rep := &Report{RunID: rn.id, Rollup: rollup, Kind: KindBackfill, Range: rg, Units: len(units), Recovered: recovered}
	// The units being skipped are durable from the run being resumed; record them under this
	// run first, so that resuming this run (should it be interrupted too) skips them as well.
	var carried []meta.Unit
	for _, u := range units {
		if skip[u.Range.Start] {
			carried = append(carried, meta.Unit{RunID: rn.id, Rollup: ra.Table, Hash: ra.Hash, Kind: KindBackfill,
				Start: u.Partition.Start, End: u.Range.End, Status: meta.StatusDone})
		}
	}
	if err := r.store.RecordUnits(ctx, carried...); err != nil {
		return nil, err
	}
	err = r.runUnits(ctx, rn, units, skip, opts.Parallel, opts.Batch, rep)
	rep.Duration = time.Since(started)
	if err != nil {
		return rep, err
	}
	if len(units) > 0 && ra.Rollup.Mode != datasources.ModeTrigger {
		covered := timerange.Range{Start: units[0].Range.Start, End: units[len(units)-1].Range.End}
		if rep.Watermark, err = r.advanceWatermark(ctx, ra.Table, covered); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// durableUnits returns the partitions (by start) the latest backfill of the rollup version
// left durable with the definition compiled now: done, or redone after it died.
func (r *Runner) durableUnits(ctx context.Context, ra *pipes.RollupArtifacts) (map[time.Time]bool, error) {
	skip := map[time.Time]bool{}
	last, err := r.store.LastRun(ctx, ra.Table, KindBackfill)
	if err != nil || last == "" {
		return skip, err
	}
	units, err := r.store.RunUnits(ctx, last)
	if err != nil {
		return nil, err
	}
	for _, u := range units {
		if meta.Durable(u.Status) && u.Hash == ra.Hash {
			skip[u.Start] = true
		}
	}
	return skip, nil
}

// Populate is what the :05 cron runs: for each scheduled rollup (all when names is empty) it
// recomputes from watermark − lookback up to the last closed hour, catching up every hour
// missed while the job was down, then advances the watermark. A rollup never backfilled is
// refused with the backfill command to run.
func (r *Runner) Populate(ctx context.Context, names []string) ([]*Report, error) {
	if len(names) == 0 {
		for _, ra := range r.artifacts.Rollups {
			if ra.Rollup.Mode == datasources.ModeScheduled {
				names = append(names, ra.Rollup.Name)
			}
		}
	}
	var reports []*Report
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return reports, err
		}
		rep, err := r.PopulateOne(ctx, name)
		if rep != nil {
			reports = append(reports, rep)
		}
		if err != nil {
			return reports, err
		}
	}
	return reports, nil
}

// PopulateOne runs the hourly populate of one rollup: it redoes the rollup version's suspect
// partitions, then recomputes the hours in [watermark − lookback, last closed hour) from raw
// rows, carrying each partition's other hours from the rollup, so its cost follows the
// lookback and the hours missed, not the hour of the day or the partition size.
func (r *Runner) PopulateOne(ctx context.Context, name string) (*Report, error) {
	started := time.Now()
	ra, err := r.rollup(name)
	if err != nil {
		return nil, err
	}
	if ra.Rollup.Mode != datasources.ModeScheduled {
		return nil, fmt.Errorf("rollup %s is a %s rollup: its view keeps it fresh; use hourglass reconcile to repair it", name, ra.Rollup.Mode)
	}
	dep, err := r.deployment(ctx, ra)
	if err != nil {
		return nil, err
	}
	recovered, err := r.recoverFirst(ctx, ra, dep)
	if err != nil {
		return nil, err
	}
	w, ok, err := r.store.Watermark(ctx, ra.Table)
	if err != nil {
		return nil, err
	}
	now := r.now()
	closed := timerange.ClosedEnd(now, ra.Rollup.Delay)
	if !ok {
		return nil, fmt.Errorf("rollup %s was never backfilled: run hourglass backfill %s --from <first day> --to %q", name, name, timerange.Format(closed))
	}
	rg := timerange.Range{Start: w.Add(-ra.Rollup.Lookback).Truncate(time.Hour), End: closed}
	rn := r.newRun(ra, KindPopulate, dep)
	rep := &Report{RunID: rn.id, Rollup: name, Kind: KindPopulate, Range: rg, Watermark: w, Recovered: recovered}
	if rg.Empty() {
		rep.Duration = time.Since(started)
		return rep, nil
	}
	units := PlanIncremental(ra, rg, closed)
	rep.Units = len(units)
	if err := r.runUnits(ctx, rn, units, nil, 1, 0, rep); err != nil {
		rep.Duration = time.Since(started)
		return rep, err
	}
	if rep.Watermark, err = r.advanceWatermark(ctx, ra.Table, rg); err != nil {
		return rep, err
	}
	rep.Duration = time.Since(started)
	return rep, nil
}
