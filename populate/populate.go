// Package populate fills rollups from raw data, exactly once: ranged backfills, the hourly
// populate the :05 cron runs, and reconcile.
//
// The unit of work is one rollup partition (a day by default). A unit fills a staging table of
// its own with the partition's new content — backfill, reconcile and recovery recompute all
// its closed hours from raw rows; the hourly populate recomputes only the hours from the
// watermark minus the lookback and copies the partition's other hours from the rollup itself
// — then swaps it into the rollup with ALTER TABLE … REPLACE PARTITION. A partition is never
// half-written and never appended to: running a unit again, after a crash or concurrently with
// another run, leaves the same rollup.
//
// The swap is atomic for readers, but not for a crash: the parts it replaced stay on disk until
// they are purged, and an engine that stops in between loads them again as active parts,
// doubling the partition. So each unit records "swapping" in the run log (package meta) before
// its swap, purges the replaced parts right after it, and records "done" once they are gone:
// only then is the unit durable. A unit left swapping by a run that died makes its partition
// suspect (meta.Store.Suspect); every command that writes to the rollup version redoes its
// suspect partitions first. Every state is keyed by the rollup version's table.
package populate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	// KindRecover is the run that redoes suspect partitions before a command's own work.
	KindRecover = "recover"
)

// Runner runs populate units for the rollups of one compiled project.
type Runner struct {
	e         engine.Engine
	store     *meta.Store
	artifacts *pipes.Artifacts
	now       func() time.Time
	events    func(Event)
	hooks     Hooks
	groupRows uint64
	// locks serialise the rebuilds of each grain and finals table (see keepDerived).
	locks sync.Map
}

// Step is a point in a unit's life where a crash leaves something different behind.
type Step string

// The steps of a unit, in order.
const (
	// StepBeforeStage: the staging table exists, empty.
	StepBeforeStage Step = "before-stage"
	// StepStaged: the staging table holds the partition's new content; nothing recorded.
	StepStaged Step = "staged"
	// StepSwapRecorded: the run log says "swapping"; the swap is not issued yet.
	StepSwapRecorded Step = "swap-recorded"
	// StepSwapped: the swap is done; the parts it replaced are still on disk.
	StepSwapped Step = "swapped"
	// StepPurged: the replaced parts are gone (the swap is durable); "done" is not recorded.
	StepPurged Step = "purged"
	// StepRecorded: the unit is recorded done.
	StepRecorded Step = "recorded"
)

// Steps returns every step of a unit, in order.
func Steps() []Step {
	return []Step{StepBeforeStage, StepStaged, StepSwapRecorded, StepSwapped, StepPurged, StepRecorded}
}

// Hooks let tests inject faults at the points where a crash matters.
type Hooks struct {
	// Step runs at every step of every unit. An error fails the unit there: before the swap
	// is issued its partition is untouched (recorded failed); after, it is in doubt (recorded
	// swap_failed) and suspect until redone. A hook may also kill the process.
	Step func(ctx context.Context, s Step, u Unit) error
	// AfterStage, when set, runs at StepStaged (after Step): between the staging and the swap.
	AfterStage func(ctx context.Context, u Unit) error
}

// at runs the hooks of step s.
func (h Hooks) at(ctx context.Context, s Step, u Unit) error {
	if h.Step != nil {
		if err := h.Step(ctx, s, u); err != nil {
			return err
		}
	}
	if s == StepStaged && h.AfterStage != nil {
		return h.AfterStage(ctx, u)
	}
	return nil
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
	// GroupRows bounds the rollup rows one INSERT of a backfill stages (0: groupRows, which
	// keeps the engine's memory to a few hundred MB); a lower bound means more, smaller
	// INSERTs, down to an hour each.
	GroupRows uint64
}

// New returns a Runner for the compiled project a, writing its run log to store.
func New(e engine.Engine, store *meta.Store, a *pipes.Artifacts, opts Options) *Runner {
	r := &Runner{e: e, store: store, artifacts: a, now: opts.Now, events: opts.Events, hooks: opts.Hooks, groupRows: opts.GroupRows}
	if r.now == nil {
		r.now = time.Now
	}
	if r.groupRows == 0 {
		r.groupRows = groupRows
	}
	return r
}

// Unit is one partition's worth of work.
type Unit struct {
	Rollup string `json:"rollup"`
	// Partition is the partition's full range; Range is the part of it recomputed from raw
	// rows.
	Partition   timerange.Range `json:"partition"`
	Range       timerange.Range `json:"range"`
	PartitionID string          `json:"partition_id"`
	// Carry says the partition's hours outside Range are copied from the rollup into the new
	// content (the hourly populate); without it they are left out (a whole recompute).
	Carry bool `json:"carry,omitempty"`
	// Shard is the cluster shard the unit runs on ("1", "2" …); "" on one server, and for a
	// unit planned for every shard (runUnits runs it once per shard, each copy with its
	// shard set).
	Shard string `json:"shard,omitempty"`
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
	RunID  string `json:"run_id"`
	Rollup string `json:"rollup"`
	// Table is the rollup version's table the run wrote.
	Table string `json:"table"`
	// Version is the version's number, set when the rollup has several versions.
	Version int             `json:"version,omitempty"`
	Kind    string          `json:"kind"`
	Range   timerange.Range `json:"range"`
	Units   int             `json:"units"`
	Done    int             `json:"done"`
	Skipped int             `json:"skipped"`
	Failed  int             `json:"failed"`
	// RowsRead counts the raw rows the engine read to recompute (its own statistics of the
	// INSERTs); RowsWritten the rows the swaps put in the rollup (carried hours included).
	RowsRead    uint64        `json:"rows_read"`
	RowsWritten uint64        `json:"rows_written"`
	Duration    time.Duration `json:"duration_ns"`
	// Watermark is the rollup's watermark after the run.
	Watermark time.Time `json:"watermark,omitzero"`
	// Recovered lists the suspect partitions (ids) redone before the run's own units.
	Recovered []string `json:"recovered,omitempty"`
	// Shards is what the run did on each shard of a cluster (nil on one server); Units, Done,
	// Skipped, Failed and the rows add up the shards' (a unit is a partition on a shard).
	Shards []ShardReport `json:"shards,omitempty"`
	// Older are the reports of the rollup's older versions the hourly populate kept fresh
	// with this one, because endpoints still read them (see Runner.PopulateOne).
	Older []*Report `json:"older_versions,omitempty"`
	// Note says why the run did less than asked (a new version waiting for its backfill).
	Note string `json:"note,omitempty"`
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

// deployment checks that the rollup is deployed with the definition compiled now and returns
// what deploy recorded: the one read of the deployment records a run makes.
func (r *Runner) deployment(ctx context.Context, ra *pipes.RollupArtifacts) (meta.Deployment, error) {
	ok, err := r.store.Exists(ctx)
	if err != nil {
		return meta.Deployment{}, err
	}
	if !ok {
		return meta.Deployment{}, fmt.Errorf("rollup %s is not deployed: run hourglass deploy", ra.Rollup.Name)
	}
	deps, err := r.store.Deployments(ctx)
	if err != nil {
		return meta.Deployment{}, err
	}
	d, ok := deps[ra.Rollup.Name]
	switch {
	case !ok:
		return d, fmt.Errorf("rollup %s is not deployed: run hourglass deploy", ra.Rollup.Name)
	case d.Hash != ra.Hash:
		return d, fmt.Errorf("rollup %s changed since it was deployed (definition hash %.12s, deployed %.12s): run hourglass deploy", ra.Rollup.Name, ra.Hash, d.Hash)
	case ra.Rollup.Mode == datasources.ModeTrigger && d.Watermark.IsZero():
		return d, fmt.Errorf("trigger rollup %s has no cut-over watermark recorded: run hourglass deploy", ra.Rollup.Name)
	}
	return d, nil
}

// Plan splits [from, to) into the units that recompute it: every partition the range
// touches, each recomputed whole over its hours before closedEnd.
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

// PlanIncremental splits rg (hours up to closedEnd) into the hourly populate's units: every
// partition rg touches recomputes only its hours inside rg and carries its other hours from
// the rollup, so the work follows the length of rg, not the size of the partition.
func PlanIncremental(ra *pipes.RollupArtifacts, rg timerange.Range, closedEnd time.Time) []Unit {
	units := Plan(ra, rg, closedEnd)
	for i := range units {
		u := &units[i]
		u.Range = u.Range.Intersect(rg)
		u.Carry = u.Range.Start.After(u.Partition.Start)
	}
	return units
}

func newRunID(now time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
}

// run is one run of units on one rollup version.
type run struct {
	ra   *pipes.RollupArtifacts
	kind string
	id   string
	// trigger is the cut-over watermark of a trigger rollup (zero otherwise), read once.
	trigger time.Time
	// resolves returns the run-log rows to write together with unit u's "done" row: a
	// recovery run marks there the dead runs' units it redid.
	resolves func(u Unit) []meta.Unit
	lease    *lease
}

func (r *Runner) newRun(ra *pipes.RollupArtifacts, kind string, dep meta.Deployment) *run {
	return &run{ra: ra, kind: kind, id: newRunID(r.now()), trigger: dep.Watermark}
}

// Groups: consecutive whole-partition units are swapped in together (see runGroup): one
// staging table, one run-log write for the group's swaps and one for its end, one purge, and
// one rebuild of each grain and finals partition they touch. A group is filled by INSERTs,
// two at once, of at most about groupRows rollup rows each (see cut), judged from the largest
// partition seen so far in the run (the first group is a single partition): the engine's
// memory follows the rows an INSERT aggregates, ~1.2 KB a row, whatever the group (measured
// on the wide events_hourly, ~17,000 rows a day: one day an INSERT, peak RSS 345 MB; two days
// 408 MB; one 90-day INSERT 1.9 GB). A group takes about groupTime, judged from how long the shard's last group took per
// partition, and at most maxGroup partitions: long enough that the per-group statements are
// paid rarely (measured on events_overview_hourly, 90 days: groups of a month 3.1 s, one
// group 2.6 s), short enough that Ctrl-C, which lets the groups in flight finish, and a crash,
// which loses the group in flight, cost seconds.
const (
	groupRows = 20000
	groupTime = 10 * time.Second
	maxGroup  = 92
)

// unitKey identifies a unit of a run: a partition (by its start) on a shard ("" on one
// server).
type unitKey struct {
	shard string
	start time.Time
}

func keyOf(u Unit) unitKey { return unitKey{shard: u.Shard, start: u.Partition.Start} }

// shardRun is the progress of a run's units on one shard.
type shardRun struct {
	sh    *shard
	units []Unit
	next  int
	// rowsPerPartition is the most rollup rows one partition of this shard staged so far;
	// perPartition how long a partition of its last group took.
	rowsPerPartition uint64
	perPartition     time.Duration
	// maxThreads is the server's max_threads (0: unknown); busy counts the workers running a
	// group. An INSERT of the shard takes its share of the threads among the INSERTs the busy
	// workers run at once (see threads).
	maxThreads int
	busy       atomic.Int32
	// err is the shard's first failure: no new group of the shard starts after it.
	err error
	rep ShardReport
}

// runUnits runs units on every one of shards (see topology; a unit whose Shard is set runs on
// that shard only), each shard with up to parallel workers, in groups of at most batch
// partitions (0: sized by the time they take, see groupTime). A failure stops its shard's
// next groups and not the other shards'. When ctx is cancelled, groups already running finish
// (they run on a context that is not cancelled) and no new group starts. The run holds a lease
// while it works (see meta.RunLease), so that its units in flight are never taken for those of
// a dead run. On one server a failure is returned as the *UnitError it is; on a cluster the
// failed shards are listed in a *ShardError.
func (r *Runner) runUnits(ctx context.Context, rn *run, shards []*shard, units []Unit, skip map[unitKey]bool, parallel, batch int, rep *Report) error {
	if parallel < 1 {
		parallel = 1
	}
	if batch < 1 || batch > maxGroup {
		batch = maxGroup
	}
	l, err := r.takeLease(ctx, rn)
	if err != nil {
		return err
	}
	rn.lease = l
	defer l.release(context.WithoutCancel(ctx))
	runs := make([]*shardRun, len(shards))
	rep.Units = 0
	for i, sh := range shards {
		sr := &shardRun{sh: sh, rep: ShardReport{Shard: sh.id, Host: sh.host}}
		for _, u := range units {
			if u.Shard != "" && u.Shard != sh.id {
				continue
			}
			u.Shard = sh.id
			sr.units = append(sr.units, u)
		}
		sr.rep.Units = len(sr.units)
		rep.Units += len(sr.units)
		runs[i] = sr
		if sh.down == nil {
			r.estimate(ctx, sr)
			sr.maxThreads = r.maxThreads(ctx, sh)
		}
	}
	var mu, evMu sync.Mutex
	interrupted := false
	// nextGroup takes the next group of consecutive units of a shard to run and how its
	// INSERTs are cut; nil when there is none or the shard must stop.
	nextGroup := func(sr *shardRun) ([]Unit, sizing) {
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() != nil && sr.next < len(sr.units) && sr.err == nil {
			interrupted = true
			return nil, sizing{}
		}
		size := 1
		if sr.rowsPerPartition > 0 {
			size = batch
			if sr.perPartition > 0 {
				size = int(min(int64(batch), max(1, int64(groupTime/sr.perPartition))))
			}
		}
		var g []Unit
		for sr.next < len(sr.units) && sr.err == nil {
			u := sr.units[sr.next]
			if skip[keyOf(u)] {
				if len(g) > 0 {
					break
				}
				sr.next++
				sr.rep.Skipped++
				rep.Skipped++
				r.emit(&evMu, Event{Kind: EventSkipped, RunID: rn.id, Unit: u})
				continue
			}
			if len(g) > 0 && (len(g) >= size || u.Carry || g[0].Carry || !g[len(g)-1].Range.End.Equal(u.Range.Start)) {
				break
			}
			g = append(g, u)
			sr.next++
		}
		pieces, at := cut(g, sr.rowsPerPartition, r.groupRows)
		return g, sizing{pieces: pieces, at: at, threads: sr.threads}
	}
	for _, sr := range runs {
		if sr.sh.down == nil {
			r.dropStaleStaging(ctx, rn, sr.sh)
		}
	}
	r.emit(&evMu, Event{Kind: EventPlanned, RunID: rn.id, Total: rep.Units})
	var wg sync.WaitGroup
	for _, sr := range runs {
		if sr.sh.down != nil {
			r.failShard(ctx, rn, sr, skip, rep, &evMu)
			continue
		}
		for i := 0; i < parallel; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for g, size := nextGroup(sr); len(g) > 0; g, size = nextGroup(sr) {
					for _, u := range g {
						r.emit(&evMu, Event{Kind: EventStarted, RunID: rn.id, Unit: u})
					}
					began := time.Now()
					sr.busy.Add(1)
					recs, err := r.runGroup(context.WithoutCancel(ctx), rn, sr.sh, g, size)
					sr.busy.Add(-1)
					mu.Lock()
					sr.perPartition = time.Since(began) / time.Duration(len(g))
					if err != nil {
						sr.rep.Failed += len(g)
						rep.Failed += len(g)
						if sr.err == nil {
							sr.err = err
							sr.rep.Error = oneLine(err.Error())
						}
					} else {
						sr.rep.Done += len(g)
						rep.Done += len(g)
						for i, rec := range recs {
							sr.rep.RowsRead += rec.RowsRead
							sr.rep.RowsWritten += rec.RowsWritten
							rep.RowsRead += rec.RowsRead
							rep.RowsWritten += rec.RowsWritten
							sr.rowsPerPartition = max(sr.rowsPerPartition, wholePartitionRows(g[i], rec.RowsWritten))
						}
					}
					mu.Unlock()
					for i, u := range g {
						if err != nil {
							r.emit(&evMu, Event{Kind: EventFailed, RunID: rn.id, Unit: u, Err: err, Duration: recs[i].Duration})
						} else {
							r.emit(&evMu, Event{Kind: EventDone, RunID: rn.id, Unit: u, RowsRead: recs[i].RowsRead, RowsWritten: recs[i].RowsWritten, Duration: recs[i].Duration})
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	if r.artifacts.Project.Cluster != "" {
		rep.Shards = make([]ShardReport, len(runs))
		for i, sr := range runs {
			rep.Shards[i] = sr.rep
		}
	}
	var failed []ShardFailure
	for _, sr := range runs {
		if sr.err != nil {
			failed = append(failed, ShardFailure{Shard: sr.sh.id, Host: sr.sh.host, Err: sr.err})
		}
	}
	switch {
	case len(failed) > 0 && r.artifacts.Project.Cluster == "":
		return failed[0].Err
	case len(failed) > 0:
		return &ShardError{Report: rep, Errs: failed}
	case interrupted || ctx.Err() != nil && rep.Done+rep.Skipped < rep.Units:
		return &InterruptedError{Report: rep}
	}
	return nil
}

// firstGroupRate is the rollup rows per second a first group's size is judged at when the
// rollup holds its partitions already: several times below what a backfill stages on a laptop
// (events_hourly ~270,000 rows/s, events_overview_hourly with its grains ~60,000 rows/s), so
// that the first group takes at most about groupTime on a slower machine.
const firstGroupRate = 50000

// estimate seeds a shard's group sizes from the rows the rollup's partitions of its whole-
// partition units hold already (a backfill over history that exists, reconcile --repair): its
// first group then need not be a single partition, which costs a rebuild of the grain and
// finals partitions it touches of its own.
func (r *Runner) estimate(ctx context.Context, sr *shardRun) {
	ra := sr.sh.ra
	ids := map[string]bool{}
	for _, u := range sr.units {
		if !u.Carry {
			ids[ra.BackfillPartitionID(u.PartitionID)] = true
		}
	}
	if len(ids) < 2 {
		return
	}
	res, err := sr.sh.e.Query(ctx, ra.StagedRows(), engine.Params{"db": r.artifacts.Project.Database, "table": ra.Table})
	if err != nil {
		return // no estimate: the first group is a single partition
	}
	var most uint64
	for _, row := range res.Rows {
		if n, ok := engine.Uint(row[1]); ok && ids[fmt.Sprint(row[0])] {
			most = max(most, n)
		}
	}
	if most > 0 {
		sr.rowsPerPartition = most
		sr.perPartition = time.Duration(float64(most) / firstGroupRate * float64(time.Second))
	}
}

// maxThreads returns shard sh's server's max_threads, 0 when it cannot be read.
func (r *Runner) maxThreads(ctx context.Context, sh *shard) int {
	res, err := sh.e.Query(ctx, sh.ra.MaxThreads(), nil)
	if err != nil || len(res.Rows) == 0 {
		return 0
	}
	return pipes.ParseMaxThreads(fmt.Sprint(res.Rows[0][0]))
}

// threads returns the threads an INSERT of the shard may take now, when its worker runs at
// INSERTs at once: the server's max_threads shared among the INSERTs of the workers running a
// group (0: the server's own). Measured on 2 cores, events_hourly 90 d with --parallel 2: two
// INSERTs of 2 threads each ran at 0.85× the hand-written INSERT (0.92× with --parallel 1);
// sharing the threads brings it level with --parallel 1, and a worker left alone (the other
// found no group) running one INSERT keeps them all.
func (sr *shardRun) threads(at int) int {
	n := int(sr.busy.Load()) * max(1, at)
	if sr.maxThreads == 0 || n < 2 {
		return 0
	}
	return max(1, sr.maxThreads/n)
}

// stagersAtOnce is how many INSERTs of a group run at once when it has several. An INSERT …
// SELECT aggregates on every thread it has but writes its parts on one: measured on 2 cores,
// events_overview_hourly 90 d in 8 INSERTs of 12 days, 0.55 s one at a time (on 2 threads
// each) and 0.36 s two at a time (on 1 thread each) — 0.35 s of a 0.70 s INSERT is the write
// into a MergeTree (0.35 s into a Null table). events_hourly 90 d in INSERTs of a day: 6.3–7.0 s
// one at a time, 4.9–5.3 s two at a time, peak RSS 327–333 MB and 320–328 MB (the engine's own
// footprint dwarfs two days of aggregation); in INSERTs of 8 hours two at a time, 5.7–6.6 s:
// each reads about as many raw rows as a day's (the raw table is not sorted by time first).
const stagersAtOnce = 2

// sizing is how a group's INSERTs are cut: one per piece (consecutive ranges of whole hours
// covering the units' Ranges), at of them at once, each on threads(at) threads (0: the
// server's).
type sizing struct {
	pieces  []timerange.Range
	at      int
	threads func(at int) int
}

// cut returns the pieces a group's INSERTs recompute and how many run at once. Each piece holds
// about groupRows rollup rows at most (judged from rowsPerPartition, the most rows a whole
// partition staged so far), so that the engine's memory follows groupRows whatever the group:
// consecutive units while they fit, and a unit holding more split into ranges of whole hours.
// Unknown sizes (a first group) give a piece a unit, one at a time.
func cut(units []Unit, rowsPerPartition, groupRows uint64) ([]timerange.Range, int) {
	var pieces []timerange.Range
	if rowsPerPartition == 0 {
		for _, u := range units {
			pieces = append(pieces, u.Range)
		}
		return pieces, 1
	}
	per := float64(max(1, groupRows))
	var cur timerange.Range
	var curRows float64
	flush := func() {
		if !cur.Empty() {
			pieces = append(pieces, cur)
		}
		cur, curRows = timerange.Range{}, 0
	}
	for _, u := range units {
		rows := float64(rowsPerPartition) * u.Range.End.Sub(u.Range.Start).Hours() / u.Partition.End.Sub(u.Partition.Start).Hours()
		switch {
		case rows > per:
			flush()
			pieces = append(pieces, splitHours(u.Range, int(math.Ceil(rows/per)))...)
		case !cur.Empty() && curRows+rows <= per:
			cur.End, curRows = u.Range.End, curRows+rows
		default:
			flush()
			cur, curRows = u.Range, rows
		}
	}
	flush()
	if len(pieces) < 2 {
		return pieces, 1
	}
	return pieces, stagersAtOnce
}

// splitHours splits rg, whose ends are whole hours, into at most n consecutive ranges of
// whole hours, as even as can be: an hour's rollup rows come from one INSERT.
func splitHours(rg timerange.Range, n int) []timerange.Range {
	hours := int(rg.End.Sub(rg.Start) / time.Hour)
	n = max(1, min(n, hours))
	var out []timerange.Range
	start := rg.Start
	for i := range n {
		end := rg.Start.Add(time.Duration(hours*(i+1)/n) * time.Hour)
		if i == n-1 {
			end = rg.End
		}
		out = append(out, timerange.Range{Start: start, End: end})
		start = end
	}
	return out
}

// wholePartitionRows scales the rows a unit staged to its whole partition: a range that starts
// or ends inside a partition stages only part of it (the first day of a backfill from 11:00
// holds half a day's rows), and groups sized from it would stage twice the rows meant.
func wholePartitionRows(u Unit, rows uint64) uint64 {
	work, whole := u.Range.End.Sub(u.Range.Start), u.Partition.End.Sub(u.Partition.Start)
	if u.Carry || work <= 0 || work >= whole {
		return rows
	}
	return uint64(float64(rows) * float64(whole) / float64(work))
}

// failShard records every unit of a shard that has no replica answering as failed, with the
// hosts named, so the run log shows what the shard lacks (and coverage never counts those
// partitions done on the cluster).
func (r *Runner) failShard(ctx context.Context, rn *run, sr *shardRun, skip map[unitKey]bool, rep *Report, evMu *sync.Mutex) {
	sr.err = sr.sh.down
	sr.rep.Error = oneLine(sr.sh.down.Error())
	var recs []meta.Unit
	var failed []Unit
	for _, u := range sr.units {
		if skip[keyOf(u)] {
			sr.rep.Skipped++
			rep.Skipped++
			r.emit(evMu, Event{Kind: EventSkipped, RunID: rn.id, Unit: u})
			continue
		}
		recs = append(recs, meta.Unit{RunID: rn.id, Rollup: rn.ra.Table, Hash: rn.ra.Hash, Kind: rn.kind, Start: u.Partition.Start, End: u.Range.End,
			Status: meta.StatusFailed, Error: sr.rep.Error, Shard: sr.sh.id})
		failed = append(failed, u)
	}
	_ = r.store.RecordUnits(context.WithoutCancel(ctx), recs...) // best effort: the shard's units are not done either way
	sr.rep.Failed += len(failed)
	rep.Failed += len(failed)
	for _, u := range failed {
		r.emit(evMu, Event{Kind: EventFailed, RunID: rn.id, Unit: u, Err: sr.sh.down})
	}
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

// stagingRun reads the id of the run that created a staging table back from its name, for
// staging tables whose names start with prefix.
func stagingRun(prefix, name string) (string, bool) {
	parts := strings.Split(strings.TrimPrefix(name, prefix), "_")
	if len(parts) != 4 || !strings.HasPrefix(name, prefix) {
		return "", false
	}
	return parts[2] + "-" + parts[3], true
}

// dropStaleStaging drops the staging tables of the rollup version — its own and its grain
// and finals tables' — that runs left behind (killed between creating and dropping them, or
// cut off from the server that held them): the tables of runs that are no longer alive (see
// meta.Store.DeadRuns), and any older than staleAfter. It looks on every replica of the shard
// that answers (a run may have worked on another replica than this one). It is housekeeping:
// a failure does not stop the run.
func (r *Runner) dropStaleStaging(ctx context.Context, rn *run, sh *shard) {
	ctx = context.WithoutCancel(ctx)
	ra := sh.ra
	engines := []engine.Engine{sh.e}
	for _, o := range sh.others {
		engines = append(engines, o.e)
	}
	prefixes := []string{ra.StagingPrefix()}
	for _, g := range ra.Grains {
		prefixes = append(prefixes, g.Table+"__stg_")
	}
	for _, f := range ra.Finals {
		prefixes = append(prefixes, f.Table+"__stg_")
	}
	type table struct {
		e       engine.Engine
		name    string
		run     string
		created time.Time
	}
	var found []table
	var runs []string
	for _, e := range engines {
		for _, prefix := range prefixes {
			res, err := e.Query(ctx, ra.StagingTables(), engine.Params{"db": r.artifacts.Project.Database, "prefix": prefix})
			if err != nil {
				break
			}
			for _, row := range res.Rows {
				t := table{e: e, name: row[0].(string)}
				var ok bool
				if t.created, ok = stagingCreatedWith(prefix, t.name); !ok {
					continue
				}
				if t.run, ok = stagingRun(prefix, t.name); ok && t.run != rn.id && !slices.Contains(runs, t.run) {
					runs = append(runs, t.run)
				}
				found = append(found, t)
			}
		}
	}
	dead, err := r.store.DeadRuns(ctx, rn.ra.Table, runs)
	if err != nil {
		dead = map[string]bool{}
	}
	for _, t := range found {
		if dead[t.run] || time.Since(t.created) > staleAfter {
			_ = t.e.Exec(ctx, ra.DropTableNamed(t.name), nil)
		}
	}
}

// advanceWatermark moves the watermark of the rollup version's table to end when the run
// covered everything from the current watermark (or there is none yet), so no hour is ever
// skipped.
func (r *Runner) advanceWatermark(ctx context.Context, table string, covered timerange.Range) (time.Time, error) {
	w, ok, err := r.store.Watermark(ctx, table)
	if err != nil {
		return time.Time{}, err
	}
	if ok && (covered.Start.After(w) || !covered.End.After(w)) {
		return w, nil
	}
	if err := r.store.SetWatermark(ctx, table, covered.End); err != nil {
		return time.Time{}, err
	}
	return covered.End, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
