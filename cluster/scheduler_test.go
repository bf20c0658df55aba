package cluster_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/scheduler"
	"github.com/hourglass-dev/hourglass/timerange"
)

// stepClock is a clock the test moves by hand; its After never fires (the test ticks).
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) After(time.Duration) <-chan time.Time { return make(chan time.Time) }

func (c *stepClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Two schedulers pointed at different nodes tick at the same moment, hour after hour, each
// hour after the holder released the lease, so both claim the next term at once through
// nodes whose copies of the lease records replicate asynchronously: never do both hold it.
// The holder's populate runs on both shards; the other waits (ErrLeaseHeld naming the
// holder); the rollup ends exact over every hour.
func TestTwoSchedulersOnTwoNodesOneWorks(t *testing.T) {
	f := newFixture(t, projectYAML)
	f.mustHourglass("n1", "deploy")
	f.insertHits(3000, 3, "n1", "n2")
	f.mustHourglass("n1", "backfill", "hits_hourly", "--from", "2026-11-02", "--to", "2026-11-05", "--now", afterFill)

	clock := &stepClock{t: fillRange.End.Add(5 * time.Minute)}
	a := f.artifacts()
	nodes := []string{"n1", "n2"}
	scheds := make([]*scheduler.Scheduler, len(nodes))
	for i, node := range nodes {
		store := f.store(node)
		s, err := scheduler.New(scheduler.Options{
			Runner: populate.New(f.node(node), store, a, populate.Options{Now: clock.Now}),
			Store:  store, Rollups: []*datasources.Rollup{a.Rollup("hits_hourly").Rollup}, Clock: clock,
			Holder: "scheduler@" + node, LeaseTTL: 10 * time.Minute,
		})
		if err != nil {
			t.Fatal(err)
		}
		scheds[i] = s
	}
	const hours = 6
	held := map[string]int{}
	for h := 0; h < hours; h++ {
		hour := fillRange.End.Add(time.Duration(h) * time.Hour)
		// A row in the hour about to close, through the Distributed table.
		enginetest.MustExec(t, f.node("n1", "insert_distributed_sync=1"), fmt.Sprintf(
			"INSERT INTO %s.hits SELECT toDateTime(%d + number * 61, 'UTC'), 'a', concat('s', toString(number)), 'p', number, 0.5 FROM numbers(40)", f.db, hour.Unix()))
		clock.set(hour.Add(time.Hour + 5*time.Minute))
		now := clock.Now()
		errs := make([]error, len(scheds))
		var wg sync.WaitGroup
		for i, s := range scheds {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = s.Tick(t.Context(), now) }()
		}
		wg.Wait()
		var holders []string
		for i, err := range errs {
			switch {
			case err == nil:
				holders = append(holders, nodes[i])
			case errors.Is(err, scheduler.ErrLeaseHeld):
			default:
				t.Fatalf("hour %d: the scheduler on %s: %v", h, nodes[i], err)
			}
		}
		if len(holders) > 1 {
			t.Fatalf("hour %d: both schedulers hold the lease: %v", h, holders)
		}
		if len(holders) == 1 {
			held[holders[0]]++
			// The other waits, naming the holder (or the claim it lost to at the same moment).
			if err := errs[1-indexOf(nodes, holders[0])]; !strings.Contains(err.Error(), "scheduler@"+holders[0]) && !strings.Contains(err.Error(), "at the same moment") {
				t.Errorf("hour %d: the waiting scheduler says %v", h, err)
			}
		}
		t.Logf("hour %d: %v hold the lease; %v", h, holders, errs)
		// Give the lease up, so the next hour both claim it again.
		for _, s := range scheds {
			if err := s.Release(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if held["n1"]+held["n2"] == 0 {
		t.Fatalf("no scheduler ever held the lease")
	}
	// Both may have backed off at the last hour: the next tick (n1's alone) settles it.
	if err := scheds[0].Tick(t.Context(), clock.Now()); err != nil {
		t.Fatalf("n1's tick alone after the last hour: %v", err)
	}
	// Whoever held it, every hour is in the rollup, once.
	end := fillRange.End.Add(hours * time.Hour)
	s2 := f.store("n2")
	if err := s2.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if w, ok, err := s2.Watermark(t.Context(), "hits_hourly"); err != nil || !ok || !w.Equal(end) {
		t.Errorf("watermark %v %v %v, want %s", w, ok, err, timerange.Format(end))
	}
	f.assertExact(timerange.Range{Start: fillRange.Start, End: end}, "n1", "n2")
}

func indexOf(xs []string, x string) int {
	for i, y := range xs {
		if y == x {
			return i
		}
	}
	return -1
}
