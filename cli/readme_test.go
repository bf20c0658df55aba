package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/internal/syncbuf"
)

// readmeClock is the minute the README's job runs at: not on the hour, and past the 5-minute
// delay, so "now" is the end of the 10:00 hour while the clock says 10:37.
var readmeClock = time.Date(2026, 11, 20, 10, 37, 21, 0, time.UTC)

// readmeJob returns the command lines of the README's "The job, step by step" block, as
// written: comments dropped, "a && b" split, "\" continuations joined.
func readmeJob(t *testing.T) []string {
	t.Helper()
	return readmeBlock(t, "## The job, step by step")
}

// readmeBlock returns the command lines of the first ```sh block of the README's section
// titled heading (see readmeJob).
func readmeBlock(t *testing.T, heading string) []string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, heading)
	if i < 0 {
		t.Fatalf("README has no %q section", heading)
	}
	doc = doc[i:]
	start := strings.Index(doc, "```sh\n")
	end := strings.Index(doc[start+6:], "```")
	if start < 0 || end < 0 {
		t.Fatal("the job section has no ```sh block")
	}
	var lines []string
	pending := ""
	for _, l := range strings.Split(doc[start+6:start+6+end], "\n") {
		l = pending + stripComment(l)
		pending = ""
		if strings.HasSuffix(strings.TrimSpace(l), "\\") {
			pending = strings.TrimSuffix(strings.TrimSpace(l), "\\") + " "
			continue
		}
		for _, part := range strings.Split(l, "&&") {
			if part = strings.TrimSpace(part); part != "" {
				lines = append(lines, part)
			}
		}
	}
	return lines
}

// stripComment drops a shell comment: a # at the start or after a blank, outside quotes.
func stripComment(l string) string {
	var quote rune
	for i, r := range l {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '#' && (i == 0 || l[i-1] == ' ' || l[i-1] == '\t'):
			return l[:i]
		}
	}
	return l
}

// TestReadmeJobAtAnyMinute runs every command of the README's job literally, in-process, in a
// fresh folder, with the clock at 10:37: each must exit 0. The numbers are then checked
// against raw SQL written here: every rollup holds exactly the raw rows of the closed hours,
// and the switched endpoint serves what raw gives.
func TestReadmeJobAtAnyMinute(t *testing.T) {
	needLibrary(t)
	lines := readmeJob(t)
	t.Chdir(t.TempDir())
	clock := func() time.Time { return readmeClock }
	if len(lines) < 10 {
		t.Fatalf("the README job has %d commands: %q", len(lines), lines)
	}
	outputs := map[string]string{}
	for _, line := range lines {
		words := splitCommand(t, line)
		switch {
		case words[0] == "cd" && len(words) == 2:
			t.Chdir(words[1])
			continue
		case words[0] != "hourglass":
			t.Fatalf("README line %q is not an hourglass command", line)
		case words[1] == "schedule" || words[1] == "serve":
			runSchedule10_37(t, words[1:], clock)
			continue
		}
		started := time.Now()
		var out, errb bytes.Buffer
		code := Main(context.Background(), words[1:], IO{In: strings.NewReader(""), Out: &out, Err: &errb, Now: clock}, Build{Version: "test"})
		t.Logf("%s → exit %d in %s", line, code, time.Since(started).Round(time.Millisecond))
		if code != ExitOK {
			t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", line, code, out.String(), errb.String())
		}
		outputs[words[1]+" "+words[2%len(words)]] += out.String()
	}

	// Every rollup holds exactly the raw rows of the closed hours (up to 10:00).
	sql := func(q string) [][]any {
		t.Helper()
		var out, errb bytes.Buffer
		if code := Main(context.Background(), []string{"-o", "json", "sql", q}, IO{Out: &out, Err: &errb, Now: clock}, Build{}); code != ExitOK {
			t.Fatalf("sql %s: %s", q, errb.String())
		}
		var r struct{ Rows [][]any }
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		return r.Rows
	}
	for _, c := range []struct{ rollup, count, source, time string }{
		{"events_overview_hourly", "event_count", "events", "timestamp"},
		{"events_totals_hourly", "event_count", "events", "timestamp"},
		{"events_hourly", "event_count", "events", "timestamp"},
		{"sessions_hourly", "session_count", "sessions", "session_start"},
		{"audience_hourly", "session_count", "sessions", "session_start"},
	} {
		got := sql(fmt.Sprintf(`SELECT (SELECT sum(%s) FROM analytics.%s), (SELECT count() FROM analytics.%s WHERE %s < '2026-11-20 10:00:00'),
            (SELECT max(hour) FROM analytics.%s)`, c.count, c.rollup, c.source, c.time, c.rollup))
		if fmt.Sprint(got) != fmt.Sprintf("[[%v %v 2026-11-20T09:00:00Z]]", got[0][1], got[0][1]) || fmt.Sprint(got[0][1]) == "0" {
			t.Errorf("%s: rollup rows, raw rows of closed hours, last hour = %v", c.rollup, got)
		}
	}
	if o := outputs["switch sum_primitives"]; !strings.Contains(o, "sum_primitives now reads its rollup version (events_totals_hourly)") ||
		!strings.Contains(o, "events_totals_hourly: EXACT — 720 hour buckets") || !strings.Contains(o, "events_totals_hourly_week: EXACT") {
		t.Errorf("switch output:\n%s", o)
	}
	if o := outputs["endpoint run"]; !strings.Contains(o, "over [2026-11-13 10:00:00, 2026-11-20 10:00:00)") || !strings.Contains(o, "results: EQUAL") {
		t.Errorf("endpoint run --compare output:\n%s", o)
	}
	if o := outputs["validate events_overview_hourly"]; !strings.Contains(o, "EXACT — 168 hour buckets") {
		t.Errorf("validate output:\n%s", o)
	}
}

// runSchedule10_37 runs the README's `hourglass schedule` (a daemon) with the clock starting
// at 10:37: it must start, take the lease, report every rollup caught up to the last closed
// hour on /metrics and healthy on /healthz, and exit 0 when stopped (what SIGINT and SIGTERM
// do).
func runSchedule10_37(t *testing.T, args []string, clock func() time.Time) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	errb := &syncbuf.Buffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, args, IO{In: strings.NewReader(""), Out: &out, Err: errb, Now: clock}, Build{Version: "test"})
	}()
	addr := regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`)
	behind := regexp.MustCompile(`hourglass_closed_hours_behind\{[^}]*\} [1-9]`)
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case code := <-done:
			t.Fatalf("hourglass %s exited %d before it was stopped:\n%s", args[0], code, errb.String())
		case <-deadline:
			t.Fatalf("hourglass %s did not start and catch up in 2 minutes:\n%s", args[0], errb.String())
		case <-time.After(50 * time.Millisecond):
		}
		m := addr.FindStringSubmatch(errb.String())
		if m == nil {
			continue
		}
		metrics, mcode := httpGet(t, "http://"+m[1]+"/metrics")
		_, hcode := httpGet(t, "http://"+m[1]+"/healthz")
		if mcode == http.StatusOK && hcode == http.StatusOK && strings.Contains(metrics, "hourglass_scheduler_leader 1") &&
			strings.Count(metrics, "hourglass_closed_hours_behind{") == 5 && !behind.MatchString(metrics) {
			break
		}
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Fatalf("hourglass schedule: exit %d after it was stopped:\n%s", code, errb.String())
	}
	t.Logf("hourglass schedule → caught up, healthy, stopped: exit 0")
}

func httpGet(t *testing.T, url string) (string, int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return "", 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}
