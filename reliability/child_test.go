package reliability_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/deploy"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
)

// childEnv, when set, makes the test binary a fault child instead of running tests: it runs one
// populate command on a project's embedded engine with a hook that kills the process
// (SIGKILL, itself) at one step of one unit — the crash the fault matrix replays.
const childEnv = "HOURGLASS_RELIABILITY_CHILD"

// childSpec is what a fault child runs.
type childSpec struct {
	Project string `json:"project"`
	// Command is "backfill", "populate" or "reconcile" (with --repair); Rollup its rollup;
	// From and To the range of backfill and reconcile.
	Command string    `json:"command"`
	Rollup  string    `json:"rollup"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Now     time.Time `json:"now"`
	// Step and Unit say where to die: at Step of the Unit-th unit the process starts (1-based,
	// in start order, recovery units included).
	Step populate.Step `json:"step"`
	Unit int           `json:"unit"`
	// Batch is the backfill's most partitions per INSERT (0: the default, sized by rows).
	Batch int `json:"batch"`
	// Pause makes the child print "paused" and wait to be killed at its step instead of
	// killing itself.
	Pause bool `json:"pause"`
}

// runChild runs spec (JSON) and returns the exit code: it never returns when it reaches its
// step; 3 when the run ended without reaching it, 1 when the run failed.
func runChild(spec string) int {
	var c childSpec
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	ctx := context.Background()
	def, err := datasources.Load(os.DirFS(c.Project))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	a, err := pipes.Compile(def)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	e, err := engine.Open(ctx, "chdb://"+filepath.Join(c.Project, ".hourglass", "data"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	defer e.Close()
	now := func() time.Time { return c.Now }
	store := meta.New(e, def.Database, now)
	deps, err := store.Deployments(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	for i, ra := range a.Rollups { // the deployed versions, as the CLI resolves them
		if d, ok := deps[ra.Rollup.Name]; ok {
			if a.Rollups[i], err = deploy.LiveRollup(ra, d); err != nil {
				fmt.Fprintln(os.Stderr, "child:", err)
				return 2
			}
		}
	}
	var mu sync.Mutex
	started := 0
	seq := map[string]int{}
	hook := func(_ context.Context, s populate.Step, u populate.Unit) error {
		mu.Lock()
		key := u.PartitionID + u.Range.String()
		if s == populate.StepBeforeStage {
			started++
			seq[key] = started
		}
		n := seq[key]
		mu.Unlock()
		if n == c.Unit && s == c.Step {
			if c.Pause {
				fmt.Printf("paused at %s of unit %d (%s)\n", s, n, u.PartitionID)
				select {}
			}
			fmt.Printf("killing myself at %s of unit %d (%s)\n", s, n, u.PartitionID)
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
		return nil
	}
	r := populate.New(e, store, a, populate.Options{Now: now, Hooks: populate.Hooks{Step: hook}})
	rg := timerange.Range{Start: c.From, End: c.To}
	switch c.Command {
	case "backfill":
		_, err = r.Backfill(ctx, c.Rollup, rg, populate.BackfillOptions{Batch: c.Batch})
	case "populate":
		_, err = r.PopulateOne(ctx, c.Rollup)
	case "reconcile":
		_, err = r.Reconcile(ctx, c.Rollup, rg, true)
	default:
		err = fmt.Errorf("unknown command %q", c.Command)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "child: the run ended after %d units without reaching %s of unit %d\n", started, c.Step, c.Unit)
	return 3
}

// childCmd is the test binary re-executed as a fault child running spec.
func childCmd(t *testing.T, spec childSpec) *exec.Cmd {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	return cmd
}

// pausedChild starts spec (with Pause) in a fault child and returns once it waits at its step;
// kill it with its Process.
func pausedChild(t *testing.T, spec childSpec) *exec.Cmd {
	t.Helper()
	spec.Pause = true
	cmd := childCmd(t, spec)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "paused") {
				line <- sc.Text()
			}
		}
		close(line)
	}()
	select {
	case l, ok := <-line:
		if !ok {
			t.Fatalf("fault child %s ended before reaching %s of unit %d", spec.Command, spec.Step, spec.Unit)
		}
		t.Log(l)
	case <-time.After(90 * time.Second):
		t.Fatalf("fault child %s did not reach %s of unit %d within 90 s", spec.Command, spec.Step, spec.Unit)
	}
	return cmd
}

// killChild runs spec in a fault child and fails the test unless the child died of SIGKILL.
func killChild(t *testing.T, spec childSpec) string {
	t.Helper()
	out, err := childCmd(t, spec).CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || !strings.Contains(ee.Error(), "killed") {
		t.Fatalf("fault child %s %s at %s of unit %d: %v\n%s", spec.Command, spec.Rollup, spec.Step, spec.Unit, err, out)
	}
	return strings.TrimSpace(string(out))
}
