package cluster_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hourglass-dev/hourglass/cli"
	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/httpapi"
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
// served on its rollup by hourglass serve's HTTP API and by endpoint run, through either node,
// with the numbers raw SQL gives; the rollback through n1 serves raw again.
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
		store := f.store(node)
		if err := store.Sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		api := httptest.NewServer(httpapi.New(&httpapi.ProjectRunner{E: f.node(node), Store: store, Artifacts: f.artifacts()}, httpapi.Options{}))
		defer api.Close()
		resp, err := http.Get(api.URL + httpapi.Prefix + "hits_by_site.json?start=2026-11-02&end=2026-11-05")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Data []map[string]any `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET through %s: %d %v", node, resp.StatusCode, err)
		}
		if len(body.Data) != len(want) {
			t.Fatalf("GET through %s: %d rows, want %d: %v", node, len(body.Data), len(want), body.Data)
		}
		var got [][]any
		for _, row := range body.Data {
			got = append(got, []any{row["site"], row["hits"], row["total_bytes"], row["total_latency"], row["users"]})
		}
		if d := cmp.Diff(want, numbers(got), approx); d != "" {
			t.Errorf("GET through %s (-raw SQL +served):\n%s", node, d)
		}
	}
	run("n1", endpoints.SideRollup)
	serve("n1")

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
