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
	end, err := r.backfillEnd(ctx, ra, rg)
	if err != nil {
		return nil, err
	}
	units := Plan(ra, rg, end)
	dr := &DryRun{Rollup: rollup, Range: rg, Units: units}
	if len(units) > 0 {
		u := units[0]
		stg := ra.StagingPrefix() + u.PartitionID + "_<run>"
		dr.Statements = []string{
			ra.CreateStagingNamed(stg),
			ra.PopulateInto(stg) + fmt.Sprintf("\n-- start = %s, end = %s", timerange.Format(u.Range.Start), timerange.Format(u.Range.End)),
			ra.ReplacePartitionFrom(ra.BackfillPartitionID(u.PartitionID), stg),
			ra.DropTableNamed(stg),
		}
	}
	return dr, nil
}

// backfillEnd is where a backfill of rg stops: the end of the range, the last closed hour, and
// for trigger rollups the cut-over watermark (the view owns every row after it).
func (r *Runner) backfillEnd(ctx context.Context, ra *pipes.RollupArtifacts, rg timerange.Range) (time.Time, error) {
	end := rg.End
	if c := timerange.ClosedEnd(r.now(), ra.Rollup.Delay); c.Before(end) {
		end = c
	}
	if ra.Rollup.Mode == datasources.ModeTrigger {
		w, err := r.triggerWatermark(ctx, ra)
		if err != nil {
			return time.Time{}, err
		}
		if w.Before(end) {
			end = w
		}
	}
	return end, nil
}

func (r *Runner) triggerWatermark(ctx context.Context, ra *pipes.RollupArtifacts) (time.Time, error) {
	deps, err := r.store.Deployments(ctx)
	if err != nil {
		return time.Time{}, err
	}
	w := deps[ra.Rollup.Name].Watermark
	if w.IsZero() {
		return time.Time{}, fmt.Errorf("trigger rollup %s has no cut-over watermark recorded: run hourglass deploy", ra.Rollup.Name)
	}
	return w, nil
}

// Backfill recomputes every partition [rg.Start, rg.End) touches, up to the last closed hour,
// and advances the watermark when the backfill reaches it. Interrupted (ctx cancelled), it
// finishes the units in progress and returns *InterruptedError; run it again with Resume.
func (r *Runner) Backfill(ctx context.Context, rollup string, rg timerange.Range, opts BackfillOptions) (*Report, error) {
	started := time.Now()
	ra, err := r.rollup(rollup)
	if err != nil {
		return nil, err
	}
	if err := r.CheckDeployed(ctx, ra); err != nil {
		return nil, err
	}
	end, err := r.backfillEnd(ctx, ra, rg)
	if err != nil {
		return nil, err
	}
	units := Plan(ra, rg, end)
	skip := map[time.Time]bool{}
	if opts.Resume {
		last, err := r.store.LastRun(ctx, ra.Rollup.Name, KindBackfill)
		if err != nil {
			return nil, err
		}
		if last != "" {
			done, err := r.store.RunUnits(ctx, last)
			if err != nil {
				return nil, err
			}
			for _, u := range done {
				if u.Status == meta.StatusDone && u.Hash == ra.Hash {
					skip[u.Start] = true
				}
			}
		}
	}
	runID := newRunID(r.now())
	rep := &Report{RunID: runID, Rollup: rollup, Kind: KindBackfill, Range: rg, Units: len(units)}
	// The units being skipped were done by the run being resumed; record them under this run
	// first, so that resuming this run (should it be interrupted too) skips them as well.
	for _, u := range units {
		if skip[u.Range.Start] {
			if err := r.store.RecordUnit(ctx, meta.Unit{RunID: runID, Rollup: rollup, Hash: ra.Hash, Kind: KindBackfill,
				Start: u.Range.Start, End: u.Range.End, Status: meta.StatusDone}); err != nil {
				return nil, err
			}
		}
	}
	err = r.runUnits(ctx, ra, KindBackfill, runID, units, skip, opts.Parallel, rep)
	rep.Duration = time.Since(started)
	if err != nil {
		return rep, err
	}
	if len(units) > 0 && ra.Rollup.Mode != datasources.ModeTrigger {
		covered := timerange.Range{Start: units[0].Range.Start, End: units[len(units)-1].Range.End}
		if rep.Watermark, err = r.advanceWatermark(ctx, rollup, covered); err != nil {
			return rep, err
		}
	}
	return rep, nil
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

// PopulateOne runs the hourly populate of one rollup.
func (r *Runner) PopulateOne(ctx context.Context, name string) (*Report, error) {
	started := time.Now()
	ra, err := r.rollup(name)
	if err != nil {
		return nil, err
	}
	if ra.Rollup.Mode != datasources.ModeScheduled {
		return nil, fmt.Errorf("rollup %s is a %s rollup: its view keeps it fresh; use hourglass reconcile to repair it", name, ra.Rollup.Mode)
	}
	if err := r.CheckDeployed(ctx, ra); err != nil {
		return nil, err
	}
	w, ok, err := r.store.Watermark(ctx, name)
	if err != nil {
		return nil, err
	}
	now := r.now()
	closed := timerange.ClosedEnd(now, ra.Rollup.Delay)
	if !ok {
		return nil, fmt.Errorf("rollup %s was never backfilled: run hourglass backfill %s --from <first day> --to %q", name, name, timerange.Format(closed))
	}
	rg := timerange.Range{Start: w.Add(-ra.Rollup.Lookback).Truncate(time.Hour), End: closed}
	rep := &Report{RunID: newRunID(now), Rollup: name, Kind: KindPopulate, Range: rg, Watermark: w}
	if rg.Empty() {
		rep.Duration = time.Since(started)
		return rep, nil
	}
	units := Plan(ra, rg, closed)
	rep.Units = len(units)
	if err := r.runUnits(ctx, ra, KindPopulate, rep.RunID, units, nil, 1, rep); err != nil {
		rep.Duration = time.Since(started)
		return rep, err
	}
	if rep.Watermark, err = r.advanceWatermark(ctx, name, timerange.Range{Start: units[0].Range.Start, End: closed}); err != nil {
		return rep, err
	}
	rep.Duration = time.Since(started)
	return rep, nil
}
