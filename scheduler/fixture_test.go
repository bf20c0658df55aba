package scheduler_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/internal/syncbuf"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/scheduler"
	"github.com/hourglass-dev/hourglass/timerange"
)

var shared enginetest.Shared

func TestMain(m *testing.M) {
	os.Exit(enginetest.Main(m, &shared, enginetest.Options{}))
}

// fakeClock is a hand-moved clock. With auto set, After advances the clock by d at once (a
// synchronous Tick's retries then take no real time); otherwise After waits for Set.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	auto    bool
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newClock(t time.Time, auto bool) *fakeClock { return &fakeClock{now: t, auto: auto} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if c.auto && d > 0 {
		c.now = c.now.Add(d)
	}
	if c.auto || d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{at: c.now.Add(d), ch: ch})
	return ch
}

// Set moves the clock to t (never backwards) and fires the waiters that are due.
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// eventually polls cond (real time, bounded) and fails the test with what when it never holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fixture is the default project deployed in a database of its own (see projecttest), driven
// by a fake clock, with the schedulers' logs captured.
type fixture struct {
	*projecttest.Fixture
	clock *fakeClock
	logs  *syncbuf.Buffer
}

func day(d, h int) time.Time { return projecttest.Day(d, h) }

func newFixture(t *testing.T, auto bool) *fixture {
	t.Helper()
	f := &fixture{Fixture: projecttest.New(t, shared.NeedEmbedded(t)), clock: newClock(day(5, 0), auto), logs: &syncbuf.Buffer{}}
	f.Store = meta.New(f.E, f.DB, f.clock.Now)
	t.Cleanup(func() {
		if strings.Contains(f.logs.String(), "UNKNOWN_QUERY_PARAMETER") {
			t.Error("concurrent statements broke each other's parameters: the engine is not serialized")
		}
		if t.Failed() {
			t.Logf("scheduler logs:\n%s", f.logs.String())
		}
	})
	return f
}

func (f *fixture) runner(hooks populate.Hooks) *populate.Runner {
	return populate.New(f.E, f.Store, f.A, populate.Options{Now: f.clock.Now, Hooks: hooks})
}

func (f *fixture) rollups(names ...string) []*datasources.Rollup {
	var out []*datasources.Rollup
	for _, n := range names {
		out = append(out, f.A.Rollup(n).Rollup)
	}
	return out
}

func (f *fixture) scheduler(p scheduler.Populator, holder string, names ...string) *scheduler.Scheduler {
	f.T.Helper()
	s, err := scheduler.New(scheduler.Options{
		Runner: p, Store: f.Store, Rollups: f.rollups(names...), Clock: f.clock, Holder: holder, LeaseTTL: 90 * time.Minute,
		Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("holder", holder),
		Retry:  scheduler.RetryPolicy{Initial: time.Minute, Max: 10 * time.Minute, Multiplier: 2, Jitter: -1, Window: 50 * time.Minute},
	})
	if err != nil {
		f.T.Fatal(err)
	}
	return s
}

// backfill fills the rollups over rg with the clock at its end + 5 minutes.
func (f *fixture) backfill(rg timerange.Range, names ...string) {
	f.T.Helper()
	f.clock.Set(rg.End.Add(5 * time.Minute))
	for _, n := range names {
		if _, err := f.runner(populate.Hooks{}).Backfill(context.Background(), n, rg, populate.BackfillOptions{}); err != nil {
			f.T.Fatalf("backfill %s: %v", n, err)
		}
	}
}

func (f *fixture) watermark(rollup string) time.Time {
	f.T.Helper()
	w, ok, err := f.Store.Watermark(context.Background(), rollup)
	if err != nil || !ok {
		f.T.Fatalf("watermark of %s: %v (ok %v)", rollup, err, ok)
	}
	return w
}

// requireCovered fails unless every hour of rg is inside a unit the run log records as done.
func (f *fixture) requireCovered(rollup string, rg timerange.Range) []meta.Unit {
	f.T.Helper()
	units, err := f.Store.History(context.Background(), rollup, rg.Start.Add(-48*time.Hour), rg.End.Add(48*time.Hour))
	if err != nil {
		f.T.Fatal(err)
	}
	for h := rg.Start; h.Before(rg.End); h = h.Add(time.Hour) {
		covered := false
		for _, u := range units {
			if u.Status == meta.StatusDone && !h.Before(u.Start) && h.Before(u.End) {
				covered = true
				break
			}
		}
		if !covered {
			f.T.Fatalf("%s: no done unit in the run log covers hour %s", rollup, timerange.Format(h))
		}
	}
	return units
}

// flaky wraps the runner: fail decides, per call, whether to fail instead of running; block
// (when set) is waited on before each call.
type flaky struct {
	r     scheduler.Populator
	mu    sync.Mutex
	calls map[string]int
	fail  func(rollup string, call int) error
	block chan struct{}
	busy  int
}

func (p *flaky) PopulateOne(ctx context.Context, rollup string) (*populate.Report, error) {
	p.mu.Lock()
	if p.calls == nil {
		p.calls = map[string]int{}
	}
	p.calls[rollup]++
	n := p.calls[rollup]
	fail, block := p.fail, p.block
	p.busy++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.busy--
		p.mu.Unlock()
	}()
	if block != nil {
		<-block
	}
	if fail != nil {
		if err := fail(rollup, n); err != nil {
			return nil, err
		}
	}
	return p.r.PopulateOne(ctx, rollup)
}

func (p *flaky) count(rollup string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[rollup]
}

func (p *flaky) inFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.busy
}
