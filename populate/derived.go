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
// hours of the version keeps them in step before it is recorded done. The derived partitions
// holding the changed periods are rebuilt together in one staging table — the changed periods
// merged again from the finer table by one INSERT, the partitions' other periods carried from
// the derived table itself — and swapped in one by one with REPLACE PARTITION, the replaced
// parts purged once. A crash in between leaves the unit unfinished, and redoing it rebuilds
// them again. Rebuilds of one derived table are serialised within the process (units of one
// run may run in parallel and share a month or a week).

// derivedTable is a grain or finals table as a unit rebuilds it.
type derivedTable interface {
	CreateStagingNamed(name string) string
	Rebuild(staging string) string
	ReplacePartitionFrom(partitionID, staging string) string
	DropPartition(partitionID string) string
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
		units := g.Units(finer)
		if err := r.rebuild(ctx, e, ra, g, units, runID); err != nil {
			return err
		}
		if len(units) > 0 {
			finer = timerange.Range{Start: units[0].Periods.Start, End: units[len(units)-1].Periods.End} // the week grain follows the days just merged again
		}
	}
	for _, f := range ra.Finals {
		if err := r.rebuild(ctx, e, ra, f, f.Units(changed), runID); err != nil {
			return err
		}
	}
	return nil
}

// rebuild rebuilds consecutive partitions of a derived table (units, whose periods follow each
// other) in one staging table and swaps each in, durably: one INSERT merges every changed
// period again and carries the partitions' other periods, so a long range costs one
// aggregation instead of one per partition.
func (r *Runner) rebuild(ctx context.Context, e engine.Engine, ra *pipes.RollupArtifacts, d derivedTable, units []pipes.GrainUnit, runID string) error {
	if len(units) == 0 {
		return nil
	}
	first, last := units[0], units[len(units)-1]
	mu := r.lock(first.Table)
	mu.Lock()
	defer mu.Unlock()
	what := fmt.Sprintf("keep %s %s in step", first.Table, first.PartitionID)
	if len(units) > 1 {
		what = fmt.Sprintf("keep %s %s–%s in step", first.Table, first.PartitionID, last.PartitionID)
	}
	staging := fmt.Sprintf("%s__stg_%s_%d_%s", first.Table, first.PartitionID, time.Now().Unix(), strings.NewReplacer("-", "_").Replace(runID))
	if err := e.Exec(ctx, d.CreateStagingNamed(staging), nil); err != nil {
		return fmt.Errorf("%s: create staging: %w", what, err)
	}
	defer func() { _ = e.Exec(context.WithoutCancel(ctx), ra.DropTableNamed(staging), nil) }()
	all := pipes.GrainUnit{Partition: timerange.Range{Start: first.Partition.Start, End: last.Partition.End},
		Periods: timerange.Range{Start: first.Periods.Start, End: last.Periods.End}}
	if err := e.Exec(ctx, d.Rebuild(staging), engine.Params(all.RebuildParams())); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	res, err := e.Query(ctx, ra.StagedRows(), engine.Params{"db": r.artifacts.Project.Database, "table": staging})
	if err != nil {
		return fmt.Errorf("%s: count staged rows: %w", what, err)
	}
	staged := map[string]bool{}
	for _, row := range res.Rows {
		if n, _ := engine.Uint(row[1]); n > 0 {
			staged[fmt.Sprint(row[0])] = true
		}
	}
	ids := make([]string, len(units))
	for i, u := range units {
		ids[i] = u.PartitionID
		swap := d.ReplacePartitionFrom(u.PartitionID, staging)
		if !staged[u.PartitionID] {
			swap = d.DropPartition(u.PartitionID)
		}
		if err := e.Exec(ctx, swap, nil); err != nil {
			return fmt.Errorf("keep %s %s in step: swap: %w", u.Table, u.PartitionID, r.layoutHint(ctx, e, d, u.Table, err))
		}
	}
	return r.purge(ctx, e, ra, first.Table, d.PurgeReplaced(), ids)
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
