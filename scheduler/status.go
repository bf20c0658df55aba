package scheduler

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/timerange"
)

// Rollup states, as Status reports them.
const (
	StatePending  = "pending"  // not run yet by this process
	StateRunning  = "running"  // a run is in progress (and the previous one did not fail)
	StateOK       = "ok"       // the last run succeeded
	StateRetrying = "retrying" // the last run failed and a retry is due inside the window
	StateFailed   = "failed"   // the last run failed and the retry window passed
)

// RollupStatus is what the scheduler knows about one rollup.
type RollupStatus struct {
	Rollup   string `json:"rollup"`
	Schedule string `json:"schedule"`
	State    string `json:"state"`
	// Healthy is what /healthz reports for the rollup; Reason says why not.
	Healthy bool   `json:"healthy"`
	Reason  string `json:"reason,omitempty"`
	// Next is the next cron fire time (zero outside Run).
	Next      time.Time `json:"next,omitzero"`
	Watermark time.Time `json:"watermark,omitzero"`
	// Lag is now − watermark; HoursBehind counts the closed hours not populated yet.
	Lag          time.Duration `json:"lag_ns"`
	HoursBehind  int           `json:"hours_behind"`
	LastStart    time.Time     `json:"last_start,omitzero"`
	LastSuccess  time.Time     `json:"last_success,omitzero"`
	LastDuration time.Duration `json:"last_duration_ns"`
	// RowsWritten, Runs, Failures and Skipped count since the process started.
	RowsWritten uint64 `json:"rows_written"`
	Runs        uint64 `json:"runs"`
	Failures    uint64 `json:"failures"`
	Skipped     uint64 `json:"skipped"`
	// Attempt is the failing attempt's number, LastError its error, RetryUntil the end of its
	// retry window.
	Attempt    int       `json:"attempt,omitempty"`
	LastError  string    `json:"last_error,omitempty"`
	RetryUntil time.Time `json:"retry_until,omitzero"`
	// Table is the rollup version's table; Suspect lists its partitions (ids) that may be
	// counted twice after a crash, until the next populate redoes them.
	Table   string   `json:"table"`
	Suspect []string `json:"suspect_partitions,omitempty"`
	// Served are the tables of older versions endpoints read, kept fresh with this one;
	// ServedSuspect their suspect partitions, by table.
	Served        []string            `json:"served_versions,omitempty"`
	ServedSuspect map[string][]string `json:"served_suspect_partitions,omitempty"`
}

// Status returns every scheduled rollup's status at the scheduler's clock, and whether this
// scheduler holds the lease.
func (s *Scheduler) Status() (rollups []RollupStatus, leader bool, lease Lease) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.entries {
		st := e.st
		rs := RollupStatus{Rollup: e.rollup.Name, Schedule: e.spec, Next: st.next, Watermark: st.watermark,
			LastStart: st.lastStart, LastSuccess: st.lastSuccess, LastDuration: st.lastDuration,
			RowsWritten: st.rowsWritten, Runs: st.runs, Failures: st.failures, Skipped: st.skipped, Healthy: true,
			Table: e.table, Suspect: st.suspect, Served: st.served, ServedSuspect: st.servedSuspect}
		if !st.watermark.IsZero() {
			rs.Lag = max(now.Sub(st.watermark), 0)
			if c := timerange.ClosedEnd(now, e.rollup.Delay); c.After(st.watermark) {
				rs.HoursBehind = int(c.Sub(st.watermark) / time.Hour)
			}
		}
		switch {
		case st.failing && (st.gaveUp || !now.Before(st.retryUntil)):
			rs.State = StateFailed
		case st.failing:
			rs.State = StateRetrying
		case e.running.Load():
			rs.State = StateRunning
		case st.runs > 0:
			rs.State = StateOK
		default:
			rs.State = StatePending
		}
		if st.failing {
			rs.Attempt, rs.LastError, rs.RetryUntil = st.attempt, st.lastError, st.retryUntil
			if st.gaveUp || !now.Before(st.retryUntil) {
				rs.Healthy = false
				rs.Reason = fmt.Sprintf("last tick failed (attempt %d) and its retry window ended at %s: %s",
					st.attempt, timerange.Format(st.retryUntil), st.lastError)
			}
		}
		var why []string
		if rs.Reason != "" {
			why = append(why, rs.Reason)
		}
		if len(st.suspect) > 0 {
			why = append(why, fmt.Sprintf("%d partition(s) of %s may be counted twice after a crash (%s): the next populate redoes them first; run hourglass populate %s now",
				len(st.suspect), e.table, strings.Join(st.suspect, ", "), e.rollup.Name))
		}
		for _, t := range st.served {
			if ids := st.servedSuspect[t]; len(ids) > 0 {
				why = append(why, fmt.Sprintf("%d partition(s) of %s, an older version endpoints read, may be counted twice after a crash (%s): the next populate redoes them first; run hourglass populate %s now",
					len(ids), t, strings.Join(ids, ", "), e.rollup.Name))
			}
		}
		if st.suspectErr != "" {
			why = append(why, "cannot tell whether a crash left partitions counted twice: "+st.suspectErr)
		}
		if len(why) > 0 {
			rs.Healthy, rs.Reason = false, strings.Join(why, "; ")
		}
		rollups = append(rollups, rs)
	}
	return rollups, s.leader, s.lease
}

// Handler serves /healthz and /metrics.
func (s *Scheduler) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.serveHealth)
	mux.HandleFunc("GET /metrics", s.serveMetrics)
	return mux
}

// serveHealth answers 200 when every rollup's last tick succeeded or is still inside its
// retry window and no partition is suspect (may be counted twice after a crash), 503
// otherwise; the body has one line per rollup.
func (s *Scheduler) serveHealth(w http.ResponseWriter, _ *http.Request) {
	rollups, leader, lease := s.Status()
	var b strings.Builder
	code := http.StatusOK
	for _, r := range rollups {
		if !r.Healthy {
			code = http.StatusServiceUnavailable
			fmt.Fprintf(&b, "unhealthy %s: %s\n", r.Rollup, r.Reason)
		}
	}
	for _, r := range rollups {
		if r.Healthy {
			line := fmt.Sprintf("ok %s: %s", r.Rollup, r.State)
			if !r.Watermark.IsZero() {
				line += ", watermark " + timerange.Format(r.Watermark)
			}
			if r.State == StateRetrying {
				line += fmt.Sprintf(", attempt %d failed, retrying until %s: %s", r.Attempt, timerange.Format(r.RetryUntil), r.LastError)
			}
			fmt.Fprintln(&b, line)
		}
	}
	if leader {
		fmt.Fprintf(&b, "lease held by this scheduler (%s) until %s\n", s.holder, timerange.Format(lease.Expiry))
	} else if lease.Holder != "" {
		fmt.Fprintf(&b, "standby: lease held by %s until %s\n", lease.Holder, timerange.Format(lease.Expiry))
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, b.String())
}

// metric is one Prometheus family, written by hand in the text exposition format.
type metric struct {
	name, typ, help string
	value           func(RollupStatus) float64
	// known says whether the rollup has a value (nil: always); unknown series are left out.
	known func(RollupStatus) bool
}

func hasWatermark(r RollupStatus) bool { return !r.Watermark.IsZero() }

var rollupMetrics = []metric{
	{"hourglass_last_success_timestamp_seconds", "gauge", "Unix time of the rollup's last successful populate (from the run log at start; 0 if none).",
		func(r RollupStatus) float64 { return unixSeconds(r.LastSuccess) }, nil},
	{"hourglass_watermark_lag_seconds", "gauge", "Seconds from the rollup's watermark (end of the last populated hour) to now.",
		func(r RollupStatus) float64 { return r.Lag.Seconds() }, hasWatermark},
	{"hourglass_closed_hours_behind", "gauge", "Closed hours not populated yet (0 when caught up).",
		func(r RollupStatus) float64 { return float64(r.HoursBehind) }, hasWatermark},
	{"hourglass_run_duration_seconds", "gauge", "Duration of the rollup's last populate run.",
		func(r RollupStatus) float64 { return r.LastDuration.Seconds() }, nil},
	{"hourglass_rows_written_total", "counter", "Rollup rows written by populate runs since the process started.",
		func(r RollupStatus) float64 { return float64(r.RowsWritten) }, nil},
	{"hourglass_runs_total", "counter", "Populate runs (attempts) since the process started.",
		func(r RollupStatus) float64 { return float64(r.Runs) }, nil},
	{"hourglass_failures_total", "counter", "Failed populate attempts since the process started.",
		func(r RollupStatus) float64 { return float64(r.Failures) }, nil},
	{"hourglass_skipped_ticks_total", "counter", "Ticks skipped because the rollup's previous run was still running.",
		func(r RollupStatus) float64 { return float64(r.Skipped) }, nil},
	{"hourglass_healthy", "gauge", "1 when the rollup's last tick succeeded or is inside its retry window and no partition is suspect, else 0.",
		func(r RollupStatus) float64 { return boolFloat(r.Healthy) }, nil},
	{"hourglass_suspect_partitions", "gauge", "Partitions of the rollup's versions (the deployed one and those endpoints read) that may be counted twice after a crash, until the next populate redoes them.",
		func(r RollupStatus) float64 {
			n := len(r.Suspect)
			for _, ids := range r.ServedSuspect {
				n += len(ids)
			}
			return float64(n)
		}, nil},
}

func (s *Scheduler) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	rollups, leader, _ := s.Status()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = io.WriteString(w, WriteMetrics(rollups, leader))
}

// WriteMetrics renders statuses in the Prometheus text format.
func WriteMetrics(rollups []RollupStatus, leader bool) string {
	var b strings.Builder
	for _, m := range rollupMetrics {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.typ)
		for _, r := range rollups {
			if m.known != nil && !m.known(r) {
				continue
			}
			fmt.Fprintf(&b, "%s{rollup=\"%s\"} %s\n", m.name, escapeLabel(r.Rollup), formatFloat(m.value(r)))
		}
	}
	fmt.Fprintf(&b, "# HELP hourglass_scheduler_leader 1 when this scheduler holds the lease (does the work), 0 on a standby.\n")
	fmt.Fprintf(&b, "# TYPE hourglass_scheduler_leader gauge\nhourglass_scheduler_leader %s\n", formatFloat(boolFloat(leader)))
	return b.String()
}

func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
