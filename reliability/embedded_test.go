package reliability_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
)

// hg runs the built hourglass binary to completion and returns its exit code, stdout, stderr.
func hg(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(hourglassBinary(t), args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

func mustHG(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := hg(t, args...)
	if code != 0 {
		t.Fatalf("hourglass %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// exactSQL counts the hours of events_overview_hourly before end whose event count or distinct
// users differ from the raw events, and the hours it holds.
const exactSQL = `SELECT countIf(r.c != o.c OR r.u != o.u OR r.h != o.h) AS mismatched, count() AS hours FROM
  (SELECT toStartOfHour(timestamp) AS h, count() AS c, uniq(user_id) AS u FROM analytics.events WHERE timestamp < {end} GROUP BY h) AS r
  FULL OUTER JOIN
  (SELECT hour AS h, sum(event_count) AS c, uniqMerge(unique_users) AS u FROM analytics.events_overview_hourly GROUP BY h) AS o
  USING h SETTINGS join_use_nulls = 1`

// The hourglass process is killed (SIGKILL) in the middle of a backfill on the embedded
// engine. While it runs, a second process on the same data folder is refused with one line
// naming its PID (exit 2). After the kill, the next process opens the folder and --resume
// skips the units already done and leaves the rollup exact (raw SQL: every hour's count and
// distinct users equal raw).
func TestEmbeddedProcessKilledMidBackfill(t *testing.T) {
	shared.NeedEmbedded(t) // the library is there
	dir := filepath.Join(t.TempDir(), "demo")
	mustHG(t, "init", dir)
	p := []string{"--project", dir}
	mustHG(t, append(p, "deploy")...)
	mustHG(t, append(p, "sql", `INSERT INTO analytics.events (timestamp, workspace_id, project_id, campaign_id, environment, event_type, session_id, user_id, country, value_usd)
        SELECT toDateTime('2026-10-01 00:00:00', 'UTC') + number * 7, 'w1', 'p1', concat('c', toString(number % 4)), 'prod', ['pageview', 'click'][1 + number % 2],
               concat('s', toString(intDiv(number, 5))), concat('u', toString(number % 211)), ['DE', 'US', 'FR'][1 + number % 3], (number % 100) / 10
        FROM numbers(300000)`)...)
	backfill := append(p, "backfill", "events_overview_hourly", "--from", "2026-10-01", "--to", "2026-10-25", "--now", "2026-11-20T00:00:00Z")

	cmd := exec.Command(hourglassBinary(t), backfill...)
	stderr, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	seen := 0
	timeout := time.After(60 * time.Second)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("backfill ended before it could be killed: %v", <-exited)
			}
			if strings.Contains(l, "raw rows →") {
				if seen++; seen == 3 {
					break wait
				}
			}
		case <-timeout:
			t.Fatal("no unit finished within 60s")
		}
	}

	// A second process on the same folder while the first one works: refused, one line.
	code, out, errOut := hg(t, append(p, "sql", "SELECT 1")...)
	want := "in use by PID " + strconv.Itoa(cmd.Process.Pid)
	if code != 2 || out != "" || !strings.Contains(errOut, want) || strings.Count(strings.TrimRight(errOut, "\n"), "\n") != 0 {
		t.Fatalf("second process: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", code, out, errOut, want)
	}
	t.Logf("second process: %s", strings.TrimSpace(errOut))

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for range lines {
	}
	if err := <-exited; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the backfill was not killed: %v", err)
	}

	res := mustHG(t, append(backfill, "--resume")...)
	t.Logf("after SIGKILL at unit 3 of 24: %s", strings.TrimSpace(res))
	// The three units printed done were durable, so the resume skips them (and any unit that
	// became durable between the third line and the kill).
	var done, skipped int
	if _, err := fmt.Sscanf(res[strings.Index(res, ": ")+2:], "%d unit(s) done, %d skipped", &done, &skipped); err != nil || done+skipped != 24 || skipped < 3 {
		t.Errorf("resume output %q: want the 24 units, at least the 3 done ones skipped", res)
	}
	var r engine.Result
	if err := json.Unmarshal([]byte(mustHG(t, append(p, "-o", "json", "sql", strings.ReplaceAll(exactSQL, "{end}", "toDateTime('2026-10-25 00:00:00', 'UTC')"))...)), &r); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(r.Rows) != "[[0 576]]" {
		t.Fatalf("rollup vs raw after kill and resume: [mismatched hours, hours] = %v, want [[0 576]]", r.Rows)
	}
	// The folder is usable and unlocked: another command opens it.
	mustHG(t, append(p, "sql", "SELECT 1")...)
}
