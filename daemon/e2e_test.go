package daemon_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/daemon"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/internal/bintest"
	"github.com/hourglass-dev/hourglass/internal/syncbuf"
)

var bin bintest.Binary

// listenRe finds the HTTP address in the daemon's log.
var listenRe = regexp.MustCompile(`serving /v0/pipes/[^\n]*addr=(127\.0\.0\.1:\d+)`)

func TestMain(m *testing.M) {
	code := m.Run()
	bin.Remove()
	os.Exit(code)
}

type project struct {
	t   *testing.T
	bin string
	dir string
}

// run runs hourglass in the project folder and returns its exit code, stdout and stderr.
func (p *project) run(args ...string) (int, string, string) {
	p.t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(p.bin, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = p.dir, &out, &errb
	cmd.Env = cleanEnv()
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatalf("hourglass %s: %v", strings.Join(args, " "), err)
	}
	return code, out.String(), errb.String()
}

func (p *project) must(args ...string) string {
	p.t.Helper()
	code, out, errOut := p.run(args...)
	if code != 0 {
		p.t.Fatalf("hourglass %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOURGLASS_DSN=") {
			env = append(env, kv)
		}
	}
	return env
}

// TestCommandsBesideTheDaemon runs `hourglass serve` as a real process on an embedded data
// folder and every other command beside it as real processes too: they are carried out by the
// daemon on its engine, with their output, exit codes, standard input and Ctrl-C.
func TestCommandsBesideTheDaemon(t *testing.T) {
	if _, err := os.Stat(engine.LibraryPath()); err != nil {
		enginetest.Unavailable(t, "the embedded engine (libchdb.so)", err)
	}
	root := t.TempDir()
	p := &project{t: t, bin: bin.Path(t), dir: root}
	p.must("init", "shop")
	p.dir = filepath.Join(root, "shop")
	dataDir := filepath.Join(p.dir, ".hourglass", "data")
	p.must("deploy")
	p.must("generate", "--events", "40000", "--days", "30")
	now := time.Now().UTC()
	from := now.Truncate(24*time.Hour).AddDate(0, 0, -31).Format(time.DateOnly)
	to := now.Truncate(time.Hour).Format("2006-01-02 15:04")
	for _, r := range []string{"events_hourly", "events_overview_hourly", "events_totals_hourly", "sessions_hourly", "audience_hourly"} {
		p.must("backfill", r, "--from", from, "--to", to)
	}

	var daemonOut, daemonErr syncbuf.Buffer
	srv := exec.Command(p.bin, "serve", "--listen", "127.0.0.1:0")
	srv.Dir, srv.Stdout, srv.Stderr, srv.Env = p.dir, &daemonOut, &daemonErr, cleanEnv()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	t.Cleanup(func() {
		_ = srv.Process.Kill()
	})
	deadline := time.Now().Add(60 * time.Second)
	for daemon.Find(dataDir) == "" {
		select {
		case err := <-exited:
			t.Fatalf("serve exited before listening: %v\n%s", err, daemonErr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no daemon socket after 60 s:\n%s", daemonErr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The HTTP API answers with the numbers `endpoint run` gives, and raw SQL written here.
	addr := ""
	for addr == "" && time.Now().Before(deadline) {
		if m := listenRe.FindStringSubmatch(daemonErr.String()); m != nil {
			addr = m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	start, end := from+" 00:00:00", now.Truncate(time.Hour).Add(-2*time.Hour).Format(time.DateTime)
	resp, err := http.Get("http://" + addr + "/v0/pipes/sum_primitives.json?start=" + url.QueryEscape(start) + "&end=" + url.QueryEscape(end))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var api struct {
		Data []map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &api); err != nil || resp.StatusCode != 200 || len(api.Data) != 1 {
		t.Fatalf("GET sum_primitives.json: %d %s (%v)", resp.StatusCode, body, err)
	}
	var run struct {
		Rows [][]any `json:"rows"`
	}
	if err := json.Unmarshal([]byte(p.must("-o", "json", "endpoint", "run", "sum_primitives", "--param", "start="+start, "--param", "end="+end)), &run); err != nil || len(run.Rows) != 1 {
		t.Fatalf("endpoint run: %v %v", err, run.Rows)
	}
	var raw engine.Result
	if err := json.Unmarshal([]byte(p.must("-o", "json", "sql", "SELECT count(), uniqCombined(14)(session_id), uniqCombined(14)(user_id) FROM analytics.events WHERE timestamp >= toDateTime('"+start+"', 'UTC') AND timestamp < toDateTime('"+end+"', 'UTC')")), &raw); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(api.Data[0]["event_count"], api.Data[0]["unique_sessions"], api.Data[0]["unique_users"])
	if want := fmt.Sprint(run.Rows[0][:3]...); got != want {
		t.Errorf("HTTP API %s, endpoint run %s", got, want)
	}
	if want := fmt.Sprint(raw.Rows[0]...); got != want {
		t.Errorf("HTTP API %s, raw SQL %s", got, want)
	}

	// The status page, as JSON and as people see it in a real browser.
	checkStatusPage(t, addr)

	// Read-only commands, with their own output and exit codes.
	if out := p.must("status"); !strings.Contains(out, "events_overview_hourly") {
		t.Errorf("status through the daemon:\n%s", out)
	}
	if code, _, errOut := p.run("validate", "nope", "--from", from, "--to", to); code != 2 || !strings.Contains(errOut, `unknown rollup "nope"`) {
		t.Errorf("validate of an unknown rollup through the daemon: exit %d, stderr %q", code, errOut)
	}

	// A backfill through the daemon, interrupted with Ctrl-C, then resumed.
	var bfErr syncbuf.Buffer
	bf := exec.Command(p.bin, "backfill", "events_hourly", "--from", from, "--to", to)
	bf.Dir, bf.Stderr, bf.Env = p.dir, &bfErr, cleanEnv()
	if err := bf.Start(); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(bfErr.String(), "(1/") && time.Now().Before(deadline.Add(time.Minute)) {
		time.Sleep(5 * time.Millisecond)
	}
	_ = bf.Process.Signal(syscall.SIGINT)
	err = bf.Wait()
	switch {
	case err == nil:
		t.Logf("the backfill finished before Ctrl-C reached it:\n%s", bfErr.String())
	case strings.Contains(bfErr.String(), "--resume"):
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
			t.Errorf("interrupted backfill: %v, want exit 2", err)
		}
	default:
		t.Fatalf("interrupted backfill: %v\n%s", err, bfErr.String())
	}
	p.must("backfill", "events_hourly", "--from", from, "--to", to, "--resume")
	// Up to the last closed hour (the default delay is 5 minutes): the rest is not populated yet.
	closed := time.Now().UTC().Add(-5 * time.Minute).Truncate(time.Hour).Format(time.DateTime)
	check := "SELECT (SELECT count() FROM analytics.events WHERE timestamp >= toDateTime('" + from + " 00:00:00', 'UTC') AND timestamp < toDateTime('" + closed + "', 'UTC'))" +
		" - (SELECT sum(event_count) FROM analytics.events_hourly WHERE hour >= toDateTime('" + from + " 00:00:00', 'UTC') AND hour < toDateTime('" + closed + "', 'UTC')) AS diff," +
		" (SELECT count() FROM analytics.events) AS raw"
	var res engine.Result
	if err := json.Unmarshal([]byte(p.must("--output", "json", "sql", check)), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || fmt.Sprint(res.Rows[0]) != "[0 40000]" {
		t.Errorf("raw count − rollup count after the resumed backfill, raw count: %v, want [0 40000]", res.Rows)
	}

	// Standard input reaches a forwarded command that reads it.
	cmd := exec.Command(p.bin, "sql", "-")
	cmd.Dir, cmd.Env, cmd.Stdin = p.dir, cleanEnv(), strings.NewReader("SELECT 6 * 7 AS answer")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "42") {
		t.Errorf("sql - through the daemon: %v\n%s", err, out)
	}
	// And a whole NDJSON load from standard input, committed once.
	load := exec.Command(p.bin, "load", "events", "-", "--format", "JSONEachRow")
	load.Dir, load.Env = p.dir, cleanEnv()
	load.Stdin = strings.NewReader(strings.Repeat(`{"timestamp":"2026-01-01 00:00:00","campaign_id":"loaded"}`+"\n", 1000))
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("load - through the daemon: %v\n%s", err, out)
	}
	if err := json.Unmarshal([]byte(p.must("--output", "json", "sql", "SELECT count() FROM analytics.events WHERE campaign_id = 'loaded'")), &res); err != nil || fmt.Sprint(res.Rows) != "[[1000]]" {
		t.Errorf("rows loaded through the daemon: %v (%v), want 1000", res.Rows, err)
	}

	// A second daemon on the folder is refused with the first one's PID.
	if code, _, errOut := p.run("serve", "--listen", ""); code != 2 || !strings.Contains(errOut, "already served by PID") {
		t.Errorf("second daemon: exit %d, stderr %q", code, errOut)
	}

	// SIGTERM stops the daemon cleanly; commands then run on their own again.
	_ = srv.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v\n%s", err, daemonErr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve still running 60 s after SIGTERM")
	}
	if daemon.Find(dataDir) != "" {
		t.Error("the daemon left its socket behind")
	}
	p.must("status")
}

// checkStatusPage reads /status.json, then renders /status in headless Chromium and reads the
// screenshot back with OCR (tesseract): every rollup must be named on the page people see.
func checkStatusPage(t *testing.T, addr string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/status.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var st struct {
		Rollups []struct {
			Rollup string `json:"rollup"`
		} `json:"rollups"`
	}
	if err := json.Unmarshal(body, &st); err != nil || resp.StatusCode != 200 || len(st.Rollups) != 5 {
		t.Fatalf("/status.json: %d %s (%v)", resp.StatusCode, body, err)
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		enginetest.Unavailable(t, "Debian's chromium (apt-get install chromium)", err)
	}
	tesseract, err := exec.LookPath("tesseract")
	if err != nil {
		enginetest.Unavailable(t, "tesseract, to read the screenshot (apt-get install tesseract-ocr)", err)
	}
	dir := t.TempDir()
	shot := filepath.Join(dir, "status.png")
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--window-size=1700,1000", "--screenshot="+shot, "http://"+addr+"/status")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	out, err := exec.Command(tesseract, shot, "-").Output()
	if err != nil {
		t.Fatalf("tesseract: %v", err)
	}
	letters := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, strings.ToLower(s))
	}
	seen := letters(string(out))
	for _, r := range st.Rollups {
		if !strings.Contains(seen, letters(r.Rollup)) {
			t.Errorf("the status page as rendered does not show rollup %s; OCR read:\n%s", r.Rollup, out)
		}
	}
}
