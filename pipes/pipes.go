// Package pipes is the hourglass compiler: it turns a definition model (package datasources)
// into ClickHouse statements (database, raw tables, rollups, staging tables, populate and read
// queries, insert-trigger views, endpoint views) and Tinybird datafiles.
//
// The compiler is pure and deterministic: the same project always compiles to byte-identical
// artifacts, and nothing here talks to ClickHouse. Every identifier it writes goes through
// ident.Quote; every time range is a bound query parameter ({start:DateTime}, {end:DateTime});
// the only time ever formatted into SQL is the hour-aligned watermark of an insert-trigger view
// (see RollupArtifacts.TriggerViewSQL), because ClickHouse views cannot take parameters.
package pipes

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/ident"
)

// Side says which table a query reads: the raw datasource or the rollup.
type Side string

// Sides.
const (
	// SideRaw reads the raw datasource with plain aggregates (count(), uniq(col), avg(col) …).
	SideRaw Side = "raw"
	// SideRollup reads the rollup table and finalises its states (sum, uniqMerge, …).
	SideRollup Side = "rollup"
	// SideReference is SideRaw as validate's reference: metrics compared by membership
	// (any, any_last) return the set of the group's values (groupUniqArray) instead of one.
	SideReference Side = "reference"
)

// Role is what a rollup column holds.
type Role string

// Column roles.
const (
	// RoleHour is the hour bucket column, always named "hour" and typed DateTime('UTC').
	RoleHour Role = "hour"
	// RoleDimension is a GROUP BY key.
	RoleDimension Role = "dimension"
	// RoleMetric is a metric's mergeable state (an avg metric has two such columns).
	RoleMetric Role = "metric"
)

// Parameter names and the type of the time-range parameters every range query binds.
const (
	// StartParam is the name of the inclusive range start parameter.
	StartParam = "start"
	// EndParam is the name of the exclusive range end parameter.
	EndParam = "end"
	// TimeParamType is the ClickHouse type the range parameters are declared with.
	TimeParamType = "DateTime"
)

// Column is one column of a compiled rollup table.
type Column struct {
	// Name is the column name in the rollup (unquoted).
	Name string
	// Type is the ClickHouse type, e.g. "SimpleAggregateFunction(sum, UInt64)".
	Type string
	// Role says whether the column is the hour, a dimension or a metric state.
	Role Role
	// Metric is the metric the column belongs to (metric columns only).
	Metric string
	// Expr is the expression over source columns that fills the column in populate queries.
	Expr string
}

// Artifacts is everything Compile produces for a project.
type Artifacts struct {
	// Project is the compiled project.
	Project *datasources.Project
	// Target is the server the statements were compiled for (CompileFor).
	Target Target
	// CreateDatabase is the CREATE DATABASE IF NOT EXISTS statement.
	CreateDatabase string
	// Datasources, Rollups and Endpoints follow the project's declaration order.
	Datasources []*DatasourceArtifacts
	Rollups     []*RollupArtifacts
	Endpoints   []*EndpointArtifacts
}

// DatasourceArtifacts is the compiled form of a raw datasource.
type DatasourceArtifacts struct {
	// Datasource is the compiled definition.
	Datasource *datasources.Datasource
	// Table is the unquoted name rows are inserted into and read from: the datasource's name
	// (on a cluster, its Distributed table).
	Table string
	// LocalTable is the table the rows live in: Table on a single server, "<name>_local" (a
	// Replicated table on every host) on a cluster.
	LocalTable string
	// CreateTable is the CREATE TABLE IF NOT EXISTS statement of LocalTable (ON CLUSTER, with
	// a Replicated engine, on a cluster); empty for unmanaged datasources, which hourglass only
	// reads.
	CreateTable string
	// CreateDistributed is the CREATE TABLE IF NOT EXISTS … ON CLUSTER statement of the
	// Distributed table Table over LocalTable, sharded by the datasource's shard_by; empty on
	// a single server and for unmanaged datasources.
	CreateDistributed string
}

// RollupArtifacts is the compiled form of a rollup.
type RollupArtifacts struct {
	// Rollup is the compiled definition.
	Rollup *datasources.Rollup
	// Table and StagingTable are the unquoted names of the rollup and its staging table
	// ("<rollup>" and "<rollup>_staging"). Reads go to Table: on a cluster it is the
	// Distributed table over LocalTable.
	Table, StagingTable string
	// LocalTable is the table the rollup's rows live in: Table on a single server,
	// "<rollup>_local" (a Replicated table on every host) on a cluster. Populate writes it,
	// shard by shard (see Local).
	LocalTable string
	// TriggerView is the unquoted name of the insert-trigger view ("<rollup>_mv"), used by
	// trigger rollups (see TriggerViewSQL).
	TriggerView string
	// CreateTable and CreateStaging are the CREATE TABLE IF NOT EXISTS statements of the
	// rollup's LocalTable and of its staging table (same columns, partitioning and sorting key,
	// never replicated; on a cluster both ON CLUSTER, so every host has its own staging table).
	CreateTable, CreateStaging string
	// CreateDistributed is the CREATE TABLE IF NOT EXISTS … ON CLUSTER statement of the
	// Distributed table Table over LocalTable; empty on a single server.
	CreateDistributed string
	// DropTriggerView drops the insert-trigger view if it exists.
	DropTriggerView string
	// Columns are the rollup's columns in table order: hour, dimensions, metric states.
	Columns []Column
	// Populate is INSERT INTO the staging table of the rollup's states over the hours in
	// [{start:DateTime}, {end:DateTime}).
	Populate string
	// PopulateSelect is Populate's SELECT alone; its output column names are the rollup's.
	PopulateSelect string
	// PartitionExpr is the partition key expression, "toYYYYMMDD(`hour`)" or "toYYYYMM(`hour`)".
	PartitionExpr string
	// Read and RawRead compute every metric per hour and per dimension over
	// [{start:DateTime}, {end:DateTime}) from the rollup and from the raw datasource (see
	// MetricsQuery): validate compares them.
	Read, RawRead string
	// Grains are the version's tables of coarser grains (datasources.Rollup.Grains), merged
	// from its states; Finals the finals tables of the endpoints reading it that ask for them.
	// Both are part of the version: their DDL is in Hash.
	Grains []*GrainArtifacts
	Finals []*FinalsArtifacts
	// Hash is the hex sha256 of the rollup's DDL and populate SQL, its grains' and its
	// endpoints' finals' DDL: it changes exactly when the stored data would differ. Deploy
	// records it.
	Hash string

	plan *rollupPlan
}

// EndpointArtifacts is the compiled form of an endpoint.
type EndpointArtifacts struct {
	// Endpoint is the compiled definition.
	Endpoint *datasources.Endpoint
	// RawSQL reads the raw datasource; RollupSQL reads the rollup. Both take {start:DateTime},
	// {end:DateTime} and one parameter per filter, and return the same columns.
	RawSQL, RollupSQL string
	// ReferenceSQL is RawSQL as validate's reference (SideReference): metrics compared by
	// membership (any, any_last) return the set of the group's values.
	ReferenceSQL string
	// RawView and RollupView are CREATE OR REPLACE VIEW statements publishing RawSQL or
	// RollupSQL as the parameterised view `db`.`<endpoint>`; switching an endpoint runs one of them.
	RawView, RollupView string
}

// Rollup returns the compiled rollup with the given name, or nil.
func (a *Artifacts) Rollup(name string) *RollupArtifacts {
	for _, r := range a.Rollups {
		if r.Rollup.Name == name {
			return r
		}
	}
	return nil
}

// Endpoint returns the compiled endpoint with the given name, or nil.
func (a *Artifacts) Endpoint(name string) *EndpointArtifacts {
	for _, e := range a.Endpoints {
		if e.Endpoint.Name == name {
			return e
		}
	}
	return nil
}

// Datasource returns the compiled datasource with the given name, or nil.
func (a *Artifacts) Datasource(name string) *DatasourceArtifacts {
	for _, d := range a.Datasources {
		if d.Datasource.Name == name {
			return d
		}
	}
	return nil
}

// Compile compiles a whole project for a current server (CompileFor with the zero Target).
func Compile(p *datasources.Project) (*Artifacts, error) {
	return CompileFor(p, Target{})
}

// CompileFor compiles a whole project for the server target describes. It is pure and
// deterministic: compiling the same project for the same target twice gives identical
// artifacts. It reports the first definition error it finds, prefixed with the definition's
// position when known, and refuses what the target cannot run (a trigger rollup on a server
// whose insert-trigger views would break inserts, a Nullable sum where SimpleAggregateFunction
// is missing).
//
// When the project declares a cluster, every managed datasource and every rollup is compiled
// as a local Replicated table ("<name>_local") created ON CLUSTER plus a Distributed table
// keeping the user-facing name: inserts and reads go through the Distributed tables, the
// data lives in the local ones (see docs/cluster.md and RollupArtifacts.Local).
func CompileFor(p *datasources.Project, target Target) (*Artifacts, error) {
	if p == nil {
		return nil, fmt.Errorf("no project")
	}
	if err := ident.Check(p.Database); err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if p.Cluster != "" {
		if err := ident.Check(p.Cluster); err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
	}
	a := &Artifacts{Project: p, Target: target, CreateDatabase: createDatabase(p)}
	tables := map[string]string{}
	claim := func(name, what string, pos datasources.Pos) error {
		if prev, ok := tables[name]; ok {
			return errAt(pos, "%s %q: the table name is already used by %s", what, name, prev)
		}
		tables[name] = fmt.Sprintf("%s %q", what, name)
		return nil
	}
	for _, d := range p.Datasources {
		da, err := compileDatasource(p, d)
		if err != nil {
			return nil, err
		}
		for _, t := range uniq(da.Table, da.LocalTable) {
			if err := claim(t, "datasource", d.Pos); err != nil {
				return nil, err
			}
		}
		a.Datasources = append(a.Datasources, da)
	}
	for _, r := range p.Rollups {
		ra, err := compileRollup(p, r, options{target: target})
		if err != nil {
			return nil, err
		}
		for _, t := range uniq(ra.Table, ra.LocalTable, ra.StagingTable, ra.TriggerView) {
			if err := claim(t, "rollup", r.Pos); err != nil {
				return nil, err
			}
		}
		for _, g := range ra.Grains {
			if err := claim(g.Table, "grain "+string(g.Grain)+" of rollup", r.Pos); err != nil {
				return nil, err
			}
		}
		for _, f := range ra.Finals {
			if err := claim(f.Table, "finals of endpoint", f.Endpoint.Pos); err != nil {
				return nil, err
			}
		}
		a.Rollups = append(a.Rollups, ra)
	}
	for _, e := range p.Endpoints {
		ea, err := compileEndpoint(p, e, options{target: target})
		if err != nil {
			return nil, err
		}
		if err := claim(e.Name, "endpoint", e.Pos); err != nil {
			return nil, err
		}
		a.Endpoints = append(a.Endpoints, ea)
	}
	return a, nil
}

// options are how a rollup or endpoint is compiled: for which server, and for which layout.
type options struct {
	target Target
	// shard compiles a cluster project's rollup for one shard (RollupArtifacts.Local).
	shard bool
	// def is the rollup's definition when compiling a version under another table name
	// (Versioned): endpoints name the rollup by its definition's name.
	def *datasources.Rollup
	// overTable is the table a rollup over a rollup reads its source from: a version of the
	// source ("" for the source's name, its first version).
	overTable string
}

// uniq returns names without repeats, in order.
func uniq(names ...string) []string {
	var out []string
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// compileRollup compiles r, whose Name is the table the rollup (version) is read from. With
// opts.shard, r's Name and Source are already the local tables (see Local).
func compileRollup(p *datasources.Project, r *datasources.Rollup, opts options) (*RollupArtifacts, error) {
	rp, err := planRollup(p, r, opts)
	if err != nil {
		return nil, err
	}
	base := r.Name
	if opts.shard {
		base = strings.TrimSuffix(r.Name, datasources.LocalSuffix)
	}
	ra := &RollupArtifacts{
		Rollup:       r,
		Table:        r.Name,
		LocalTable:   rp.local(r.Name),
		StagingTable: base + "_staging",
		TriggerView:  base + "_mv",
		Columns:      rp.columns(),
		plan:         rp,
	}
	for _, n := range []string{ra.LocalTable, ra.StagingTable, ra.TriggerView} {
		if err := ident.Check(n); err != nil {
			return nil, errAt(r.Pos, "rollup %q: %v", r.Name, err)
		}
	}
	if r.Mode == datasources.ModeTrigger && opts.target.NoTriggerViews {
		return nil, errAt(r.Pos, "rollup %q: mode trigger needs ClickHouse ≥ %s: on %s its insert-trigger view would make every INSERT into %s fail (\"Unknown identifier … while pushing to view\") — use mode: scheduled on this server",
			r.Name, TriggerViewsSince, opts.target.server(), r.Source)
	}
	ra.PartitionExpr = rp.partitionExpr()
	ra.CreateTable = rp.createTable(ra.LocalTable, true)
	// Deploy's staging table exists on every host of a cluster, each its own.
	ra.CreateStaging = rp.createTableOn(ra.StagingTable, false, rp.onCluster())
	ra.CreateDistributed = rp.createDistributed(ra.Table, ra.LocalTable, "")
	ra.PopulateSelect = rp.populateSelect(ident.Qualified(p.Database, rp.local(rp.r.Source)), func(n string) string { return ident.Qualified(p.Database, n) },
		param(StartParam, TimeParamType), param(EndParam, TimeParamType))
	ra.Populate = "INSERT INTO " + ident.Qualified(p.Database, ra.StagingTable) + " (" + rp.columnList() + ")\n" + ra.PopulateSelect
	ra.DropTriggerView = "DROP VIEW IF EXISTS " + ident.Qualified(p.Database, ra.TriggerView) + rp.onCluster()
	var dims []string
	for _, d := range r.Dimensions {
		dims = append(dims, d.Name)
	}
	t := clickhouseTarget(p.Database)
	if ra.Read, err = rp.query(t, querySpec{side: SideRollup, bucket: "hour", groupBy: dims}); err != nil {
		return nil, errAt(r.Pos, "rollup %q: %v", r.Name, err)
	}
	if ra.RawRead, err = rp.query(t, querySpec{side: SideRaw, bucket: "hour", groupBy: dims}); err != nil {
		return nil, errAt(r.Pos, "rollup %q: %v", r.Name, err)
	}
	if ra.Grains, err = compileGrains(rp, ra.Table); err != nil {
		return nil, err
	}
	def := r
	if opts.def != nil {
		def = opts.def
	}
	if ra.Finals, err = compileFinals(p, def, rp, ra.Table); err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write([]byte(ra.CreateTable))
	h.Write([]byte{0})
	h.Write([]byte(ra.PopulateSelect))
	for _, g := range ra.Grains {
		h.Write([]byte{0})
		h.Write([]byte(g.hashedDDL()))
	}
	for _, f := range ra.Finals {
		h.Write([]byte{0})
		h.Write([]byte(f.CreateTable))
	}
	if rp.over != nil {
		// A rollup over a rollup holds what its source's definition gives: a change of the
		// source makes a new version of both.
		src, err := compileRollup(p, rp.over.r, options{target: opts.target})
		if err != nil {
			return nil, err
		}
		h.Write([]byte{0})
		h.Write([]byte(src.Hash))
	}
	ra.Hash = hex.EncodeToString(h.Sum(nil))
	return ra, nil
}

// SourceRollup is the rollup a rollup over a rollup reads (its derived table, e.g. sessions),
// or "" when it reads a datasource. Run the source's populate first: its recomputed hours
// re-open this rollup's hours within Rollup.Span before them.
func (ra *RollupArtifacts) SourceRollup() string {
	if ra.plan.over == nil {
		return ""
	}
	return ra.plan.over.r.Name
}

// SourceTable is the table of the source rollup's version a rollup over a rollup reads
// ("" for a rollup of a datasource).
func (ra *RollupArtifacts) SourceTable() string {
	if ra.plan.over == nil {
		return ""
	}
	return ra.plan.overTable
}

// ReadingSource returns this rollup over a rollup compiled to read the source's version in
// table (the one deploy recorded), keeping its own table and hash.
func (ra *RollupArtifacts) ReadingSource(table string) (*RollupArtifacts, error) {
	if ra.plan.over == nil {
		return nil, fmt.Errorf("rollup %q reads the datasource %q, not a rollup", ra.Rollup.Name, ra.Rollup.Source)
	}
	if table == ra.plan.overTable {
		return ra, nil
	}
	if err := ident.Check(table); err != nil {
		return nil, fmt.Errorf("rollup %q: source table: %w", ra.Rollup.Name, err)
	}
	r := *ra.Rollup
	r.Name = ra.Table
	opts := ra.plan.opts
	opts.overTable = table
	v, err := compileRollup(ra.plan.p, &r, opts)
	if err != nil {
		return nil, err
	}
	v.Rollup, v.Hash = ra.Rollup, ra.Hash
	return v, nil
}

func errAt(pos datasources.Pos, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if pos.File != "" {
		return fmt.Errorf("%s:%d:%d: %s", pos.File, pos.Line, pos.Col, msg)
	}
	return fmt.Errorf("%s", msg)
}

func onCluster(p *datasources.Project) string {
	if p.Cluster == "" {
		return ""
	}
	return " ON CLUSTER " + ident.Quote(p.Cluster)
}

func createDatabase(p *datasources.Project) string {
	return "CREATE DATABASE IF NOT EXISTS " + ident.Quote(p.Database) + onCluster(p)
}
