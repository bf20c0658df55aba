package validate_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
	"github.com/hourglass-dev/hourglass/validate"
)

// TestSketchBoundary: an hour with exactly 512 distinct users — the set size at which
// uniqCombined(14) turns into a HyperLogLog — counts 512 from the rollup's merged campaign
// states, and the HyperLogLog's estimate when the raw rows bring a value it holds after the
// 512th (SQL written here, rows forced into that order). validate accepts exactly that and
// nothing else: one more user elsewhere is a mismatch.
func TestSketchBoundary(t *testing.T) {
	f := newFixture(t)
	h := day(18, 9)
	ins := func(at time.Time, n int, user, campaign string) {
		enginetest.MustExec(t, f.E, fmt.Sprintf(`INSERT INTO %s.events (timestamp, workspace_id, project_id, campaign_id, event_id, event_type, session_id, user_id)
SELECT toDateTime(%d + number %% 3600, 'UTC'), 'w1', 'p1', %s, 'e1', 'pageview', concat('s', toString(number)), %s FROM numbers(%d)`, f.DB, at.Unix(), campaign, user, n))
	}
	// Users 0…255 in c1 and 256…511 in c2, then 300 repeat visits of c2's users; ten users
	// in the hour after.
	ins(h, 512, "concat('u', toString(number))", "if(number < 256, 'c1', 'c2')")
	ins(h, 300, "concat('u', toString(256 + number % 256))", "'c2'")
	ins(h.Add(time.Hour), 10, "concat('v', toString(number))", "'c1'")
	rg := timerange.Range{Start: h, End: h.Add(2 * time.Hour)}
	f.Backfill("events_totals_hourly", timerange.Range{Start: day(18, 0), End: day(19, 0)})

	bind := engine.Params{"s": rg.Start, "e": rg.End}
	merged := enginetest.MustQuery(t, f.E, fmt.Sprintf("SELECT uniqCombinedMerge(14)(unique_users) FROM %s.events_totals_hourly WHERE hour = {s:DateTime}", f.DB), bind).Row()[0].(uint64)
	exact := enginetest.MustQuery(t, f.E, fmt.Sprintf("SELECT uniqExact(user_id) FROM %s.events WHERE timestamp >= {s:DateTime} AND timestamp < {s:DateTime} + 3600", f.DB), bind).Row()[0].(uint64)
	if exact != 512 || merged != 512 {
		t.Fatalf("exact %d, merged states %d: want 512 and 512", exact, merged)
	}
	// The raw rows in the order of the insert: the repeat visits come after the 512th user.
	withRepeatLast := enginetest.MustQuery(t, f.E, `SELECT uniqCombined(14)(u) FROM (
    SELECT concat('u', toString(number)) AS u FROM numbers(512) UNION ALL SELECT 'u300'
) SETTINGS max_threads = 1`, nil).Row()[0].(uint64)
	if withRepeatLast == 512 {
		t.Fatalf("512 values and a repeat: uniqCombined(14) = %d, want the HyperLogLog's estimate (the rule is not needed?)", withRepeatLast)
	}

	rep := f.validate("events_totals_hourly", validate.Options{Range: rg})
	if !rep.Exact || rep.Rows == 0 {
		t.Fatalf("the boundary hour: %s", rep.Summary())
	}
	// Away from the set size the counts compare exactly: a visit of the hour after becomes
	// another user's (10 → 9 users, still 10 events), and only unique_users differs.
	enginetest.MustExec(t, f.E, fmt.Sprintf("ALTER TABLE %s.events UPDATE user_id = 'v4' WHERE user_id = 'v3' SETTINGS mutations_sync = 2", f.DB))
	rep = f.validate("events_totals_hourly", validate.Options{Range: rg})
	if rep.Exact || rep.MismatchCount != 1 || rep.MismatchesByMetric["unique_users"] != 1 {
		t.Fatalf("a changed user: %s", rep.Summary())
	}
}

// TestSketchBoundaryOfDerived: a derived metric computed from a uniq_combined count (a bounce
// rate over distinct sessions) differs with it where the count is at the sketch's set size —
// 512 counted exactly on one side, the HyperLogLog's 511 on the other — and only there: with
// the counts equal, or different away from the set size, a different derived value is a
// mismatch. Both sides are SQL written here.
func TestSketchBoundaryOfDerived(t *testing.T) {
	f := newFixture(t)
	sk, ok := f.A.Rollup("events_totals_hourly").MetricValue("unique_sessions")
	rate, ok2 := f.A.Rollup("events_totals_hourly").MetricValue("bounce_rate")
	if !ok || !ok2 || sk.Sketch == nil || len(rate.SketchInputs) != 1 || rate.SketchInputs[0] != "unique_sessions" {
		t.Fatalf("unique_sessions %+v, bounce_rate %+v: want a sketch, and bounce_rate computed from it", sk, rate)
	}
	for _, c := range []struct {
		ref, cand string
		exact     bool
	}{
		{"SELECT toUInt64(512) AS unique_sessions, 204 / 512 AS bounce_rate", "SELECT toUInt64(511) AS unique_sessions, 204 / 511 AS bounce_rate", true},
		{"SELECT toUInt64(512) AS unique_sessions, 204 / 512 AS bounce_rate", "SELECT toUInt64(512) AS unique_sessions, 205 / 512 AS bounce_rate", false},
		{"SELECT toUInt64(400) AS unique_sessions, 204 / 400 AS bounce_rate", "SELECT toUInt64(401) AS unique_sessions, 204 / 401 AS bounce_rate", false},
	} {
		rep, err := validate.CompareQueries(context.Background(), f.E, validate.QueryComparison{
			Reference: c.ref, Candidate: c.cand, Values: []pipes.DiffValue{sk, rate},
		})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Exact != c.exact {
			t.Errorf("%s vs %s: exact %v, want %v (%+v)", c.ref, c.cand, rep.Exact, c.exact, rep.Mismatches)
		}
	}
}
