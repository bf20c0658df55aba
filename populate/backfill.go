package populate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
	"github.com/hourglass-dev/hourglass/versions"
)

// BackfillOptions configure a backfill.
type BackfillOptions struct {
	// Parallel is how many units run at once (default 1).
	Parallel int
	// Resume skips the units the latest backfill of the rollup completed.
	Resume bool
	// Batch is the most partitions one group swaps in together (0: as many as take about
	// groupTime, up to maxGroup; 1: one partition per group, and per INSERT).
	Batch int
}

// DryRun is what a backfill would do.
type DryRun struct {
	Rollup string          `json:"rollup"`
	Range  timerange.Range `json:"range"`
	Units  []Unit          `json:"units"`
	// Statements are the statements of the first unit, with its parameters.
	Statements []string `json:"statements"`
	// Cluster is the cluster whose every shard runs each unit, on one of its replicas and its
	// local tables ("" on one server).
	Cluster string `json:"cluster,omitempty"`
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
	dr := &DryRun{Rollup: rollup, Range: rg, Units: units, Cluster: r.artifacts.Project.Cluster}
	if len(units) > 0 {
		u := units[0]
		if ra, err = ra.Local(); err != nil { // a shard's statements on a cluster
			return nil, err
		}
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
	if err := r.sourceHolds(ctx, ra, rg); err != nil {
		return nil, err
	}
	shards, closeShards, err := r.topology(ctx, ra)
	if err != nil {
		return nil, err
	}
	defer closeShards()
	recovered, err := r.recoverFirst(ctx, ra, dep, shards)
	if err != nil {
		return nil, err
	}
	units := Plan(ra, rg, r.closedEnd(ra, dep, rg.End))
	skip := map[unitKey]bool{}
	if opts.Resume {
		if skip, err = r.durableUnits(ctx, ra); err != nil {
			return nil, err
		}
	}
	rn := r.newRun(ra, KindBackfill, dep)
	rep := &Report{RunID: rn.id, Rollup: rollup, Table: ra.Table, Kind: KindBackfill, Range: rg, Units: len(units), Recovered: recovered}
	// The run is the one the next --resume resumes from now on, even if it dies before its
	// first group records anything (see durableUnits).
	if err := r.store.Set(ctx, ra.Table, lastBackfillKey, rn.id); err != nil {
		return nil, err
	}
	// The units being skipped are durable from the run being resumed; record them under this
	// run first, so that resuming this run (should it be interrupted too) skips them as well.
	// On a cluster they are the units of each shard (a partition may be durable on one shard
	// and not on another).
	var carried []meta.Unit
	for k := range skip {
		for _, u := range units {
			if u.Partition.Start.Equal(k.start) {
				carried = append(carried, meta.Unit{RunID: rn.id, Rollup: ra.Table, Hash: ra.Hash, Kind: KindBackfill,
					Start: u.Partition.Start, End: u.Range.End, Status: meta.StatusDone, Shard: k.shard})
			}
		}
	}
	if err := r.store.RecordUnits(ctx, carried...); err != nil {
		return nil, err
	}
	err = r.runUnits(ctx, rn, shards, units, skip, opts.Parallel, opts.Batch, rep)
	rep.Duration = time.Since(started)
	if err != nil {
		return rep, err
	}
	if len(units) > 0 && ra.Rollup.Mode != datasources.ModeTrigger {
		covered := timerange.Range{Start: units[0].Range.Start, End: units[len(units)-1].Range.End}
		// Every unit is durable: the watermark follows even when Ctrl-C came after the last
		// group, or the run would stop short of recording what it did.
		if rep.Watermark, err = r.advanceWatermark(context.WithoutCancel(ctx), ra.Table, covered); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// lastBackfillKey is the state key (object: the rollup version's table) naming the latest
// backfill run started on it.
const lastBackfillKey = "last_backfill"

// durableUnits returns the units (partition start and shard) the latest backfill of the
// rollup version left durable with the definition compiled now: done, or redone after it died.
func (r *Runner) durableUnits(ctx context.Context, ra *pipes.RollupArtifacts) (map[unitKey]bool, error) {
	skip := map[unitKey]bool{}
	last, ok, err := r.store.Get(ctx, ra.Table, lastBackfillKey)
	if err != nil {
		return nil, err
	}
	if !ok { // a run log written before backfills recorded their start
		if last, err = r.store.LastRun(ctx, ra.Table, KindBackfill); err != nil || last == "" {
			return skip, err
		}
	}
	units, err := r.store.RunUnits(ctx, last)
	if err != nil {
		return nil, err
	}
	for _, u := range units {
		if meta.Durable(u.Status) && u.Hash == ra.Hash {
			skip[unitKey{shard: u.Shard, start: u.Start}] = true
		}
	}
	return skip, nil
}

// Populate is what the :05 cron runs: for each scheduled rollup (all when names is empty) it
// populates every version that must be kept fresh (see PopulateOne), catching up every hour
// missed while the job was down. The reports come one per version populated, rollup by
// rollup, each rollup's older versions before its newest. A rollup over a rollup runs after
// its source, and recomputes the hours its source's recomputed hours re-open too. A rollup of
// which no version was ever backfilled is refused with the backfill command to run.
func (r *Runner) Populate(ctx context.Context, names []string) ([]*Report, error) {
	if len(names) == 0 {
		for _, ra := range r.artifacts.Rollups {
			if ra.Rollup.Mode == datasources.ModeScheduled {
				names = append(names, ra.Rollup.Name)
			}
		}
	}
	var reports []*Report
	for _, name := range SourcesFirst(r.artifacts, names) {
		if err := ctx.Err(); err != nil {
			return reports, err
		}
		rep, err := r.PopulateOne(ctx, name)
		if rep != nil {
			reports = append(reports, rep.Older...)
			if rep.Table != "" {
				own := *rep
				own.Older = nil
				reports = append(reports, &own)
			}
		}
		if err != nil {
			return reports, err
		}
	}
	return reports, nil
}

// PopulateOne runs the hourly populate of one rollup, version by version: first each older
// version an endpoint still reads (oldest first, compiled from the definition deploy recorded
// for it: the project's YAML has moved on), then the deployed version. Each version redoes its
// suspect partitions, then recomputes the hours in [its watermark − lookback, last closed
// hour) from raw rows, carrying each partition's other hours from its table, so its cost
// follows the lookback and the hours missed, not the hour of the day or the partition size.
//
// It returns the deployed version's report, with the older versions' in Report.Older. The
// deployed version never backfilled is an error — unless an older version is read by an
// endpoint: that one is populated, and the report's Note says which backfill the new version
// waits for. A failing older version does not stop the others; the errors are joined.
func (r *Runner) PopulateOne(ctx context.Context, name string) (*Report, error) {
	started := time.Now()
	ra, err := r.rollup(name)
	if err != nil {
		return nil, err
	}
	if ra.Rollup.Mode != datasources.ModeScheduled {
		return nil, fmt.Errorf("rollup %s is a %s rollup: its view keeps it fresh; use hourglass reconcile to repair it", name, ra.Rollup.Mode)
	}
	vs, err := versions.List(ctx, r.store, name)
	if err != nil {
		return nil, err
	}
	newest := &Report{Rollup: name, Kind: KindPopulate}
	var errs []error
	fail := func(err error) (*Report, error) {
		errs = append(errs, err)
		if len(newest.Older) == 0 && newest.Table == "" {
			return nil, errors.Join(errs...)
		}
		return newest, errors.Join(errs...)
	}
	for _, v := range vs {
		// A version deployed as a trigger rollup (it has a cut-over) is kept fresh by its view.
		if v.Newest || !v.Kept() || v.Table == ra.Table || !v.Deployment.Watermark.IsZero() {
			continue
		}
		vra, err := v.Artifacts(r.artifacts)
		if err != nil {
			errs = append(errs, fmt.Errorf("populate %s for %s: %w", v.Name(), strings.Join(v.ReadBy, ", "), err))
			continue
		}
		rep, err := r.populateVersion(ctx, vra, v.Deployment)
		if rep != nil {
			rep.Version = v.Version
			newest.Older = append(newest.Older, rep)
		}
		var ie *InterruptedError
		if errors.As(err, &ie) || ctx.Err() != nil {
			return fail(err)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", v.Name(), err))
		}
	}
	dep, err := r.deployment(ctx, ra)
	if err != nil {
		return fail(err)
	}
	if _, ok, err := r.store.Watermark(ctx, ra.Table); err != nil {
		return fail(err)
	} else if !ok && len(newest.Older) > 0 {
		newest.Table, newest.Version = ra.Table, dep.Version
		cmd := fmt.Sprintf("hourglass backfill %s --from <first day> --to now", name)
		if b, err := versions.NeededBackfill(ctx, r.e, r.store, ra, dep.Version, r.now()); err != nil {
			return fail(err)
		} else if b != nil {
			cmd = b.Command
		}
		newest.Note = fmt.Sprintf("never backfilled, while endpoints read an older version: run %s, then switch them", cmd)
		newest.Duration = time.Since(started)
		return newest, errors.Join(errs...)
	}
	rep, err := r.populateVersion(ctx, ra, dep)
	if rep != nil {
		rep.Older = newest.Older
		newest = rep
	}
	if err != nil {
		return fail(err)
	}
	if len(vs) > 1 {
		newest.Version = dep.Version
	}
	newest.Duration = time.Since(started)
	return newest, errors.Join(errs...)
}

// populateVersion runs the hourly populate of one version of a rollup, ra, deployed as dep.
func (r *Runner) populateVersion(ctx context.Context, ra *pipes.RollupArtifacts, dep meta.Deployment) (*Report, error) {
	started := time.Now()
	name := ra.Rollup.Name
	shards, closeShards, err := r.topology(ctx, ra)
	if err != nil {
		return nil, err
	}
	defer closeShards()
	recovered, err := r.recoverFirst(ctx, ra, dep, shards)
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
	reopen, err := r.reopened(ctx, ra, w)
	if err != nil {
		return nil, err
	}
	if !reopen.IsZero() && reopen.Before(rg.Start) {
		rg.Start = reopen
	}
	rn := r.newRun(ra, KindPopulate, dep)
	rep := &Report{RunID: rn.id, Rollup: name, Table: ra.Table, Kind: KindPopulate, Range: rg, Watermark: w, Recovered: recovered}
	if rg.Empty() {
		rep.Duration = time.Since(started)
		return rep, nil
	}
	units := PlanIncremental(ra, rg, closed)
	rep.Units = len(units)
	if err := r.runUnits(ctx, rn, shards, units, nil, 1, 0, rep); err != nil {
		rep.Duration = time.Since(started)
		return rep, err
	}
	if rep.Watermark, err = r.advanceWatermark(context.WithoutCancel(ctx), ra.Table, rg); err != nil { // as in Backfill
		return rep, err
	}
	rep.Duration = time.Since(started)
	return rep, nil
}

// SourcesFirst orders rollup names so that a rollup over a rollup comes after its source when
// both are named, keeping the given order otherwise.
func SourcesFirst(a *pipes.Artifacts, names []string) []string {
	named := map[string]bool{}
	for _, n := range names {
		named[n] = true
	}
	var out, readers []string
	for _, n := range names {
		if ra := a.Rollup(n); ra != nil && named[ra.SourceRollup()] {
			readers = append(readers, n)
			continue
		}
		out = append(out, n)
	}
	return append(out, readers...)
}

// reopened is, for a rollup over a rollup whose watermark is w, the first hour a late source
// row may have changed since it last ran: its source recomputes [its watermark − its
// lookback, …) on every run, and an entity (a session) with a row in a recomputed hour may
// have started up to span before it — so the entity's hour is re-opened. Zero for a rollup
// of a datasource, or when the source holds nothing yet.
func (r *Runner) reopened(ctx context.Context, ra *pipes.RollupArtifacts, w time.Time) (time.Time, error) {
	src := r.artifacts.Rollup(ra.SourceRollup())
	if src == nil {
		return time.Time{}, nil
	}
	sw, ok, err := r.store.Watermark(ctx, src.Table)
	if err != nil || !ok {
		return time.Time{}, err
	}
	from := w
	if sw.Before(from) {
		from = sw
	}
	return from.Add(-src.Rollup.Lookback).Truncate(time.Hour).Add(-ra.Rollup.Span), nil
}

// sourceHolds checks, for a rollup over a rollup, that its source holds the closed hours of
// rg it reads: a backfill of sessions per hour reads the sessions rollup, so that one is
// backfilled first (from span before rg, for the sessions that started earlier).
func (r *Runner) sourceHolds(ctx context.Context, ra *pipes.RollupArtifacts, rg timerange.Range) error {
	src := r.artifacts.Rollup(ra.SourceRollup())
	if src == nil {
		return nil
	}
	need := rg.Intersect(timerange.Range{Start: rg.Start, End: timerange.ClosedEnd(r.now(), src.Rollup.Delay)})
	if need.Empty() {
		return nil
	}
	c, err := r.store.Coverage(ctx, src.Table, "")
	if err != nil {
		return err
	}
	var held timerange.Range
	if c.HasWatermark {
		held = c.Through(c.Watermark)
	}
	if held.Empty() || held.Start.After(need.Start) || held.End.Before(need.End) {
		what := "holds no backfilled hours"
		if !held.Empty() {
			what = "holds " + held.String()
		}
		return fmt.Errorf("rollup %s reads rollup %s, which %s: backfill %s first, from %s before (its entities may start that early): hourglass backfill %s %s --from %q --to %q",
			ra.Rollup.Name, src.Rollup.Name, what, src.Rollup.Name, ra.Rollup.Span, src.Rollup.Name, ra.Rollup.Name,
			timerange.Format(rg.Start.Add(-ra.Rollup.Span)), timerange.Format(rg.End))
	}
	return nil
}
