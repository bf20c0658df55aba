package scheduler

import (
	"math/rand/v2"
	"time"
)

// RetryPolicy says how a failed run is retried: exponential backoff with jitter, and only
// inside the hour it was started for.
type RetryPolicy struct {
	// Initial is the wait before the first retry (default 30s).
	Initial time.Duration
	// Max caps a single wait before jitter (default 10m).
	Max time.Duration
	// Multiplier grows the wait after each failed attempt (default 2).
	Multiplier float64
	// Jitter spreads each wait by a random factor in [1−Jitter, 1+Jitter] (default 0.2; a
	// negative value means none).
	Jitter float64
	// Window is how long after the scheduled fire time retries may still start (default 50m).
	// Retries never run into the rollup's next fire time either: that tick catches up.
	Window time.Duration
}

// Default retry settings, the values RetryPolicy's zero fields take.
const (
	DefaultRetryInitial    = 30 * time.Second
	DefaultRetryMax        = 10 * time.Minute
	DefaultRetryMultiplier = 2.0
	DefaultRetryJitter     = 0.2
	DefaultRetryWindow     = 50 * time.Minute
)

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Initial <= 0 {
		p.Initial = DefaultRetryInitial
	}
	if p.Max <= 0 {
		p.Max = DefaultRetryMax
	}
	if p.Max < p.Initial {
		p.Max = p.Initial
	}
	if p.Multiplier < 1 {
		p.Multiplier = DefaultRetryMultiplier
	}
	switch {
	case p.Jitter == 0:
		p.Jitter = DefaultRetryJitter
	case p.Jitter > 1:
		p.Jitter = 1
	}
	if p.Window <= 0 {
		p.Window = DefaultRetryWindow
	}
	return p
}

// Backoff returns the wait after failed attempt n (1 for the first failure). rnd returns a
// number in [0, 1); nil uses math/rand.
func (p RetryPolicy) Backoff(n int, rnd func() float64) time.Duration {
	p = p.withDefaults()
	if rnd == nil {
		rnd = rand.Float64
	}
	d := float64(p.Initial)
	for i := 1; i < n && d < float64(p.Max); i++ {
		d *= p.Multiplier
	}
	d = min(d, float64(p.Max))
	if j := p.Jitter; j > 0 {
		d *= 1 - j + 2*j*rnd()
	}
	return time.Duration(d)
}
