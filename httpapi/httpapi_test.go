package httpapi_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/httpapi"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
)

var shared enginetest.Shared

func TestMain(m *testing.M) {
	os.Exit(enginetest.Main(m, &shared, enginetest.Options{}))
}

// fixture is the default project with a month of data, all rollups backfilled, served by the
// API over an in-process HTTP server.
type fixture struct {
	*projecttest.Fixture
	api *httpapi.API
}

// TestAPI runs every test of the API on one deployed project with a month of data.
func TestAPI(t *testing.T) {
	f := projecttest.New(t, shared.NeedEmbedded(t))
	f.LoadAndBackfill(30, "events_totals_hourly")
	serve := func(t *testing.T, opts httpapi.Options) *fixture {
		ft := *f
		ft.T = t
		r := &httpapi.ProjectRunner{E: f.E, Store: f.Store, Artifacts: f.A, Now: f.Now, Reuse: -1}
		return &fixture{Fixture: &ft, api: httpapi.New(r, opts)}
	}
	t.Run("errors", func(t *testing.T) { testErrors(t, serve(t, httpapi.Options{})) })
	t.Run("csv and ndjson", func(t *testing.T) { testCSVAndNDJSON(t, serve(t, httpapi.Options{})) })
	t.Run("tokens and loopback", func(t *testing.T) {
		testTokens(t, serve(t, httpapi.Options{Tokens: []httpapi.Token{{Name: "dash", Secret: "s3cret-dash", Endpoints: []string{"sum_primitives"}}}}),
			serve(t, httpapi.Options{Public: true}))
	})
	t.Run("json equals raw SQL on raw and on the rollup", func(t *testing.T) { testJSON(t, serve(t, httpapi.Options{})) })
}

// get calls the API as a client at remote would and returns the status and body.
func (f *fixture) get(remote, url string, header ...string) (int, string) {
	req := httptest.NewRequest(http.MethodGet, url, nil)
	req.RemoteAddr = remote
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	f.api.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

const local = "127.0.0.1:50000"

// rawTotals is sum_primitives computed with SQL written here, over [from, to), for one campaign
// ("" for all): event count, distinct sessions, distinct users, value.
func (f *fixture) rawTotals(from, to string, campaign string) []any {
	q := fmt.Sprintf(`SELECT count(), uniqCombined(14)(session_id), uniqCombined(14)(user_id), sum(value_usd) FROM %s.events
WHERE timestamp >= toDateTime('%s', 'UTC') AND timestamp < toDateTime('%s', 'UTC') AND ('%s' = '' OR campaign_id = '%s')`, f.DB, from, to, campaign, campaign)
	return enginetest.MustQuery(f.T, f.E, q, nil).Rows[0]
}

type tinybirdJSON struct {
	Meta       []engine.Column  `json:"meta"`
	Data       []map[string]any `json:"data"`
	Rows       int              `json:"rows"`
	Statistics struct {
		Elapsed   float64 `json:"elapsed"`
		RowsRead  uint64  `json:"rows_read"`
		BytesRead uint64  `json:"bytes_read"`
	} `json:"statistics"`
}

func testJSON(t *testing.T, f *fixture) {
	from, to := "2026-10-20 00:00:00", "2026-11-08 05:00:00"
	url := "/v0/pipes/sum_primitives.json?start=" + strings.ReplaceAll(from, " ", "%20") + "&end=" + strings.ReplaceAll(to, " ", "%20") + "&campaign_id=c3"
	want := f.rawTotals(from, to, "c3")
	check := func(stage string) {
		code, body := f.get(local, url)
		if code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", stage, code, body)
		}
		var r tinybirdJSON
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("%s: %v\n%s", stage, err, body)
		}
		if r.Rows != 1 || len(r.Data) != 1 || len(r.Meta) != 6 || r.Statistics.RowsRead == 0 || r.Statistics.Elapsed <= 0 {
			t.Fatalf("%s: not Tinybird's response shape: %s", stage, body)
		}
		d := r.Data[0]
		got := []string{fmt.Sprint(d["event_count"]), fmt.Sprint(d["unique_sessions"]), fmt.Sprint(d["unique_users"]), fmt.Sprintf("%.6f", d["total_value_usd"])}
		exp := []string{fmt.Sprint(want[0]), fmt.Sprint(want[1]), fmt.Sprint(want[2]), fmt.Sprintf("%.6f", want[3])}
		if strings.Join(got, " ") != strings.Join(exp, " ") {
			t.Errorf("%s: API %v, raw SQL %v", stage, got, exp)
		}
		if r.Meta[0].Name != "event_count" || !strings.Contains(body, `"event_count":`+exp[0]) {
			t.Errorf("%s: counts must be JSON numbers in column order: %s", stage, body)
		}
	}
	check("served from raw")
	if _, err := endpoints.Switch(context.Background(), f.E, f.Store, f.A, "sum_primitives", endpoints.TargetRollup, endpoints.SwitchOptions{Now: f.Now()}); err != nil {
		t.Fatal(err)
	}
	check("served from the rollup")
}

func testCSVAndNDJSON(t *testing.T, f *fixture) {
	q := "?start=2026-11-01&end=2026-11-02"
	code, body := f.get(local, "/v0/pipes/timeseries_primitives.csv"+q)
	if code != http.StatusOK {
		t.Fatalf("csv: %d %s", code, body)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 25 || strings.Join(recs[0], ",") != "hour,event_count,unique_sessions,unique_users,total_value_usd,bounce_rate,avg_session_duration" || recs[1][0] != "2026-11-01 00:00:00" {
		t.Fatalf("csv: a header and 24 hourly rows expected, got %d lines, first %v %v", len(recs), recs[0], recs[1])
	}
	raw := enginetest.MustQuery(t, f.E, fmt.Sprintf("SELECT count() FROM %s.events WHERE timestamp >= toDateTime('2026-11-01 05:00:00', 'UTC') AND timestamp < toDateTime('2026-11-01 06:00:00', 'UTC')", f.DB), nil).Rows[0][0]
	if recs[6][0] != "2026-11-01 05:00:00" || recs[6][1] != fmt.Sprint(raw) {
		t.Errorf("csv hour 05: %v, raw SQL counts %v", recs[6], raw)
	}
	code, body = f.get(local, "/v0/pipes/timeseries_primitives.ndjson"+q)
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if code != http.StatusOK || len(lines) != 24 {
		t.Fatalf("ndjson: %d, %d lines", code, len(lines))
	}
	var row map[string]any
	if err := json.Unmarshal([]byte(lines[5]), &row); err != nil || row["hour"] != "2026-11-01 05:00:00" || fmt.Sprint(row["event_count"]) != fmt.Sprint(raw) {
		t.Errorf("ndjson line 6: %s (%v)", lines[5], err)
	}
}

func testErrors(t *testing.T, f *fixture) {
	for _, c := range []struct {
		url    string
		status int
		says   string
	}{
		{"/v0/pipes/sum_primitives.json?start=2026-11-01", http.StatusBadRequest, "end"},
		{"/v0/pipes/sum_primitives.json?start=yesterday&end=now", http.StatusBadRequest, "start"},
		{"/v0/pipes/sum_primitives.json?start=-7d&end=now&nope=1", http.StatusBadRequest, `"nope"`},
		{"/v0/pipes/sum_primitives.json?start=-7d&end=now&campaign_id=a&campaign_id=b", http.StatusBadRequest, "given 2 times"},
		{"/v0/pipes/nope.json?start=-7d&end=now", http.StatusNotFound, `"nope" does not exist`},
		{"/v0/pipes/sum_primitives.xml?start=-7d&end=now", http.StatusNotFound, "format"},
		{"/v0/pipes/sum_primitives", http.StatusNotFound, ".json"},
	} {
		code, body := f.get(local, c.url)
		var e struct{ Error string }
		if err := json.Unmarshal([]byte(body), &e); err != nil || code != c.status || !strings.Contains(e.Error, c.says) || strings.Contains(e.Error, "\n") {
			t.Errorf("%s: %d %s, want %d and one line saying %s", c.url, code, body, c.status, c.says)
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/v0/pipes/sum_primitives.json", nil)
	req.RemoteAddr = local
	w := httptest.NewRecorder()
	f.api.ServeHTTP(w, req)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", w.Code)
	}
}

func testTokens(t *testing.T, f, public *fixture) {
	q := "?start=2026-11-01&end=2026-11-02"
	remote := "203.0.113.7:41000"
	for _, c := range []struct {
		name, remote, url string
		header            []string
		status            int
	}{
		{"token endpoint, no token", local, "/v0/pipes/sum_primitives.json" + q, nil, http.StatusUnauthorized},
		{"token endpoint, wrong token", local, "/v0/pipes/sum_primitives.json" + q, []string{"Authorization", "Bearer s3cret-dasH"}, http.StatusForbidden},
		{"token endpoint, basic auth", local, "/v0/pipes/sum_primitives.json" + q, []string{"Authorization", "Basic czNjcmV0"}, http.StatusUnauthorized},
		{"token endpoint, bearer", remote, "/v0/pipes/sum_primitives.json" + q, []string{"Authorization", "Bearer s3cret-dash"}, http.StatusOK},
		{"token endpoint, token param", remote, "/v0/pipes/sum_primitives.json" + q + "&token=s3cret-dash", nil, http.StatusOK},
		{"open endpoint, loopback", local, "/v0/pipes/timeseries_primitives.json" + q, nil, http.StatusOK},
		{"open endpoint, remote", remote, "/v0/pipes/timeseries_primitives.json" + q, nil, http.StatusForbidden},
		{"open endpoint, remote, token of another", remote, "/v0/pipes/timeseries_primitives.json" + q, []string{"Authorization", "Bearer s3cret-dash"}, http.StatusForbidden},
	} {
		code, body := f.get(c.remote, c.url, c.header...)
		if code != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.status)
		}
	}
	if code, body := public.get(remote, "/v0/pipes/timeseries_primitives.json"+q); code != http.StatusOK {
		t.Errorf("public server, remote client: %d %s", code, body)
	}
}
