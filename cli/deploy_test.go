package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hourglass-dev/hourglass/deploy"
	"github.com/hourglass-dev/hourglass/engine"
)

// initProject scaffolds the default project into a new folder and returns it.
func initProject(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "demo")
	code, out, errOut := run(t, "init", dir)
	if code != ExitOK {
		t.Fatalf("init: exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(out, filepath.Join(dir, "hourglass.yaml")) || !strings.Contains(out, "cd "+dir+" && hourglass deploy") {
		t.Errorf("init output %q", out)
	}
	return dir
}

// edit replaces old with new in a project file, failing if old is not there.
func edit(t *testing.T, dir, file, old, new string) {
	t.Helper()
	path := filepath.Join(dir, file)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// query runs a query on the project's engine through the CLI and returns its rows.
func query(t *testing.T, dir, q string) [][]any {
	t.Helper()
	code, out, errOut := run(t, "--project", dir, "-o", "json", "sql", q)
	if code != ExitOK {
		t.Fatalf("sql %s: exit %d, stderr %q", q, code, errOut)
	}
	var r engine.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("sql output %q: %v", out, err)
	}
	return r.Rows
}

func tableNames(t *testing.T, dir string) string {
	t.Helper()
	var names []string
	for _, row := range query(t, dir, "SELECT name FROM system.tables WHERE database = 'analytics' ORDER BY name") {
		names = append(names, row[0].(string))
	}
	return strings.Join(names, " ")
}

func TestInitDeployTwicePlanUnchanged(t *testing.T) {
	needLibrary(t)
	dir := initProject(t)

	code, out, errOut := run(t, "--project", dir, "deploy")
	if code != ExitOK {
		t.Fatalf("deploy: exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(out, "created rollup events_hourly (version 1, table events_hourly)") || !strings.Contains(out, "deployed analytics:") {
		t.Errorf("deploy output:\n%s", out)
	}
	got := tableNames(t, dir)
	for _, want := range []string{"events", "sessions", "events_hourly", "events_hourly_staging", "events_overview_hourly", "sessions_hourly",
		"audience_hourly", "audience_hourly_staging", "sum_primitives", "timeseries_primitives", "audience_breakdown", "conversions_breakdown",
		"_hourglass_deployments", "_hourglass_endpoints"} {
		if !strings.Contains(" "+got+" ", " "+want+" ") {
			t.Errorf("tables %q lack %s", got, want)
		}
	}

	code, out, errOut = run(t, "--project", dir, "deploy")
	if code != ExitOK || !strings.Contains(out, "nothing to do") {
		t.Errorf("second deploy: exit %d, out %q, stderr %q", code, out, errOut)
	}
	code, out, _ = run(t, "--project", dir, "-o", "json", "plan")
	var p deploy.ChangePlan
	if code != ExitOK || json.Unmarshal([]byte(out), &p) != nil {
		t.Fatalf("plan json: exit %d %q", code, out)
	}
	for _, c := range p.Changes {
		if c.Action != deploy.ActionUnchanged || c.Record {
			t.Errorf("plan after deploy: %+v", c)
		}
	}
	code, out, _ = run(t, "--project", dir, "plan")
	if code != ExitOK || !strings.Contains(out, "nothing to do") {
		t.Errorf("plan text: %q", out)
	}

	// init never overwrites a project.
	code, _, errOut = run(t, "init", dir)
	if code != ExitError || !strings.Contains(errOut, "hourglass.yaml already exists") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("init over a project: exit %d, stderr %q", code, errOut)
	}
}

func TestChangedMetricIsDestructive(t *testing.T) {
	needLibrary(t)
	dir := initProject(t)
	if code, _, errOut := run(t, "--project", dir, "deploy"); code != ExitOK {
		t.Fatalf("deploy: %q", errOut)
	}
	before := tableNames(t, dir)
	edit(t, dir, "rollups/events.yaml", "{name: unique_users, kind: uniq_combined, precision: 14, column: user_id}", "{name: unique_users, kind: uniq_exact, column: user_id}")

	code, out, errOut := run(t, "--project", dir, "plan")
	if code != ExitOK {
		t.Fatalf("plan: exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"destructive", "events_hourly → events_hourly_v2", "metric unique_users: type AggregateFunction(uniqCombined(14), String) → AggregateFunction(uniqExact, String)", "--allow-destructive"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}

	code, out, errOut = run(t, "--project", dir, "deploy")
	if code != ExitError || !strings.Contains(errOut, "--allow-destructive") || !strings.Contains(errOut, "nothing was applied") || out != "" {
		t.Errorf("deploy of a destructive change: exit %d, out %q, stderr %q", code, out, errOut)
	}
	if after := tableNames(t, dir); after != before {
		t.Errorf("refused deploy changed the tables:\n%s\n%s", before, after)
	}
	code, out, errOut = run(t, "--project", dir, "deploy", "--dry-run")
	if code != ExitError || !strings.Contains(out, "dry run: nothing applied") || !strings.Contains(out, "CREATE TABLE IF NOT EXISTS `analytics`.`events_hourly_v2`") {
		t.Errorf("dry run: exit %d, out %q, stderr %q", code, out, errOut)
	}

	code, out, errOut = run(t, "--project", dir, "deploy", "--allow-destructive")
	if code != ExitOK || !strings.Contains(out, "deployed rollup events_hourly (version 2, table events_hourly_v2)") {
		t.Fatalf("deploy --allow-destructive: exit %d, out %q, stderr %q", code, out, errOut)
	}
	got := tableNames(t, dir)
	if !strings.Contains(" "+got+" ", " events_hourly ") || !strings.Contains(" "+got+" ", " events_hourly_v2 ") {
		t.Errorf("tables %q: want events_hourly_v2 beside events_hourly", got)
	}
	rows := query(t, dir, "SELECT argMax(version, seq), argMax(table_name, seq) FROM analytics._hourglass_deployments WHERE object = 'events_hourly'")
	if len(rows) != 1 || rows[0][0] != float64(2) || rows[0][1] != "events_hourly_v2" {
		t.Errorf("recorded deployment %v", rows)
	}
	if code, out, _ := run(t, "--project", dir, "deploy"); code != ExitOK || !strings.Contains(out, "nothing to do") {
		t.Errorf("deploy after the new version: %q", out)
	}
}

func TestAddedColumnIsAlterAndLintWarnings(t *testing.T) {
	needLibrary(t)
	dir := initProject(t)
	if code, _, errOut := run(t, "--project", dir, "deploy"); code != ExitOK {
		t.Fatalf("deploy: %q", errOut)
	}
	edit(t, dir, "datasources/sessions.yaml", "columns:\n", "columns:\n  - {name: postal_code, type: String, default: \"''\"}\n")
	code, out, errOut := run(t, "--project", dir, "plan")
	if code != ExitOK || !strings.Contains(out, "alter") || !strings.Contains(out, "column postal_code added (String)") || strings.Contains(out, "destructive ") {
		t.Fatalf("plan: exit %d, out %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = run(t, "--project", dir, "deploy")
	if code != ExitOK || !strings.Contains(out, "altered datasource sessions: column postal_code added") {
		t.Fatalf("deploy: exit %d, out %q, stderr %q", code, out, errOut)
	}
	if rows := query(t, dir, "SELECT count() FROM system.columns WHERE database = 'analytics' AND table = 'sessions' AND name = 'postal_code'"); rows[0][0] != float64(1) {
		t.Errorf("column not added: %v", rows)
	}

	// A lint warning (a datasource without a time partition) goes to stderr with its position.
	edit(t, dir, "datasources/events.yaml", "partition_by: toYYYYMM(timestamp)\n", "")
	_, _, errOut = run(t, "--project", dir, "plan")
	if !strings.Contains(errOut, "warning: datasources/events.yaml:") {
		t.Errorf("plan stderr %q: want a lint warning with file:line", errOut)
	}
}

func TestBadDefinitionsWriteNothing(t *testing.T) {
	needLibrary(t)
	dir := initProject(t)
	edit(t, dir, "rollups/events.yaml", "{name: unique_users, kind: uniq_combined, precision: 14, column: user_id}", "{name: unique_users, kind: uniq_combined, precision: 14, column: no_such_column}")
	code, out, errOut := run(t, "--project", dir, "deploy")
	if code != ExitError || out != "" || !strings.Contains(errOut, "rollups/events.yaml:") || !strings.Contains(errOut, "no_such_column") {
		t.Fatalf("deploy of bad definitions: exit %d, out %q, stderr %q", code, out, errOut)
	}
	if rows := query(t, dir, "SELECT count() FROM system.databases WHERE name = 'analytics'"); rows[0][0] != float64(0) {
		t.Errorf("database created by a failed deploy: %v", rows)
	}
}

func TestBuildTargets(t *testing.T) {
	dir := initProject(t)
	out1 := filepath.Join(t.TempDir(), "tb")
	code, out, errOut := run(t, "--project", dir, "build", "--target", "tinybird", "--out", out1)
	if code != ExitOK || !strings.Contains(out, "tinybird file(s) in "+out1) {
		t.Fatalf("build: exit %d, out %q, stderr %q", code, out, errOut)
	}
	pipe, err := os.ReadFile(filepath.Join(out1, "pipes", "populate_events_hourly.pipe"))
	if err != nil {
		t.Fatal(err)
	}
	// Tinybird writes the cron bare after COPY_SCHEDULE.
	if !strings.Contains(string(pipe), "TYPE COPY") || !strings.Contains(string(pipe), "COPY_SCHEDULE 5 * * * *") {
		t.Errorf("copy pipe:\n%s", pipe)
	}
	ds, err := os.ReadFile(filepath.Join(out1, "datasources", "events_hourly.datasource"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ds), "AggregateFunction(uniqCombined(14), String)") || !strings.Contains(string(ds), "SimpleAggregateFunction(sum, UInt64)") {
		t.Errorf("rollup datasource:\n%s", ds)
	}
	// Deterministic: a second build writes the same bytes.
	out2 := filepath.Join(t.TempDir(), "tb")
	if code, _, errOut := run(t, "--project", dir, "build", "--target", "tinybird", "--out", out2); code != ExitOK {
		t.Fatal(errOut)
	}
	err = filepath.WalkDir(out1, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out1, p)
		a, _ := os.ReadFile(p)
		b, _ := os.ReadFile(filepath.Join(out2, rel))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between builds", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	code, out, errOut = run(t, "--project", dir, "-o", "json", "build", "--target", "clickhouse", "--out", filepath.Join(t.TempDir(), "ch"))
	var res struct{ Files []string }
	if code != ExitOK || json.Unmarshal([]byte(out), &res) != nil || len(res.Files) == 0 || !strings.HasSuffix(res.Files[0], "001_database_analytics.sql") {
		t.Errorf("clickhouse build: exit %d, out %q, stderr %q", code, out, errOut)
	}

	code, out, errOut = run(t, "--project", dir, "build", "--target", "bigquery")
	if code != ExitError || out != "" || !strings.Contains(errOut, "use clickhouse or tinybird") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("unknown target: exit %d, out %q, stderr %q", code, out, errOut)
	}
}

func TestDeployCommandsHaveHelpWithExamples(t *testing.T) {
	for _, cmd := range []string{"init", "build", "plan", "deploy"} {
		code, out, _ := run(t, cmd, "--help")
		if code != ExitOK || !strings.Contains(out, "Examples:") || !strings.Contains(out, "hourglass "+cmd) {
			t.Errorf("%s --help: exit %d\n%s", cmd, code, out)
		}
	}
}
