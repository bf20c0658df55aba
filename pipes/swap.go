package pipes

import (
	"github.com/hourglass-dev/hourglass/ident"
)

// The statements of one populate unit. A unit recomputes one rollup partition from raw rows
// into a staging table of its own (so concurrent units, even of the same partition, never
// share one) and swaps it into the rollup with REPLACE PARTITION: a partition is replaced
// whole or not at all, and never appended to.

// CreateStagingNamed returns the DDL of a staging table with the given name: the rollup's
// columns, partitioning and sorting key, never replicated.
func (ra *RollupArtifacts) CreateStagingNamed(name string) string {
	return ra.plan.createTable(name, false)
}

// PopulateInto returns the populate statement writing into the named table instead of the
// default staging table. It binds {start:DateTime} and {end:DateTime}.
func (ra *RollupArtifacts) PopulateInto(table string) string {
	return "INSERT INTO " + ident.Qualified(ra.plan.p.Database, table) + " (" + ra.plan.columnList() + ")\n" + ra.PopulateSelect
}

// ReplacePartitionFrom returns the statement that replaces the rollup's partition partitionID
// with the same partition of the staging table from.
func (ra *RollupArtifacts) ReplacePartitionFrom(partitionID, from string) string {
	db := ra.plan.p.Database
	return "ALTER TABLE " + ident.Qualified(db, ra.Table) + " REPLACE PARTITION ID " + ident.String(partitionID) + " FROM " + ident.Qualified(db, from)
}

// DropPartition returns the statement that drops the rollup's partition partitionID (the swap
// of a partition whose recomputed result is empty).
func (ra *RollupArtifacts) DropPartition(partitionID string) string {
	return "ALTER TABLE " + ident.Qualified(ra.plan.p.Database, ra.Table) + " DROP PARTITION ID " + ident.String(partitionID)
}

// DropTableNamed returns DROP TABLE IF EXISTS for a table of the project database.
func (ra *RollupArtifacts) DropTableNamed(name string) string {
	return "DROP TABLE IF EXISTS " + ident.Qualified(ra.plan.p.Database, name)
}

// CountRows returns a query counting a rollup-shaped table's rows with hour in
// [{start:DateTime}, {end:DateTime}).
func (ra *RollupArtifacts) CountRows(table string) string {
	h := ident.Quote(HourColumn)
	return "SELECT count() FROM " + ident.Qualified(ra.plan.p.Database, table) +
		" WHERE " + h + " >= " + param(StartParam, TimeParamType) + " AND " + h + " < " + param(EndParam, TimeParamType)
}

// CountSource returns a query counting the source rows a populate over
// [{start:DateTime}, {end:DateTime}) reads (with the rollup's filter applied).
func (ra *RollupArtifacts) CountSource() string {
	rp := ra.plan
	q := "SELECT count() FROM " + ident.Qualified(rp.p.Database, rp.r.Source) +
		" WHERE " + rp.timeCol + " >= " + param(StartParam, TimeParamType) + " AND " + rp.timeCol + " < " + param(EndParam, TimeParamType)
	if rp.r.Filter != "" {
		q += " AND (" + rp.r.Filter + ")"
	}
	return q
}

// StagingPrefix is how every staging table of the rollup starts; leftovers of killed runs are
// found by it.
func (ra *RollupArtifacts) StagingPrefix() string { return ra.Table + "__stg_" }
