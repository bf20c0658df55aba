package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hourglass-dev/hourglass/cli"
	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/httpapi"
	"github.com/hourglass-dev/hourglass/internal/syncbuf"
)

// endpointYAML is projectYAML with an endpoint on its rollup.
const endpointYAML = projectYAML + `endpoints:
  - name: hits_by_site
    rollup: hits_hourly
    metrics: [hits, total_bytes, total_latency, users]
    group_by: [site]
`

// rawBySite is what hits_by_site returns over fillRange, written here from the raw rows of
// both shards.
const rawBySite = `SELECT site, count(), sum(bytes), sum(latency), uniq(user_id) FROM %s.hits
WHERE ts >= toDateTime('2026-11-02 00:00:00', 'UTC') AND ts < toDateTime('2026-11-05 00:00:00', 'UTC') GROUP BY site ORDER BY site`

// The endpoint switch on the cluster, whose 18.16 servers have no parameterised views: the
// gate refuses a rollup that lacks hours, then — after a backfill through n1 — a switch through
// n2 proves the rollup over both shards and is recorded, with no view; the endpoint is then
// served on its rollup by hourglass serve (the command, over HTTP) and by endpoint run,
// through either node, with the numbers raw SQL over both shards gives; the rollback through
// n1 serves raw again, with the same numbers. Between the two, every other command that reads
// runs through the 18.16 servers.
func TestSwitchAndRollbackOnCluster(t *testing.T) {
	f := newFixture(t, endpointYAML)
	f.mustHourglass("n1", "deploy")
	f.insertHits(4000, 5, "n1", "n2")
	sw := func(node, to string) (int, string, string) {
		return f.hourglass(node, "switch", "hits_by_site", "--to", to, "--now", afterFill)
	}

	if code, out, errOut := sw("n2", "rollup"); code != cli.ExitCheckFailed || !strings.Contains(out, "REFUSED") {
		t.Fatalf("switch before any backfill: exit %d\n%s%s", code, out, errOut)
	}
	f.mustHourglass("n1", "backfill", "hits_hourly", "--from", "2026-11-02", "--to", "2026-11-05", "--now", afterFill)
	start := time.Now()
	code, out, errOut := sw("n2", "rollup")
	t.Logf("switch --to rollup through n2 (%s):\n%s%s", time.Since(start).Round(time.Millisecond), out, errOut)
	if code != cli.ExitOK || !strings.Contains(out, "hits_by_site now serves its rollup version (hits_hourly)") ||
		!strings.Contains(out, "No view was created (parameterised views are not supported by this server") {
		t.Fatalf("switch --to rollup through n2: exit %d\n%s%s", code, out, errOut)
	}
	if got := f.tables("n1"); strings.Contains(strings.Join(got, ","), "hits_by_site") {
		t.Errorf("a view was created: %v", got)
	}

	want := numbers(enginetest.MustQuery(t, f.node("n1"), fmt.Sprintf(rawBySite, f.db), nil).Rows)
	approx := cmpopts.EquateApprox(1e-9, 0)
	run := func(node, wantSide string) {
		t.Helper()
		out := f.mustHourglass(node, "endpoint", "run", "hits_by_site", "--param", "start=2026-11-02", "--param", "end=2026-11-05", "--output", "json")
		var res endpoints.RunResult
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		if res.Side != wantSide {
			t.Errorf("endpoint run through %s ran %q, want %q", node, res.Side, wantSide)
		}
		if d := cmp.Diff(want, numbers(res.Rows), approx); d != "" {
			t.Errorf("endpoint run through %s on its %s version (-raw SQL +endpoint):\n%s", node, wantSide, d)
		}
	}
	serve := func(node string) {
		t.Helper()
		base, stop := f.serve(node)
		defer stop()
		resp, err := http.Get(base + httpapi.Prefix + "hits_by_site.json?start=2026-11-02&end=2026-11-05")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Data []map[string]any `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET through hourglass serve on %s: %d %v", node, resp.StatusCode, err)
		}
		if len(body.Data) != len(want) {
			t.Fatalf("GET through hourglass serve on %s: %d rows, want %d: %v", node, len(body.Data), len(want), body.Data)
		}
		var got [][]any
		for _, row := range body.Data {
			got = append(got, []any{row["site"], row["hits"], row["total_bytes"], row["total_latency"], row["users"]})
		}
		if d := cmp.Diff(want, numbers(got), approx); d != "" {
			t.Errorf("GET through hourglass serve on %s (-raw SQL +served):\n%s", node, d)
		}
		// The daemon's status page reads the same metadata on this 18.16 server.
		for _, path := range []string{"/status.json", "/healthz", "/metrics"} {
			resp, err := http.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "hits_hourly") && path != "/healthz" {
				t.Errorf("GET %s through hourglass serve on %s: %d\n%s", path, node, resp.StatusCode, b)
			}
		}
	}
	run("n1", endpoints.SideRollup)
	serve("n1")

	// Every other command that reads, through the 18.16 servers, once runs and a switch exist.
	for _, args := range [][]string{
		{"plan"},
		{"status", "--now", afterFill},
		{"status", "--output", "json", "--now", afterFill},
		{"endpoint", "history"},
		{"endpoint", "run", "hits_by_site", "--param", "start=2026-11-02", "--param", "end=2026-11-05", "--compare"},
		{"validate", "--endpoint", "hits_by_site", "--now", afterFill},
		{"validate", "hits_hourly", "--from", "2026-11-02", "--to", "2026-11-05", "--now", afterFill},
		{"reconcile", "hits_hourly", "--from", "2026-11-02", "--to", "2026-11-05", "--now", afterFill},
		{"estimate", "hits_hourly"},
		{"backfill", "hits_hourly", "--from", "2026-11-02", "--to", "2026-11-05", "--dry-run", "--now", afterFill},
		{"populate", "--now", afterFill},
		{"serve", "--once", "--listen", "", "--now", afterFill},
		{"prune"},
	} {
		for _, node := range []string{"n1", "n2"} {
			start := time.Now()
			code, out, errOut := f.hourglass(node, args...)
			if code != cli.ExitOK {
				t.Errorf("hourglass %s through %s: exit %d\n%s%s", strings.Join(args, " "), node, code, out, errOut)
			}
			if node == "n2" {
				t.Logf("hourglass %s through n2 (%s)", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
			}
		}
	}

	if code, out, errOut := sw("n1", "raw"); code != cli.ExitOK || !strings.Contains(out, "hits_by_site now serves its raw version (hits)") {
		t.Fatalf("switch --to raw through n1: exit %d\n%s%s", code, out, errOut)
	}
	run("n2", endpoints.SideRaw)
	serve("n2")
	out = f.mustHourglass("n2", "endpoint", "history", "hits_by_site")
	if !strings.Contains(out, "rollup") || !strings.Contains(out, "raw") {
		t.Errorf("endpoint history through n2:\n%s", out)
	}
	t.Logf("endpoint history through n2:\n%s", out)
}

// numbers makes every number of rows a float64 (rows read from the engine and decoded from
// JSON then compare alike); other values are kept.
func numbers(rows [][]any) [][]any {
	out := make([][]any, len(rows))
	for i, row := range rows {
		out[i] = make([]any, len(row))
		for j, v := range row {
			switch x := v.(type) {
			case uint64:
				v = float64(x)
			case int64:
				v = float64(x)
			case json.Number:
				v, _ = x.Float64()
			}
			out[i][j] = v
		}
	}
	return out
}

// serve runs hourglass serve through a node on a free loopback port, as a user would (the
// scheduler beside it), and returns its base URL and a function that stops it (what SIGTERM
// does) and checks that it exited 0.
func (f *fixture) serve(node string) (string, func()) {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncbuf.Buffer{}
	done := make(chan int, 1)
	go func() {
		args := []string{"--project", f.dir, "--dsn", f.c.Node(node).DSN, "serve", "--listen", "127.0.0.1:0", "--now", afterFill, "--holder", "serve@" + node}
		done <- cli.Main(ctx, args, cli.IO{In: strings.NewReader(""), Out: io.Discard, Err: logs}, cli.Build{Version: "test"})
	}()
	stop := func() {
		f.t.Helper()
		cancel()
		if code := <-done; code != cli.ExitOK {
			f.t.Errorf("hourglass serve through %s exited %d:\n%s", node, code, logs)
		}
	}
	addr := regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m := addr.FindStringSubmatch(logs.String()); m != nil {
			return "http://" + m[1], stop
		}
		select {
		case code := <-done:
			f.t.Fatalf("hourglass serve through %s exited %d:\n%s", node, code, logs)
		default:
		}
		if time.Now().After(deadline) {
			stop()
			f.t.Fatalf("hourglass serve through %s did not listen:\n%s", node, logs)
		}
	}
}
