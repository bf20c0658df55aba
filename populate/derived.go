package populate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

// Grain and finals tables are derived from the rollup version's table: a unit that swaps
// hours of the version keeps them in step before it is recorded done. The derived partitions
// holding the changed periods are rebuilt together in one staging table — the changed periods
// merged again from the finer table by an INSERT per half of the partitions, both at once, the
// partitions' other periods carried from the derived table itself — and swapped in one by one
// with REPLACE PARTITION, the replaced parts purged once. A crash in between leaves the unit
// unfinished, and redoing it rebuilds them again. Rebuilds of one derived table are serialised within the process (units of one
// run may run in parallel and share a month or a week): a rebuild holds the table from its
// INSERT, whose carried periods it reads, to its last swap.
//
// The tables derived from the version's table itself (its first grain, its finals) do not wait
// for the unit's swaps: every partition the unit swaps in is its staging table's partition as
// it is, so their INSERTs merge the changed periods from the staging table while the swaps run
// (see startDerived), and only their own swaps wait for the unit's.

// derivedTable is a grain or finals table as a unit rebuilds it.
type derivedTable interface {
	CreateStagingNamed(name string) string
	RebuildFrom(staging, source string) string
	ReplacePartitionFrom(partitionID, staging string) string
	DropPartition(partitionID string) string
	PurgeReplaced() string
}

// lock returns the mutex serialising the rebuilds of a derived table.
func (r *Runner) lock(table string) *sync.Mutex {
	m, _ := r.locks.LoadOrStore(table, &sync.Mutex{})
	return m.(*sync.Mutex)
}

// derivedBuild is a rebuild of consecutive partitions of a derived table (units, whose periods
// follow each other) in one staging table, holding the table's lock until it is finished or
// abandoned.
type derivedBuild struct {
	r       *Runner
	e       engine.Engine
	ra      *pipes.RollupArtifacts
	d       derivedTable
	units   []pipes.GrainUnit
	staging string
	what    string
	filled  chan struct{} // closed when the INSERT into staging returned, with err
	err     error
	closed  bool
}

// startRebuild locks the derived table, creates the staging table and starts the INSERT
// filling it, the changed periods merged again from source, in the background.
func (r *Runner) startRebuild(ctx context.Context, e engine.Engine, ra *pipes.RollupArtifacts, d derivedTable, units []pipes.GrainUnit, runID, source string) *derivedBuild {
	first, last := units[0], units[len(units)-1]
	b := &derivedBuild{r: r, e: e, ra: ra, d: d, units: units, filled: make(chan struct{}),
		staging: fmt.Sprintf("%s__stg_%s_%d_%s", first.Table, first.PartitionID, time.Now().Unix(), strings.NewReplacer("-", "_").Replace(runID)),
		what:    fmt.Sprintf("keep %s %s in step", first.Table, first.PartitionID)}
	if len(units) > 1 {
		b.what = fmt.Sprintf("keep %s %s–%s in step", first.Table, first.PartitionID, last.PartitionID)
	}
	r.lock(first.Table).Lock()
	go func() {
		defer close(b.filled)
		if err := e.Exec(ctx, d.CreateStagingNamed(b.staging), nil); err != nil {
			b.err = fmt.Errorf("%s: create staging: %w", b.what, err)
			return
		}
		// Each half of the partitions by an INSERT of its own, both at once: an INSERT writes
		// its parts on one thread (see stagersAtOnce).
		halves := [][]pipes.GrainUnit{units}
		if n := len(units); n >= 2 {
			halves = [][]pipes.GrainUnit{units[:n/2], units[n/2:]}
		}
		errs := make([]error, len(halves))
		var wg sync.WaitGroup
		for i, h := range halves {
			wg.Go(func() {
				all := pipes.GrainUnit{Partition: timerange.Range{Start: h[0].Partition.Start, End: h[len(h)-1].Partition.End},
					Periods: timerange.Range{Start: h[0].Periods.Start, End: h[len(h)-1].Periods.End}}
				errs[i] = e.Exec(ctx, d.RebuildFrom(b.staging, source), engine.Params(all.RebuildParams()))
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			b.err = fmt.Errorf("%s: %w", b.what, err)
		}
	}()
	return b
}

// close waits for the INSERT, drops the staging table and unlocks the derived table; it does
// nothing the second time.
func (b *derivedBuild) close(ctx context.Context) {
	if b == nil || b.closed {
		return
	}
	b.closed = true
	<-b.filled
	_ = b.e.Exec(context.WithoutCancel(ctx), b.ra.DropTableNamed(b.staging), nil) // a leftover is dropped by a later run
	b.r.lock(b.units[0].Table).Unlock()
}

// finish waits for the INSERT, swaps each partition in and purges the parts the swaps
// replaced, then closes the build.
func (b *derivedBuild) finish(ctx context.Context) error {
	defer b.close(ctx)
	<-b.filled
	if b.err != nil {
		return b.err
	}
	r, e := b.r, b.e
	res, err := e.Query(ctx, b.ra.StagedRows(), engine.Params{"db": r.artifacts.Project.Database, "table": b.staging})
	if err != nil {
		return fmt.Errorf("%s: count staged rows: %w", b.what, err)
	}
	staged := map[string]bool{}
	for _, row := range res.Rows {
		if n, _ := engine.Uint(row[1]); n > 0 {
			staged[fmt.Sprint(row[0])] = true
		}
	}
	ids := make([]string, len(b.units))
	for i, u := range b.units {
		ids[i] = u.PartitionID
		swap := b.d.ReplacePartitionFrom(u.PartitionID, b.staging)
		if !staged[u.PartitionID] {
			swap = b.d.DropPartition(u.PartitionID)
		}
		if err := e.Exec(ctx, swap, nil); err != nil {
			return fmt.Errorf("keep %s %s in step: swap: %w", u.Table, u.PartitionID, r.layoutHint(ctx, e, b.d, u.Table, err))
		}
	}
	return r.purge(ctx, e, b.ra, b.units[0].Table, b.d.PurgeReplaced(), ids)
}

// early are the rebuilds startDerived started ahead of a unit's swaps, by derived table.
type early map[string]*derivedBuild

// close abandons the rebuilds not finished (a unit that failed before keepDerived).
func (ea early) close(ctx context.Context) {
	for _, b := range ea {
		b.close(ctx)
	}
}

// startDerived starts, ahead of the swaps of a group (units, staged in staging), the rebuilds
// of the derived tables read from the version's table itself, merging the changed periods
// from the staging table: its partitions are what the swaps put in the version's table. A
// derived table whose changed periods reach outside the group's partitions (none today:
// grains and finals buckets are days or hours, partitions days or months) is rebuilt after the
// swaps instead, from the version's table; so are those of a trigger rollup, whose staging
// table holds hours past the cut-over that its swaps leave to the view. The derived tables are
// locked in the order keepDerived takes them, so that parallel groups cannot wait on each
// other.
func (r *Runner) startDerived(ctx context.Context, e engine.Engine, rn *run, ra *pipes.RollupArtifacts, staging string, units []Unit) early {
	held := timerange.Range{Start: units[0].Partition.Start, End: units[len(units)-1].Partition.End}
	changed := timerange.Range{Start: units[0].Range.Start, End: units[len(units)-1].Range.End}
	ea := early{}
	if !rn.trigger.IsZero() {
		return ea
	}
	runID := rn.id
	start := func(table, from string, d derivedTable, us []pipes.GrainUnit) {
		if from != ra.Table || len(us) == 0 {
			return
		}
		periods := timerange.Range{Start: us[0].Periods.Start, End: us[len(us)-1].Periods.End}
		if periods.Start.Before(held.Start) || periods.End.After(held.End) {
			return
		}
		ea[table] = r.startRebuild(ctx, e, ra, d, us, runID, staging)
	}
	for _, g := range ra.Grains {
		start(g.Table, g.From, g, g.Units(changed))
	}
	for _, f := range ra.Finals {
		start(f.Table, f.From(), f, f.Units(changed))
	}
	return ea
}

// keepDerived brings the version's grain tables (day, then week) and finals tables in step
// with the hours of changed, just swapped into its table on e (the engine the unit ran on: a
// shard's, on a cluster), finishing the rebuilds startDerived started (ea).
func (r *Runner) keepDerived(ctx context.Context, e engine.Engine, ra *pipes.RollupArtifacts, runID string, changed timerange.Range, ea early) error {
	do := func(table string, d derivedTable, units []pipes.GrainUnit, from string) error {
		if b := ea[table]; b != nil {
			delete(ea, table)
			return b.finish(ctx)
		}
		if len(units) == 0 {
			return nil
		}
		return r.startRebuild(ctx, e, ra, d, units, runID, from).finish(ctx)
	}
	finer := changed
	for _, g := range ra.Grains {
		units := g.Units(finer)
		if err := do(g.Table, g, units, g.From); err != nil {
			return err
		}
		if len(units) > 0 {
			finer = timerange.Range{Start: units[0].Periods.Start, End: units[len(units)-1].Periods.End} // the week grain follows the days just merged again
		}
	}
	for _, f := range ra.Finals {
		if err := do(f.Table, f, f.Units(changed), f.From()); err != nil {
			return err
		}
	}
	return nil
}

// layoutHint returns err, explained when the swap failed because the grain table was laid out
// by an older hourglass (its partition key is not the compiled one): deploy lays it out again.
func (r *Runner) layoutHint(ctx context.Context, e engine.Engine, d derivedTable, table string, err error) error {
	g, ok := d.(*pipes.GrainArtifacts)
	if !ok {
		return err
	}
	res, qerr := e.Query(context.WithoutCancel(ctx), g.PartitionKey(), engine.Params{"db": r.artifacts.Project.Database, "table": table})
	if qerr != nil || len(res.Rows) == 0 {
		return err
	}
	have := fmt.Sprint(res.Rows[0][0])
	if g.LaidOut(have) {
		return err
	}
	return fmt.Errorf("%s is partitioned by %s, this hourglass partitions it by %s: run hourglass deploy, which lays it out again, then this command again (%w)",
		table, have, strings.ReplaceAll(g.PartitionExpr, "`", ""), err)
}

// purge deletes the parts the swaps of partitions ids of table replaced and waits until they
// are gone (see waitPurged).
func (r *Runner) purge(ctx context.Context, e engine.Engine, ra *pipes.RollupArtifacts, table, purge string, ids []string) error {
	deadline := time.Now().Add(purgeWait)
	pause := 20 * time.Millisecond
	params := ra.OutdatedPartsParams(ids)
	params["table"] = table
	for {
		if err := e.Exec(ctx, purge, nil); err != nil {
			return fmt.Errorf("delete the parts of %s a swap replaced: %w", table, err)
		}
		res, err := e.Query(ctx, ra.OutdatedParts(), params)
		if err != nil {
			return fmt.Errorf("check the parts of %s a swap replaced: %w", table, err)
		}
		if res.Row()[0] == uint64(0) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("parts of %s replaced by a swap are still on disk after %s (a long query may still read them): run again", table, purgeWait)
		}
		time.Sleep(pause)
		if pause < 500*time.Millisecond {
			pause *= 2
		}
	}
}
