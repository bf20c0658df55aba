package reliability_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

var shared enginetest.Shared

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChild(spec)) // a fault child: see child_test.go
	}
	code := enginetest.Main(m, &shared, enginetest.Options{Server: true})
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func day(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }

// metrics returns every metric of a rollup per bucket and per dimension over rg, from side.
func metrics(t *testing.T, e engine.Engine, a *pipes.Artifacts, rollup string, side pipes.Side, bucket string, rg timerange.Range) [][]any {
	t.Helper()
	ra := a.Rollup(rollup)
	var dims []string
	for _, d := range ra.Rollup.Dimensions {
		dims = append(dims, d.Name)
	}
	q, err := pipes.MetricsQuery(a.Project, ra.Rollup, side, bucket, dims, nil)
	if err != nil {
		t.Fatal(err)
	}
	return enginetest.MustQuery(t, e, q, engine.Params{"start": rg.Start, "end": rg.End}).Rows
}

// requireExact fails unless every metric of the rollup equals raw over rg, per hour and per
// dimension value.
func requireExact(t *testing.T, e engine.Engine, a *pipes.Artifacts, rollup string, rg timerange.Range) {
	t.Helper()
	raw := metrics(t, e, a, rollup, pipes.SideRaw, "hour", rg)
	rolled := metrics(t, e, a, rollup, pipes.SideRollup, "hour", rg)
	if len(raw) == 0 {
		t.Fatalf("%s: no raw rows in %s: the test checks nothing", rollup, rg)
	}
	if diff := cmp.Diff(raw, rolled, projecttest.Approx); diff != "" {
		t.Fatalf("%s over %s: rollup differs from raw (-raw +rollup):\n%s", rollup, rg, diff)
	}
}

// byDay groups metric rows (first column the bucket) by day.
func byDay(rows [][]any) map[string]string {
	out := map[string]string{}
	for _, r := range rows {
		d := r[0].(time.Time).Format(time.DateOnly)
		out[d] += fmt.Sprint(r[1:]) + ";"
	}
	return out
}

// requireWholePartitions fails unless every day of the rollup holds either exactly what it
// held before (old) or exactly what raw gives now: a partition is swapped whole or not at all.
func requireWholePartitions(t *testing.T, e engine.Engine, a *pipes.Artifacts, rollup string, rg timerange.Range, old map[string]string) (swapped, kept int) {
	t.Helper()
	now := byDay(metrics(t, e, a, rollup, pipes.SideRollup, "hour", rg))
	raw := byDay(metrics(t, e, a, rollup, pipes.SideRaw, "hour", rg))
	days := map[string]bool{}
	for _, m := range []map[string]string{now, raw, old} {
		for d := range m {
			days[d] = true
		}
	}
	for d := range days {
		switch now[d] {
		case raw[d]:
			swapped++
		case old[d]:
			kept++
		default:
			t.Fatalf("%s day %s is neither its old content nor the recomputed one: half swapped\nnow: %s\nold: %s\nraw: %s", rollup, d, now[d], old[d], raw[d])
		}
	}
	return swapped, kept
}

// history returns the run log of a rollup as "run status" per unit start, latest first per unit.
func history(t *testing.T, store *meta.Store, rollup string, rg timerange.Range) []meta.Unit {
	t.Helper()
	h, err := store.History(context.Background(), rollup, rg.Start, rg.End)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// requireOneLine fails unless err's message is one line naming what went wrong.
func requireOneLine(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error, want a failure")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q lacks %q", msg, w)
		}
	}
}

// binDir holds the hourglass binary built for the process tests.
var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binError error
)

// hourglassBinary builds ./cmd/hourglass (CGO_ENABLED=0) once into a temporary folder.
func hourglassBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binError = os.MkdirTemp("", "hourglass-bin-")
		if binError != nil {
			return
		}
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Dir(filepath.Dir(file))
		binPath = filepath.Join(binDir, "hourglass")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/hourglass")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binError = fmt.Errorf("go build ./cmd/hourglass: %v\n%s", err, out)
		}
	})
	if binError != nil {
		t.Fatal(binError)
	}
	return binPath
}
