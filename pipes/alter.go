package pipes

import (
	"fmt"
	"strings"

	"github.com/hourglass-dev/hourglass/chtype"
	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/ident"
)

// What deploy needs beyond the CREATE statements: a rollup compiled under the table name of a
// new version, and the ALTER statements of a raw datasource's column changes.

// Versioned returns the rollup compiled to live in another table, for deploying an
// incompatible change as a new version beside the old one (deploy names it "<rollup>_v<N>").
// Every table-bound artifact follows the new name: Table, StagingTable ("<table>_staging"),
// TriggerView ("<table>_mv"), CreateTable, CreateStaging, DropTriggerView, Populate, Read,
// RawRead and the methods (CreateTableAt, TriggerViewSQL, ReplacePartitionFrom, …). Rollup
// stays the original definition, so lookups by rollup and metric name keep working, and Hash
// stays the definition's hash (it does not depend on the table name the version lives in).
// Versioned(ra.Table) returns ra itself.
func (ra *RollupArtifacts) Versioned(table string) (*RollupArtifacts, error) {
	if table == ra.Table {
		return ra, nil
	}
	if ra.plan.opts.shard {
		return nil, fmt.Errorf("rollup %q: Versioned of one shard's statements: take the version first, then Local", ra.Rollup.Name)
	}
	r := *ra.Rollup
	r.Name = table
	opts := ra.plan.opts
	opts.def = ra.Rollup
	v, err := compileRollup(ra.plan.p, &r, opts)
	if err != nil {
		return nil, err
	}
	v.Rollup = ra.Rollup
	v.Hash = ra.Hash
	return v, nil
}

// columnDef writes a raw column's definition exactly as the datasource's CREATE TABLE does:
// `name` Type [MATERIALIZED JSONExtract…(…) | DEFAULT expr] [CODEC(…)].
func columnDef(c *datasources.Column) (string, error) {
	t, err := chtype.Parse(c.Type)
	if err != nil {
		return "", fmt.Errorf("column %q: %v", c.Name, err)
	}
	s := ident.Quote(c.Name) + " " + t.String()
	switch {
	case c.JSONSource != "":
		s += " MATERIALIZED " + jsonExtract(c, t)
	case c.Default != "":
		s += " DEFAULT " + c.Default
	}
	if c.Codec != "" {
		s += " " + codecClause(c.Codec)
	}
	return s, nil
}

// alterTables returns "ALTER TABLE db.t [ON CLUSTER c] <change>" for every table of a managed
// datasource: the table itself, or on a cluster its local table then its Distributed table
// (which copied the local table's columns when it was created, and does not follow it).
func (a *Artifacts) alterTables(datasource, change string) ([]string, error) {
	da := a.Datasource(datasource)
	if da == nil {
		return nil, fmt.Errorf("no datasource %q", datasource)
	}
	if !da.Datasource.Managed {
		return nil, fmt.Errorf("datasource %q is not managed by hourglass", datasource)
	}
	var out []string
	for _, t := range uniq(da.LocalTable, da.Table) {
		out = append(out, "ALTER TABLE "+ident.Qualified(a.Project.Database, t)+onCluster(a.Project)+" "+change)
	}
	return out, nil
}

// alterColumn returns alterTables' statements for "<verb> <column definition>" of a declared
// column of a managed datasource.
func (a *Artifacts) alterColumn(datasource, column, verb string) ([]string, error) {
	da := a.Datasource(datasource)
	if da == nil {
		return nil, fmt.Errorf("no datasource %q", datasource)
	}
	c := da.Datasource.Column(column)
	if c == nil {
		return nil, fmt.Errorf("datasource %q declares no column %q", datasource, column)
	}
	def, err := columnDef(c)
	if err != nil {
		return nil, fmt.Errorf("datasource %q: %v", datasource, err)
	}
	return a.alterTables(datasource, verb+" "+def)
}

// AddColumnSQL returns the ALTER TABLE … ADD COLUMN statements adding a declared column of a
// managed datasource, with its type, default or JSON extraction and codec as CreateTable
// writes them, placed after the column named after (at the end when after is ""): one
// statement, or on a cluster one for the local table then one for the Distributed table.
func (a *Artifacts) AddColumnSQL(datasource, column, after string) ([]string, error) {
	change := ""
	if after != "" {
		change = " AFTER " + ident.Quote(after)
	}
	s, err := a.alterColumn(datasource, column, "ADD COLUMN")
	for i := range s {
		s[i] += change
	}
	return s, err
}

// ModifyColumnSQL returns the ALTER TABLE … MODIFY COLUMN statements giving a live column the
// declared definition (a type change: ClickHouse rewrites the column), as AddColumnSQL.
func (a *Artifacts) ModifyColumnSQL(datasource, column string) ([]string, error) {
	return a.alterColumn(datasource, column, "MODIFY COLUMN")
}

// DropColumnSQL returns the ALTER TABLE … DROP COLUMN statements removing a live column the
// datasource no longer declares, as AddColumnSQL.
func (a *Artifacts) DropColumnSQL(datasource, column string) ([]string, error) {
	if err := ident.Check(column); err != nil {
		return nil, err
	}
	return a.alterTables(datasource, "DROP COLUMN "+ident.Quote(column))
}

// SortingKey returns a managed datasource's sorting key as CreateTable writes it inside
// ORDER BY (…), without the parentheses: quoted column names and expressions, comma-separated;
// "" for ORDER BY tuple().
func (da *DatasourceArtifacts) SortingKey() string {
	var keys []string
	for _, k := range da.Datasource.OrderBy {
		keys = append(keys, sortKeyItem(da.Datasource, k))
	}
	return strings.Join(keys, ", ")
}

// SortingKey returns the rollup's sorting key as its CREATE TABLE writes it, without the
// parentheses.
func (ra *RollupArtifacts) SortingKey() string { return ra.plan.sortingKey() }
