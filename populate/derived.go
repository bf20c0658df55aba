package populate

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

// Grain and finals tables are derived from the rollup version's table: a unit that swaps
// hours of the version keeps them in step before it is recorded done. Each derived partition
// holding a changed period is rebuilt in a staging table of its own — the changed periods
// merged again from the finer table, the partition's other periods carried from the derived
// table itself — and swapped in with REPLACE PARTITION, the replaced parts purged. A crash in
// between leaves the unit unfinished, and redoing it rebuilds them again. Rebuilds of one
// derived table are serialised within the process (units of one run may run in parallel and
// share a month or a week).

// derivedTable is a grain or finals table as a unit rebuilds it.
type derivedTable interface {
	CreateStagingNamed(name string) string
	Rebuild(staging string) string
	ReplacePartitionFrom(partitionID, staging string) string
	DropPartition(partitionID string) string
	CountPartition(table string) string
	PurgeReplaced() string
}

// lock returns the mutex serialising the rebuilds of a derived table.
func (r *Runner) lock(table string) *sync.Mutex {
	m, _ := r.locks.LoadOrStore(table, &sync.Mutex{})
	return m.(*sync.Mutex)
}

// keepDerived brings the version's grain tables (day, then week) and finals tables in step
// with the hours of changed, just swapped into its table on e (the engine the unit ran on: a
// shard's, on a cluster).
func (r *Runner) keepDerived(ctx context.Context, e engine.Engine, ra *pipes.RollupArtifacts, runID string, changed timerange.Range) error {
	finer := changed
	for _, g := range ra.Grains {
		var rebuilt timerange.Range
		for _, u := range g.Units(finer) {
			if err := r.rebuild(ctx, e, ra, g, u, runID); err != nil {
				return err
			}
			if rebuilt.Start.IsZero() {
				rebuilt.Start = u.Periods.Start
			}
			rebuilt.End = u.Periods.End
		}
		finer = rebuilt // the week grain follows the days just merged again
	}
	for _, f := range ra.Finals {
		for _, u := range f.Units(changed) {
			if err := r.rebuild(ctx, e, ra, f, u, runID); err != nil {
				return err
			}
		}
	}
	return nil
}

// rebuild rebuilds one partition of a derived table and swaps it in, durably.
func (r *Runner) rebuild(ctx context.Context, e engine.Engine, ra *pipes.RollupArtifacts, d derivedTable, u pipes.GrainUnit, runID string) error {
	mu := r.lock(u.Table)
	mu.Lock()
	defer mu.Unlock()
	what := fmt.Sprintf("keep %s %s in step", u.Table, u.PartitionID)
	staging := fmt.Sprintf("%s__stg_%s_%d_%s", u.Table, u.PartitionID, time.Now().Unix(), strings.NewReplacer("-", "_").Replace(runID))
	if err := e.Exec(ctx, d.CreateStagingNamed(staging), nil); err != nil {
		return fmt.Errorf("%s: create staging: %w", what, err)
	}
	defer func() { _ = e.Exec(context.WithoutCancel(ctx), ra.DropTableNamed(staging), nil) }()
	params := engine.Params(u.RebuildParams())
	if err := e.Exec(ctx, d.Rebuild(staging), params); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	res, err := e.Query(ctx, d.CountPartition(staging), params)
	if err != nil {
		return fmt.Errorf("%s: count staged rows: %w", what, err)
	}
	swap := d.ReplacePartitionFrom(u.PartitionID, staging)
	if res.Row()[0] == uint64(0) {
		swap = d.DropPartition(u.PartitionID)
	}
	if err := e.Exec(ctx, swap, nil); err != nil {
		return fmt.Errorf("%s: swap: %w", what, err)
	}
	return r.purge(ctx, e, ra, u.Table, d.PurgeReplaced(), []string{u.PartitionID})
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
