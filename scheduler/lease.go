package scheduler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/meta"
)

// The lease lives in the metadata state table, object "scheduler", and goes by terms: term N
// is held by one scheduler, named in key "lease:N" with value "holder|expiry" (expiry in
// RFC 3339 with nanoseconds, UTC), which its holder renews. The current lease is that of the
// highest term.
//
// A scheduler takes the lease when there is none or the current one expired, by claiming the
// next term: it writes "claim:N+1" (its name), waits until its node has every record the other
// nodes wrote before (meta.Store.SyncState), and reads the claims of N+1. It wins only if its
// claim is the only one; then it writes "lease:N+1". Of two schedulers claiming one term, the
// later claim is written after the earlier one, so its claimant sees both and backs off: two
// cannot both win, even through different nodes of a cluster whose state table replicates
// asynchronously (they may both back off, and claim a higher term at their next try). On one
// server the records are read where they are written, and the same holds.
const (
	LeaseObject = "scheduler"
	leaseKey    = "lease:"
	claimKey    = "claim:"
)

// Lease is the current lease.
type Lease struct {
	Holder string    `json:"holder"`
	Expiry time.Time `json:"expiry"`
	// Term counts the leases taken since the first (from 1).
	Term uint64 `json:"term"`
}

// ActiveAt reports whether the lease is held by someone at now.
func (l Lease) ActiveAt(now time.Time) bool { return l.Holder != "" && now.Before(l.Expiry) }

func (l Lease) value() string { return l.Holder + "|" + l.Expiry.UTC().Format(time.RFC3339Nano) }

func parseLease(v string, term uint64) (Lease, error) {
	holder, exp, ok := strings.Cut(v, "|")
	if !ok {
		return Lease{}, fmt.Errorf("scheduler lease %q is not holder|expiry", v)
	}
	t, err := time.Parse(time.RFC3339Nano, exp)
	if err != nil {
		return Lease{}, fmt.Errorf("scheduler lease %q: %w", v, err)
	}
	return Lease{Holder: holder, Expiry: t.UTC(), Term: term}, nil
}

// leases reads the lease records: the lease of the highest term (ok false when none) and the
// highest term anyone leased or claimed.
func (s *Scheduler) leases(ctx context.Context) (cur Lease, ok bool, top uint64, err error) {
	recs, err := s.store.Latest(ctx, LeaseObject, "")
	if err != nil {
		return Lease{}, false, 0, err
	}
	var curValue string
	for k, v := range recs {
		kind, n, found := strings.Cut(k, ":")
		term, perr := strconv.ParseUint(n, 10, 64)
		if !found || perr != nil || kind+":" != leaseKey && kind+":" != claimKey {
			continue // not a record of this scheme
		}
		top = max(top, term)
		if kind+":" == leaseKey && (!ok || term > cur.Term) {
			cur, ok, curValue = Lease{Term: term}, true, v
		}
	}
	if ok {
		if cur, err = parseLease(curValue, cur.Term); err != nil {
			return Lease{}, false, 0, err
		}
	}
	return cur, ok, top, nil
}

// CurrentLease reads the lease of the highest term; ok is false when there is none.
func (s *Scheduler) CurrentLease(ctx context.Context) (l Lease, ok bool, err error) {
	l, ok, _, err = s.leases(ctx)
	return l, ok, err
}

// syncLease makes the node the store reads from catch up with the others' lease records. A
// node that cannot (one holding records is down) goes on with what it has, and says so: a
// dead holder's last renewal must not keep every standby waiting for it.
func (s *Scheduler) syncLease(ctx context.Context) error {
	err := s.store.SyncState(ctx)
	var behind *meta.BehindError
	if errors.As(err, &behind) {
		s.log.Warn("deciding on the scheduler lease with what this node has", "err", err)
		return nil
	}
	return err
}

// acquire takes or renews the lease at now. It returns the lease as it stands afterwards and
// whether this scheduler holds it: renewed when it is this scheduler's; left alone when
// another's is active; otherwise this scheduler claims the next term (see above).
func (s *Scheduler) acquire(ctx context.Context, now time.Time) (Lease, bool, error) {
	if err := s.syncLease(ctx); err != nil {
		return Lease{}, false, err
	}
	cur, ok, top, err := s.leases(ctx)
	if err != nil {
		return Lease{}, false, err
	}
	mine := Lease{Holder: s.holder, Expiry: now.Add(s.ttl).UTC(), Term: cur.Term}
	switch {
	case ok && cur.Holder == s.holder && cur.ActiveAt(now):
		if err := s.store.Set(ctx, LeaseObject, leaseKey+strconv.FormatUint(cur.Term, 10), mine.value()); err != nil {
			return Lease{}, false, err
		}
		return mine, true, nil
	case ok && cur.ActiveAt(now):
		return cur, false, nil
	}
	if s.contended.Load() {
		// The last claim found a rival and nobody won: let the rival go first this time.
		time.Sleep(time.Duration(rand.Int64N(int64(200 * time.Millisecond))))
	}
	mine.Term = top + 1
	term := strconv.FormatUint(mine.Term, 10)
	if err := s.store.Set(ctx, LeaseObject, claimKey+term, s.holder); err != nil {
		return Lease{}, false, err
	}
	if err := s.syncLease(ctx); err != nil {
		return Lease{}, false, err
	}
	claims, err := s.store.Values(ctx, LeaseObject, claimKey+term)
	if err != nil {
		return Lease{}, false, err
	}
	if len(claims) != 1 || claims[0] != s.holder {
		s.contended.Store(true)
		s.log.Info("another scheduler claimed the lease at the same time: standing by", "term", mine.Term, "claims", strings.Join(claims, ", "))
		if cur, ok, _, err = s.leases(ctx); err != nil || !ok {
			return Lease{}, false, err
		}
		return cur, false, nil
	}
	s.contended.Store(false)
	if err := s.store.Set(ctx, LeaseObject, leaseKey+term, mine.value()); err != nil {
		return Lease{}, false, err
	}
	return mine, true, nil
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
	gone := Lease{Holder: s.holder, Expiry: now, Term: cur.Term}
	s.setLeader(false, gone)
	return s.store.Set(ctx, LeaseObject, leaseKey+strconv.FormatUint(cur.Term, 10), gone.value())
}
