package scheduler

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// The lease lives in the metadata state table: object "scheduler", key "lease", value
// "holder|expiry" (expiry in RFC 3339 with nanoseconds, UTC).
const (
	LeaseObject = "scheduler"
	LeaseKey    = "lease"
)

// Lease is the latest lease record.
type Lease struct {
	Holder string    `json:"holder"`
	Expiry time.Time `json:"expiry"`
}

// ActiveAt reports whether the lease is held by someone at now.
func (l Lease) ActiveAt(now time.Time) bool { return l.Holder != "" && now.Before(l.Expiry) }

func (l Lease) value() string { return l.Holder + "|" + l.Expiry.UTC().Format(time.RFC3339Nano) }

func parseLease(v string) (Lease, error) {
	holder, exp, ok := strings.Cut(v, "|")
	if !ok {
		return Lease{}, fmt.Errorf("scheduler lease %q is not holder|expiry", v)
	}
	t, err := time.Parse(time.RFC3339Nano, exp)
	if err != nil {
		return Lease{}, fmt.Errorf("scheduler lease %q: %w", v, err)
	}
	return Lease{Holder: holder, Expiry: t.UTC()}, nil
}

// CurrentLease reads the latest lease record; ok is false when there is none.
func (s *Scheduler) CurrentLease(ctx context.Context) (l Lease, ok bool, err error) {
	v, ok, err := s.store.Get(ctx, LeaseObject, LeaseKey)
	if err != nil || !ok {
		return Lease{}, ok, err
	}
	l, err = parseLease(v)
	return l, err == nil, err
}

// acquire takes or renews the lease at now. It returns the lease as it stands afterwards and
// whether this scheduler holds it. The lease is taken when there is none, when it expired or
// when it is already ours; it is re-read after writing, so of two schedulers racing for an
// expired lease the later write wins and the other backs off. The window in which both
// could believe they hold it is one round trip, and populate units are idempotent, so even
// then no hour is counted twice.
func (s *Scheduler) acquire(ctx context.Context, now time.Time) (Lease, bool, error) {
	cur, ok, err := s.CurrentLease(ctx)
	if err != nil {
		return Lease{}, false, err
	}
	if ok && cur.Holder != s.holder && cur.ActiveAt(now) {
		return cur, false, nil
	}
	mine := Lease{Holder: s.holder, Expiry: now.Add(s.ttl).UTC()}
	if err := s.store.Set(ctx, LeaseObject, LeaseKey, mine.value()); err != nil {
		return Lease{}, false, err
	}
	cur, ok, err = s.CurrentLease(ctx)
	if err != nil {
		return Lease{}, false, err
	}
	return cur, ok && cur.Holder == s.holder, nil
}

// Release gives the lease up if this scheduler holds it, so that another scheduler can take
// over at once instead of waiting for it to expire. Run releases on return; call it after
// Tick when the process exits.
func (s *Scheduler) Release(ctx context.Context) error {
	cur, ok, err := s.CurrentLease(ctx)
	if err != nil || !ok || cur.Holder != s.holder {
		return err
	}
	now := s.clock.Now()
	if !cur.Expiry.After(now) {
		return nil
	}
	s.setLeader(false, Lease{Holder: s.holder, Expiry: now})
	return s.store.Set(ctx, LeaseObject, LeaseKey, Lease{Holder: s.holder, Expiry: now}.value())
}
