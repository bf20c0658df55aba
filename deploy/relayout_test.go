package deploy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/deploy"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/generate"
	"github.com/hourglass-dev/hourglass/generate/generatetest"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
)

// monthLayout rebuilds a version's week grain as an older hourglass created it, partitioned by
// month, filled from its day grain.
func monthLayout(t *testing.T, e engine.Engine, db string, ra *pipes.RollupArtifacts) string {
	t.Helper()
	week := ra.Grains[1]
	stmts := week.CreateFilled()
	stmts[1] = strings.Replace(stmts[1], "PARTITION BY toMonday(`hour`)", "PARTITION BY toYYYYMM(`hour`)", 1)
	enginetest.MustExec(t, e, "DROP TABLE "+db+"."+week.Table)
	for _, s := range stmts {
		enginetest.MustExec(t, e, s)
	}
	return week.Table
}

// partitionKey reads a table's partition key from the server.
func partitionKey(t *testing.T, e engine.Engine, db, table string) string {
	t.Helper()
	r := enginetest.MustQuery(t, e, "SELECT partition_key FROM system.tables WHERE database = {db:String} AND name = {t:String}", engine.Params{"db": db, "t": table})
	if len(r.Rows) != 1 {
		t.Fatalf("table %s.%s: %d rows in system.tables", db, table, len(r.Rows))
	}
	return r.Rows[0][0].(string)
}

// weeksDiffering counts the ISO weeks where the week grain's event count differs from the raw
// events' (SQL written here, from the raw table), and the weeks the raw table has.
func weeksDiffering(t *testing.T, e engine.Engine, db, week string, from, to time.Time) (differ, weeks uint64) {
	t.Helper()
	r := enginetest.MustQuery(t, e, `
SELECT countIf(g.c != r.c), count()
FROM (SELECT toMonday(hour) AS w, sum(event_count) AS c FROM `+"`"+db+"`.`"+week+"`"+` GROUP BY w) AS g
FULL OUTER JOIN (SELECT toMonday(timestamp) AS w, count() AS c FROM `+"`"+db+"`.events"+`
                 WHERE timestamp >= {from:DateTime} AND timestamp < {to:DateTime} GROUP BY w) AS r
USING w`, engine.Params{"from": from, "to": to})
	d, _ := engine.Uint(r.Rows[0][0])
	n, _ := engine.Uint(r.Rows[0][1])
	return d, n
}

// TestGrainWithAnOlderLayoutIsLaidOutAgain: week grains are partitioned by ISO week; one an
// older hourglass created by month is built again by the next deploy — for the deployed
// version and for an older version an endpoint still reads — and holds the same weeks, checked
// against the raw events; the version keeps its hash (no new version, nothing destructive),
// and what an interrupted relayout leaves is dropped by the next deploy.
func TestGrainWithAnOlderLayoutIsLaidOutAgain(t *testing.T) {
	e := shared.NeedEmbedded(t)
	ctx := context.Background()
	a, _ := generatetest.Generate(t, e, generate.Options{Events: 20_000, Days: 45, Seed: 4})
	db := a.Project.Database
	from, to := generatetest.End.AddDate(0, 0, -45), generatetest.End
	ra := a.Rollup("events_overview_hourly")
	mustApply(t, e, a, false)
	if err := e.Exec(ctx, ra.PopulateInto(ra.Table), engine.Params{pipes.StartParam: from, pipes.EndParam: to}); err != nil {
		t.Fatal(err)
	}
	enginetest.MustExec(t, e, "DROP TABLE "+db+"."+ra.Grains[0].Table)
	enginetest.MustExec(t, e, ra.Grains[0].CreateFilled()...)
	week := monthLayout(t, e, db, ra)
	if k := partitionKey(t, e, db, week); k != "toYYYYMM(hour)" {
		t.Fatalf("set-up: %s partitioned by %s", week, k)
	}

	p := plan(t, e, a)
	c := change(t, p, "events_overview_hourly")
	want := "table " + week + " is partitioned by toYYYYMM(hour), hourglass now partitions it by toMonday(hour): built again from events_overview_hourly and swapped in"
	if c.Action != deploy.ActionAlter || c.Detail != want || c.Version != 1 {
		t.Fatalf("plan: %s v%d %q, want alter v1 %q", c.Action, c.Version, c.Detail, want)
	}
	mustApply(t, e, a, false)
	if k := partitionKey(t, e, db, week); k != "toMonday(hour)" {
		t.Errorf("after deploy %s is partitioned by %s", week, k)
	}
	for _, left := range tables(t, e, db) {
		if strings.Contains(left, "__hg_") {
			t.Errorf("deploy left table %s", left)
		}
	}
	if d, n := weeksDiffering(t, e, db, week, from, to); d != 0 || n < 7 {
		t.Errorf("week grain against raw: %d of %d weeks differ", d, n)
	}
	if p := plan(t, e, a); !p.NothingToDo() {
		t.Errorf("plan after the deploy has work: %+v", p.Changes)
	}
	// A relayout that stopped after its RENAME leaves the old table under its temporary name:
	// the next deploy drops it.
	enginetest.MustExec(t, e, "CREATE TABLE "+db+"."+week+"__hg_old AS "+db+"."+week)
	c = change(t, plan(t, e, a), "events_overview_hourly")
	if want := "table " + week + "__hg_old is left from an interrupted relayout of " + week + ": dropped"; c.Action != deploy.ActionAlter || c.Detail != want {
		t.Fatalf("plan with a leftover: %s %q, want alter %q", c.Action, c.Detail, want)
	}
	mustApply(t, e, a, false)
	for _, left := range tables(t, e, db) {
		if strings.Contains(left, "__hg_") {
			t.Errorf("deploy left table %s", left)
		}
	}
	if p := plan(t, e, a); !p.NothingToDo() {
		t.Errorf("plan after dropping the leftover has work: %+v", p.Changes)
	}

	// An older version an endpoint reads: a changed metric makes version 2, and version 1 —
	// still serving — gets its week grain laid out again too.
	store := meta.New(e, db, nil)
	if err := store.RecordEndpoint(ctx, meta.EndpointState{Endpoint: "conversions_breakdown", Target: "rollup", Table: ra.Table, Actor: "test", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	files := scaffold(db)
	files["rollups/events.yaml"] = strings.Replace(files["rollups/events.yaml"], "  grains: [day, week]\n  metrics: *event_metrics",
		`  grains: [day, week]
  metrics:
    - {name: event_count, kind: count}
    - {name: unique_sessions, kind: uniq_combined, precision: 14, column: session_id}
    - {name: unique_users, kind: uniq_combined, precision: 14, column: user_id}
    - {name: total_value_usd, kind: sum, column: value_usd}
    - {name: page_unload_count, kind: count_if, if: "is_page_unload = 1"}
    - {name: total_time_on_page, kind: sum, column: time_on_page}
    - {name: max_time_on_page, kind: max, column: time_on_page}`, 1)
	a2 := compile(t, files)
	mustApply(t, e, a2, true)
	monthLayout(t, e, db, ra)
	p = plan(t, e, a2)
	var older *deploy.Change
	for i, c := range p.Changes {
		if c.Object == "events_overview_hourly" && c.Table == ra.Table {
			older = &p.Changes[i]
		}
	}
	if older == nil || older.Action != deploy.ActionAlter || older.Detail != want {
		t.Fatalf("plan for version 1 after version 2: %+v, want alter %q", older, want)
	}
	mustApply(t, e, a2, false)
	if k := partitionKey(t, e, db, week); k != "toMonday(hour)" {
		t.Errorf("after deploy version 1's %s is partitioned by %s", week, k)
	}
	if d, n := weeksDiffering(t, e, db, week, from, to); d != 0 || n < 7 {
		t.Errorf("version 1's week grain against raw: %d of %d weeks differ", d, n)
	}
}
