package scheduler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
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
// next term: it writes "claim:N+1" ("holder|time"), waits until its node has every record the
// other nodes wrote before (meta.Store.SyncState), and reads the claims of N+1. It wins only if
// its claim is the only one; then it writes "lease:N+1". Of two schedulers claiming one term,
// the later claim is written after the earlier one, so its claimant sees both and backs off:
// two cannot both win one term, even through different nodes of a cluster whose state table
// replicates asynchronously (they may both back off, and claim a higher term at their next
// try). On one server the records are read where they are written, and the same holds.
//
// Nor may two win different terms: a scheduler that sees a claim of a term above the current
// lease (a rival between its claim and its lease) leaves that term alone until it is abandoned
// — every claim of it withdrawn ("withdrawn:N", written by a claimant that backs off), or the
// last one claimWindow old — and only then claims the next one; a claimant that saw only its
// own claim writes its lease within half that window, or backs off.
const (
	LeaseObject  = "scheduler"
	leaseKey     = "lease:"
	claimKey     = "claim:"
	withdrawnKey = "withdrawn:"
)

// claimWindow is how long a claim of a term stands without its lease (see above).
const claimWindow = 30 * time.Second

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
// another's is active; otherwise this scheduler claims the next term (see above). A claim that
// meets a rival's is withdrawn and, after a random pause, tried once more: of two schedulers
// starting at the same moment one then usually works at once.
func (s *Scheduler) acquire(ctx context.Context, now time.Time) (Lease, bool, error) {
	for attempt := 0; ; attempt++ {
		l, ok, contended, err := s.tryAcquire(ctx, now)
		if err != nil || ok || !contended || attempt == 1 {
			return l, ok, err
		}
		select {
		case <-ctx.Done():
			return l, false, ctx.Err()
		case <-time.After(time.Duration(rand.Int64N(int64(300 * time.Millisecond)))):
		}
	}
}

// tryAcquire is one attempt of acquire; contended says its claim met a rival's.
func (s *Scheduler) tryAcquire(ctx context.Context, now time.Time) (Lease, bool, bool, error) {
	if err := s.syncLease(ctx); err != nil {
		return Lease{}, false, false, err
	}
	cur, ok, top, err := s.leases(ctx)
	if err != nil {
		return Lease{}, false, false, err
	}
	mine := Lease{Holder: s.holder, Expiry: now.Add(s.ttl).UTC(), Term: cur.Term}
	switch {
	case ok && cur.Holder == s.holder && cur.ActiveAt(now) && top == cur.Term:
		if err := s.store.Set(ctx, LeaseObject, leaseKey+strconv.FormatUint(cur.Term, 10), mine.value()); err != nil {
			return Lease{}, false, false, err
		}
		return mine, true, false, nil
	case ok && cur.ActiveAt(now) && cur.Holder != s.holder:
		return cur, false, false, nil
	}
	if top > cur.Term { // a claim without its lease: a rival between the two, or one abandoned
		claims, err := s.claims(ctx, top)
		if err != nil {
			return Lease{}, false, false, err
		}
		if !claims.abandoned(now) {
			s.log.Info("another scheduler is claiming the lease: standing by", "term", top, "claims", strings.Join(claims.holders(), ", "))
			return Lease{Term: top}, false, false, nil
		}
	}
	mine.Term = top + 1
	term := strconv.FormatUint(mine.Term, 10)
	if err := s.store.Set(ctx, LeaseObject, claimKey+term, s.holder+"|"+now.UTC().Format(time.RFC3339Nano)); err != nil {
		return Lease{}, false, false, err
	}
	if err := s.syncLease(ctx); err != nil {
		return Lease{}, false, false, err
	}
	claims, err := s.claims(ctx, mine.Term)
	if err != nil {
		return Lease{}, false, false, err
	}
	holders := claims.holders()
	late := s.clock.Now().Sub(now) >= claimWindow/2 // the others may take the term as abandoned
	if len(holders) != 1 || holders[0] != s.holder || late {
		s.log.Info("another scheduler claimed the lease at the same time: standing by", "term", mine.Term, "claims", strings.Join(holders, ", "), "late", late)
		// Withdrawn, the claim no longer holds the term up once its rivals' are withdrawn too.
		if err := s.store.Set(ctx, LeaseObject, withdrawnKey+term, s.holder); err != nil {
			return Lease{}, false, false, err
		}
		if cur, ok, _, err = s.leases(ctx); err != nil {
			return Lease{}, false, false, err
		}
		if ok && cur.ActiveAt(now) && cur.Holder != s.holder {
			return cur, false, false, nil
		}
		return Lease{Term: mine.Term}, false, len(holders) != 1, nil
	}
	if err := s.store.Set(ctx, LeaseObject, leaseKey+term, mine.value()); err != nil {
		return Lease{}, false, false, err
	}
	return mine, true, false, nil
}

// claim is one scheduler's claim of a term.
type claim struct {
	holder string
	at     time.Time // zero when the record has no time: taken as long abandoned
	// withdrawn says the claimant saw a rival's claim (or was late) and backed off.
	withdrawn bool
}

// claimSet is every claim of one term.
type claimSet []claim

// claims reads every claim of a term, and which were withdrawn.
func (s *Scheduler) claims(ctx context.Context, term uint64) (claimSet, error) {
	n := strconv.FormatUint(term, 10)
	vs, err := s.store.Values(ctx, LeaseObject, claimKey+n)
	if err != nil {
		return nil, err
	}
	withdrawn, err := s.store.Values(ctx, LeaseObject, withdrawnKey+n)
	if err != nil {
		return nil, err
	}
	out := make(claimSet, 0, len(vs))
	for _, v := range vs {
		holder, at, _ := strings.Cut(v, "|")
		t, _ := time.Parse(time.RFC3339Nano, at)
		out = append(out, claim{holder: holder, at: t, withdrawn: slices.Contains(withdrawn, holder)})
	}
	return out, nil
}

// abandoned reports whether nobody can take the term any more at now: every claim of it was
// withdrawn — a claimant wins only when it sees its own claim alone, and a claim a term's
// visible claimants did not see comes after theirs, so it sees them and backs off — or the
// last claim is claimWindow old (its claimant died before writing its lease or withdrawing).
func (cs claimSet) abandoned(now time.Time) bool {
	var latest time.Time
	all := true
	for _, c := range cs {
		all = all && c.withdrawn
		if c.at.After(latest) {
			latest = c.at
		}
	}
	return all || now.Sub(latest) >= claimWindow
}

// holders names the claimants, each once, sorted.
func (cs claimSet) holders() []string {
	var out []string
	for _, c := range cs {
		if !slices.Contains(out, c.holder) {
			out = append(out, c.holder)
		}
	}
	slices.Sort(out)
	return out
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
