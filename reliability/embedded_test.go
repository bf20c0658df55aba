package reliability_test

import (
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
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

// The hourglass process is killed (SIGKILL) in the middle of a backfill on the embedded
// engine. While it works (a child process paused after its third unit is recorded done), a
// second process on the same data folder is refused with one line naming its PID (exit 2).
// After the kill, the next process opens the folder, --resume skips the three units done and
// leaves the rollup exact (raw SQL: count, sum, distinct users and sessions of every hour).
func TestEmbeddedProcessKilledMidBackfill(t *testing.T) {
	rg := timerange.Range{Start: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC)}
	p := newCrashProject(t, rg, 100000)
	child := pausedChild(t, childSpec{Project: p.dir, Command: "backfill", Rollup: crashRollup, From: rg.Start, To: rg.End, Now: p.now,
		Step: populate.StepRecorded, Unit: 3, Batch: 1})

	// A second process on the same folder while the first one works: refused, one line.
	code, out, errOut := hg(t, p.args("sql", "SELECT 1")...)
	want := "in use by PID " + strconv.Itoa(child.Process.Pid)
	if code != 2 || out != "" || !strings.Contains(errOut, want) || strings.Count(strings.TrimRight(errOut, "\n"), "\n") != 0 {
		t.Fatalf("second process: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", code, out, errOut, want)
	}
	t.Logf("second process: %s", strings.TrimSpace(errOut))

	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := child.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the backfill was not killed: %v", err)
	}
	res := p.must("backfill", crashRollup, "--from", timerange.Format(rg.Start), "--to", timerange.Format(rg.End), "--now", p.clock(), "--resume")
	t.Logf("after SIGKILL at unit 3 of 24: %s", strings.TrimSpace(res))
	if !strings.Contains(res, "21 unit(s) done, 3 skipped") {
		t.Errorf("resume output %q: want the 3 units done skipped and the 21 others done", res)
	}
	if o := p.oracle(""); o.Mismatched != 0 || !o.TotalsEqual || o.Hours != 24*24 {
		t.Fatalf("rollup vs raw after kill and resume: %+v, want 0 of 576 hours different", o)
	}
	// The folder is usable and unlocked: another command opens it.
	p.must("sql", "SELECT 1")
}
