package deploy_test

import (
	"context"
	"errors"
	"os"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/deploy"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
)

var shared enginetest.Shared

func TestMain(m *testing.M) {
	os.Exit(enginetest.Main(m, &shared, enginetest.Options{Server: true}))
}

var now = time.Date(2030, 1, 2, 10, 20, 0, 0, time.UTC)

// dbName returns a database name unique to the test, dropped when it ends; the database is
// not created (deploy creates it).
func dbName(t *testing.T, e engine.Engine) string {
	t.Helper()
	name := "d_" + strings.NewReplacer("/", "_", "-", "_").Replace(t.Name())
	enginetest.MustExec(t, e, "DROP DATABASE IF EXISTS `"+name+"`")
	t.Cleanup(func() { _ = e.Exec(context.Background(), "DROP DATABASE IF EXISTS `"+name+"`", nil) })
	return name
}

// scaffold returns the default project's files with its database renamed.
func scaffold(db string) map[string]string {
	files := map[string]string{}
	for k, v := range datasources.Scaffold() {
		files[k] = string(v)
	}
	files["hourglass.yaml"] = strings.Replace(files["hourglass.yaml"], "database: analytics", "database: "+db, 1)
	return files
}

func compile(t *testing.T, files map[string]string) *pipes.Artifacts {
	t.Helper()
	return compileFor(t, files, pipes.Target{})
}

func compileFor(t *testing.T, files map[string]string, target pipes.Target) *pipes.Artifacts {
	t.Helper()
	fsys := fstest.MapFS{}
	for k, v := range files {
		fsys[k] = &fstest.MapFile{Data: []byte(v)}
	}
	p, err := datasources.Load(fsys)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	a, err := pipes.CompileFor(p, target)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return a
}

func plan(t *testing.T, e engine.Engine, a *pipes.Artifacts) *deploy.ChangePlan {
	t.Helper()
	p, err := deploy.PlanAt(context.Background(), e, meta.New(e, a.Project.Database, nil), a, now)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

func apply(t *testing.T, e engine.Engine, a *pipes.Artifacts, allow bool) (*deploy.Result, error) {
	t.Helper()
	p := plan(t, e, a)
	return deploy.Apply(context.Background(), e, meta.New(e, a.Project.Database, nil), p, deploy.ApplyOptions{AllowDestructive: allow, Now: now})
}

func mustApply(t *testing.T, e engine.Engine, a *pipes.Artifacts, allow bool) *deploy.Result {
	t.Helper()
	r, err := apply(t, e, a, allow)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	probeInserts(t, e, a)
	return r
}

// probeTime is when the row probeInserts writes happened: after every watermark the tests
// choose, so insert-trigger views take it.
var probeTime = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)

// probeInserts inserts one row into the raw table of every rollup after a deploy: a deploy
// must never break ingestion (on 18.16 a trigger rollup's view made every INSERT fail).
func probeInserts(t *testing.T, e engine.Engine, a *pipes.Artifacts) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range a.Rollups {
		if seen[r.Rollup.Source] {
			continue
		}
		seen[r.Rollup.Source] = true
		q := "INSERT INTO `" + a.Project.Database + "`.`" + a.Datasource(r.Rollup.Source).Table + "` (`" + r.Rollup.TimeColumn + "`) SELECT {at:DateTime}"
		if err := e.Exec(context.Background(), q, engine.Params{"at": probeTime}); err != nil {
			t.Fatalf("the raw table takes no insert after the deploy: %v\n%s", err, q)
		}
	}
}

func tables(t *testing.T, e engine.Engine, db string) []string {
	t.Helper()
	r := enginetest.MustQuery(t, e, "SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name", engine.Params{"db": db})
	var out []string
	for _, row := range r.Rows {
		out = append(out, row[0].(string))
	}
	return out
}

func change(t *testing.T, p *deploy.ChangePlan, object string) deploy.Change {
	t.Helper()
	for _, c := range p.Changes {
		if c.Object == object {
			return c
		}
	}
	t.Fatalf("plan has no change for %s: %+v", object, p.Changes)
	return deploy.Change{}
}

func TestScaffoldDeploysEveryTableThenNothingToDo(t *testing.T) {
	e := shared.NeedEmbedded(t)
	db := dbName(t, e)
	a := compile(t, scaffold(db))

	p := plan(t, e, a)
	for _, c := range p.Changes {
		if c.Action != deploy.ActionCreate {
			t.Errorf("first plan: %s %s is %s, want create", c.Kind, c.Object, c.Action)
		}
	}
	// Dependency order: database, metadata, datasources, rollups (+staging), endpoints.
	var kinds []string
	for _, c := range p.Changes {
		if len(kinds) == 0 || kinds[len(kinds)-1] != string(c.Kind) {
			kinds = append(kinds, string(c.Kind))
		}
	}
	if got := strings.Join(kinds, ","); !strings.HasPrefix(got, "database,metadata,datasource,rollup,staging") || !strings.HasSuffix(got, "endpoint") {
		t.Errorf("order %s", got)
	}

	res := mustApply(t, e, a, false)
	if res.NothingToDo || res.Statements == 0 {
		t.Fatalf("first apply did nothing: %+v", res)
	}
	want := []string{meta.DeploymentsTable, meta.EndpointsTable, meta.RunsTable, meta.StateTable}
	for _, d := range a.Datasources {
		want = append(want, d.Table)
	}
	for _, r := range a.Rollups {
		want = append(want, r.Table, r.StagingTable)
		for _, g := range r.Grains {
			want = append(want, g.Table)
		}
		for _, f := range r.Finals {
			want = append(want, f.Table)
		}
	}
	for _, ep := range a.Endpoints {
		want = append(want, ep.Endpoint.Name)
	}
	sort.Strings(want)
	if got := tables(t, e, db); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("tables\n got %v\nwant %v", got, want)
	}

	// Recorded: every datasource, rollup (version 1) and endpoint; endpoints serve raw.
	store := meta.New(e, db, nil)
	deps, err := store.Deployments(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range a.Rollups {
		d := deps[r.Rollup.Name]
		if d.Version != 1 || d.Table != r.Table || d.Hash != r.Hash {
			t.Errorf("deployment of %s = %+v", r.Rollup.Name, d)
		}
	}
	eps, err := store.Endpoints(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range a.Endpoints {
		st := eps[ep.Endpoint.Name]
		if st.Target != "raw" || st.Actor != "deploy" {
			t.Errorf("endpoint %s state %+v, want raw by deploy", ep.Endpoint.Name, st)
		}
	}
	// The endpoint views answer.
	enginetest.MustQuery(t, e, "SELECT * FROM `"+db+"`.sum_primitives(start = '2030-01-01 00:00:00', end = '2030-01-02 00:00:00', campaign_id = '', __hg_has_campaign_id = 0)", nil)

	// Second time: nothing to do, nothing run.
	p = plan(t, e, a)
	if !p.NothingToDo() {
		t.Errorf("second plan has work: %s\n%+v", p.Summary(), p.Changes)
	}
	res = mustApply(t, e, a, false)
	if !res.NothingToDo || res.Statements != 0 || len(res.Applied) != 0 {
		t.Errorf("second apply: %+v", res)
	}
}

func TestChangedMetricIsRefusedThenDeployedAsNewVersion(t *testing.T) {
	e := shared.NeedEmbedded(t)
	db := dbName(t, e)
	files := scaffold(db)
	a := compile(t, files)
	mustApply(t, e, a, false)
	before := tables(t, e, db)

	files["rollups/events.yaml"] = strings.Replace(files["rollups/events.yaml"],
		"{name: unique_users, kind: uniq_combined, precision: 14, column: user_id}", "{name: unique_users, kind: uniq_exact, column: user_id}", 1)
	a2 := compile(t, files)
	p := plan(t, e, a2)
	c := change(t, p, "events_hourly")
	if c.Action != deploy.ActionDestructive ||
		!strings.Contains(c.Detail, "metric unique_users: type AggregateFunction(uniqCombined(14), String) → AggregateFunction(uniqExact, String)") ||
		c.Version != 2 || c.Table != "events_hourly_v2" {
		t.Errorf("change %+v", c)
	}
	if got := change(t, p, "events_overview_hourly").Action; got != deploy.ActionDestructive {
		t.Errorf("events_overview_hourly (same metrics anchor) is %s", got)
	}
	if got := change(t, p, "sessions_hourly").Action; got != deploy.ActionUnchanged {
		t.Errorf("sessions_hourly is %s", got)
	}

	_, err := apply(t, e, a2, false)
	var refused *deploy.RefusedError
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), "--allow-destructive") || !strings.Contains(err.Error(), "unique_users") {
		t.Fatalf("apply without AllowDestructive: %v", err)
	}
	if after := tables(t, e, db); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("refused apply changed tables: %v → %v", before, after)
	}

	res := mustApply(t, e, a2, true)
	if res.NothingToDo {
		t.Fatal("nothing done")
	}
	got := strings.Join(tables(t, e, db), " ")
	for _, want := range []string{"events_hourly ", "events_hourly_v2 ", "events_hourly_v2_staging", "events_overview_hourly_v2 "} {
		if !strings.Contains(got+" ", want) {
			t.Errorf("tables %s lack %q", got, want)
		}
	}
	r := enginetest.MustQuery(t, e, "SELECT type FROM system.columns WHERE database = {db:String} AND table = 'events_hourly_v2' AND name = 'unique_users'", engine.Params{"db": db})
	if r.Row()[0] != "AggregateFunction(uniqExact, String)" {
		t.Errorf("v2 unique_users type %v", r.Row())
	}
	deps, err := meta.New(e, db, nil).Deployments(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := deps["events_hourly"]; d.Version != 2 || d.Table != "events_hourly_v2" || d.Hash != a2.Rollup("events_hourly").Hash {
		t.Errorf("deployment %+v", d)
	}
	// The deployed version resolves to the v2 table for the commands that fill and read it.
	live, err := deploy.LiveRollup(a2.Rollup("events_hourly"), deps["events_hourly"])
	if err != nil || live.Table != "events_hourly_v2" || !strings.Contains(live.Populate, "`events_hourly_v2_staging`") || live.Rollup.Name != "events_hourly" {
		t.Errorf("LiveRollup: %v %+v", err, live)
	}
	if p := plan(t, e, a2); !p.NothingToDo() {
		t.Errorf("plan after the new version: %s %+v", p.Summary(), p.Changes)
	}
}

func TestAddedRawColumnIsCompatibleAlter(t *testing.T) {
	e := shared.NeedEmbedded(t)
	db := dbName(t, e)
	files := scaffold(db)
	mustApply(t, e, compile(t, files), false)

	files["datasources/events.yaml"] = strings.Replace(files["datasources/events.yaml"],
		"  - {name: city, type: String}\n", "  - {name: city, type: String}\n  - {name: region, type: LowCardinality(String), default: \"''\"}\n", 1)
	a := compile(t, files)
	p := plan(t, e, a)
	c := change(t, p, "events")
	if c.Action != deploy.ActionAlter || !strings.Contains(c.Detail, "column region added") ||
		len(c.Statements) != 1 || !strings.Contains(c.Statements[0], "ADD COLUMN `region` LowCardinality(String) DEFAULT '' AFTER `city`") {
		t.Fatalf("change %+v", c)
	}
	if len(p.Destructive()) != 0 {
		t.Errorf("destructive: %+v", p.Destructive())
	}
	mustApply(t, e, a, false)
	r := enginetest.MustQuery(t, e, "SELECT type FROM system.columns WHERE database = {db:String} AND table = 'events' AND name = 'region'", engine.Params{"db": db})
	if len(r.Rows) != 1 {
		t.Fatal("column region not added")
	}
	if p := plan(t, e, a); !p.NothingToDo() {
		t.Errorf("plan after the alter: %+v", p.Changes)
	}

	// A type change is destructive; with AllowDestructive it is applied by MODIFY COLUMN.
	files["datasources/events.yaml"] = strings.Replace(files["datasources/events.yaml"], "{name: city, type: String}", "{name: city, type: LowCardinality(String)}", 1)
	a = compile(t, files)
	c = change(t, plan(t, e, a), "events")
	if c.Action != deploy.ActionDestructive || !strings.Contains(c.Detail, "column city: type String → LowCardinality(String)") {
		t.Fatalf("type change %+v", c)
	}
	mustApply(t, e, a, true)
	r = enginetest.MustQuery(t, e, "SELECT type FROM system.columns WHERE database = {db:String} AND table = 'events' AND name = 'city'", engine.Params{"db": db})
	if r.Row()[0] != "LowCardinality(String)" {
		t.Errorf("city type %v", r.Row())
	}

	// A sorting key change cannot be applied in place, even with AllowDestructive.
	files["datasources/events.yaml"] = strings.Replace(files["datasources/events.yaml"], "toStartOfHour(timestamp), event_type]", "toStartOfHour(timestamp)]", 1)
	a = compile(t, files)
	c = change(t, plan(t, e, a), "events")
	if c.Action != deploy.ActionDestructive || !c.Manual || !strings.Contains(c.Detail, "sorting key") {
		t.Fatalf("sorting key change %+v", c)
	}
	_, err := apply(t, e, a, true)
	var refused *deploy.RefusedError
	if !errors.As(err, &refused) || !refused.Manual {
		t.Errorf("apply of a sorting key change: %v", err)
	}
}

const triggerProject = `name: t
database: %DB%
datasources:
  - name: hits
    partition_by: toYYYYMM(ts)
    order_by: [site, ts]
    columns:
      - {name: ts, type: DateTime}
      - {name: site, type: String}
      - {name: user_id, type: String}
rollups:
  - name: hits_hourly
    source: hits
    time_column: ts
    mode: trigger
    dimensions: [site]
    metrics:
      - {name: hits, kind: count}
      - {name: users, kind: uniq, column: user_id}
`

func TestTriggerRollupIsCutAtNextHour(t *testing.T) {
	e := shared.NeedEmbedded(t)
	db := dbName(t, e)
	a := compile(t, map[string]string{"hourglass.yaml": strings.ReplaceAll(triggerProject, "%DB%", db)})
	res := mustApply(t, e, a, false)
	wantT := time.Date(2030, 1, 2, 11, 0, 0, 0, time.UTC)
	if !res.Watermark.Equal(wantT) {
		t.Errorf("watermark %v, want %v", res.Watermark, wantT)
	}
	for _, c := range res.Applied {
		for _, s := range c.Statements {
			if strings.Contains(strings.ToUpper(s), "POPULATE") {
				t.Errorf("statement uses POPULATE: %s", s)
			}
		}
	}
	deps, err := meta.New(e, db, nil).Deployments(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := deps["hits_hourly"]; !d.Watermark.Equal(wantT) || !strings.Contains(d.Definition, "`hour` >= toDateTime('2030-01-02 11:00:00', 'UTC')") {
		t.Errorf("deployment %+v", d)
	}
	r := enginetest.MustQuery(t, e, "SELECT name, partition_key FROM system.tables WHERE database = {db:String} AND name IN ('hits_hourly', 'hits_hourly_mv', 'hits_hourly_staging') ORDER BY name", engine.Params{"db": db})
	if len(r.Rows) != 3 || !strings.Contains(r.Rows[0][1].(string), "2030-01-02 11:00:00") || !strings.Contains(r.Rows[2][1].(string), "2030-01-02 11:00:00") {
		t.Errorf("trigger tables %v", r.Rows)
	}
	// Rows at or after T flow through the view; rows before T are the backfill's.
	enginetest.MustExec(t, e, "INSERT INTO `"+db+"`.hits VALUES ('2030-01-02 10:59:59', 'a', 'u1'), ('2030-01-02 11:00:00', 'a', 'u1'), ('2030-01-02 12:30:00', 'a', 'u2')")
	r = enginetest.MustQuery(t, e, "SELECT sum(hits) FROM `"+db+"`.hits_hourly WHERE hour < {probe:DateTime}", engine.Params{"probe": probeTime})
	if r.Row()[0] != uint64(2) {
		t.Errorf("rows through the view %v, want 2", r.Row())
	}
	if p := plan(t, e, a); !p.NothingToDo() {
		t.Errorf("second plan %+v", p.Changes)
	}
}

func TestUnmanagedDatasourceMustExist(t *testing.T) {
	e := shared.NeedEmbedded(t)
	db := dbName(t, e)
	proj := strings.Replace(strings.ReplaceAll(triggerProject, "%DB%", db), "  - name: hits\n", "  - name: hits\n    managed: false\n", 1)
	a := compile(t, map[string]string{"hourglass.yaml": proj})
	_, err := deploy.PlanAt(context.Background(), e, meta.New(e, db, nil), a, now)
	if err == nil || !strings.Contains(err.Error(), "unmanaged") || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("plan: %v", err)
	}
	enginetest.MustExec(t, e, "CREATE DATABASE `"+db+"`", "CREATE TABLE `"+db+"`.hits (ts DateTime, site String) ENGINE = MergeTree ORDER BY ts")
	_, err = deploy.PlanAt(context.Background(), e, meta.New(e, db, nil), a, now)
	if err == nil || !strings.Contains(err.Error(), "column user_id (read by rollup hits_hourly) is missing") {
		t.Fatalf("plan: %v", err)
	}
	enginetest.MustExec(t, e, "ALTER TABLE `"+db+"`.hits ADD COLUMN user_id String")
	res := mustApply(t, e, a, false)
	for _, c := range res.Applied {
		if c.Kind == deploy.KindDatasource {
			t.Errorf("deploy touched the unmanaged datasource: %+v", c)
		}
	}
}

func TestRemoteOldServer(t *testing.T) {
	e := shared.NeedRemote(t)
	ctx := context.Background()

	info, err := e.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	target := pipes.TargetFor(info.Version)

	// Artifacts compiled for another server are refused: the DDL and the hash would not be
	// those every other command compiles.
	_, err = deploy.PlanAt(ctx, e, meta.New(e, "web", nil), compile(t, scaffold("web")), now)
	if err == nil || !strings.Contains(err.Error(), "compiled for a current ClickHouse, but the server runs ClickHouse 18.16") {
		t.Fatalf("plan of artifacts compiled for a current server on 18.16: %v", err)
	}
	// The default project's metrics compile to types 18.16 has, but its LowCardinality
	// columns and its finals (GROUPING SETS) need a newer server: one clear line naming the
	// version.
	a := compileFor(t, scaffold("web"), target)
	_, err = deploy.PlanAt(ctx, e, meta.New(e, "web", nil), a, now)
	if err == nil || !strings.Contains(err.Error(), "needs ClickHouse ≥ 22.9") || !strings.Contains(err.Error(), "18.16") ||
		!strings.Contains(err.Error(), "LowCardinality") || !strings.Contains(err.Error(), "finals (GROUPING SETS)") ||
		strings.Contains(err.Error(), "SimpleAggregateFunction") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("plan of the scaffold on 18.16: %v", err)
	}
	t.Logf("scaffold on %s: %v", "18.16", err)

	// A trigger rollup is refused before anything runs: on 18.16 its view would make every
	// INSERT into the raw table fail.
	ld, err := datasources.Load(fstest.MapFS{"hourglass.yaml": {Data: []byte(strings.ReplaceAll(triggerProject, "%DB%", "web"))}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pipes.CompileFor(ld, target); err == nil || !strings.Contains(err.Error(), "mode trigger needs ClickHouse ≥ 20.1") ||
		!strings.Contains(err.Error(), "every INSERT into hits fail") {
		t.Fatalf("trigger rollup compiled for 18.16: %v", err)
	}
	if r := enginetest.MustQuery(t, e, "SELECT count() FROM system.databases WHERE name = 'web'", nil); r.Row()[0] != uint64(0) {
		t.Error("plan created the database")
	}

	// Types 18.16 knows deploy: raw datasources, a uniq rollup; the endpoint is skipped.
	db := "old_" + strings.ToLower(t.Name())
	enginetest.MustExec(t, e, "DROP DATABASE IF EXISTS "+db)
	t.Cleanup(func() { _ = e.Exec(ctx, "DROP DATABASE IF EXISTS "+db, nil) })
	proj := `name: old
database: ` + db + `
datasources:
  - name: visits
    partition_by: toYYYYMM(ts)
    order_by: [site, ts]
    columns:
      - {name: ts, type: DateTime}
      - {name: site, type: String}
      - {name: user_id, type: String}
      - {name: bytes, type: UInt64}
rollups:
  - name: visits_hourly
    source: visits
    time_column: ts
    dimensions: [site]
    metrics:
      - {name: users, kind: uniq, column: user_id}
endpoints:
  - name: users_by_site
    rollup: visits_hourly
    metrics: [users]
    group_by: [site]
`
	a = compileFor(t, map[string]string{"hourglass.yaml": proj}, target)
	p, err := deploy.PlanAt(ctx, e, meta.New(e, db, nil), a, now)
	if err != nil {
		t.Fatal(err)
	}
	ep := change(t, p, "users_by_site")
	if ep.Action != deploy.ActionSkip || !strings.Contains(ep.Detail, "ClickHouse ≥ 23.1") {
		t.Errorf("endpoint on 18.16: %+v", ep)
	}
	res, err := deploy.Apply(ctx, e, meta.New(e, db, nil), p, deploy.ApplyOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 1 {
		t.Errorf("skipped %+v", res.Skipped)
	}
	probeInserts(t, e, a)
	got := strings.Join(tables(t, e, db), " ")
	for _, want := range []string{"visits", "visits_hourly", "visits_hourly_staging", meta.DeploymentsTable} {
		if !strings.Contains(" "+got+" ", " "+want+" ") {
			t.Errorf("tables %s lack %s", got, want)
		}
	}
	p, err = deploy.PlanAt(ctx, e, meta.New(e, db, nil), a, now)
	if err != nil {
		t.Fatal(err)
	}
	if !p.NothingToDo() {
		t.Errorf("second plan on 18.16: %+v", p.Changes)
	}
}

// Metadata tables created before they dropped outdated parts at once (a plain MergeTree, as an
// older hourglass made them): plan shows the alter, deploy applies it, and the next plan has
// nothing to do. The run log's records survive it.
func TestOldMetadataTablesGetTheirCleanup(t *testing.T) {
	e := shared.NeedEmbedded(t)
	db := dbName(t, e)
	a := compile(t, scaffold(db))
	mustApply(t, e, a, false)
	ctx := context.Background()
	store := meta.New(e, db, nil)
	rec := meta.Unit{RunID: "r1", Rollup: "events_hourly", Kind: "backfill", Start: now.Truncate(time.Hour), End: now.Truncate(time.Hour), Status: meta.StatusDone}
	if err := store.RecordUnits(ctx, rec); err != nil {
		t.Fatal(err)
	}
	// Back to the settings an older hourglass created them with.
	for _, tb := range []string{meta.RunsTable, meta.StateTable} {
		enginetest.MustExec(t, e, "ALTER TABLE `"+db+"`.`"+tb+"` RESET SETTING old_parts_lifetime, cleanup_delay_period, cleanup_delay_period_random_add")
	}
	p := plan(t, e, a)
	var got *deploy.Change
	for i, c := range p.Changes {
		if c.Kind == deploy.KindMetadata {
			got = &p.Changes[i]
		}
	}
	want := "tables " + meta.RunsTable + ", " + meta.StateTable + ": drop the parts merges leave outdated at once"
	if got == nil || got.Action != deploy.ActionAlter || got.Detail != want {
		t.Fatalf("metadata change %+v, want alter %q", got, want)
	}
	mustApply(t, e, a, false)
	for _, tb := range []string{meta.DeploymentsTable, meta.RunsTable, meta.StateTable, meta.EndpointsTable} {
		r := enginetest.MustQuery(t, e, "SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {t:String}", engine.Params{"db": db, "t": tb})
		if full := r.Rows[0][0].(string); !strings.Contains(full, "old_parts_lifetime = 0") {
			t.Errorf("%s after deploy: %s", tb, full)
		}
	}
	if p := plan(t, e, a); !p.NothingToDo() {
		t.Errorf("plan after the alter has work: %+v", p.Changes)
	}
	units, err := store.RunUnits(ctx, "r1")
	if err != nil || len(units) != 1 {
		t.Errorf("run log after the alter: %v, %v", units, err)
	}
}
