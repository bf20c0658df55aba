package meta

import (
	"context"
	"fmt"

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

// Sync waits until this node's replicas of the metadata tables have fetched every record
// written through the other nodes (SYSTEM SYNC REPLICA), so a command sees what a command
// through another node just wrote. It does nothing on a single server or before the tables
// exist.
func (s *Store) Sync(ctx context.Context) error {
	if s.cluster == "" {
		return nil
	}
	ok, err := s.Exists(ctx)
	if err != nil || !ok {
		return err
	}
	for _, t := range []string{DeploymentsTable, RunsTable, StateTable, EndpointsTable} {
		if err := s.e.Exec(ctx, "SYSTEM SYNC REPLICA "+s.table(t), nil); err != nil {
			return fmt.Errorf("sync metadata table %s with the other nodes of cluster %s: %w", t, s.cluster, err)
		}
	}
	return nil
}
