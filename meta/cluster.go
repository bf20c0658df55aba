package meta

import (
	"context"
	"fmt"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/ident"
)

// Metadata on a cluster: every host of the project's cluster holds a replica of one and the
// same set of metadata tables. Each table is a ReplicatedMergeTree on a ZooKeeper path
// without {shard} — /clickhouse/hourglass/<cluster>/<database>/<table> — with replica name
// '{shard}-{replica}' (unique per host), created ON CLUSTER. A record written through any
// node reaches every other; Sync waits for it.

// ReplicaPath returns the ZooKeeper path of a metadata table replicated across cluster.
func ReplicaPath(cluster, db, table string) string {
	return "/clickhouse/hourglass/" + cluster + "/" + db + "/" + table
}

// OnCluster returns a store for the same database whose tables are replicated across every
// host of cluster ("" for a single server): Ensure creates them ON CLUSTER as
// ReplicatedMergeTree tables sharing one ZooKeeper path each, so deployments, the run log,
// watermarks, leases and endpoint history read the same whichever node a command goes
// through.
func (s *Store) OnCluster(cluster string) *Store {
	c := *s
	c.cluster = cluster
	return &c
}

// Cluster returns the cluster the metadata is replicated across, "" on a single server.
func (s *Store) Cluster() string { return s.cluster }

func (s *Store) onCluster() string {
	if s.cluster == "" {
		return ""
	}
	return " ON CLUSTER " + ident.Quote(s.cluster)
}

// engine is the ENGINE clause of a metadata table.
func (s *Store) engine(table string) string {
	if s.cluster == "" {
		return "MergeTree"
	}
	return "ReplicatedMergeTree(" + ident.String(ReplicaPath(s.cluster, s.db, table)) + ", '{shard}-{replica}')"
}

// settings is the SETTINGS clause of a metadata table. On a cluster, a replica killed while it
// fetched or wrote a record keeps the part on disk without ZooKeeper knowing it has it; when
// such parts hold more than half of the table's rows on that disk — common for these small
// tables — ClickHouse refuses to load the table (replicated_max_ratio_of_wrong_parts), and
// 18.16 refuses to start at all. Metadata tables set the ratio to 1: the part is set aside
// (detached) and the records are fetched again from the other replicas.
//
// On one server they drop the parts a merge made outdated at once instead of 480 s later:
// every record is a part of its own, merges leave the small ones outdated, and a short-lived
// command never lives long enough for the default cleanup, so they piled up on disk — 4,945
// of the run log's after a day of backfills — and every engine start loaded them again, ~60
// MB of a backfill's peak memory and part of the open time (measured). A merge's sources are
// covered by the merged part, so a crash in between never loads them back as active (unlike
// the parts a REPLACE PARTITION replaced, see pipes.RollupArtifacts.PurgeReplaced).
func (s *Store) settings() string {
	if s.cluster == "" {
		return " SETTINGS " + cleanupSettings
	}
	return " SETTINGS replicated_max_ratio_of_wrong_parts = 1"
}

// cleanupSettings make a metadata table on one server drop outdated parts at once.
const cleanupSettings = "old_parts_lifetime = 0, cleanup_delay_period = 1, cleanup_delay_period_random_add = 0"

// SyncTimeout bounds how long Sync waits for one metadata table to catch up.
const SyncTimeout = 10 * time.Second

// BehindError reports that this node's copy of the metadata did not catch up with the other
// nodes' records within SyncTimeout: records written through a node that went down before
// the others fetched them cannot be fetched until it is back. Everything this node has is
// still readable.
type BehindError struct {
	Cluster, Table string
}

func (e *BehindError) Error() string {
	return fmt.Sprintf("the metadata on this node may be behind the other nodes of cluster %s: %s did not catch up within %s (a node holding records this one lacks may be down)",
		e.Cluster, e.Table, SyncTimeout)
}

// Sync waits until this node's replicas of the metadata tables have fetched every record
// written through the other nodes, so a command sees what a command through another node just
// wrote. It does nothing on a single server or before the tables exist. A table that does not
// catch up within SyncTimeout gives a *BehindError.
//
// SYSTEM SYNC REPLICA alone is not proof: right after a restart, a replica whose previous
// ZooKeeper session has not expired yet does not replicate ("appears to be already active"),
// its queue is not loaded, and SYNC REPLICA returns at once. So a table is caught up only when
// ZooKeeper says so: the replica has read the whole shared log (log_pointer past
// log_max_index) and its queue there is empty.
func (s *Store) Sync(ctx context.Context) error {
	if s.cluster == "" {
		return nil
	}
	ok, err := s.Exists(ctx)
	if err != nil || !ok {
		return err
	}
	for _, t := range []string{DeploymentsTable, RunsTable, StateTable, EndpointsTable} {
		if err := s.syncTable(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// SyncState is Sync for the state table alone (watermarks and leases): what a lease decision
// reads.
func (s *Store) SyncState(ctx context.Context) error {
	if s.cluster == "" {
		return nil
	}
	return s.syncTable(ctx, StateTable)
}

// syncTable is Sync for one metadata table.
func (s *Store) syncTable(ctx context.Context, t string) error {
	deadline := time.Now().Add(SyncTimeout)
	tctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	err := s.e.Exec(tctx, "SYSTEM SYNC REPLICA "+s.table(t), nil)
	// The driver's read deadline may fire a moment before the context's.
	if err != nil && ctx.Err() == nil && !time.Now().Before(deadline) {
		return &BehindError{Cluster: s.cluster, Table: t}
	}
	if err != nil {
		return fmt.Errorf("sync metadata table %s with the other nodes of cluster %s: %w", t, s.cluster, err)
	}
	pause := 50 * time.Millisecond
	for {
		done, err := s.caughtUp(tctx, t)
		switch {
		case err != nil && ctx.Err() == nil && !time.Now().Before(deadline):
			return &BehindError{Cluster: s.cluster, Table: t}
		case err != nil:
			return fmt.Errorf("sync metadata table %s with the other nodes of cluster %s: %w", t, s.cluster, err)
		case done:
			return nil
		case !time.Now().Add(pause).Before(deadline):
			return &BehindError{Cluster: s.cluster, Table: t}
		}
		time.Sleep(pause)
		pause = min(2*pause, time.Second)
	}
}

// caughtUp reports whether this node's replica of metadata table t has, as ZooKeeper records
// it, read the whole shared log and emptied its queue.
func (s *Store) caughtUp(ctx context.Context, t string) (bool, error) {
	r, err := s.e.Query(ctx, "SELECT log_pointer, log_max_index, replica_path FROM system.replicas WHERE database = {db:String} AND table = {t:String}",
		engine.Params{"db": s.db, "t": t})
	if err != nil || len(r.Rows) == 0 {
		return false, err
	}
	pointer, last, path := r.Row()[0].(uint64), r.Row()[1].(uint64), r.Row()[2].(string)
	if pointer <= last && !(pointer == 0 && last == 0) {
		return false, nil
	}
	// system.zookeeper takes its path as a literal only (a bound parameter is an expression).
	q, err := s.e.Query(ctx, "SELECT count() FROM system.zookeeper WHERE path = "+ident.String(path+"/queue"), nil)
	if err != nil {
		return false, err
	}
	return q.Row()[0] == uint64(0), nil
}
