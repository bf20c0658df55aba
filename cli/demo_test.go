package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hourglass-dev/hourglass/demo"
	"github.com/hourglass-dev/hourglass/timerange"
)

// TestDemoEndToEnd runs the whole demo in-process on the embedded engine and checks its table
// against hand-written SQL on the tables it measured.
func TestDemoEndToEnd(t *testing.T) {
	needLibrary(t)
	dir := filepath.Join(t.TempDir(), "hg-demo")
	code, out, errOut := run(t, "demo", "--events", "200000", "--days", "30", "--dir", dir, "--runs", "3")
	if code != ExitOK {
		t.Fatalf("demo: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	for _, step := range []string{"demo: init", "demo: deploy", "demo: generate", "demo: backfill", "demo: validate", "demo: switch", "demo: estimate", "demo: measure", "backfill: 31 unit(s) to run"} {
		if !strings.Contains(errOut, step) {
			t.Errorf("progress on stderr lacks %q:\n%s", step, errOut)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, demo.ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	var res demo.Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if !res.Exact || len(res.Rollups) != 5 {
		t.Fatalf("exact %v, %d rollups", res.Exact, len(res.Rollups))
	}
	for _, rr := range res.Rollups {
		if !rr.Exact || !strings.Contains(rr.Validation, "EXACT") || rr.RollupRows == 0 {
			t.Errorf("rollup %+v", rr)
		}
	}
	if !strings.Contains(out, "estimate events_hourly") || res.Estimate == nil || res.Estimate.RawRows != 200000 {
		t.Errorf("no estimate line for events_hourly in %s", out)
	}
	eps := []string{"sum_primitives", "timeseries_primitives", "audience_breakdown", "conversions_breakdown"}
	if len(res.Table) != len(eps)*2*3 || len(res.Switched) != 4 {
		t.Fatalf("%d table lines, %d switched; want 24 (unfiltered and the busiest tenant, 3 periods) and 4", len(res.Table), len(res.Switched))
	}
	lines := strings.Split(out, "\n")
	for _, l := range res.Table {
		if !l.Equal {
			t.Errorf("%s %s: raw and rollup rows differ", l.Endpoint, l.Period)
		}
		if l.Raw.RowsRead == 0 || l.Rollup.RowsRead == 0 || l.Raw.Latency <= 0 || l.Rollup.Latency <= 0 || l.Reduction <= 0 || l.Speedup <= 0 {
			t.Errorf("%s %s: unmeasured figures %+v", l.Endpoint, l.Period, l)
		}
		if len(l.Raw.Latencies) != 3 || len(l.Rollup.Latencies) != 3 {
			t.Errorf("%s %s: %d/%d runs, want 3", l.Endpoint, l.Period, len(l.Raw.Latencies), len(l.Rollup.Latencies))
		}
		// The text table shows the same measured numbers, and the plan.
		found := false
		for _, tl := range lines {
			f := strings.Fields(tl)
			if len(f) > 4 && f[0] == l.Endpoint && f[1] == l.Tenant && f[2] == l.Period && f[3] == fmt.Sprint(l.Raw.RowsRead) && f[4] == fmt.Sprint(l.Rollup.RowsRead) &&
				strings.HasSuffix(tl, l.Plan) {
				found = true
			}
		}
		if !found {
			t.Errorf("no text line for %s %s %s with %d → %d rows:\n%s", l.Endpoint, l.Tenant, l.Period, l.Raw.RowsRead, l.Rollup.RowsRead, out)
		}
		// Raw rows read cover at least the raw rows in range (the served read reads grains and
		// finals, which hold fewer), and the reduction is the ratio of the two rows-read figures.
		if l.Raw.RowsRead < l.Raw.RowsInRange && l.Tenant == "all" {
			t.Errorf("%s %s: raw rows read %d below rows in range %d", l.Endpoint, l.Period, l.Raw.RowsRead, l.Raw.RowsInRange)
		}
		if l.Plan == "" || l.DistinctError < 0 || l.DistinctError > 0.1 {
			t.Errorf("%s %s %s: plan %q, distinct-count error %v", l.Endpoint, l.Tenant, l.Period, l.Plan, l.DistinctError)
		}
		if want := 100 * (1 - float64(l.Rollup.RowsRead)/float64(l.Raw.RowsRead)); fmt.Sprintf("%.6f", want) != fmt.Sprintf("%.6f", l.Reduction) {
			t.Errorf("%s %s: reduction %.4f, want %.4f", l.Endpoint, l.Period, l.Reduction, want)
		}
	}
	// Hand-written SQL on the tables agrees with what the demo reports.
	for _, l := range res.Table {
		if l.Endpoint != "sum_primitives" && l.Endpoint != "audience_breakdown" || l.Tenant != "all" {
			continue
		}
		tcol := "timestamp"
		if l.Endpoint == "audience_breakdown" {
			tcol = "session_start"
		}
		q := fmt.Sprintf("SELECT (SELECT count() FROM %s WHERE hour >= '%s' AND hour < '%s'), (SELECT count() FROM %s WHERE %s >= '%s' AND %s < '%s')",
			l.Rollup.Table, timerange.Format(l.Range.Start), timerange.Format(l.Range.End),
			l.Raw.Table, tcol, timerange.Format(l.Range.Start), tcol, timerange.Format(l.Range.End))
		rows := query(t, dir, q)
		if rows[0][0] != float64(l.Rollup.RowsInRange) || rows[0][1] != float64(l.Raw.RowsInRange) {
			t.Errorf("%s %s: hand-written counts %v, demo says rollup %d raw %d", l.Endpoint, l.Period, rows[0], l.Rollup.RowsInRange, l.Raw.RowsInRange)
		}
	}
	// All time on 30 days of data is every generated event.
	for _, l := range res.Table {
		if l.Endpoint == "sum_primitives" && l.Period == "all" && l.Tenant == "all" && l.Raw.RowsInRange != 200000 {
			t.Errorf("sum_primitives all time: %d raw rows in range, want 200000", l.Raw.RowsInRange)
		}
	}

	// A second demo into the same folder is refused; --force-new is named.
	code, _, errOut = run(t, "demo", "--events", "1000", "--days", "1", "--dir", dir)
	if code != ExitError || !strings.Contains(errOut, "--force-new") {
		t.Errorf("demo into a non-empty folder: exit %d, stderr %q", code, errOut)
	}
}
