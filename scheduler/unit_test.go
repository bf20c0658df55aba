package scheduler_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/scheduler"
)

func TestBackoffDefaultsAndGrowth(t *testing.T) {
	half := func() float64 { return 0.5 } // the middle of the jitter range: no spread
	var p scheduler.RetryPolicy
	for n, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 5: 8 * time.Minute, 6: 10 * time.Minute, 40: 10 * time.Minute} {
		if got := p.Backoff(n, half); got != want {
			t.Errorf("default Backoff(%d) = %v, want %v", n, got, want)
		}
	}
	// Jitter spreads by ±20 % by default; a negative Jitter turns it off.
	if lo, hi := p.Backoff(1, func() float64 { return 0 }), p.Backoff(1, func() float64 { return 0.999999 }); lo != 24*time.Second || hi < 35*time.Second || hi > 36*time.Second {
		t.Errorf("jitter range = [%v, %v], want [24s, 36s)", lo, hi)
	}
	none := scheduler.RetryPolicy{Initial: time.Second, Multiplier: 3, Max: 20 * time.Second, Jitter: -1}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 3 * time.Second, 3: 9 * time.Second, 4: 20 * time.Second} {
		if got := none.Backoff(n, func() float64 { return 0 }); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestScheduleIsUTC(t *testing.T) {
	s, err := scheduler.ParseSchedule(scheduler.DefaultSchedule)
	if err != nil {
		t.Fatal(err)
	}
	berlin := time.FixedZone("CET", 3600)
	from := time.Date(2026, 11, 5, 10, 5, 0, 0, berlin) // 09:05 UTC
	if got, want := s.Next(from), time.Date(2026, 11, 5, 10, 5, 0, 0, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("Next(%v) = %v, want %v", from, got, want)
	}
	d, _ := scheduler.ParseSchedule("0 3 * * *")
	if got, want := d.Next(time.Date(2026, 11, 5, 3, 0, 0, 0, time.UTC)), time.Date(2026, 11, 6, 3, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("daily Next = %v, want %v", got, want)
	}
	if _, err := scheduler.ParseSchedule("5 * *"); err == nil || !strings.Contains(err.Error(), `"5 * *"`) {
		t.Errorf("bad schedule error = %v", err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	if _, err := scheduler.New(scheduler.Options{}); err == nil {
		t.Error("New without runner and store succeeded")
	}
}

func TestWriteMetricsFormat(t *testing.T) {
	at := time.Date(2026, 11, 5, 3, 5, 0, 0, time.UTC)
	out := scheduler.WriteMetrics([]scheduler.RollupStatus{
		{Rollup: `a"b`, Watermark: at.Add(-5 * time.Minute), Lag: 5 * time.Minute, LastSuccess: at, RowsWritten: 12, Failures: 1, Healthy: true},
		{Rollup: "never"},
	}, false)
	for _, want := range []string{
		"# HELP hourglass_watermark_lag_seconds ",
		"# TYPE hourglass_rows_written_total counter\n",
		"# TYPE hourglass_watermark_lag_seconds gauge\n",
		`hourglass_watermark_lag_seconds{rollup="a\"b"} 300` + "\n",
		`hourglass_last_success_timestamp_seconds{rollup="a\"b"} ` + strconv.FormatInt(at.Unix(), 10) + "\n",
		`hourglass_rows_written_total{rollup="a\"b"} 12` + "\n",
		`hourglass_failures_total{rollup="never"} 0` + "\n",
		"hourglass_scheduler_leader 0\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `hourglass_watermark_lag_seconds{rollup="never"}`) {
		t.Error("a rollup without a watermark has a lag series")
	}
}
