// Package meta keeps hourglass's own records in metadata tables beside the project's tables:
// what was deployed (with the definition hash), the run log of populate units, rollup
// watermarks, run leases and suspect partitions, endpoint state and its history, and the
// scheduler lease. It is the memory behind deploy's idempotence, --resume, status, crash
// recovery, the watermark and the scheduler. Runtime records are keyed by the table of the
// rollup version they are about ("<rollup>" for version 1, "<rollup>_vN" after).
//
// Every table is an append-only MergeTree: a record is never updated in place, and the latest
// value of anything is read with argMax over a nanosecond sequence, so concurrent writers never
// lose each other's rows. The one exception is LiveRunsTable, a Memory table whose rows are
// meant to die with the engine. The tables use only types Debian's ClickHouse 18.16 knows.
package meta

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/chtype"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/ident"
)

// Table names, in the project database.
const (
	DeploymentsTable = "_hourglass_deployments"
	RunsTable        = "_hourglass_runs"
	StateTable       = "_hourglass_state"
	EndpointsTable   = "_hourglass_endpoints"
)

// Store reads and writes the metadata tables of one database.
type Store struct {
	e   engine.Engine
	db  string
	now func() time.Time
	// cluster is the cluster the metadata tables are replicated across ("" on one server);
	// see OnCluster.
	cluster string
}

// New returns a Store for database db. now is the clock (time.Now when nil).
func New(e engine.Engine, db string, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{e: e, db: db, now: now}
}

// Engine returns the engine the store writes to.
func (s *Store) Engine() engine.Engine { return s.e }

// Database returns the database the store lives in.
func (s *Store) Database() string { return s.db }

func (s *Store) table(name string) string { return ident.Qualified(s.db, name) }

// Ensure creates the database and the metadata tables if they do not exist.
func (s *Store) Ensure(ctx context.Context) error {
	stmts := []string{
		"CREATE DATABASE IF NOT EXISTS " + ident.Quote(s.db) + s.onCluster(),
		"CREATE TABLE IF NOT EXISTS " + s.table(DeploymentsTable) + s.onCluster() + ` (
    object String, kind String, version UInt32, table_name String, hash String,
    watermark DateTime, definition String, deployed_at DateTime, seq UInt64
) ENGINE = ` + s.engine(DeploymentsTable) + ` ORDER BY (object, seq)` + s.settings(),
		"CREATE TABLE IF NOT EXISTS " + s.table(RunsTable) + s.onCluster() + ` (
    run_id String, rollup String, hash String, kind String, unit_start DateTime, unit_end DateTime,
    status String, rows_read UInt64, rows_written UInt64, duration_ms UInt64, error String,
    attempt UInt32, at DateTime, seq UInt64, shard String
) ENGINE = ` + s.engine(RunsTable) + ` ORDER BY (rollup, unit_start, seq)` + s.settings(),
		"CREATE TABLE IF NOT EXISTS " + s.table(StateTable) + s.onCluster() + ` (
    object String, key String, value String, at DateTime, seq UInt64
) ENGINE = ` + s.engine(StateTable) + ` ORDER BY (object, key, seq)` + s.settings(),
		"CREATE TABLE IF NOT EXISTS " + s.table(EndpointsTable) + s.onCluster() + ` (
    endpoint String, target String, table_name String, actor String, validation String,
    forced UInt8, at DateTime, seq UInt64
) ENGINE = ` + s.engine(EndpointsTable) + ` ORDER BY (endpoint, seq)` + s.settings(),
	}
	for _, q := range stmts {
		if err := s.e.Exec(ctx, q, nil); err != nil {
			return fmt.Errorf("create metadata tables in %s: %w", s.db, err)
		}
	}
	if err := s.ensureShardColumn(ctx); err != nil {
		return err
	}
	return s.ensureCleanup(ctx)
}

// ensureCleanup gives the metadata tables created before cleanupSettings existed those
// settings, on one server (see NeedsCleanup).
func (s *Store) ensureCleanup(ctx context.Context) error {
	if s.cluster != "" {
		return nil
	}
	info, err := s.e.Info(ctx)
	if err != nil {
		return fmt.Errorf("read the engine version: %w", err)
	}
	if !chtype.VersionAtLeast(info.Version, 20, 1) {
		return nil
	}
	r, err := s.e.Query(ctx, "SELECT name, engine_full FROM system.tables WHERE database = {db:String} AND has({tables:Array(String)}, name)",
		engine.Params{"db": s.db, "tables": []string{DeploymentsTable, RunsTable, StateTable, EndpointsTable}})
	if err != nil {
		return fmt.Errorf("read the settings of the metadata tables in %s: %w", s.db, err)
	}
	for _, row := range r.Rows {
		if !NeedsCleanup(info.Version, false, row[1].(string)) {
			continue
		}
		if err := s.e.Exec(ctx, "ALTER TABLE "+s.table(row[0].(string))+" MODIFY SETTING "+cleanupSettings, nil); err != nil {
			return fmt.Errorf("set the cleanup of %s: %w", row[0], err)
		}
	}
	return nil
}

// NeedsCleanup reports whether a metadata table whose system.tables engine_full is engineFull
// lacks cleanupSettings and can be given them: on one server (not onCluster) whose ClickHouse
// changes a table's settings in place (20.1 and later; before, the table keeps the defaults
// and its outdated parts only linger longer).
func NeedsCleanup(version string, onCluster bool, engineFull string) bool {
	return !onCluster && engineFull != "" && !strings.Contains(engineFull, "old_parts_lifetime") && chtype.VersionAtLeast(version, 20, 1)
}

// ensureShardColumn adds the run log's shard column to a run log created before it existed
// (ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS). On a cluster the run log is one
// replicated table: the ALTER, run on this node alone, reaches every replica through
// ZooKeeper.
func (s *Store) ensureShardColumn(ctx context.Context) error {
	has := func() (bool, error) {
		r, err := s.e.Query(ctx, "SELECT count() FROM system.columns WHERE database = {db:String} AND table = {t:String} AND name = 'shard'",
			engine.Params{"db": s.db, "t": RunsTable})
		if err != nil {
			return false, fmt.Errorf("read the columns of %s: %w", RunsTable, err)
		}
		return r.Row()[0] == uint64(1), nil
	}
	ok, err := has()
	if err != nil || ok {
		return err
	}
	if err := s.e.Exec(ctx, "ALTER TABLE "+s.table(RunsTable)+" ADD COLUMN shard String", nil); err != nil {
		if ok, herr := has(); herr == nil && ok { // another command added it meanwhile
			return nil
		}
		return fmt.Errorf("add the shard column to %s: %w", RunsTable, err)
	}
	return nil
}

// Exists reports whether the metadata tables exist (deploy has run).
func (s *Store) Exists(ctx context.Context) (bool, error) {
	r, err := s.e.Query(ctx, "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {t:String}",
		engine.Params{"db": s.db, "t": RunsTable})
	if err != nil {
		return false, fmt.Errorf("look up metadata tables: %w", err)
	}
	return r.Row()[0] == uint64(1), nil
}

// seq returns a strictly useful ordering key: the clock in nanoseconds.
func (s *Store) seq() uint64 { return uint64(time.Now().UnixNano()) }

// Deployment is what deploy recorded for one object (a datasource, rollup or endpoint).
type Deployment struct {
	Object string `json:"object"`
	// Kind is "datasource", "rollup" or "endpoint".
	Kind string `json:"kind"`
	// Version counts the incompatible versions of a rollup (1, 2, …).
	Version int `json:"version"`
	// Table is the live table name of this version.
	Table string `json:"table"`
	// Hash is the compiled definition hash.
	Hash string `json:"hash"`
	// Watermark is the cut-over hour of a trigger rollup (zero otherwise).
	Watermark time.Time `json:"watermark,omitzero"`
	// Definition is the compiled DDL that was applied, kept for plan's diff.
	Definition string    `json:"-"`
	At         time.Time `json:"deployed_at"`
}

// RecordDeployment appends a deployment record.
func (s *Store) RecordDeployment(ctx context.Context, d Deployment) error {
	err := s.e.Exec(ctx, "INSERT INTO "+s.table(DeploymentsTable)+
		" SELECT {object:String}, {kind:String}, {version:UInt32}, {table:String}, {hash:String}, {watermark:DateTime}, {definition:String}, {at:DateTime}, {seq:UInt64}",
		engine.Params{"object": d.Object, "kind": d.Kind, "version": uint32(d.Version), "table": d.Table, "hash": d.Hash,
			"watermark": orEpoch(d.Watermark), "definition": d.Definition, "at": s.now().UTC().Truncate(time.Second), "seq": s.seq()})
	if err != nil {
		return fmt.Errorf("record deployment of %s: %w", d.Object, err)
	}
	return nil
}

// Deployments returns the latest deployment of every object, by object name.
func (s *Store) Deployments(ctx context.Context) (map[string]Deployment, error) {
	r, err := s.e.Query(ctx, "SELECT object, argMax(kind, seq), argMax(version, seq), argMax(table_name, seq), argMax(hash, seq), argMax(watermark, seq), argMax(definition, seq), argMax(deployed_at, seq) FROM "+
		s.table(DeploymentsTable)+" GROUP BY object ORDER BY object", nil)
	if err != nil {
		return nil, fmt.Errorf("read deployments: %w", err)
	}
	out := make(map[string]Deployment, len(r.Rows))
	for _, row := range r.Rows {
		d := Deployment{Object: row[0].(string), Kind: row[1].(string), Version: int(row[2].(uint64)), Table: row[3].(string),
			Hash: row[4].(string), Definition: row[6].(string), At: row[7].(time.Time)}
		if w := row[5].(time.Time); w.Unix() > 0 {
			d.Watermark = w
		}
		out[d.Object] = d
	}
	return out, nil
}

func orEpoch(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return t.UTC()
}
