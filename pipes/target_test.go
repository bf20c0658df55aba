package pipes

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hourglass-dev/hourglass/datasources"
)

func TestTargetFor(t *testing.T) {
	for v, want := range map[string]Target{
		"":           {},
		"garbage":    {Version: "garbage"},
		"18.16.1":    {Version: "18.16.1", NoSimpleAggregateFunction: true, NoTriggerViews: true, NoDDSketch: true},
		"19.8.3.8":   {Version: "19.8.3.8", NoTriggerViews: true, NoDDSketch: true},
		"19.17.6.36": {Version: "19.17.6.36", NoTriggerViews: true, NoDDSketch: true},
		"20.1.2.4":   {Version: "20.1.2.4", NoDDSketch: true},
		"24.1.1.1":   {Version: "24.1.1.1"},
		"26.5.1.1":   {Version: "26.5.1.1"},
	} {
		if got := TargetFor(v); got != want {
			t.Errorf("TargetFor(%q) = %+v, want %+v", v, got, want)
		}
	}
}

// An old server gets the same project in types it has, or a refusal naming what to change.
func TestOldServerRefusals(t *testing.T) {
	old := TargetFor("18.16.1")
	// The trigger rollup: its view would break every insert into the raw table.
	p := webProject("")
	p.Rollups, p.Endpoints = p.Rollups[2:], nil
	_, err := CompileFor(p, old)
	if err == nil || !strings.Contains(err.Error(), `rollup "sessions_live": mode trigger needs ClickHouse ≥ 20.1`) ||
		!strings.Contains(err.Error(), "every INSERT into sessions fail") || !strings.Contains(err.Error(), "use mode: scheduled") {
		t.Fatalf("trigger rollup on 18.16: %v", err)
	}
	// A Nullable sum cannot be held exactly by an AggregateFunction(sum, …) state.
	p = webProject("")
	p.Rollups, p.Endpoints = p.Rollups[:2], nil
	_, err = CompileFor(p, old)
	if err == nil || !strings.Contains(err.Error(), `metric "total_revenue": its value is Nullable(Int64)`) {
		t.Fatalf("Nullable sum on 18.16: %v", err)
	}
	// Nothing else differs but the types and reads of sum-like metrics.
	a, err := CompileFor(legacyProject(""), old)
	if err != nil {
		t.Fatal(err)
	}
	cur := mustCompile(t, legacyProject(""))
	if a.Rollups[0].Hash == cur.Rollups[0].Hash {
		t.Error("the hash does not depend on the target: a deploy on an old server and a populate compiled for a new one would agree while their DDL does not")
	}
	if s := a.Rollups[0].CreateTable; strings.Contains(s, "SimpleAggregateFunction") {
		t.Errorf("18.16 DDL uses SimpleAggregateFunction:\n%s", s)
	}
}

// Local is what one shard runs: local tables only, no ON CLUSTER, the cluster's hash.
func TestLocalIsOneShard(t *testing.T) {
	distributed := regexp.MustCompile("`analytics`\\.`(hits|hits_hourly|hits_hourly_v2)`")
	single := mustCompile(t, legacyProject(""))
	if l, err := single.Rollups[0].Local(); err != nil || l != single.Rollups[0] {
		t.Fatalf("Local on a single server = %p, %v; want the artifacts themselves", l, err)
	}
	a := mustCompile(t, legacyProject("c"))
	ra := a.Rollups[0]
	if ra.Table != "hits_hourly" || ra.LocalTable != "hits_hourly_local" || a.Datasources[0].Table != "hits" || a.Datasources[0].LocalTable != "hits_local" {
		t.Fatalf("cluster names: %s/%s, %s/%s", ra.Table, ra.LocalTable, a.Datasources[0].Table, a.Datasources[0].LocalTable)
	}
	v, err := ra.Versioned("hits_hourly_v2")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ra          *RollupArtifacts
		local, stag string
	}{{ra, "hits_hourly_local", "hits_hourly_staging"}, {v, "hits_hourly_v2_local", "hits_hourly_v2_staging"}} {
		l, err := tc.ra.Local()
		if err != nil {
			t.Fatal(err)
		}
		if l.Table != tc.local || l.LocalTable != tc.local || l.StagingTable != tc.stag || l.Hash != ra.Hash || l.Rollup != ra.Rollup {
			t.Errorf("Local: table %s, local %s, staging %s, same hash %v, same definition %v", l.Table, l.LocalTable, l.StagingTable, l.Hash == ra.Hash, l.Rollup == ra.Rollup)
		}
		for _, s := range []string{l.CreateTable, l.PopulateInto("x"), l.CountSource(), l.ReplacePartitionFrom("20250102", "x"), l.Read, l.RawRead} {
			if strings.Contains(s, "ON CLUSTER") || distributed.MatchString(s) {
				t.Errorf("shard statement reads or writes a Distributed table, or runs ON CLUSTER:\n%s", s)
			}
		}
		if !strings.Contains(l.CreateTable, "ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/analytics/"+tc.local+"'") {
			t.Errorf("shard table is not the cluster's replicated table:\n%s", l.CreateTable)
		}
		if _, err := l.Versioned("x"); err == nil {
			t.Error("Versioned of one shard's statements succeeded")
		}
	}
	// The cluster's reads go through the Distributed tables.
	if !strings.Contains(ra.Read, "FROM `analytics`.`hits_hourly`\n") || !strings.Contains(ra.RawRead, "FROM `analytics`.`hits`\n") {
		t.Errorf("cluster reads:\n%s\n%s", ra.Read, ra.RawRead)
	}
}

func TestClusterNeedsShardBy(t *testing.T) {
	p := legacyProject("c")
	p.Datasources[0].ShardBy = ""
	if _, err := Compile(p); err == nil || !strings.Contains(err.Error(), `datasource "hits": on a cluster (cluster: c) it needs shard_by`) {
		t.Fatalf("no shard_by: %v", err)
	}
	p.Datasources[0].Managed = false
	if _, err := Compile(p); err != nil {
		t.Fatalf("unmanaged datasource without shard_by: %v", err)
	}
	p = legacyProject("c")
	p.Datasources = append(p.Datasources, &datasources.Datasource{Name: "hits_local", Managed: false, Columns: p.Datasources[0].Columns})
	if _, err := Compile(p); err == nil || !strings.Contains(err.Error(), `"hits_local": the table name is already used`) {
		t.Fatalf("local table name taken: %v", err)
	}
}

// Quantiles are DDSketch states: a server without quantilesDD gets a refusal naming the
// release that has it.
func TestOldServerRefusesQuantiles(t *testing.T) {
	_, err := CompileFor(kitProject(t), TargetFor("23.8.1"))
	if err == nil || !strings.Contains(err.Error(), `metric "lcp": kind quantiles is stored as a DDSketch (quantilesDD), which needs ClickHouse ≥ 24.1 and ClickHouse 23.8.1 lacks`) {
		t.Fatalf("quantiles on 23.8: %v", err)
	}
}
