package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/internal/syncbuf"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/scheduler"
	"github.com/hourglass-dev/hourglass/timerange"
)

// scheduleProject writes the default project into a folder, deploys it on an embedded engine
// of its own (closed again before returning), adds events for 2026-11-04 00:00 to 11-05 03:00
// and, when backfill is set, backfills every rollup up to 2026-11-05 00:00. It returns the
// project folder and its DSN.
func scheduleProject(t *testing.T, backfill bool) (string, string) {
	t.Helper()
	needLibrary(t)
	dir := t.TempDir()
	for path, b := range datasources.Scaffold() {
		full := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	def, err := datasources.Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	a, err := pipes.Compile(def)
	if err != nil {
		t.Fatal(err)
	}
	dsn := "chdb://" + filepath.Join(dir, "data")
	ctx := context.Background()
	e, err := engine.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	now := func() time.Time { return time.Date(2026, 11, 5, 0, 5, 0, 0, time.UTC) }
	store := meta.New(e, def.Database, now)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(store.Ensure(ctx))
	must(e.Exec(ctx, a.CreateDatabase, nil))
	for _, d := range a.Datasources {
		must(e.Exec(ctx, d.CreateTable, nil))
	}
	for _, r := range a.Rollups {
		for _, q := range r.CreateTables() {
			must(e.Exec(ctx, q, nil))
		}
		must(store.RecordDeployment(ctx, meta.Deployment{Object: r.Rollup.Name, Kind: "rollup", Version: 1, Table: r.Table, Hash: r.Hash}))
	}
	must(e.Exec(ctx, fmt.Sprintf(`INSERT INTO %s.events (timestamp, workspace_id, session_id, user_id)
SELECT toDateTime('2026-11-04 00:00:00', 'UTC') + number * 97, concat('w', toString(number %% 3)), concat('s', toString(number %% 50)), concat('u', toString(number %% 20))
FROM numbers(1000)`, def.Database), nil))
	if backfill {
		runner := populate.New(e, store, a, populate.Options{Now: now})
		for _, r := range a.Rollups {
			_, err := runner.Backfill(ctx, r.Rollup.Name, timerange.Range{Start: time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC)}, populate.BackfillOptions{})
			must(err)
		}
	}
	return dir, dsn
}

func TestScheduleOnceCatchesUp(t *testing.T) {
	dir, dsn := scheduleProject(t, true)
	code, out, errOut := run(t, "--project", dir, "--dsn", dsn, "-o", "json", "schedule", "--once", "--now", "2026-11-05 03:05", "--log-format", "json")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var st []scheduler.RollupStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if len(st) < 3 {
		t.Fatalf("%d rollups in %s, want every rollup of the default project", len(st), out)
	}
	for _, r := range st {
		if r.State != scheduler.StateOK || !r.Watermark.Equal(time.Date(2026, 11, 5, 3, 0, 0, 0, time.UTC)) || r.HoursBehind != 0 {
			t.Errorf("rollup %+v, want ok with watermark 03:00", r)
		}
	}
	// Logs are JSON lines with a rollup attribute.
	if !strings.Contains(errOut, `"msg":"populate done"`) || !strings.Contains(errOut, `"rollup":"events_hourly"`) {
		t.Errorf("stderr is not slog JSON: %q", errOut)
	}
	// Run again at the same time: nothing behind, still exit 0, text table.
	code, out, errOut = run(t, "--project", dir, "--dsn", dsn, "schedule", "--once", "--now", "2026-11-05 03:06")
	if code != ExitOK || !strings.Contains(out, "events_hourly") || !strings.Contains(out, "2026-11-05 03:00:00") {
		t.Fatalf("second --once: exit %d out %q stderr %q", code, out, errOut)
	}
}

func TestScheduleRefusesNeverBackfilled(t *testing.T) {
	dir, dsn := scheduleProject(t, false)
	for _, once := range []bool{true, false} {
		args := []string{"--project", dir, "--dsn", dsn, "schedule", "--now", "2026-11-05 03:05", "--listen", ""}
		if once {
			args = append(args, "--once")
		}
		code, _, errOut := run(t, args...)
		if code != ExitError || strings.Count(strings.TrimRight(errOut, "\n"), "\n") != 0 ||
			!strings.Contains(errOut, `hourglass backfill events_hourly --from <first day> --to "2026-11-05 03:00:00"`) {
			t.Errorf("once=%v: exit %d stderr %q: want one line naming the backfill", once, code, errOut)
		}
	}
}

func TestScheduleUsageErrors(t *testing.T) {
	code, _, errOut := run(t, "schedule", "--log-format", "yaml")
	if code != ExitError || !strings.Contains(errOut, "--log-format") {
		t.Errorf("exit %d stderr %q", code, errOut)
	}
	code, _, errOut = run(t, "schedule", "--now", "yesterday-ish")
	if code != ExitError || !strings.Contains(errOut, "--now") {
		t.Errorf("exit %d stderr %q", code, errOut)
	}
}

// The daemon serves /metrics and /healthz, and exits 0 when its context ends (what
// SIGINT/SIGTERM do through signal.NotifyContext).
func TestScheduleDaemonServesAndStops(t *testing.T) {
	dir, dsn := scheduleProject(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	errOut := &syncbuf.Buffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"--project", dir, "--dsn", dsn, "schedule", "--listen", "127.0.0.1:0", "--now", "2026-11-05 03:05"},
			IO{In: strings.NewReader(""), Out: &out, Err: errOut}, Build{Version: "test"})
	}()
	addr := regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`)
	var base, metrics string
	deadline := time.Now().Add(60 * time.Second)
	for {
		if base == "" {
			if m := addr.FindStringSubmatch(errOut.String()); m != nil {
				base = "http://" + m[1]
			}
		}
		if base != "" {
			// Caught up: every rollup reports 0 closed hours behind.
			resp, err := http.Get(base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			metrics = string(b)
			if resp.StatusCode == http.StatusOK && strings.Contains(metrics, `hourglass_closed_hours_behind{rollup="events_hourly"} 0`) &&
				!regexp.MustCompile(`hourglass_closed_hours_behind\{[^}]*\} [1-9]`).MatchString(metrics) &&
				!strings.Contains(metrics, `hourglass_runs_total{rollup="sessions_hourly"} 0`) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon did not start and catch up:\n%s\n%s", errOut.String(), metrics)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(metrics, "hourglass_scheduler_leader 1") {
		t.Errorf("/metrics:\n%s", metrics)
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz = %d", resp.StatusCode)
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("exit %d after shutdown:\n%s", code, errOut.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the daemon did not stop")
	}
	if strings.Contains(errOut.String(), "level=WARN") || strings.Contains(errOut.String(), "level=ERROR") {
		t.Errorf("warnings in a clean run (concurrent statements on the embedded engine?):\n%s", errOut.String())
	}
	if !strings.Contains(errOut.String(), "scheduler stopped") {
		t.Errorf("no shutdown log:\n%s", errOut.String())
	}
	// The engine was closed: the data folder opens again in this process.
	e, err := engine.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
}
