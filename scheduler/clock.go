package scheduler

import (
	"sync"
	"time"
)

// Clock is the scheduler's only source of time. Production uses SystemClock; tests inject a
// clock they move by hand, so no test sleeps through real hours. The populate runner and the
// metadata store must read the same clock (pass Clock.Now to both).
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives once d has passed on this clock.
	After(d time.Duration) <-chan time.Time
}

// SystemClock returns the wall clock.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now().UTC() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// OffsetClock returns a clock that starts at t and then advances with real time: what
// `hourglass schedule --now T` runs on, replaying the schedule as if it had been started at T.
func OffsetClock(t time.Time) Clock {
	return &offsetClock{start: time.Now(), at: t.UTC()}
}

type offsetClock struct {
	mu    sync.Mutex
	start time.Time
	at    time.Time
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at.Add(time.Since(c.start))
}

func (c *offsetClock) After(d time.Duration) <-chan time.Time {
	out := make(chan time.Time, 1)
	time.AfterFunc(d, func() { out <- c.Now() })
	return out
}
