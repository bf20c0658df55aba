package versions_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/deploy"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/versions"
)

var shared enginetest.Shared

func TestMain(m *testing.M) {
	os.Exit(enginetest.Main(m, &shared, enginetest.Options{Server: true}))
}

func TestEmbedded(t *testing.T) { lifecycle(t, shared.NeedEmbedded(t), "", 0) }

// TestEmbeddedTrigger prunes a trigger rollup's version: its insert-trigger view goes first,
// and inserts into the raw table keep working.
func TestEmbeddedTrigger(t *testing.T) { lifecycle(t, shared.NeedEmbedded(t), projecttest.JSONYAML, 1) }

// TestRemote runs the same life on Debian's clickhouse-server 18.16 with a project it can
// hold: the drop statements prune runs must be ones the old server knows.
func TestRemote(t *testing.T) { lifecycle(t, shared.NeedRemote(t), projecttest.LegacyYAML, 0) }

// lifecycle deploys a project (the default one when yaml is ""), changes its rollup number
// which (a metric added), deploys it again as version 2, and follows version 1: kept and
// compiled from its recorded definition while an endpoint reads it, refused to prune, then
// prunable and dropped once the endpoint reads version 2.
func lifecycle(t *testing.T, e engine.Engine, yaml string, which int) {
	ctx := context.Background()
	info, err := e.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db := enginetest.TempDatabase(t, e)
	load := func(extra bool) *pipes.Artifacts {
		t.Helper()
		var def *datasources.Project
		if yaml == "" {
			def = projecttest.Project(t, db)
		} else {
			def = projecttest.FromYAML(t, yaml, db)
		}
		if extra {
			r := def.Rollups[which]
			r.Metrics = append(r.Metrics, &datasources.Metric{Name: "visits_added", Kind: datasources.MetricUniqExact, Column: r.Dimensions[0].Column})
		}
		a, err := pipes.CompileFor(def, pipes.TargetFor(info.Version))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	store := meta.New(e, db, nil)
	apply := func(a *pipes.Artifacts) {
		t.Helper()
		p, err := deploy.Plan(ctx, e, store, a)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := deploy.Apply(ctx, e, store, p, deploy.ApplyOptions{AllowDestructive: true}); err != nil {
			t.Fatal(err)
		}
	}
	a1 := load(false)
	apply(a1)
	rollup := a1.Rollups[which].Rollup.Name
	a2 := load(true)
	apply(a2)
	list := func() []*versions.Version {
		t.Helper()
		vs, err := versions.List(ctx, store, rollup)
		if err != nil {
			t.Fatal(err)
		}
		return vs
	}
	vs := list()
	if len(vs) != 2 || vs[0].Version != 1 || vs[0].Table != rollup || vs[0].Newest || !vs[0].Prunable() ||
		vs[1].Version != 2 || vs[1].Table != rollup+"_v2" || !vs[1].Newest || !vs[1].Kept() {
		t.Fatalf("versions after the change: %+v %+v", vs[0], vs[1])
	}

	// An endpoint reads version 1: kept, compiled from the definition it was deployed with
	// (the project now declares another), refused to prune.
	read := func(table string) {
		t.Helper()
		if err := store.RecordEndpoint(ctx, meta.EndpointState{Endpoint: "board", Target: "rollup", Table: table}); err != nil {
			t.Fatal(err)
		}
	}
	read(rollup)
	vs = list()
	if !vs[0].Kept() || vs[0].Prunable() || strings.Join(vs[0].ReadBy, ",") != "board" || !vs[0].HasDefinition() {
		t.Fatalf("version 1 read by an endpoint: %+v", vs[0])
	}
	old, err := vs[0].Artifacts(a2)
	if err != nil {
		t.Fatal(err)
	}
	if old.Table != rollup || old.Hash != a1.Rollups[which].Hash || old.Rollup.Metric("visits_added") != nil || old.Populate != a1.Rollups[which].Populate {
		t.Fatalf("version 1 compiled from its recorded definition: table %s, hash %.12s (deployed %.12s)", old.Table, old.Hash, a1.Rollups[which].Hash)
	}
	tables := tableNames(t, e, db)
	_, err = versions.Prune(ctx, e, store, a2, versions.PruneOptions{Rollup: rollup, Version: 1, Yes: true})
	if !errors.Is(err, versions.ErrRefused) || !strings.Contains(err.Error(), "is read by endpoint board") || !strings.Contains(err.Error(), "nothing dropped") {
		t.Fatalf("prune of the version an endpoint reads = %v", err)
	}
	_, err = versions.Prune(ctx, e, store, a2, versions.PruneOptions{Rollup: rollup, Version: 2, Yes: true})
	if !errors.Is(err, versions.ErrRefused) || !strings.Contains(err.Error(), "is the newest version") {
		t.Fatalf("prune of the newest version = %v", err)
	}
	_, err = versions.Prune(ctx, e, store, a2, versions.PruneOptions{Rollup: rollup, Version: 7, Yes: true})
	if !errors.Is(err, versions.ErrRefused) || !strings.Contains(err.Error(), "has no version 7 (its versions are 1, 2") {
		t.Fatalf("prune of a version that does not exist = %v", err)
	}
	res, err := versions.Prune(ctx, e, store, a2, versions.PruneOptions{Yes: true})
	if err != nil || len(res.Versions) != 0 || len(res.Kept) != 1 || res.Kept[0].Table != rollup {
		t.Fatalf("prune of every prunable version while version 1 is read: %+v, %v", res, err)
	}
	if got := tableNames(t, e, db); got != tables {
		t.Fatalf("refused prunes changed the tables:\n%s\n%s", tables, got)
	}

	// A version whose definition was never recorded cannot be recomputed: one line saying
	// what to do.
	if err := store.RecordDeployment(ctx, meta.Deployment{Object: rollup, Kind: "rollup", Version: 3, Table: rollup + "_v3", Hash: "unknown"}); err != nil {
		t.Fatal(err)
	}
	if err := store.RecordDeployment(ctx, meta.Deployment{Object: rollup, Kind: "rollup", Version: 2, Table: rollup + "_v2", Hash: a2.Rollups[which].Hash}); err != nil {
		t.Fatal(err)
	}
	read(rollup + "_v3")
	for _, v := range list() {
		if v.Version != 3 {
			continue
		}
		if _, err := v.Artifacts(a2); err == nil || !strings.Contains(err.Error(), "its definition was not recorded") || !strings.Contains(err.Error(), "switch board to it, or to raw") {
			t.Fatalf("a version without its definition: %v", err)
		}
	}

	// populate says so, and still goes on to the newest version (here never backfilled).
	if a2.Rollups[which].Rollup.Mode == datasources.ModeScheduled {
		live := *a2
		live.Rollups = append([]*pipes.RollupArtifacts{}, a2.Rollups...)
		if live.Rollups[which], err = a2.Rollups[which].Versioned(rollup + "_v2"); err != nil {
			t.Fatal(err)
		}
		_, err := populate.New(e, store, &live, populate.Options{}).PopulateOne(ctx, rollup)
		if err == nil || !strings.Contains(err.Error(), "version 3 (table "+rollup+"_v3): its definition was not recorded") ||
			!strings.Contains(err.Error(), "rollup "+rollup+" was never backfilled") {
			t.Fatalf("populate with a served version that cannot be recomputed = %v", err)
		}
	}

	// The endpoint moves to version 2: version 1 (and the recordless 3) can go.
	read(rollup + "_v2")
	res, err = versions.Prune(ctx, e, store, a2, versions.PruneOptions{Rollup: rollup})
	if err != nil || !res.DryRun || len(res.Versions) != 2 || res.Versions[0].Table != rollup || tableNames(t, e, db) != tables {
		t.Fatalf("dry run: %+v, %v", res, err)
	}
	if _, err := versions.Prune(ctx, e, store, a2, versions.PruneOptions{Rollup: rollup, Yes: true, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	got := " " + tableNames(t, e, db) + " "
	for _, gone := range []string{rollup, rollup + "_staging", rollup + "_mv"} {
		if strings.Contains(got, " "+gone+" ") {
			t.Errorf("%s survived the prune: %s", gone, got)
		}
	}
	if !strings.Contains(got, " "+rollup+"_v2 ") || !strings.Contains(got, " "+rollup+"_v2_staging ") {
		t.Errorf("the prune dropped version 2: %s", got)
	}
	if mode := a2.Rollups[which].Rollup.Mode; mode == datasources.ModeTrigger && !strings.Contains(got, " "+rollup+"_v2_mv ") {
		t.Errorf("the prune dropped version 2's view: %s", got)
	}
	// The raw table still takes rows (no view writes into a dropped table).
	src := a2.Datasource(a2.Rollups[which].Rollup.Source)
	enginetest.MustExec(t, e, "INSERT INTO `"+db+"`.`"+src.Table+"` ("+a2.Rollups[which].Rollup.TimeColumn+") SELECT now()")
	if vs := list(); len(vs) != 1 || vs[0].Version != 2 {
		t.Fatalf("versions after the prune: %+v", vs)
	}
	recs, err := store.RollupVersions(ctx, rollup)
	if err != nil || len(recs) != 3 || !strings.Contains(recs[0].Pruned, "dropped by hourglass prune") {
		t.Fatalf("the prune is not recorded: %+v, %v", recs, err)
	}
	// Nothing left to prune, and the plan lists nothing.
	if res, err := versions.Prune(ctx, e, store, a2, versions.PruneOptions{Yes: true}); err != nil || len(res.Versions) != 0 {
		t.Fatalf("second prune: %+v, %v", res, err)
	}
	if p, err := deploy.Plan(ctx, e, store, a2); err != nil || len(p.Prunable) != 0 {
		t.Fatalf("plan after the prune lists %v (%v)", p.Prunable, err)
	}
}

func tableNames(t *testing.T, e engine.Engine, db string) string {
	t.Helper()
	var names []string
	for _, row := range enginetest.MustQuery(t, e, "SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name", engine.Params{"db": db}).Rows {
		names = append(names, row[0].(string))
	}
	return strings.Join(names, " ")
}
