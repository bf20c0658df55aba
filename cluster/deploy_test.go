package cluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/meta"
)

// A deploy through n1 creates, ON CLUSTER, the same tables on both hosts of two_shards —
// Replicated local tables, Distributed tables over them, staging tables, replicated metadata
// — and nothing on n3, which is not in the cluster; a plan and a status through n2 see what
// n1 deployed; rows inserted through the Distributed table or straight into a shard's local
// table land where they should.
func TestDeployOnClusterIsSeenFromEveryNode(t *testing.T) {
	f := newFixture(t, projectYAML)
	out := f.mustHourglass("n1", "deploy")
	if !strings.Contains(out, "hits_hourly") {
		t.Fatalf("deploy output:\n%s", out)
	}
	want := []string{
		"_hourglass_deployments ReplicatedMergeTree", "_hourglass_endpoints ReplicatedMergeTree",
		"_hourglass_runs ReplicatedMergeTree", "_hourglass_state ReplicatedMergeTree",
		"hits Distributed", "hits_hourly Distributed", "hits_hourly_local ReplicatedAggregatingMergeTree",
		"hits_hourly_staging AggregatingMergeTree", "hits_local ReplicatedMergeTree",
	}
	for _, n := range []string{"n1", "n2"} {
		if d := cmp.Diff(want, f.tables(n)); d != "" {
			t.Errorf("tables on %s (-want +got):\n%s", n, d)
		}
	}
	if got := f.tables("n3"); len(got) != 0 {
		t.Errorf("n3 is not in %s but has tables %v", enginetest.ShardsCluster, got)
	}
	// The rollup stores what 18.16 has: AggregateFunction(sum, …), not SimpleAggregateFunction.
	r := enginetest.MustQuery(t, f.node("n2"), "SELECT type FROM system.columns WHERE database = {db:String} AND table = 'hits_hourly_local' AND name = 'hits'", engine.Params{"db": f.db})
	if r.Row()[0] != "AggregateFunction(sum, UInt64)" {
		t.Errorf("count metric stored as %v", r.Row())
	}

	// Through n2: nothing to do, and the deployment n1 recorded.
	if out := f.mustHourglass("n2", "plan"); !strings.Contains(out, "nothing to do") {
		t.Errorf("plan through n2 after a deploy through n1:\n%s", out)
	}
	if out := f.mustHourglass("n2", "deploy"); !strings.Contains(out, "nothing to do") {
		t.Errorf("deploy through n2 after a deploy through n1:\n%s", out)
	}
	switch code, out, errOut := f.hourglass("n2", "status"); {
	case code != 0 && strings.Contains(errOut, "CAST('200' AS UInt64). Expected number"):
		// meta.RecentUnits binds LIMIT {n:UInt64}, which 18.16 rejects; its fix is on another
		// branch (issue 13 leaves it there). Remove this case once it is merged.
		t.Logf("status through n2 hits the LIMIT parameter 18.16 rejects: %s", errOut)
	case code != 0 || !strings.Contains(out, "hits_hourly"):
		t.Errorf("status through n2: exit %d\n%s%s", code, out, errOut)
	}
	deps, err := f.store("n2").Deployments(context.Background())
	if err != nil || deps["hits_hourly"].Table != "hits_hourly" || deps["hits"].Table != "hits" {
		t.Errorf("deployments through n2: %v %+v", err, deps)
	}

	// Rows: 300 through the Distributed table (sharded by user), 7 straight into each shard.
	d := f.node("n1", "insert_distributed_sync=1")
	enginetest.MustExec(t, d, "INSERT INTO `"+f.db+"`.hits SELECT toDateTime('2026-11-02 10:00:00') + number * 60, 's', toString(number % 40), 'p', number, number / 10 FROM numbers(300)")
	for _, n := range []string{"n1", "n2"} {
		enginetest.MustExec(t, f.node(n), "INSERT INTO `"+f.db+"`.hits_local SELECT toDateTime('2026-11-02 10:00:00'), 'local', 'x', 'p', 1, 1 FROM numbers(7)")
	}
	counts := map[string]uint64{}
	for _, n := range []string{"n1", "n2"} {
		counts[n] = enginetest.MustQuery(t, f.node(n), "SELECT count() FROM `"+f.db+"`.hits_local", nil).Row()[0].(uint64)
	}
	if counts["n1"]+counts["n2"] != 314 || counts["n1"] <= 7 || counts["n2"] <= 7 {
		t.Errorf("rows per shard %v: want 314 spread over both shards", counts)
	}
	for _, n := range []string{"n1", "n2"} {
		if got := enginetest.MustQuery(t, f.node(n), "SELECT count() FROM `"+f.db+"`.hits", nil).Row()[0]; got != uint64(314) {
			t.Errorf("count through the Distributed table on %s = %v, want 314", n, got)
		}
	}
}

// Metadata written through one node is read through the other.
func TestMetadataIsClusterWide(t *testing.T) {
	f := newFixture(t, projectYAML)
	f.mustHourglass("n2", "deploy")
	ctx := context.Background()
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	u := meta.Unit{RunID: "r1", Rollup: "hits_hourly", Hash: "h", Kind: "backfill", Start: at, End: at.Add(time.Hour), Status: meta.StatusDone, At: at}
	if err := f.store("n1").RecordUnit(ctx, u); err != nil {
		t.Fatal(err)
	}
	s2 := f.store("n2")
	if err := s2.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	units, err := s2.RunUnits(ctx, "r1")
	if err != nil || len(units) != 1 || units[0].Status != meta.StatusDone {
		t.Fatalf("run log through n2: %v %+v", err, units)
	}
	// One ZooKeeper path per table, without {shard}: both hosts replicate one table.
	r := enginetest.MustQuery(t, f.node("n1"), "SELECT zookeeper_path, replica_name FROM system.replicas WHERE database = {db:String} AND table = {t:String}",
		engine.Params{"db": f.db, "t": meta.RunsTable})
	if len(r.Rows) != 1 || r.Rows[0][0] != meta.ReplicaPath(enginetest.ShardsCluster, f.db, meta.RunsTable) || r.Rows[0][1] != "01-n1" {
		t.Errorf("replica of the run log on n1: %v", r.Rows)
	}
}

// restartOnCleanup restarts a node the test stops, if it is still down when the test ends.
func restartOnCleanup(t *testing.T, n *enginetest.Node) {
	t.Cleanup(func() {
		if e, err := engine.Open(context.Background(), n.DSN); err == nil {
			e.Close()
			return
		}
		if err := n.Restart(context.Background()); err != nil {
			t.Errorf("restart %s: %v", n.Name, err)
		}
	})
}

// A host that is down makes deploy and plan fail at once, naming it, before anything runs —
// not after ClickHouse's 180 s distributed-DDL timeout.
func TestHostDownFailsFastNamingIt(t *testing.T) {
	f := newFixture(t, projectYAML)
	n2 := f.c.Node("n2")
	n2.Kill()
	restartOnCleanup(t, n2)
	for _, cmd := range []string{"deploy", "plan"} {
		start := time.Now()
		code, out, errOut := f.hourglass("n1", cmd)
		took := time.Since(start)
		if code == 0 || !strings.Contains(errOut, "host "+n2.Addr()+" (shard 2, replica 1) does not answer") ||
			!strings.Contains(errOut, "cluster two_shards") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%s with n2 down: exit %d\n%s%s", cmd, code, out, errOut)
		}
		if took > 20*time.Second {
			t.Errorf("%s with n2 down took %s", cmd, took)
		}
		t.Logf("%s with n2 down, %s: %s", cmd, took.Round(time.Millisecond), strings.TrimSpace(errOut))
	}
	if got := f.tables("n1"); len(got) != 0 {
		t.Errorf("deploy with a host down created %v on n1", got)
	}
	if r := enginetest.MustQuery(t, f.node("n1"), "SELECT count() FROM system.databases WHERE name = {db:String}", engine.Params{"db": f.db}); r.Row()[0] != uint64(0) {
		t.Error("deploy with a host down created the database on n1")
	}
	if err := n2.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.mustHourglass("n1", "deploy")
	if got, want := f.tables("n2"), f.tables("n1"); !cmp.Equal(got, want) || len(got) == 0 {
		t.Errorf("after the restart: n1 %v, n2 %v", want, got)
	}
}

// Records written through a node that dies before the others fetch them cannot reach them
// until it is back: a command through another node says its metadata may be behind, within
// meta.SyncTimeout, and goes on with what it has.
func TestMetadataBehindADeadNodeWarnsAndGoesOn(t *testing.T) {
	f := newFixture(t, projectYAML)
	f.mustHourglass("n1", "deploy")
	ctx := context.Background()
	n2 := f.c.Node("n2")
	restartOnCleanup(t, n2)
	runs := "`" + f.db + "`.`" + meta.RunsTable + "`"
	enginetest.MustExec(t, f.node("n1"), "SYSTEM STOP FETCHES "+runs)
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	if err := f.store("n2").RecordUnit(ctx, meta.Unit{RunID: "r2", Rollup: "hits_hourly", Kind: "backfill", Start: at, End: at.Add(time.Hour), Status: meta.StatusDone, At: at}); err != nil {
		t.Fatal(err)
	}
	n2.Kill()
	enginetest.MustExec(t, f.node("n1"), "SYSTEM START FETCHES "+runs)
	start := time.Now()
	code, out, errOut := f.hourglass("n1", "endpoint", "history")
	took := time.Since(start)
	if code != 0 || !strings.Contains(errOut, "warning: the metadata on this node may be behind the other nodes of cluster two_shards: _hourglass_runs did not catch up") {
		t.Errorf("endpoint history through n1 with n2 down: exit %d\n%s%s", code, out, errOut)
	}
	if took > meta.SyncTimeout+10*time.Second {
		t.Errorf("it took %s", took)
	}
	t.Logf("through n1 with n2 down, %s: %s", took.Round(time.Millisecond), strings.TrimSpace(errOut))
	// Once n2 is back, n1 fetches the record.
	if err := n2.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	// The restarted replica first reconnects to ZooKeeper; on a loaded machine that can take
	// longer than one Sync's timeout, so wait for the record itself (bounded).
	s1 := f.store("n1")
	deadline := time.Now().Add(90 * time.Second)
	for {
		err := s1.Sync(ctx)
		units, uerr := s1.RunUnits(ctx, "r2")
		if err == nil && uerr == nil && len(units) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run r2 through n1 90 s after n2 came back: sync %v, read %v %+v", err, uerr, units)
		}
		time.Sleep(time.Second)
	}
}
