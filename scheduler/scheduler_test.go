package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/scheduler"
	"github.com/hourglass-dev/hourglass/timerange"
)

const (
	events   = "events_hourly"
	overview = "events_overview_hourly"
)

// Three days of hourly ticks on the fake clock: late events inside the lookback, a 6-hour
// outage, a tick whose first two attempts fail (retried inside the hour) and a tick that fails
// for good (the next one catches up). Afterwards the rollup equals raw, hour by hour, the
// watermark is at the end and the run log covers every hour.
func TestSimulated72Hours(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	start := day(5, 0)
	f.InsertEvents(start.Add(-24*time.Hour), start, 2000, 7)
	f.backfill(timerange.Range{Start: start.Add(-24 * time.Hour), End: start}, events)

	flakyHour := start.Add(10 * time.Hour) // the tick after hour 10: two failed attempts
	deadHour := start.Add(50 * time.Hour)  // the tick after hour 50 fails for good
	var mu sync.Mutex
	injected := 0
	p := &flaky{r: f.runner(populate.Hooks{AfterStage: func(ctx context.Context, u populate.Unit) error {
		if timerange.ClosedEnd(f.clock.Now(), 5*time.Minute).Equal(deadHour.Add(time.Hour)) {
			return errors.New("injected: disk full")
		}
		return nil
	}})}
	p.fail = func(rollup string, call int) error {
		mu.Lock()
		defer mu.Unlock()
		if rollup == events && timerange.ClosedEnd(f.clock.Now(), 5*time.Minute).Equal(flakyHour.Add(time.Hour)) && injected < 2 {
			injected++
			return errors.New("injected: connection reset")
		}
		return nil
	}
	s := f.scheduler(p, "solo", events)
	for h := 0; h < 72; h++ {
		hour := start.Add(time.Duration(h) * time.Hour)
		f.InsertEvents(hour, hour.Add(time.Hour), 100+h, 100+h)
		if h%5 == 4 {
			// Late events for the previous hour, after its tick: inside the 2 h lookback.
			f.InsertEvents(hour.Add(-time.Hour), hour.Add(-30*time.Minute), 20, 1000+h)
		}
		f.clock.Set(hour.Add(time.Hour + 5*time.Minute)) // the :05 tick after the hour closes
		if h >= 30 && h < 36 {
			continue // outage: no ticks for 6 hours
		}
		err := s.Tick(ctx, f.clock.Now())
		if hour.Equal(deadHour) {
			if err == nil || !strings.Contains(err.Error(), "disk full") {
				t.Fatalf("tick %d = %v, want the injected failure", h, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("tick %d: %v", h, err)
		}
	}
	end := start.Add(72 * time.Hour)
	all := timerange.Range{Start: start.Add(-24 * time.Hour), End: end}
	f.RequireExact(events, all)
	if w := f.watermark(events); !w.Equal(end) {
		t.Errorf("watermark = %v, want %v", w, end)
	}
	f.requireCovered(events, timerange.Range{Start: start, End: end})
	// The failed tick's attempts are in the run log: 8 attempts fit in the 50-minute window
	// (waits of 1, 2, 4, 8, 10, 10, 10 minutes).
	units, err := f.Store.History(ctx, events, deadHour.Add(-48*time.Hour), end)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, u := range units {
		if u.Status == meta.StatusFailed {
			failed++
			if !strings.Contains(u.Error, "disk full") {
				t.Errorf("failed unit error %q", u.Error)
			}
		}
	}
	if failed != 8 {
		t.Errorf("run log holds %d failed units, want 8", failed)
	}
	st, _, _ := s.Status()
	if r := st[0]; r.Failures != 2+8 || r.State != scheduler.StateOK || !r.Healthy || r.HoursBehind != 0 {
		t.Errorf("status %+v, want 10 failures, ok, healthy, caught up", r)
	}
	// 66 ticks, plus 2 retries at hour 10 and 7 at hour 50.
	if n := p.count(events); n != 66+2+7 {
		t.Errorf("%s ran %d times, want 75", events, n)
	}
}

// Two schedulers tick the same project at the same time: only the lease holder works; when it
// stops, the other takes over after the lease expires and catches up. No hour is doubled.
func TestTwoSchedulersOneLease(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	start := day(5, 0)
	f.InsertEvents(start.Add(-24*time.Hour), start, 1000, 1)
	f.backfill(timerange.Range{Start: start.Add(-24 * time.Hour), End: start}, overview)
	pa, pb := &flaky{r: f.runner(populate.Hooks{})}, &flaky{r: f.runner(populate.Hooks{})}
	a, b := f.scheduler(pa, "a", overview), f.scheduler(pb, "b", overview)
	for h := 0; h < 12; h++ {
		hour := start.Add(time.Duration(h) * time.Hour)
		f.InsertEvents(hour, hour.Add(time.Hour), 200, 10+h)
		f.clock.Set(hour.Add(time.Hour + 5*time.Minute))
		now := f.clock.Now()
		var errA, errB error
		switch {
		case h == 0:
			errA, errB = a.Tick(ctx, now), b.Tick(ctx, now)
		case h < 6:
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); errA = a.Tick(ctx, now) }()
			go func() { defer wg.Done(); errB = b.Tick(ctx, now) }()
			wg.Wait()
		default: // a is gone
			errB = b.Tick(ctx, now)
		}
		if errA != nil {
			t.Fatalf("hour %d: a: %v", h, errA)
		}
		wantB := h < 7 // a's lease (90 minutes) still runs at the first tick after it stopped
		if got := errors.Is(errB, scheduler.ErrLeaseHeld); got != wantB || !got && errB != nil {
			t.Fatalf("hour %d: b = %v, want lease held %v", h, errB, wantB)
		}
	}
	if pa.count(overview) != 6 || pb.count(overview) != 5 {
		t.Fatalf("a ran %d ticks and b %d, want 6 and 5", pa.count(overview), pb.count(overview))
	}
	l, ok, err := b.CurrentLease(ctx)
	if err != nil || !ok || l.Holder != "b" {
		t.Fatalf("lease = %+v %v %v, want held by b", l, ok, err)
	}
	all := timerange.Range{Start: start.Add(-24 * time.Hour), End: start.Add(12 * time.Hour)}
	f.RequireExact(overview, all)
	if w := f.watermark(overview); !w.Equal(all.End) {
		t.Fatalf("watermark = %v, want %v", w, all.End)
	}
}

// SIGTERM during a unit: Run lets the unit finish, starts nothing else, releases the lease and
// returns nil; the next scheduler resumes from the watermark and ends exact.
func TestCancelDuringUnitThenResume(t *testing.T) {
	f := newFixture(t, false)
	f.InsertEvents(day(4, 0), day(8, 0), 8000, 3)
	f.backfill(timerange.Range{Start: day(4, 0), End: day(5, 0)}, events)
	f.clock.Set(day(8, 0).Add(5 * time.Minute))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var staged int
	r1 := f.runner(populate.Hooks{AfterStage: func(context.Context, populate.Unit) error {
		staged++
		cancel() // the signal arrives while the first unit is between staging and swap
		return nil
	}})
	s1 := f.scheduler(r1, "first", events)
	done := make(chan error, 1)
	go func() { done <- s1.Run(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if staged != 1 {
		t.Fatalf("%d units staged, want 1 (no unit starts after the signal)", staged)
	}
	bg := context.Background()
	last, err := f.Store.LastRun(bg, events, populate.KindPopulate)
	if err != nil {
		t.Fatal(err)
	}
	units, err := f.Store.RunUnits(bg, last)
	if err != nil {
		t.Fatal(err)
	}
	if len(units) != 1 || units[0].Status != meta.StatusDone {
		t.Fatalf("interrupted run's units = %+v, want the one unit in progress, done", units)
	}
	if w := f.watermark(events); !w.Equal(day(5, 0)) {
		t.Fatalf("watermark after interruption = %v, want it unchanged at %v", w, day(5, 0))
	}
	if l, _, err := s1.CurrentLease(bg); err != nil || l.ActiveAt(f.clock.Now()) {
		t.Fatalf("lease after shutdown = %+v (%v), want released", l, err)
	}
	if !strings.Contains(f.logs.String(), "interrupted") {
		t.Errorf("logs do not mention the interruption:\n%s", f.logs.String())
	}

	ctx2, cancel2 := context.WithCancel(bg)
	defer cancel2()
	s2 := f.scheduler(f.runner(populate.Hooks{}), "second", events)
	done2 := make(chan error, 1)
	go func() { done2 <- s2.Run(ctx2) }()
	eventually(t, "the second scheduler to catch up", func() bool {
		w, _, err := f.Store.Watermark(bg, events)
		return err == nil && w.Equal(day(8, 0))
	})
	cancel2()
	if err := <-done2; err != nil {
		t.Fatal(err)
	}
	all := timerange.Range{Start: day(4, 0), End: day(8, 0)}
	f.RequireExact(events, all)
	f.requireCovered(events, all)
}

// Run fires at the cron times of the fake clock, does no catch-up when up to date, and skips
// a fire while the previous run is still going.
func TestRunFiresOnScheduleAndSkipsOverlap(t *testing.T) {
	f := newFixture(t, false)
	f.InsertEvents(day(4, 0), day(5, 3), 3000, 4)
	f.backfill(timerange.Range{Start: day(4, 0), End: day(5, 0)}, overview)
	f.clock.Set(day(5, 0).Add(10 * time.Minute))
	p := &flaky{r: f.runner(populate.Hooks{})}
	s := f.scheduler(p, "solo", overview)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	// Idle: the loop waits on the clock, no populate is in flight, and the scheduler itself
	// has finished the run's bookkeeping (it marks the run over only after populate returns).
	idle := func() bool {
		st, _, _ := s.Status()
		return f.clock.pending() == 1 && p.inFlight() == 0 && st[0].State != scheduler.StateRunning
	}

	eventually(t, "the loop to wait", idle)
	if n := p.count(overview); n != 0 {
		t.Fatalf("up-to-date rollup ran %d times at start, want 0", n)
	}
	f.clock.Set(day(5, 1).Add(5 * time.Minute))
	eventually(t, "the 01:05 run", func() bool { return p.count(overview) == 1 && idle() })
	if w := f.watermark(overview); !w.Equal(day(5, 1)) {
		t.Fatalf("watermark = %v", w)
	}
	block := make(chan struct{})
	p.mu.Lock()
	p.block = block
	p.mu.Unlock()
	f.clock.Set(day(5, 2).Add(5 * time.Minute))
	eventually(t, "the 02:05 run to start", func() bool { return p.count(overview) == 2 && p.inFlight() == 1 && f.clock.pending() == 1 })
	f.clock.Set(day(5, 3).Add(5 * time.Minute))
	eventually(t, "the 03:05 tick to be skipped", func() bool {
		st, _, _ := s.Status()
		return st[0].Skipped == 1
	})
	close(block) // the 02:05 run goes on at 03:05 and covers hour 02 as well
	eventually(t, "the run to finish", idle)
	if n := p.count(overview); n != 2 {
		t.Fatalf("%d runs, want 2", n)
	}
	if w := f.watermark(overview); !w.Equal(day(5, 3)) {
		t.Fatalf("watermark = %v, want %v", w, day(5, 3))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.logs.String(), "previous run still running") {
		t.Errorf("the skip is not logged:\n%s", f.logs.String())
	}
	f.RequireExact(overview, timerange.Range{Start: day(4, 0), End: day(5, 3)})
}

// /metrics and /healthz over real HTTP on loopback, with the values the run log implies.
func TestMetricsAndHealthOverHTTP(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	f.InsertEvents(day(4, 0), day(5, 6), 3000, 5)
	f.backfill(timerange.Range{Start: day(4, 0), End: day(5, 0)}, overview)
	f.clock.Set(day(5, 6).Add(5 * time.Minute))

	var srv *httptest.Server
	var during string
	var alwaysFail bool
	p := &flaky{r: f.runner(populate.Hooks{})}
	p.fail = func(rollup string, call int) error {
		if call == 2 {
			// Retrying inside the window: still healthy.
			code, body := get(t, srv.URL+"/healthz")
			during = fmt.Sprintf("%d %s", code, body)
		}
		if call <= 2 || alwaysFail {
			return errors.New("injected: engine unavailable")
		}
		return nil
	}
	s := f.scheduler(p, "solo", overview)
	srv = httptest.NewServer(s.Handler())
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("server on %s, want loopback", srv.URL)
	}

	if err := s.Tick(ctx, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(during, "200 ") || !strings.Contains(during, "retrying") {
		t.Errorf("healthz while retrying = %q, want 200 naming the retry", during)
	}
	now := f.clock.Now() // 06:05 + waits of 1 and 2 minutes
	if !now.Equal(day(5, 6).Add(8 * time.Minute)) {
		t.Fatalf("clock = %v", now)
	}
	last, err := f.Store.LastRun(ctx, overview, populate.KindPopulate)
	if err != nil {
		t.Fatal(err)
	}
	units, err := f.Store.RunUnits(ctx, last)
	if err != nil {
		t.Fatal(err)
	}
	var rows uint64
	for _, u := range units {
		if u.Status != meta.StatusDone {
			t.Fatalf("unit %+v not done", u)
		}
		rows += u.RowsWritten
	}
	if rows == 0 {
		t.Fatal("the run wrote no rows: the test checks nothing")
	}
	code, body := get(t, srv.URL+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	m := parseMetrics(t, body)
	lbl := `{rollup="` + overview + `"}`
	want := map[string]float64{
		"hourglass_failures_total" + lbl:                 2,
		"hourglass_runs_total" + lbl:                     3,
		"hourglass_watermark_lag_seconds" + lbl:          now.Sub(day(5, 6)).Seconds(),
		"hourglass_closed_hours_behind" + lbl:            0,
		"hourglass_rows_written_total" + lbl:             float64(rows),
		"hourglass_last_success_timestamp_seconds" + lbl: float64(now.Unix()),
		"hourglass_healthy" + lbl:                        1,
		"hourglass_skipped_ticks_total" + lbl:            0,
		"hourglass_scheduler_leader":                     1,
	}
	for k, v := range want {
		if got, ok := m[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if d, ok := m["hourglass_run_duration_seconds"+lbl]; !ok || d <= 0 {
		t.Errorf("run duration = %v (present %v)", d, ok)
	}
	for _, name := range []string{"hourglass_last_success_timestamp_seconds", "hourglass_watermark_lag_seconds", "hourglass_run_duration_seconds", "hourglass_rows_written_total", "hourglass_failures_total"} {
		if !strings.Contains(body, "# HELP "+name+" ") || !strings.Contains(body, "# TYPE "+name+" ") {
			t.Errorf("/metrics lacks HELP/TYPE of %s", name)
		}
	}
	if code, body := get(t, srv.URL+"/healthz"); code != http.StatusOK || !strings.Contains(body, "ok "+overview) {
		t.Errorf("/healthz = %d %q", code, body)
	}

	// The next tick fails on every attempt until its retry window ends: 503.
	alwaysFail = true
	f.clock.Set(day(5, 7).Add(5 * time.Minute))
	if err := s.Tick(ctx, f.clock.Now()); err == nil || !strings.Contains(err.Error(), "engine unavailable") {
		t.Fatalf("failing tick = %v", err)
	}
	code, body = get(t, srv.URL+"/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "unhealthy "+overview) || !strings.Contains(body, "engine unavailable") || !strings.Contains(body, "retry window") {
		t.Fatalf("/healthz after giving up = %d %q, want 503 naming the rollup and why", code, body)
	}
	_, body = get(t, srv.URL+"/metrics")
	m = parseMetrics(t, body)
	now = f.clock.Now()
	for k, v := range map[string]float64{
		"hourglass_failures_total" + lbl:        2 + 8,
		"hourglass_healthy" + lbl:               0,
		"hourglass_closed_hours_behind" + lbl:   1,
		"hourglass_watermark_lag_seconds" + lbl: now.Sub(day(5, 6)).Seconds(),
	} {
		if m[k] != v {
			t.Errorf("after giving up: %s = %v, want %v", k, m[k], v)
		}
	}
	// The following tick succeeds and catches up: healthy again.
	alwaysFail = false
	f.clock.Set(day(5, 8).Add(5 * time.Minute))
	if err := s.Tick(ctx, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, srv.URL+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz after recovery = %d", code)
	}
	if w := f.watermark(overview); !w.Equal(day(5, 8)) {
		t.Fatalf("watermark = %v", w)
	}
	f.RequireExact(overview, timerange.Range{Start: day(4, 0), End: day(5, 6)})
}

func TestNeverBackfilled(t *testing.T) {
	f := newFixture(t, true)
	f.clock.Set(day(5, 3).Add(5 * time.Minute))
	p := &flaky{r: f.runner(populate.Hooks{})}
	s := f.scheduler(p, "solo", events)
	err := s.Check(context.Background())
	var nb *scheduler.NotBackfilledError
	if !errors.As(err, &nb) || nb.Rollup != events || !strings.Contains(err.Error(), `hourglass backfill events_hourly --from <first day> --to "2026-11-05 03:00:00"`) {
		t.Fatalf("Check = %v", err)
	}
	if err := s.Tick(context.Background(), f.clock.Now()); !errors.As(err, &nb) {
		t.Fatalf("Tick = %v, want NotBackfilledError", err)
	}
	if p.count(events) != 0 {
		t.Fatal("a never-backfilled rollup was run")
	}
	st, _, _ := s.Status()
	if st[0].Healthy || !strings.Contains(st[0].Reason, "never backfilled") {
		t.Fatalf("status %+v, want unhealthy naming the backfill", st[0])
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// parseMetrics reads the Prometheus text format: "name{labels} value" lines by series.
func parseMetrics(t *testing.T, body string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("bad metrics line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}
