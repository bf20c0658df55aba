// Package populate fills rollups from raw data, exactly once: ranged backfills, the hourly
// populate the :05 cron runs, and reconcile.
//
// The unit of work is one rollup partition (a day by default). A unit recomputes the
// partition's closed hours from raw rows into a staging table of its own, then swaps it into
// the rollup with ALTER TABLE … REPLACE PARTITION (or drops the partition when the recomputed
// result is empty). A partition is therefore never half-written and never appended to twice:
// running a unit again, after a crash or concurrently with another run, leaves the same rollup.
// Every unit is recorded in the run log (package meta), which is what --resume, status, the
// watermark and the scheduler read.
package populate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

// Kinds of run, as recorded in the run log.
const (
	KindBackfill  = "backfill"
	KindPopulate  = "populate"
	KindReconcile = "reconcile"
)

// Runner runs populate units for the rollups of one compiled project.
type Runner struct {
	e         engine.Engine
	store     *meta.Store
	artifacts *pipes.Artifacts
	now       func() time.Time
	events    func(Event)
	hooks     Hooks
	// locks serialise the rebuilds of each grain and finals table (see keepDerived).
	locks sync.Map
}

// Hooks let tests inject faults at the points where a crash matters most.
type Hooks struct {
	// AfterStage runs after a unit's staging table is filled and before the swap; an error
	// fails the unit there.
	AfterStage func(ctx context.Context, u Unit) error
}

// Options configure a Runner.
type Options struct {
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Events receives progress events (ignored when nil). It is called from worker
	// goroutines, one call at a time.
	Events func(Event)
	// Hooks inject faults in tests.
	Hooks Hooks
}

// New returns a Runner for the compiled project a, writing its run log to store.
func New(e engine.Engine, store *meta.Store, a *pipes.Artifacts, opts Options) *Runner {
	r := &Runner{e: e, store: store, artifacts: a, now: opts.Now, events: opts.Events, hooks: opts.Hooks}
	if r.now == nil {
		r.now = time.Now
	}
	return r
}

// Unit is one partition's worth of work.
type Unit struct {
	Rollup string `json:"rollup"`
	// Partition is the partition's full range; Range is the part of it recomputed (its closed
	// hours).
	Partition   timerange.Range `json:"partition"`
	Range       timerange.Range `json:"range"`
	PartitionID string          `json:"partition_id"`
}

// EventKind says what happened to a unit.
type EventKind string

// Event kinds.
const (
	EventPlanned EventKind = "planned"
	EventStarted EventKind = "started"
	EventDone    EventKind = "done"
	EventSkipped EventKind = "skipped"
	EventFailed  EventKind = "failed"
)

// Event reports progress of a run.
type Event struct {
	Kind  EventKind
	RunID string
	Unit  Unit
	// Total is the number of units of the run (with EventPlanned).
	Total       int
	RowsRead    uint64
	RowsWritten uint64
	Duration    time.Duration
	Err         error
}

func (r *Runner) emit(mu *sync.Mutex, ev Event) {
	if r.events == nil {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	r.events(ev)
}

// Report is what a run did.
type Report struct {
	RunID       string          `json:"run_id"`
	Rollup      string          `json:"rollup"`
	Kind        string          `json:"kind"`
	Range       timerange.Range `json:"range"`
	Units       int             `json:"units"`
	Done        int             `json:"done"`
	Skipped     int             `json:"skipped"`
	Failed      int             `json:"failed"`
	RowsRead    uint64          `json:"rows_read"`
	RowsWritten uint64          `json:"rows_written"`
	Duration    time.Duration   `json:"duration_ns"`
	// Watermark is the rollup's watermark after the run.
	Watermark time.Time `json:"watermark,omitzero"`
}

// InterruptedError says a run stopped early (Ctrl-C, SIGTERM) after finishing the units in
// progress; Report tells what was done.
type InterruptedError struct {
	Report *Report
}

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("%s %s interrupted after %d of %d units", e.Report.Kind, e.Report.Rollup, e.Report.Done+e.Report.Skipped, e.Report.Units)
}

// UnitError is the failure of one unit.
type UnitError struct {
	Unit Unit
	Err  error
}

func (e *UnitError) Error() string {
	return fmt.Sprintf("%s %s: %v", e.Unit.Rollup, timerange.Format(e.Unit.Range.Start)[:10], e.Err)
}

func (e *UnitError) Unwrap() error { return e.Err }

// rollup returns the compiled rollup or a clear error.
func (r *Runner) rollup(name string) (*pipes.RollupArtifacts, error) {
	ra := r.artifacts.Rollup(name)
	if ra == nil {
		var names []string
		for _, x := range r.artifacts.Rollups {
			names = append(names, x.Rollup.Name)
		}
		return nil, fmt.Errorf("unknown rollup %q: the project declares %s", name, strings.Join(names, ", "))
	}
	return ra, nil
}

// CheckDeployed verifies that the rollup is deployed with the definition compiled now.
func (r *Runner) CheckDeployed(ctx context.Context, ra *pipes.RollupArtifacts) error {
	ok, err := r.store.Exists(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("rollup %s is not deployed: run hourglass deploy", ra.Rollup.Name)
	}
	deps, err := r.store.Deployments(ctx)
	if err != nil {
		return err
	}
	d, ok := deps[ra.Rollup.Name]
	switch {
	case !ok:
		return fmt.Errorf("rollup %s is not deployed: run hourglass deploy", ra.Rollup.Name)
	case d.Hash != ra.Hash:
		return fmt.Errorf("rollup %s changed since it was deployed (definition hash %.12s, deployed %.12s): run hourglass deploy", ra.Rollup.Name, ra.Hash, d.Hash)
	}
	return nil
}

// Plan splits [from, to) into the units that recompute it: every partition the range
// touches, each recomputed over its hours before closedEnd.
func Plan(ra *pipes.RollupArtifacts, rg timerange.Range, closedEnd time.Time) []Unit {
	p := timerange.Partition(ra.Rollup.Partition)
	var units []Unit
	for _, part := range timerange.Partitions(p, rg) {
		work := part.Intersect(timerange.Range{Start: part.Start, End: closedEnd})
		if work.Empty() {
			continue
		}
		units = append(units, Unit{Rollup: ra.Rollup.Name, Partition: part, Range: work, PartitionID: timerange.PartitionID(p, part.Start)})
	}
	return units
}

func newRunID(now time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
}

// runUnits runs units with up to parallel workers. When ctx is cancelled, units already
// running finish (they run on a context that is not cancelled) and no new unit starts.
//
// A unit is recorded done only once the parts its swap replaced have left the disk (see
// waitPurged): the run waits for that once, after its last unit, rather than after each.
func (r *Runner) runUnits(ctx context.Context, ra *pipes.RollupArtifacts, kind, runID string, units []Unit, skip map[time.Time]bool, parallel int, rep *Report) error {
	if parallel < 1 {
		parallel = 1
	}
	var mu, evMu sync.Mutex
	var firstErr error
	var swapped []swappedUnit
	r.dropStaleStaging(ctx, ra)
	r.emit(&evMu, Event{Kind: EventPlanned, RunID: runID, Total: len(units)})
	work := make(chan Unit)
	var wg sync.WaitGroup
	for i := 0; i < parallel; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range work {
				mu.Lock()
				stop := firstErr != nil
				mu.Unlock()
				if stop || ctx.Err() != nil {
					continue // a unit failed or the run was interrupted: start nothing new
				}
				r.emit(&evMu, Event{Kind: EventStarted, RunID: runID, Unit: u})
				su, err := r.runUnit(context.WithoutCancel(ctx), ra, kind, runID, u)
				mu.Lock()
				if err != nil {
					rep.Failed++
					if firstErr == nil {
						firstErr = err
					}
				} else {
					swapped = append(swapped, su)
				}
				mu.Unlock()
				if err != nil {
					r.emit(&evMu, Event{Kind: EventFailed, RunID: runID, Unit: u, Err: err, Duration: su.rec.Duration})
				} else {
					r.emit(&evMu, Event{Kind: EventDone, RunID: runID, Unit: u, RowsRead: su.rec.RowsRead, RowsWritten: su.rec.RowsWritten, Duration: su.rec.Duration})
				}
			}
		}()
	}
	interrupted := false
dispatch:
	for _, u := range units {
		if skip[u.Range.Start] {
			rep.Skipped++
			r.emit(&evMu, Event{Kind: EventSkipped, RunID: runID, Unit: u})
			continue
		}
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		select {
		case <-ctx.Done():
			interrupted = true
			break dispatch
		case work <- u:
		}
	}
	close(work)
	wg.Wait()
	if err := r.finish(context.WithoutCancel(ctx), ra, swapped, rep); err != nil && firstErr == nil {
		firstErr = err
	}
	if firstErr != nil {
		return firstErr
	}
	if interrupted || ctx.Err() != nil && rep.Done+rep.Skipped < rep.Units {
		return &InterruptedError{Report: rep}
	}
	return nil
}

// staleAfter is how old a staging table must be before a run takes it for a leftover of a
// killed run: far longer than any unit takes, so a concurrent run's tables are never touched.
const staleAfter = 6 * time.Hour

// stagingName names a unit's private staging table: the rollup's staging prefix, the
// partition, the wall-clock creation time in Unix seconds (how leftovers are recognised) and
// the run id, so no two units ever share one.
func stagingName(ra *pipes.RollupArtifacts, u Unit, runID string, created time.Time) string {
	return fmt.Sprintf("%s%s_%d_%s", ra.StagingPrefix(), u.PartitionID, created.Unix(), strings.NewReplacer("-", "_").Replace(runID))
}

// stagingCreated reads the creation time back from a staging table's name.
func stagingCreated(ra *pipes.RollupArtifacts, name string) (time.Time, bool) {
	return stagingCreatedWith(ra.StagingPrefix(), name)
}

// stagingCreatedWith reads the creation time back from the name of a staging table whose
// names start with prefix.
func stagingCreatedWith(prefix, name string) (time.Time, bool) {
	parts := strings.Split(strings.TrimPrefix(name, prefix), "_")
	if len(parts) < 3 || !strings.HasPrefix(name, prefix) {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(sec, 0), true
}

// dropStaleStaging drops the rollup's staging tables that runs killed between creating and
// dropping them left behind. It is housekeeping: a failure does not stop the run.
func (r *Runner) dropStaleStaging(ctx context.Context, ra *pipes.RollupArtifacts) {
	ctx = context.WithoutCancel(ctx)
	prefixes := []string{ra.StagingPrefix()}
	for _, g := range ra.Grains {
		prefixes = append(prefixes, g.Table+"__stg_")
	}
	for _, f := range ra.Finals {
		prefixes = append(prefixes, f.Table+"__stg_")
	}
	for _, prefix := range prefixes {
		res, err := r.e.Query(ctx, ra.StagingTables(), engine.Params{"db": r.artifacts.Project.Database, "prefix": prefix})
		if err != nil {
			return
		}
		for _, row := range res.Rows {
			name := row[0].(string)
			if created, ok := stagingCreatedWith(prefix, name); ok && time.Since(created) > staleAfter {
				_ = r.e.Exec(ctx, ra.DropTableNamed(name), nil)
			}
		}
	}
}

// swappedUnit is a unit whose partition was swapped in, waiting to be recorded done.
type swappedUnit struct {
	unit        Unit
	partitionID string
	rec         meta.Unit
}

// finish waits until the parts the swaps replaced are purged, then records the units done.
func (r *Runner) finish(ctx context.Context, ra *pipes.RollupArtifacts, swapped []swappedUnit, rep *Report) error {
	if len(swapped) == 0 {
		return nil
	}
	ids := make([]string, len(swapped))
	for i, su := range swapped {
		ids[i] = su.partitionID
	}
	purgeErr := r.waitPurged(ctx, ra, ids)
	for _, su := range swapped {
		rec := su.rec
		if purgeErr != nil {
			rec.Status, rec.Error = meta.StatusFailed, oneLine(purgeErr.Error())
			rep.Failed++
		} else {
			rec.Status = meta.StatusDone
			rep.Done++
			rep.RowsRead += rec.RowsRead
			rep.RowsWritten += rec.RowsWritten
		}
		if err := r.store.RecordUnit(ctx, rec); err != nil {
			return &UnitError{Unit: su.unit, Err: err}
		}
	}
	return purgeErr
}

// runUnit recomputes one partition and swaps it in, recording the start (and a failure) in
// the run log.
func (r *Runner) runUnit(ctx context.Context, ra *pipes.RollupArtifacts, kind, runID string, u Unit) (swappedUnit, error) {
	start := time.Now()
	rec := meta.Unit{RunID: runID, Rollup: ra.Rollup.Name, Hash: ra.Hash, Kind: kind, Start: u.Range.Start, End: u.Range.End, Status: meta.StatusStarted}
	su := swappedUnit{unit: u, partitionID: ra.BackfillPartitionID(u.PartitionID)}
	if err := r.store.RecordUnit(ctx, rec); err != nil {
		return su, &UnitError{Unit: u, Err: err}
	}
	read, written, err := r.swap(ctx, ra, runID, u)
	rec.Duration, rec.RowsRead, rec.RowsWritten = time.Since(start), read, written
	su.rec = rec
	if err != nil {
		rec.Status, rec.Error = meta.StatusFailed, oneLine(err.Error())
		_ = r.store.RecordUnit(ctx, rec)
		return su, &UnitError{Unit: u, Err: err}
	}
	return su, nil
}

// swap is the exactly-once core: recompute into a private staging table, then replace.
func (r *Runner) swap(ctx context.Context, ra *pipes.RollupArtifacts, runID string, u Unit) (read, written uint64, err error) {
	staging := stagingName(ra, u, runID, time.Now())
	params := engine.Params{pipes.StartParam: u.Range.Start, pipes.EndParam: u.Range.End}
	if err := r.e.Exec(ctx, ra.DropTableNamed(staging), nil); err != nil {
		return 0, 0, fmt.Errorf("clear staging: %w", err)
	}
	ddl := ra.CreateStagingNamed(staging)
	partitionID := ra.BackfillPartitionID(u.PartitionID)
	if ra.Rollup.Mode == datasources.ModeTrigger {
		w, err := r.triggerWatermark(ctx, ra)
		if err != nil {
			return 0, 0, err
		}
		if ddl, err = ra.CreateStagingNamedAt(staging, w); err != nil {
			return 0, 0, err
		}
	}
	if err := r.e.Exec(ctx, ddl, nil); err != nil {
		return 0, 0, fmt.Errorf("create staging: %w", err)
	}
	defer func() {
		if derr := r.e.Exec(context.WithoutCancel(ctx), ra.DropTableNamed(staging), nil); derr != nil && err == nil {
			err = fmt.Errorf("drop staging: %w", derr)
		}
	}()
	res, err := r.e.Query(ctx, ra.CountSource(), params)
	if err != nil {
		return 0, 0, fmt.Errorf("count source rows: %w", err)
	}
	read = res.Row()[0].(uint64)
	if err := r.e.Exec(ctx, ra.PopulateInto(staging), params); err != nil {
		return 0, 0, fmt.Errorf("recompute: %w", err)
	}
	res, err = r.e.Query(ctx, ra.CountRows(staging), params)
	if err != nil {
		return 0, 0, fmt.Errorf("count staged rows: %w", err)
	}
	written = res.Row()[0].(uint64)
	if r.hooks.AfterStage != nil {
		if err := r.hooks.AfterStage(ctx, u); err != nil {
			return 0, 0, err
		}
	}
	if written == 0 {
		if err := r.e.Exec(ctx, ra.DropPartition(partitionID), nil); err != nil {
			return 0, 0, fmt.Errorf("drop empty partition %s: %w", partitionID, err)
		}
	} else if err := r.e.Exec(ctx, ra.ReplacePartitionFrom(partitionID, staging), nil); err != nil {
		return 0, 0, fmt.Errorf("swap partition %s: %w", partitionID, err)
	}
	if err := r.keepDerived(ctx, ra, runID, u.Range); err != nil {
		return 0, 0, err
	}
	return read, written, nil
}

// purgeWait bounds how long a run waits for the parts its swaps replaced to leave the disk
// (a part still read by a running query stays until that query ends).
const purgeWait = 60 * time.Second

// waitPurged deletes the parts the swaps of partitions ids replaced and waits until they are
// gone from disk. Until then a process that stops could load them again as active parts on
// its next start and double those partitions, so no unit is done before they are. A unit
// interrupted before stays "started" in the run log, and running it again replaces every part
// of its partition, reloaded ones included.
func (r *Runner) waitPurged(ctx context.Context, ra *pipes.RollupArtifacts, ids []string) error {
	deadline := time.Now().Add(purgeWait)
	pause := 20 * time.Millisecond
	for {
		if err := r.e.Exec(ctx, ra.PurgeReplaced(), nil); err != nil {
			return fmt.Errorf("delete replaced parts: %w", err)
		}
		res, err := r.e.Query(ctx, ra.OutdatedParts(), ra.OutdatedPartsParams(ids))
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

// advanceWatermark moves the watermark to end when the run covered everything from the
// current watermark (or there is none yet), so no hour is ever skipped.
func (r *Runner) advanceWatermark(ctx context.Context, rollup string, covered timerange.Range) (time.Time, error) {
	w, ok, err := r.store.Watermark(ctx, rollup)
	if err != nil {
		return time.Time{}, err
	}
	if ok && (covered.Start.After(w) || !covered.End.After(w)) {
		return w, nil
	}
	if err := r.store.SetWatermark(ctx, rollup, covered.End); err != nil {
		return time.Time{}, err
	}
	return covered.End, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
