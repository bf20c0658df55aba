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
)

// runUnit fills a private staging table with the partition's new content and swaps it into
// the rollup, durably. The run log gets one row per state that matters: "swapping" just
// before the swap (from then on a crash may leave the partition doubled, see the package
// comment), then "done" once the replaced parts are purged — or "failed" (partition
// untouched) / "swap_failed" (partition in doubt) when it fails.
func (r *Runner) runUnit(ctx context.Context, rn *run, u Unit) (meta.Unit, error) {
	ra := rn.ra
	start := time.Now()
	rec := meta.Unit{RunID: rn.id, Rollup: ra.Table, Hash: ra.Hash, Kind: rn.kind, Start: u.Partition.Start, End: u.Range.End}
	swapIssued := false
	fail := func(what string, err error) (meta.Unit, error) {
		if what != "" {
			err = fmt.Errorf("%s: %w", what, err)
		}
		rec.Status, rec.Error, rec.Duration = meta.StatusFailed, oneLine(err.Error()), time.Since(start)
		if swapIssued {
			rec.Status = meta.StatusSwapFailed
		}
		_ = r.store.RecordUnit(ctx, rec) // best effort: without it the unit stays in doubt
		return rec, &UnitError{Unit: u, Err: err}
	}
	step := func(s Step) error { return r.hooks.at(ctx, s, u) }

	staging := stagingName(ra, u, rn.id, time.Now())
	ddl := ra.CreateStagingNamed(staging)
	if !rn.trigger.IsZero() {
		var err error
		if ddl, err = ra.CreateStagingNamedAt(staging, rn.trigger); err != nil {
			return fail("create staging", err)
		}
	}
	if err := r.e.Exec(ctx, ddl, nil); err != nil {
		return fail("create staging", err)
	}
	dropped := false
	drop := func() {
		if !dropped {
			dropped = true
			_ = r.e.Exec(context.WithoutCancel(ctx), ra.DropTableNamed(staging), nil) // a leftover is dropped by a later run
		}
	}
	defer drop()
	if err := step(StepBeforeStage); err != nil {
		return fail("before stage", err)
	}
	read, written, err := r.stage(ctx, ra, staging, u)
	if err != nil {
		return fail("", err)
	}
	rec.RowsRead, rec.RowsWritten = read, written
	if err := step(StepStaged); err != nil {
		return fail("after stage", err)
	}
	if err := rn.lease.check(); err != nil {
		return fail("swap partition "+u.PartitionID, err)
	}
	rec.Status = meta.StatusSwapping
	if err := r.store.RecordUnit(ctx, rec); err != nil {
		return fail("record the swap of "+u.PartitionID, err)
	}
	if err := step(StepSwapRecorded); err != nil {
		return fail("before swap", err)
	}
	partitionID := ra.BackfillPartitionID(u.PartitionID)
	swapIssued = true
	if err := r.e.Exec(ctx, ra.ReplacePartitionFrom(partitionID, staging), nil); err != nil {
		return fail("swap partition "+partitionID, err)
	}
	if err := step(StepSwapped); err != nil {
		return fail("after swap", err)
	}
	if err := r.waitPurged(ctx, ra, partitionID); err != nil {
		return fail("swap partition "+partitionID, err)
	}
	if err := step(StepPurged); err != nil {
		return fail("after purge", err)
	}
	drop()
	rec.Status, rec.Duration = meta.StatusDone, time.Since(start)
	rows := []meta.Unit{rec}
	if rn.resolves != nil {
		rows = append(rows, rn.resolves(u)...)
	}
	if err := r.store.RecordUnits(ctx, rows...); err != nil {
		// The swap is durable but not recorded: the unit stays "swapping", so its partition is
		// suspect once this run ends and the next command redoes it.
		return rec, &UnitError{Unit: u, Err: fmt.Errorf("record partition %s done: %w", partitionID, err)}
	}
	if err := step(StepRecorded); err != nil {
		return rec, &UnitError{Unit: u, Err: fmt.Errorf("after record: %w", err)}
	}
	return rec, nil
}

// stage fills the staging table: the partition's hours outside u.Range carried from the
// rollup (when u.Carry), then u.Range recomputed from raw rows. It returns the raw rows the
// engine read and the rows staged, from the engine's own statistics of the INSERTs.
func (r *Runner) stage(ctx context.Context, ra *pipes.RollupArtifacts, staging string, u Unit) (read, written uint64, err error) {
	rg := engine.Params{pipes.StartParam: u.Range.Start, pipes.EndParam: u.Range.End}
	known := true
	if u.Carry {
		res, err := r.e.Query(ctx, ra.CarryInto(staging), engine.Params{pipes.StartParam: u.Range.Start, pipes.EndParam: u.Range.End,
			pipes.PartitionStartParam: u.Partition.Start, pipes.PartitionEndParam: u.Partition.End})
		if err != nil {
			return 0, 0, fmt.Errorf("carry the hours outside %s: %w", u.Range, err)
		}
		written, known = res.Stats.RowsWritten, res.Stats.WritesKnown
	}
	res, err := r.e.Query(ctx, ra.PopulateInto(staging), rg)
	if err != nil {
		return 0, 0, fmt.Errorf("recompute: %w", err)
	}
	read, written = res.Stats.RowsRead, written+res.Stats.RowsWritten
	if known && res.Stats.WritesKnown {
		return read, written, nil
	}
	// The server does not report written rows (before protocol revision 54420): count the
	// staged rows, rollup rows only.
	res, err = r.e.Query(ctx, ra.CountRows(staging), engine.Params{pipes.StartParam: u.Partition.Start, pipes.EndParam: u.Partition.End})
	if err != nil {
		return 0, 0, fmt.Errorf("count staged rows: %w", err)
	}
	return read, res.Row()[0].(uint64), nil
}

// purgeWait bounds how long a unit waits for the parts its swap replaced to leave the disk (a
// part still read by a running query stays until that query ends).
const purgeWait = 60 * time.Second

// waitPurged deletes the parts the swap of partition id replaced and waits until they are gone
// from disk: until then an engine that stops could load them again as active parts on its
// next start and double the partition, so the unit is not durable before.
func (r *Runner) waitPurged(ctx context.Context, ra *pipes.RollupArtifacts, id string) error {
	deadline := time.Now().Add(purgeWait)
	pause := 20 * time.Millisecond
	for {
		if err := r.e.Exec(ctx, ra.PurgeReplaced(), nil); err != nil {
			return fmt.Errorf("delete replaced parts: %w", err)
		}
		res, err := r.e.Query(ctx, ra.OutdatedParts(), ra.OutdatedPartsParams([]string{id}))
		if err != nil {
			return fmt.Errorf("check replaced parts: %w", err)
		}
		if res.Row()[0] == uint64(0) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("parts replaced by the swap are still on disk after %s (a long query may still read them): run again", purgeWait)
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
