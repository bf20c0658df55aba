package pipes

import (
	"fmt"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/ident"
)

// A project that declares a cluster compiles to ClickHouse's own scale-out machinery:
//
//   - every managed datasource x is a local table x_local on every host — the declared
//     engine made Replicated, on ZooKeeper path /clickhouse/tables/{shard}/<db>/x_local with
//     replica '{replica}' — and a Distributed table x over it, sharded by the datasource's
//     shard_by: rows are inserted into x (or straight into one shard's x_local);
//   - every rollup (version) r is a local ReplicatedAggregatingMergeTree r_local and a
//     Distributed table r over it, without a sharding key (nothing is inserted through it):
//     reads — validate, endpoints, status — go through r and merge the shards' states;
//   - a trigger rollup's view r_mv reads x_local and writes r_local on every host, so each
//     shard rolls up exactly its own rows;
//   - staging tables are never replicated: deploy creates r_staging ON CLUSTER (each host its
//     own), a populate unit's staging table is created and dropped on the host running it;
//   - every DDL statement for the whole cluster carries ON CLUSTER.
//
// The names users know (x, r) stay the Distributed tables, so endpoints, validate and ad hoc
// SQL read them unchanged. Populate works shard by shard on the local tables: Local gives the
// statements of one shard.

// Local returns the rollup compiled for one shard of its cluster: Table and LocalTable are
// the local table ("<rollup>_local", or "<rollup>_vN_local" for a version), every statement
// reads the source's local table and runs on the host it is sent to (no ON CLUSTER). Its
// methods are what a populate unit runs on one replica of a shard: CreateStagingNamed,
// PopulateInto, CountSource, CountRows, ReplacePartitionFrom, DropPartition, PurgeReplaced,
// OutdatedParts (whose parameters name the local table), StagingTables and StagingPrefix,
// and MetricsQuery (reconcile's per-shard counts: both sides read local tables).
// StagingTable and TriggerView keep the cluster's names, which exist on every host. Rollup
// stays the definition and Hash the cluster's hash.
//
// On a single server Local returns ra itself. Call it on the version you work on:
// ra.Versioned(t) then Local.
func (ra *RollupArtifacts) Local() (*RollupArtifacts, error) {
	if ra.plan.p.Cluster == "" || ra.plan.opts.shard {
		return ra, nil
	}
	r := *ra.plan.r
	r.Name = ra.LocalTable
	r.Source = ra.plan.local(ra.plan.r.Source)
	opts := ra.plan.opts
	opts.shard = true
	v, err := compileRollup(ra.plan.p, &r, opts)
	if err != nil {
		return nil, err
	}
	v.Rollup = ra.Rollup
	v.Hash = ra.Hash
	return v, nil
}

// replicaArgs are the arguments of a Replicated engine for a table of a cluster project:
// one ZooKeeper path per shard and table, one replica per host.
func replicaArgs(p *datasources.Project, table string) string {
	return ident.String("/clickhouse/tables/{shard}/"+p.Database+"/"+table) + ", '{replica}'"
}

// distributedDDL creates the Distributed table name over the local table local on every host
// of the project's cluster, with local's columns; shardBy is the sharding key ("" for none:
// such a table can be read, and written only on a one-shard cluster).
func distributedDDL(p *datasources.Project, name, local, shardBy string) string {
	args := []string{ident.String(p.Cluster), ident.String(p.Database), ident.String(local)}
	if s := strings.TrimSpace(shardBy); s != "" {
		args = append(args, s)
	}
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s%s AS %s\nENGINE = Distributed(%s)",
		ident.Qualified(p.Database, name), onCluster(p), ident.Qualified(p.Database, local), strings.Join(args, ", "))
}

// OnOneHost returns a statement compiled for the whole cluster (CREATE … ON CLUSTER `c`,
// ALTER … ON CLUSTER `c` …) as it runs on the one host it is sent to: without its ON CLUSTER
// clause. Deploy uses it to complete, on the hosts that lack it, a change an ON CLUSTER
// statement applied elsewhere.
func (a *Artifacts) OnOneHost(stmt string) string {
	if a.Project.Cluster == "" {
		return stmt
	}
	return strings.Replace(stmt, onCluster(a.Project), "", 1)
}

// CreateStagingAt returns CreateStaging (deploy's staging table, ON CLUSTER on a cluster) of a
// trigger rollup cut over at watermark.
func (ra *RollupArtifacts) CreateStagingAt(watermark time.Time) (string, error) {
	return ra.splitAt(ra.CreateStaging, watermark)
}

// SyncReplica returns the statement that waits until the replica it is sent to has applied
// every change in the shared log of the rollup's Replicated table (SYSTEM SYNC REPLICA): a
// swap another replica of the shard issued included. Call it on Local's artifacts.
func (ra *RollupArtifacts) SyncReplica() string {
	return "SYSTEM SYNC REPLICA " + ident.Qualified(ra.plan.p.Database, ra.Table)
}
