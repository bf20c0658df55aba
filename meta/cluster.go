package meta

import (
	"context"
	"fmt"
	"time"

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
// written through the other nodes (SYSTEM SYNC REPLICA), so a command sees what a command
// through another node just wrote. It does nothing on a single server or before the tables
// exist. A table that does not catch up within SyncTimeout gives a *BehindError.
func (s *Store) Sync(ctx context.Context) error {
	if s.cluster == "" {
		return nil
	}
	ok, err := s.Exists(ctx)
	if err != nil || !ok {
		return err
	}
	for _, t := range []string{DeploymentsTable, RunsTable, StateTable, EndpointsTable} {
		deadline := time.Now().Add(SyncTimeout)
		tctx, cancel := context.WithDeadline(ctx, deadline)
		err := s.e.Exec(tctx, "SYSTEM SYNC REPLICA "+s.table(t), nil)
		// The driver's read deadline may fire a moment before the context's.
		late := err != nil && ctx.Err() == nil && !time.Now().Before(deadline)
		cancel()
		switch {
		case late:
			return &BehindError{Cluster: s.cluster, Table: t}
		case err != nil:
			return fmt.Errorf("sync metadata table %s with the other nodes of cluster %s: %w", t, s.cluster, err)
		}
	}
	return nil
}
