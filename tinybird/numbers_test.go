package tinybird

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/deploy"
	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/ident"
	"github.com/hourglass-dev/hourglass/internal/tbemu"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
)

var shared enginetest.Shared

func TestMain(m *testing.M) { os.Exit(enginetest.Main(m, &shared, enginetest.Options{})) }

var day1 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// webEvents are the tracker's events: payload is a string holding JSON, as the Tinybird web
// analytics tracker sends it. Sessions have seven hits a minute apart or so.
func webEvents(n int) []string {
	agents := []string{"Mozilla/5.0 (Linux; Android 14) Chrome/120", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) CriOS/120", "Mozilla/5.0 (X11; Linux x86_64) Firefox/121", "Mozilla/5.0 (Macintosh) Chrome/120"}
	referrers := []string{"https://www.google.com/search?q=x", "", "https://news.ycombinator.com/item", "https://www.bing.com/", ""}
	var out []string
	for i := 0; i < n; i++ {
		k := i * 7919
		ts := day1.Add(time.Duration(i*57+k%13) * time.Second)
		action := "page_hit"
		if k%9 == 0 {
			action = "click"
		}
		payload := fmt.Sprintf(`{"locale": "en-US", "location": "DE", "referrer": %q, "pathname": "/p%d", "href": "https://example.com/p%d", "user-agent": %q}`,
			referrers[(i/7)%5], k%10, k%10, agents[(i/7)%4])
		out = append(out, fmt.Sprintf(`{"timestamp": %q, "session_id": "s%d", "action": %q, "version": "1", "payload": %q}`,
			ts.Format("2006-01-02 15:04:05"), i/7, action, payload))
	}
	return out
}

// shopEvents are order lines; some come without channel (the datasource's DEFAULT fills it).
func shopEvents(n int) []string {
	statuses := []string{"paid", "paid", "refunded", "paid", "test"}
	var out []string
	for i := 0; i < n; i++ {
		k := i * 104729
		ts := day1.Add(time.Duration(i*83)*time.Second + time.Duration(k%1000)*time.Millisecond)
		channel := fmt.Sprintf(`, "channel": "%s"`, []string{"web", "app", "store"}[k%3])
		if k%7 == 0 {
			channel = ""
		}
		out = append(out, fmt.Sprintf(`{"timestamp": %q, "order_id": "o%d", "customer_id": "c%d", "country": "%s"%s, "product_id": "p%d", "quantity": %d, "amount_cents": %d, "status": %q}`,
			ts.Format("2006-01-02 15:04:05.000"), i, k%97, []string{"DE", "FR", "US", "ES"}[k%4], channel, k%12, 1+k%5, 100+k%9000, statuses[k%5]))
	}
	return out
}

// endpointCase is one call of an endpoint in both worlds: the original pipe with Tinybird
// parameters, the imported endpoint with hourglass's. columns maps the original's output
// columns to the imported endpoint's (identity when absent; "" drops a column hourglass did
// not import).
type endpointCase struct {
	pipe     string
	tb       map[string]string
	hg       map[string]string
	columns  map[string]string
	nonEmpty bool
	// unordered compares the rows as a set: the original has no ORDER BY.
	unordered bool
}

// TestImportedEndpointsGiveTheOriginalNumbers imports each test project, deploys it on the
// embedded engine, loads the fixture events through ClickHouse's JSONEachRow ingestion and
// backfills every rollup; and runs the original Tinybird project on the same engine through
// the tests' emulation of Tinybird (its materialized views fed by the same events, its copy
// pipes run on their schedule). Every imported endpoint returns the rows the original pipe's
// SQL returns, for several parameter values.
func TestImportedEndpointsGiveTheOriginalNumbers(t *testing.T) {
	e := shared.NeedEmbedded(t)
	ctx := context.Background()
	end := day1.Add(72 * time.Hour)

	projects := []struct {
		name   string
		events []string
		raw    string
		// copies runs the original's copy pipes as their schedule would.
		copies func(w *tbemu.Workspace)
		cases  []endpointCase
	}{
		{
			name: "web_analytics", events: webEvents(3500), raw: "analytics_events",
			cases: []endpointCase{
				{pipe: "top_pages", tb: map[string]string{}, hg: map[string]string{}, nonEmpty: true},
				{pipe: "top_pages", tb: map[string]string{"date_from": "2026-11-01 05:00:00", "date_to": "2026-11-02 07:00:00", "device": "mobile-ios"},
					hg: map[string]string{"start": "2026-11-01 05:00:00", "end": "2026-11-02 07:00:00", "device": "mobile-ios"}, nonEmpty: true},
				{pipe: "top_sources", tb: map[string]string{"date_from": "2026-11-01 10:00:00", "date_to": "2026-11-03 00:00:00"},
					hg: map[string]string{"start": "2026-11-01 10:00:00", "end": "2026-11-03 00:00:00"}, nonEmpty: true},
				// The IN filter and the limit parameter the importer now reads.
				{pipe: "top_sources", tb: map[string]string{"devices": "mobile-android,desktop"}, hg: map[string]string{"devices": "mobile-android,desktop"}, nonEmpty: true},
				{pipe: "top_pages", tb: map[string]string{"limit": "3", "device": "desktop"}, hg: map[string]string{"limit": "3", "device": "desktop"}, nonEmpty: true},
				{pipe: "trend", tb: map[string]string{"date_from": "2026-11-01 00:00:00", "date_to": "2026-11-04 00:00:00"},
					hg: map[string]string{"start": "2026-11-01 00:00:00", "end": "2026-11-04 00:00:00"}, columns: map[string]string{"pageviews": "hits"}, nonEmpty: true},
				// date_to is an inclusive Date, as hourglass's Date range reads it.
				{pipe: "sessions_by_device", tb: map[string]string{"date_from": "2026-11-02", "date_to": "2026-11-02"},
					hg: map[string]string{"date_from": "2026-11-02", "date_to": "2026-11-02"}, nonEmpty: true},
				{pipe: "sessions_by_device", tb: map[string]string{}, hg: map[string]string{}, nonEmpty: true},
				{pipe: "visits_by_device", tb: map[string]string{"date_from": "2026-11-02", "date_to": "2026-11-03"},
					hg: map[string]string{"date_from": "2026-11-02", "date_to": "2026-11-03"}, nonEmpty: true},
				{pipe: "visits_by_device", tb: map[string]string{}, hg: map[string]string{}, nonEmpty: true},
			},
		},
		{
			name: "shop", events: shopEvents(3000), raw: "orders",
			copies: func(w *tbemu.Workspace) {
				// COPY_SCHEDULE 10 0 * * *: each night copies the day before.
				for d := day1.Add(24 * time.Hour); !d.After(end); d = d.Add(24 * time.Hour) {
					w.Copy("product_daily_copy", nil, d.Add(10*time.Minute))
				}
			},
			cases: []endpointCase{
				{pipe: "sales_by_country", tb: map[string]string{}, hg: map[string]string{}, nonEmpty: true},
				{pipe: "sales_by_country", tb: map[string]string{"date_from": "2026-11-01 13:00:00", "date_to": "2026-11-02 02:00:00", "channel": "web"},
					hg: map[string]string{"start": "2026-11-01 13:00:00", "end": "2026-11-02 02:00:00", "channel": "web"}, nonEmpty: true},
				{pipe: "sales_timeseries", tb: map[string]string{"date_from": "2026-11-01 20:00:00", "date_to": "2026-11-02 08:00:00", "country": "FR"},
					hg: map[string]string{"start": "2026-11-01 20:00:00", "end": "2026-11-02 08:00:00", "country": "FR"}, nonEmpty: true},
				{pipe: "top_products", tb: map[string]string{"date_from": "2026-11-01", "date_to": "2026-11-03"},
					hg: map[string]string{"start": "2026-11-01 00:00:00", "end": "2026-11-03 00:00:00"}, nonEmpty: true},
				{pipe: "amount_percentiles", tb: map[string]string{"date_from": "2026-11-01 00:00:00", "date_to": "2026-11-03 00:00:00"},
					hg: map[string]string{"start": "2026-11-01 00:00:00", "end": "2026-11-03 00:00:00"}, columns: map[string]string{"amounts": ""}, nonEmpty: true, unordered: true},
			},
		},
	}
	for _, pr := range projects {
		t.Run(pr.name, func(t *testing.T) {
			dir := filepath.Join("testdata", pr.name)
			res := importDir(t, dir)

			// The original, on the emulated Tinybird.
			tbDB := "tb_" + pr.name
			enginetest.MustExec(t, e, "CREATE DATABASE "+tbDB)
			w := tbemu.New(t, e, tbDB, readDir(t, dir))
			w.Ingest(pr.raw, pr.events)
			if pr.copies != nil {
				pr.copies(w)
			}

			// The import, deployed and backfilled.
			p := *res.Project
			p.Database = "hg_" + pr.name
			a, err := pipes.Compile(&p)
			if err != nil {
				t.Fatal(err)
			}
			clock := end.Add(5 * time.Hour)
			store := meta.New(e, p.Database, func() time.Time { return clock })
			plan, err := deploy.PlanAt(ctx, e, store, a, clock)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := deploy.Apply(ctx, e, store, plan, deploy.ApplyOptions{Now: clock}); err != nil {
				t.Fatal(err)
			}
			enginetest.MustExec(t, e, "INSERT INTO "+ident.Qualified(p.Database, pr.raw)+" FORMAT JSONEachRow\n"+strings.Join(pr.events, "\n"))
			runner := populate.New(e, store, a, populate.Options{Now: func() time.Time { return clock }})
			for _, ra := range a.Rollups {
				if _, err := runner.Backfill(ctx, ra.Rollup.Name, timerange.Range{Start: day1.Add(-24 * time.Hour), End: end.Add(time.Hour)}, populate.BackfillOptions{}); err != nil {
					t.Fatalf("backfill %s: %v", ra.Rollup.Name, err)
				}
			}

			covered := map[string]bool{}
			for _, c := range pr.cases {
				covered[c.pipe] = true
				ea := a.Endpoint(c.pipe)
				if ea == nil {
					t.Fatalf("endpoint %s was not imported", c.pipe)
				}
				want := w.Endpoint(c.pipe, c.tb)
				if c.nonEmpty && len(want.Rows) == 0 {
					t.Fatalf("%s %v: the original returns no rows: the case checks nothing", c.pipe, c.tb)
				}
				params := hgParams(t, ea.Endpoint, c.hg, clock)
				for _, side := range []struct {
					name, sql string
				}{{"rollup", ea.RollupSQL}, {"raw", ea.RawSQL}} {
					got := enginetest.MustQuery(t, e, side.sql, params)
					wantRows, gotRows := align(t, want, got, c.columns)
					if c.unordered {
						sortRows(wantRows)
						sortRows(gotRows)
					}
					if d := cmp.Diff(wantRows, gotRows, cmpopts.EquateApprox(1e-9, 0)); d != "" {
						t.Errorf("%s %v (%s side): imported endpoint differs from the original pipe (-original +imported):\n%s", c.pipe, c.tb, side.name, d)
					}
				}
			}
			for _, ep := range p.Endpoints {
				if !covered[ep.Name] {
					t.Errorf("imported endpoint %s has no case", ep.Name)
				}
			}
		})
	}
}

// hgParams binds every parameter of an imported endpoint: the given values (times in UTC),
// else its default, else "" for filters and an error for the range.
func hgParams(t *testing.T, e *datasources.Endpoint, given map[string]string, now time.Time) engine.Params {
	t.Helper()
	call, err := endpoints.Bind(e, given, now, 5*time.Minute)
	if err != nil {
		t.Fatalf("endpoint %s: %v", e.Name, err)
	}
	return call.Params
}

// align returns the original's rows and the imported endpoint's rows with the latter's
// columns put in the original's order (renamed through columns; dropped ones left out).
func align(t *testing.T, want, got *engine.Result, columns map[string]string) ([][]any, [][]any) {
	t.Helper()
	idx := map[string]int{}
	for i, c := range got.Columns {
		idx[c.Name] = i
	}
	var keepW, keepG []int
	for i, c := range want.Columns {
		name, renamed := columns[c.Name]
		if !renamed {
			name = c.Name
		}
		if name == "" {
			continue
		}
		j, ok := idx[name]
		if !ok {
			t.Fatalf("the imported endpoint has no column %s (it has %v)", name, got.Columns)
		}
		keepW, keepG = append(keepW, i), append(keepG, j)
	}
	if len(keepG) != len(got.Columns) {
		t.Fatalf("the imported endpoint's columns %v are not all the original's %v", got.Columns, want.Columns)
	}
	pick := func(rows [][]any, cols []int) [][]any {
		out := [][]any{}
		for _, r := range rows {
			var row []any
			for _, c := range cols {
				v := r[c]
				// The engine hands SimpleAggregateFunction(min, DateTime) back as its text.
				if tm, ok := v.(time.Time); ok {
					v = tm.UTC().Format("2006-01-02 15:04:05")
				}
				row = append(row, v)
			}
			out = append(out, row)
		}
		return out
	}
	return pick(want.Rows, keepW), pick(got.Rows, keepG)
}

func sortRows(rows [][]any) {
	sort.Slice(rows, func(i, j int) bool { return fmt.Sprint(rows[i]) < fmt.Sprint(rows[j]) })
}
