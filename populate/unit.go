package populate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

// runGroup fills a private staging table with the new content of a group of consecutive
// partitions (one unit each) and swaps each into the rollup, durably. A group of several
// partitions is recomputed by one INSERT, so the raw rows are read once instead of once per
// partition (a raw table not sorted by time first reads whole granules around every
// partition's edges) and the per-statement costs are paid once; its size is bounded by the
// rows it stages (see runUnits), so memory stays flat. The run log gets one write per state
// that matters for the whole group: "swapping" just before the swaps (from then on a crash may
// leave the partitions doubled, see the package comment), then "done" once the replaced parts
// are purged — or "failed" (partitions untouched) / "swap_failed" (partitions in doubt) when it
// fails.
//
// The group runs on one shard (sh): its statements are the shard's (sh.ra, on sh.e); its
// run-log rows are keyed by the rollup version's table (rn.ra.Table) and the shard.
func (r *Runner) runGroup(ctx context.Context, rn *run, sh *shard, units []Unit, size sizing) ([]meta.Unit, error) {
	ra, e := sh.ra, sh.e
	start := time.Now()
	recs := make([]meta.Unit, len(units))
	for i, u := range units {
		recs[i] = meta.Unit{RunID: rn.id, Rollup: rn.ra.Table, Hash: rn.ra.Hash, Kind: rn.kind, Start: u.Partition.Start, End: u.Range.End, Shard: sh.id}
	}
	first := units[0]
	swapIssued := false
	record := func(status, msg string, extra ...meta.Unit) error {
		for i := range recs {
			recs[i].Status, recs[i].Error, recs[i].Duration = status, msg, time.Since(start)
		}
		return r.store.RecordUnits(ctx, append(append([]meta.Unit{}, recs...), extra...)...)
	}
	fail := func(u Unit, what string, err error) ([]meta.Unit, error) {
		if what != "" {
			err = fmt.Errorf("%s: %w", what, err)
		}
		status := meta.StatusFailed
		if swapIssued {
			status = meta.StatusSwapFailed
		}
		_ = record(status, oneLine(err.Error())) // best effort: without it the units stay in doubt
		return recs, &UnitError{Unit: u, Err: err}
	}
	// step runs the hooks of step s for every unit of the group, in order.
	step := func(s Step) (Unit, error) {
		for _, u := range units {
			if err := r.hooks.at(ctx, s, u); err != nil {
				return u, err
			}
		}
		return Unit{}, nil
	}

	staging := stagingName(ra, first, rn.id, time.Now())
	ddl := ra.CreateStagingNamed(staging)
	if !rn.trigger.IsZero() {
		var err error
		if ddl, err = ra.CreateStagingNamedAt(staging, rn.trigger); err != nil {
			return fail(first, "create staging", err)
		}
	}
	if err := e.Exec(ctx, ddl, nil); err != nil {
		return fail(first, "create staging", err)
	}
	dropped := false
	drop := func() {
		if !dropped {
			dropped = true
			_ = e.Exec(context.WithoutCancel(ctx), ra.DropTableNamed(staging), nil) // a leftover is dropped by a later run
		}
	}
	defer drop()
	if u, err := step(StepBeforeStage); err != nil {
		return fail(u, "before stage", err)
	}
	if err := r.stage(ctx, e, ra, staging, units, size, recs); err != nil {
		return fail(first, "", err)
	}
	if u, err := step(StepStaged); err != nil {
		return fail(u, "after stage", err)
	}
	if err := rn.lease.check(); err != nil {
		return fail(first, "swap partition "+first.PartitionID, err)
	}
	// The grains and finals read from the version's table start merging from the staging
	// table now, while the partitions are swapped in (see startDerived).
	ea := r.startDerived(ctx, e, rn, ra, staging, units)
	defer ea.close(ctx)
	if err := record(meta.StatusSwapping, ""); err != nil {
		return fail(first, "record the swap of "+first.PartitionID, err)
	}
	if u, err := step(StepSwapRecorded); err != nil {
		return fail(u, "before swap", err)
	}
	ids := make([]string, len(units))
	for i, u := range units {
		ids[i] = ra.BackfillPartitionID(u.PartitionID)
		swapIssued = true
		if err := e.Exec(ctx, ra.ReplacePartitionFrom(ids[i], staging), nil); err != nil {
			return fail(u, "swap partition "+ids[i], err)
		}
		if err := r.hooks.at(ctx, StepSwapped, u); err != nil {
			return fail(u, "after swap", err)
		}
	}
	// The version's grains and finals follow the hours just swapped in, inside the unit: a
	// crash from here on leaves the units swapping, and their redo rebuilds them too.
	changed := timerange.Range{Start: first.Range.Start, End: units[len(units)-1].Range.End}
	if err := r.keepDerived(ctx, e, ra, rn.id, changed, ea); err != nil {
		return fail(first, "keep the grains and finals of "+first.PartitionID+" in step", err)
	}
	if err := r.waitPurged(ctx, sh, ids); err != nil {
		return fail(first, "swap partition "+first.PartitionID, err)
	}
	if u, err := step(StepPurged); err != nil {
		return fail(u, "after purge", err)
	}
	drop()
	var resolved []meta.Unit
	if rn.resolves != nil {
		for _, u := range units {
			resolved = append(resolved, rn.resolves(u)...)
		}
	}
	if err := record(meta.StatusDone, "", resolved...); err != nil {
		// The swaps are durable but not recorded: the units stay "swapping", so their partitions
		// are suspect once this run ends and the next command redoes them.
		return recs, &UnitError{Unit: first, Err: fmt.Errorf("record partition %s done: %w", first.PartitionID, err)}
	}
	if u, err := step(StepRecorded); err != nil {
		return recs, &UnitError{Unit: u, Err: fmt.Errorf("after record: %w", err)}
	}
	return recs, nil
}

// stage fills the staging table with the group's new content: a unit's hours outside its
// Range carried from the rollup (when Carry; such a unit is alone in its group), then the
// group's Ranges recomputed from raw rows by an INSERT per piece of size.pieces, size.at of
// them at once (the engine's memory follows the rows the running INSERTs aggregate). It
// sets each record's rows read and written from the engine's own statistics: the rows written
// per partition are read from the staging table's parts when the group has several, and the
// raw rows the INSERTs read are shared among them in proportion.
func (r *Runner) stage(ctx context.Context, e engine.Engine, ra *pipes.RollupArtifacts, staging string, units []Unit, size sizing, recs []meta.Unit) error {
	first := units[0]
	var carried uint64
	known := true
	if first.Carry {
		res, err := e.Query(ctx, ra.CarryInto(staging), engine.Params{pipes.StartParam: first.Range.Start, pipes.EndParam: first.Range.End,
			pipes.PartitionStartParam: first.Partition.Start, pipes.PartitionEndParam: first.Partition.End})
		if err != nil {
			return fmt.Errorf("carry the hours outside %s: %w", first.Range, err)
		}
		carried, known = res.Stats.RowsWritten, res.Stats.WritesKnown
	}
	pieces := size.pieces
	at := min(max(1, size.at), len(pieces))
	var (
		mu            sync.Mutex
		read, written uint64
		firstErr      error
		next          int
		wg            sync.WaitGroup
	)
	// Each of at stagers takes the next piece until none is left or one failed.
	for range at {
		wg.Go(func() {
			for {
				mu.Lock()
				if next == len(pieces) || firstErr != nil {
					mu.Unlock()
					return
				}
				rg := pieces[next]
				next++
				mu.Unlock()
				res, err := e.Query(ctx, ra.PopulateIntoThreads(staging, size.threads(at)), engine.Params{pipes.StartParam: rg.Start, pipes.EndParam: rg.End})
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("recompute %s: %w", rg, err)
					}
				} else {
					read, written = read+res.Stats.RowsRead, written+res.Stats.RowsWritten
					known = known && res.Stats.WritesKnown
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if len(units) == 1 && known {
		recs[0].RowsRead, recs[0].RowsWritten = read, carried+written
		return nil
	}
	// Several partitions, or a server that does not report written rows (before protocol
	// revision 54420): read the staged rows per partition from the staging table's parts.
	parts, err := e.Query(ctx, ra.StagedRows(), engine.Params{"db": r.artifacts.Project.Database, "table": staging})
	if err != nil {
		return fmt.Errorf("count staged rows: %w", err)
	}
	byID := map[string]uint64{}
	var total uint64
	for _, row := range parts.Rows {
		n, _ := toUint(row[1])
		byID[row[0].(string)] = n
		total += n
	}
	for i, u := range units {
		recs[i].RowsWritten = byID[ra.BackfillPartitionID(u.PartitionID)]
		switch {
		case total > 0:
			recs[i].RowsRead = uint64(float64(read) * float64(recs[i].RowsWritten) / float64(total))
		case i == 0:
			recs[i].RowsRead = read
		}
	}
	return nil
}

// purgeWait bounds how long a unit waits for the parts its swap replaced to leave the disk (a
// part still read by a running query stays until that query ends).
const purgeWait = 60 * time.Second

// waitPurged deletes the parts the swaps of partitions ids replaced and waits until they are
// gone from disk: until then an engine that stops could load them again as active parts on its
// next start and double the partitions, so no unit is durable before.
//
// On a cluster the shard's rollup is a Replicated table, and every replica of the shard that
// answers must have applied the swaps (they reach it through ZooKeeper) and lost the parts they
// replaced. ClickHouse 18.16 does not load a replaced part again after a restart (it is not in
// ZooKeeper any more: the replica renames it ignored_…), but a replica killed while replaced
// parts hold more than half of the table's rows on its disk refuses to start the table, and
// 18.16 then refuses to start at all (replicated_max_ratio_of_wrong_parts). A replica that does
// not answer has the swaps in its replication queue, which it applies when it starts again.
func (r *Runner) waitPurged(ctx context.Context, sh *shard, ids []string) error {
	deadline := time.Now().Add(purgeWait)
	ra := sh.ra
	outdated := func(e engine.Engine) (bool, error) {
		res, err := e.Query(ctx, ra.OutdatedParts(), ra.OutdatedPartsParams(ids))
		if err != nil {
			return false, fmt.Errorf("check replaced parts: %w", err)
		}
		return res.Row()[0] != uint64(0), nil
	}
	// left reports whether a replaced part is still on the disk of a replica of the shard;
	// every other replica is first made to apply the swaps.
	synced := make([]bool, len(sh.others))
	left := func() (bool, error) {
		if l, err := outdated(sh.e); err != nil || l {
			return l, err
		}
		for i, o := range sh.others {
			if !synced[i] {
				sctx, cancel := context.WithDeadline(ctx, deadline)
				err := o.e.Exec(sctx, ra.SyncReplica(), nil)
				cancel()
				if err != nil {
					return false, fmt.Errorf("wait for replica %s to apply the swap: %w", o.host, err)
				}
				synced[i] = true
			}
			if l, err := outdated(o.e); err != nil || l {
				if err != nil {
					err = fmt.Errorf("replica %s: %w", o.host, err)
				}
				return l, err
			}
		}
		return false, nil
	}
	pause := 20 * time.Millisecond
	var purgeErr error
	purged := false
	if len(sh.others) == 0 {
		// One server: the swaps just made the replaced parts outdated, so drop them before the
		// first check instead of finding them there first (a query fewer per unit).
		purgeErr = sh.e.Exec(ctx, ra.PurgeReplaced(), nil)
		purged = purgeErr == nil
	}
	for {
		l, err := left()
		switch {
		case err != nil:
			return err
		case !l:
			return nil
		case time.Now().After(deadline) && purgeErr != nil:
			return fmt.Errorf("delete replaced parts: %w", purgeErr)
		case time.Now().After(deadline):
			return fmt.Errorf("parts replaced by the swap are still on disk after %s (a long query may still read them): run again", purgeWait)
		}
		// Dropping a partition that never exists clears the table's replaced parts at once; on a
		// Replicated table the drop also reaches the other replicas and clears theirs. A
		// Replicated table drops partitions through its shard's leader replica, and just after
		// a restart there may be none for a while ("Leader was suddenly changed", until the
		// dead server's ZooKeeper session expires): a failed drop is tried again until the
		// deadline. (A Replicated table's swap wakes its cleanup itself, so the drop is rarely
		// needed there.)
		if purgeErr = sh.e.Exec(ctx, ra.PurgeReplaced(), nil); purgeErr == nil && !purged {
			purged = true
			continue // check again at once: the drop cleared what no query reads
		}
		time.Sleep(pause)
		if pause < 500*time.Millisecond {
			pause *= 2
		}
	}
}

// Run leases: a run renews its lease every leaseTTL/3 and stops swapping when it could not
// renew it in time, or when the engine restarted under it — from then on other runs treat its
// units in doubt as dead and redo their partitions, so it must not swap any more.
const (
	leaseTTL = 60 * time.Second
	// leaseMargin is how long before its lease expires a run stops issuing swaps.
	leaseMargin = 10 * time.Second
)

// lease is a run's lease and the goroutine renewing it.
type lease struct {
	store *meta.Store
	mu    sync.Mutex
	l     *meta.RunLease
	err   error // why the run may not swap any more
	stop  chan struct{}
	done  chan struct{}
}

func (r *Runner) takeLease(ctx context.Context, rn *run) (*lease, error) {
	l, err := r.store.TakeRunLease(ctx, rn.ra.Table, rn.id, leaseTTL)
	if err != nil {
		return nil, fmt.Errorf("take the run lease of %s: %w", rn.ra.Table, err)
	}
	ls := &lease{store: r.store, l: l, stop: make(chan struct{}), done: make(chan struct{})}
	go ls.renew(context.WithoutCancel(ctx))
	return ls, nil
}

func (ls *lease) renew(ctx context.Context) {
	defer close(ls.done)
	t := time.NewTicker(leaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ls.stop:
			return
		case <-t.C:
		}
		ls.mu.Lock()
		cur := *ls.l
		ls.mu.Unlock()
		err := ls.store.RenewRunLease(ctx, &cur, leaseTTL)
		ls.mu.Lock()
		if err == nil {
			ls.l.Until = cur.Until
		} else if errors.Is(err, meta.ErrEngineRestarted) {
			ls.err = err
		}
		ls.mu.Unlock()
	}
}

// check returns why the run may not issue a swap now, or nil.
func (ls *lease) check() error {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.err != nil {
		return ls.err
	}
	if time.Until(ls.l.Until) < leaseMargin {
		return fmt.Errorf("the run lease of %s could not be renewed (expires %s): run again", ls.l.RunID, ls.l.Until.Format(time.RFC3339))
	}
	return nil
}

// release stops the renewal and records that the run ended.
func (ls *lease) release(ctx context.Context) {
	close(ls.stop)
	<-ls.done
	ls.mu.Lock()
	l := *ls.l
	ls.mu.Unlock()
	_ = ls.store.ReleaseRunLease(ctx, &l) // unreleased, it expires by itself
}
