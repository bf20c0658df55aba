package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
	"github.com/hourglass-dev/hourglass/versions"
)

// Populator runs the hourly populate of one rollup: *populate.Runner. Tests wrap it to inject
// failures.
type Populator interface {
	PopulateOne(ctx context.Context, rollup string) (*populate.Report, error)
}

// Defaults of Options.
const (
	// DefaultSchedule is the cron line of a rollup that declares none: :05 past every hour.
	DefaultSchedule = "5 * * * *"
	// DefaultLeaseTTL is how long a lease lasts without renewal. Run renews it every third
	// of that, so a standby takes over at most this long after the holder died.
	DefaultLeaseTTL = 5 * time.Minute
)

// Options configure a Scheduler.
type Options struct {
	// Runner runs one rollup's populate (required).
	Runner Populator
	// Store holds the run log, the watermarks and the lease (required).
	Store *meta.Store
	// Rollups are the project's rollups; only scheduled ones (ModeScheduled) get an entry.
	Rollups []*datasources.Rollup
	// Tables maps a rollup's name to the table of its deployed version, where its watermark,
	// run log and suspect partitions are kept (default: the rollup's name, version 1).
	Tables map[string]string
	// Clock is the time source (SystemClock when nil). Give the Runner and the Store the same
	// clock's Now.
	Clock Clock
	// Logger receives structured logs (discarded when nil).
	Logger *slog.Logger
	// Retry is the retry policy of failed runs (see RetryPolicy for the defaults).
	Retry RetryPolicy
	// Holder names this scheduler in the lease (default "hostname:pid").
	Holder string
	// LeaseTTL is the lease's lifetime (default DefaultLeaseTTL).
	LeaseTTL time.Duration
}

// Scheduler runs the populate of every scheduled rollup on its cron schedule, catching up
// missed hours, retrying failures and holding the lease that makes it the only runner.
type Scheduler struct {
	runner  Populator
	store   *meta.Store
	clock   Clock
	log     *slog.Logger
	retry   RetryPolicy
	holder  string
	ttl     time.Duration
	entries []*entry

	wg sync.WaitGroup

	mu     sync.Mutex // guards everything below and every entry's st
	leader bool
	lease  Lease
	loaded bool
}

// entry is one scheduled rollup.
type entry struct {
	rollup  *datasources.Rollup
	table   string
	spec    string
	sched   cron.Schedule
	running atomic.Bool
	st      state
}

// state is what the scheduler knows about one rollup, for metrics and health.
type state struct {
	next         time.Time
	watermark    time.Time
	lastStart    time.Time
	lastSuccess  time.Time
	lastDuration time.Duration
	rowsWritten  uint64
	runs         uint64
	failures     uint64
	skipped      uint64
	failing      bool
	gaveUp       bool
	attempt      int
	lastError    string
	retryUntil   time.Time
	// suspect lists the partitions (ids) that may be counted twice after a crash, as last
	// read; suspectErr says why they could not be read.
	suspect    []string
	suspectErr string
	// served are the tables of the rollup's older versions that endpoints read, as last read
	// (see servedTables); servedSuspect their suspect partitions (ids), by table.
	served        []string
	servedSuspect map[string][]string
}

// New checks the options and parses every scheduled rollup's cron line.
func New(opts Options) (*Scheduler, error) {
	if opts.Runner == nil || opts.Store == nil {
		return nil, errors.New("scheduler: Options.Runner and Options.Store are required")
	}
	s := &Scheduler{runner: opts.Runner, store: opts.Store, clock: opts.Clock, log: opts.Logger,
		retry: opts.Retry.withDefaults(), holder: opts.Holder, ttl: opts.LeaseTTL}
	if s.clock == nil {
		s.clock = SystemClock()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.holder == "" {
		host, _ := os.Hostname()
		s.holder = host + ":" + strconv.Itoa(os.Getpid())
	}
	if s.ttl <= 0 {
		s.ttl = DefaultLeaseTTL
	}
	for _, r := range opts.Rollups {
		if r.Mode != datasources.ModeScheduled {
			continue
		}
		spec := r.Schedule
		if spec == "" {
			spec = DefaultSchedule
		}
		sched, err := ParseSchedule(spec)
		if err != nil {
			return nil, fmt.Errorf("rollup %s: %w", r.Name, err)
		}
		table := opts.Tables[r.Name]
		if table == "" {
			table = r.Name
		}
		s.entries = append(s.entries, &entry{rollup: r, table: table, spec: spec, sched: sched})
	}
	if len(s.entries) == 0 {
		return nil, errors.New("no scheduled rollups: every rollup of the project is kept fresh by its view (mode: trigger)")
	}
	return s, nil
}

// ParseSchedule reads a five-field cron line (or a descriptor such as @hourly) evaluated in
// UTC.
func ParseSchedule(spec string) (cron.Schedule, error) {
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	if ss, ok := sched.(*cron.SpecSchedule); ok {
		ss.Location = time.UTC
	}
	return utcSchedule{sched}, nil
}

// utcSchedule hands the cron schedule UTC times.
type utcSchedule struct{ cron.Schedule }

func (u utcSchedule) Next(t time.Time) time.Time { return u.Schedule.Next(t.UTC()).UTC() }

// Holder returns the identity this scheduler uses in the lease.
func (s *Scheduler) Holder() string { return s.holder }

// NotBackfilledError says a rollup has no watermark yet: the scheduler only keeps rollups
// fresh, the first fill is a backfill.
type NotBackfilledError struct {
	Rollup string
	// ClosedEnd is the end of the last closed hour, where the backfill should stop.
	ClosedEnd time.Time
}

func (e *NotBackfilledError) Error() string {
	return fmt.Sprintf("rollup %s was never backfilled: run hourglass backfill %s --from <first day> --to %q, then start the scheduler",
		e.Rollup, e.Rollup, timerange.Format(e.ClosedEnd))
}

// ErrLeaseHeld is returned (wrapped, naming the holder) by Tick when another scheduler holds
// the lease: that scheduler does the work.
var ErrLeaseHeld = errors.New("another scheduler holds the lease")

// Check verifies that the project is deployed and every scheduled rollup was backfilled, so
// the command can refuse to start with one clear line.
func (s *Scheduler) Check(ctx context.Context) error {
	ok, err := s.store.Exists(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("database %s holds no hourglass metadata: run hourglass deploy first", s.store.Database())
	}
	now := s.clock.Now()
	var errs []error
	for _, e := range s.entries {
		_, ok, err := s.watermark(ctx, e)
		if err != nil {
			return err
		}
		if !ok {
			errs = append(errs, &NotBackfilledError{Rollup: e.rollup.Name, ClosedEnd: timerange.ClosedEnd(now, e.rollup.Delay)})
		}
	}
	return errors.Join(errs...)
}

// Tick runs one tick at now for every scheduled rollup, one after another: each recomputes
// from its watermark − lookback to the last closed hour (catching up every hour missed) and is
// retried inside the retry window when it fails. This is what `hourglass schedule --once`
// runs. Tick first takes or renews the lease; when another scheduler holds it, Tick does
// nothing and returns an error wrapping ErrLeaseHeld. A rollup whose previous run is still
// going is skipped (logged). The error joins the failures of the rollups that gave up.
func (s *Scheduler) Tick(ctx context.Context, now time.Time) error {
	s.load(ctx)
	l, ok, err := s.acquire(ctx, now)
	if err != nil {
		return fmt.Errorf("scheduler lease: %w", err)
	}
	s.setLeader(ok, l)
	if !ok {
		s.log.Info("another scheduler holds the lease; skipping this tick", "holder", l.Holder, "expiry", l.Expiry)
		return fmt.Errorf("%w: %s until %s", ErrLeaseHeld, l.Holder, timerange.Format(l.Expiry))
	}
	var errs []error
	for _, e := range s.entries {
		if ctx.Err() != nil {
			break
		}
		if !s.claim(e) {
			continue
		}
		err := s.runEntry(ctx, e, now, false)
		e.running.Store(false)
		if errors.Is(err, ErrLeaseHeld) {
			return err
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run is the daemon: it takes the lease (or waits for it as a standby), catches up every
// rollup that lags, then runs each rollup at its cron fire times until ctx is cancelled.
// Rollups run concurrently, each at most once at a time. On cancel it starts nothing new,
// waits for the units in progress to finish, gives the lease up and returns nil.
func (s *Scheduler) Run(ctx context.Context) error {
	s.load(ctx)
	now := s.clock.Now()
	s.mu.Lock()
	for _, e := range s.entries {
		e.st.next = e.sched.Next(now)
	}
	s.mu.Unlock()
	s.log.Info("scheduler started", "holder", s.holder, "rollups", len(s.entries), "lease_ttl", s.ttl)
	leader := false
	for {
		now = s.clock.Now()
		l, ok, err := s.acquire(ctx, now)
		if ctx.Err() != nil {
			break
		}
		switch {
		case err != nil:
			s.log.Error("cannot take or renew the scheduler lease; not running until it can", "err", err)
		case ok && !leader:
			s.log.Info("holding the scheduler lease: catching up", "expiry", l.Expiry)
		case !ok && leader:
			s.log.Warn("lost the scheduler lease: standing by", "holder", l.Holder, "expiry", l.Expiry)
		case !ok && !leader:
			s.log.Info("another scheduler holds the lease: standing by", "holder", l.Holder, "expiry", l.Expiry)
		}
		ok = ok && err == nil
		s.setLeader(ok, l)
		catchUp := ok && !leader
		leader = ok
		s.refresh(ctx)
		wake := now.Add(s.ttl / 3)
		for _, e := range s.entries {
			s.mu.Lock()
			next := e.st.next
			s.mu.Unlock()
			fire := !next.After(now)
			switch {
			case leader && fire:
				s.start(ctx, e, next, false)
			case catchUp:
				s.start(ctx, e, now, true)
			}
			if fire {
				next = e.sched.Next(now)
				s.mu.Lock()
				e.st.next = next
				s.mu.Unlock()
			}
			if next.Before(wake) {
				wake = next
			}
		}
		select {
		case <-ctx.Done():
		case <-s.clock.After(wake.Sub(now)):
		}
		if ctx.Err() != nil {
			break
		}
	}
	s.log.Info("shutting down: waiting for the units in progress")
	s.wg.Wait()
	if err := s.Release(context.WithoutCancel(ctx)); err != nil {
		s.log.Warn("could not release the scheduler lease; it expires by itself", "err", err)
	}
	s.log.Info("scheduler stopped")
	return nil
}

// claim marks e running, or logs and counts a skip when its previous run is still going.
func (s *Scheduler) claim(e *entry) bool {
	if e.running.CompareAndSwap(false, true) {
		return true
	}
	s.mu.Lock()
	e.st.skipped++
	s.mu.Unlock()
	s.log.Warn("previous run still running: skipping this tick", "rollup", e.rollup.Name)
	return false
}

// start runs e in its own goroutine unless it is still running.
func (s *Scheduler) start(ctx context.Context, e *entry, fire time.Time, catchUp bool) {
	if !s.claim(e) {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer e.running.Store(false)
		_ = s.runEntry(ctx, e, fire, catchUp)
	}()
}

// runEntry runs one tick of a rollup fired at fire, retrying failures inside the retry window.
// A catch-up tick does nothing when the rollup is not behind. The caller has claimed e.
func (s *Scheduler) runEntry(ctx context.Context, e *entry, fire time.Time, catchUp bool) error {
	name := e.rollup.Name
	log := s.log.With("rollup", name)
	deadline := fire.Add(s.retry.Window)
	if n := e.sched.Next(fire); n.Before(deadline) {
		deadline = n
	}
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			return nil
		}
		now := s.clock.Now()
		if attempt > 1 {
			l, ok, err := s.acquire(ctx, now)
			if err == nil {
				s.setLeader(ok, l)
				if !ok {
					log.Warn("lost the scheduler lease: leaving the retry to its holder", "holder", l.Holder)
					return fmt.Errorf("%s: %w: %s", name, ErrLeaseHeld, l.Holder)
				}
			}
		}
		closed := timerange.ClosedEnd(now, e.rollup.Delay)
		w, ok, err := s.watermark(ctx, e)
		switch {
		case err == nil && !ok:
			nb := &NotBackfilledError{Rollup: name, ClosedEnd: closed}
			s.mu.Lock()
			e.st.failing, e.st.gaveUp, e.st.lastError, e.st.retryUntil, e.st.attempt = true, true, nb.Error(), now, attempt
			s.mu.Unlock()
			log.Error("not scheduling a rollup that was never backfilled", "err", nb)
			return nb
		case err == nil:
			s.mu.Lock()
			e.st.watermark = w
			s.mu.Unlock()
			if catchUp && !w.Before(closed) {
				log.Debug("up to date", "watermark", w)
				return nil
			}
		}
		s.mu.Lock()
		e.st.lastStart = now
		s.mu.Unlock()
		log.Info("populate starting", "attempt", attempt, "catch_up", catchUp, "watermark", w, "closed_end", closed)
		started := time.Now()
		rep, err := s.call(ctx, name)
		took := time.Since(started)
		s.refreshSuspect(context.WithoutCancel(ctx), e)
		s.mu.Lock()
		e.st.runs++
		e.st.lastDuration = took
		if rep != nil {
			e.st.rowsWritten += rep.RowsWritten
			for _, o := range rep.Older {
				e.st.rowsWritten += o.RowsWritten
			}
		}
		s.mu.Unlock()
		if w, ok, werr := s.watermark(context.WithoutCancel(ctx), e); werr == nil && ok {
			s.mu.Lock()
			e.st.watermark = w
			s.mu.Unlock()
		}
		if err == nil {
			s.mu.Lock()
			e.st.lastSuccess = s.clock.Now()
			e.st.failing, e.st.gaveUp, e.st.attempt, e.st.lastError, e.st.retryUntil = false, false, 0, "", time.Time{}
			s.mu.Unlock()
			log.Info("populate done", "attempt", attempt, "range", rep.Range.String(), "units", rep.Units,
				"rows_read", rep.RowsRead, "rows_written", rep.RowsWritten, "watermark", rep.Watermark, "duration", took)
			return nil
		}
		var ie *populate.InterruptedError
		if ctx.Err() != nil || errors.As(err, &ie) {
			log.Info("populate interrupted by shutdown after finishing its unit in progress: the next start resumes", "err", err)
			return nil
		}
		wait := s.retry.Backoff(attempt, nil)
		now = s.clock.Now()
		giveUp := !now.Add(wait).Before(deadline)
		s.mu.Lock()
		e.st.failures++
		e.st.failing, e.st.gaveUp, e.st.attempt, e.st.lastError = true, giveUp, attempt, oneLine(err.Error())
		e.st.retryUntil = deadline
		if giveUp {
			e.st.retryUntil = now
		}
		s.mu.Unlock()
		if giveUp {
			log.Error("populate failed: no retry fits in the retry window; the next tick catches up", "attempt", attempt, "err", err,
				"next_tick", e.sched.Next(fire))
			return fmt.Errorf("%s: %w", name, err)
		}
		log.Warn("populate failed: retrying", "attempt", attempt, "retry_in", wait, "retry_until", deadline, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-s.clock.After(wait):
		}
	}
}

// call runs the populate, turning a panic into an error so that one rollup never takes the
// daemon down.
func (s *Scheduler) call(ctx context.Context, name string) (rep *populate.Report, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("populate panicked", "rollup", name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			rep, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	return s.runner.PopulateOne(ctx, name)
}

func (s *Scheduler) setLeader(ok bool, l Lease) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leader, s.lease = ok, l
}

// load reads, once, what the run log says about each rollup: its watermark and the time of its
// last successful unit.
func (s *Scheduler) load(ctx context.Context) {
	s.mu.Lock()
	loaded := s.loaded
	s.loaded = true
	s.mu.Unlock()
	if loaded {
		return
	}
	s.refresh(ctx)
	for _, e := range s.entries {
		units, err := s.store.RecentUnits(ctx, e.table, 50)
		if err != nil {
			s.log.Warn("cannot read the run log", "rollup", e.rollup.Name, "err", err)
			continue
		}
		for _, u := range units {
			if u.Status == meta.StatusDone {
				s.mu.Lock()
				if u.At.After(e.st.lastSuccess) {
					e.st.lastSuccess = u.At
				}
				s.mu.Unlock()
				break
			}
		}
	}
}

// refresh re-reads every rollup's watermark and suspect partitions (a standby's metrics follow
// the holder's work).
func (s *Scheduler) refresh(ctx context.Context) {
	for _, e := range s.entries {
		s.refreshSuspect(ctx, e)
		w, ok, err := s.watermark(ctx, e)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("cannot read the watermark", "rollup", e.rollup.Name, "err", err)
			}
			continue
		}
		if ok {
			s.mu.Lock()
			e.st.watermark = w
			s.mu.Unlock()
		}
	}
}

// watermark returns the lowest watermark of the versions of e's rollup that must be kept
// fresh and were backfilled — the deployed one, and the older ones endpoints read — so that
// lag, hours behind and catch-up follow the version furthest behind. ok is false when none of
// them was ever backfilled (a new version waiting for its backfill does not count while an
// older one serves).
func (s *Scheduler) watermark(ctx context.Context, e *entry) (w time.Time, ok bool, err error) {
	served, err := s.servedTables(ctx, e)
	if err != nil {
		return time.Time{}, false, err
	}
	for _, t := range append([]string{e.table}, served...) {
		tw, tok, err := s.store.Watermark(ctx, t)
		if err != nil {
			return time.Time{}, false, err
		}
		if tok && (!ok || tw.Before(w)) {
			w, ok = tw, true
		}
	}
	return w, ok, nil
}

// servedTables reads the tables of the older versions of e's rollup that endpoints read now
// — populate keeps them fresh with the deployed version, and a switch moves endpoints while
// the scheduler runs — and remembers them for Status.
func (s *Scheduler) servedTables(ctx context.Context, e *entry) ([]string, error) {
	vs, err := versions.List(ctx, s.store, e.rollup.Name)
	if err != nil {
		return nil, err
	}
	var tables []string
	for _, v := range vs {
		if v.Kept() && !v.Newest && v.Table != e.table {
			tables = append(tables, v.Table)
		}
	}
	s.mu.Lock()
	e.st.served = tables
	s.mu.Unlock()
	return tables, nil
}

// refreshSuspect re-reads the partitions of e's rollup versions (the deployed one and the
// older ones endpoints read) that may be counted twice after a crash: until the next populate
// redoes them, /healthz says so and /metrics counts them.
func (s *Scheduler) refreshSuspect(ctx context.Context, e *entry) {
	sus, err := populate.Suspects(ctx, s.store, e.rollup, e.table)
	tables, terr := s.servedTables(ctx, e)
	if err == nil {
		err = terr
	}
	served := map[string][]string{}
	for _, t := range tables {
		if err != nil {
			break
		}
		var ss []populate.Suspect
		if ss, err = populate.Suspects(ctx, s.store, e.rollup, t); len(ss) > 0 {
			served[t] = populate.SuspectIDs(ss)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			e.st.suspectErr = oneLine(err.Error())
		}
		return
	}
	e.st.suspect, e.st.servedSuspect, e.st.suspectErr = populate.SuspectIDs(sus), served, ""
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
