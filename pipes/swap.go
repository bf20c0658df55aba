package pipes

import (
	"fmt"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/ident"
)

// The statements of one populate unit. A unit fills a staging table of its own (so concurrent
// units, even of the same partition, never share one) with a partition's new content — the
// hours it recomputes from raw rows, and for the hourly populate the partition's other hours
// copied from the rollup itself (CarryInto) — and swaps it into the rollup with
// REPLACE PARTITION: a partition is replaced whole or not at all, and never appended to. An
// empty staging partition replaces the rollup's partition with nothing (drops it).

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

// PopulateIntoThreads is PopulateInto run on at most threads threads (0: the server's
// max_threads): units running side by side share the server's cores instead of each taking
// them all.
func (ra *RollupArtifacts) PopulateIntoThreads(table string, threads int) string {
	if threads < 1 {
		return ra.PopulateInto(table)
	}
	return fmt.Sprintf("%s\nSETTINGS max_threads = %d", ra.PopulateInto(table), threads)
}

// MaxThreads returns a query giving the server's max_threads setting as text ("2",
// "'auto(2)'"); see ParseMaxThreads.
func (ra *RollupArtifacts) MaxThreads() string {
	return "SELECT value FROM system.settings WHERE name = 'max_threads'"
}

// ParseMaxThreads reads the number of threads from max_threads' text ("2", "'auto(2)'"); 0
// when it cannot.
func ParseMaxThreads(v string) int {
	n := 0
	for _, c := range v {
		switch {
		case c >= '0' && c <= '9':
			n = n*10 + int(c-'0')
		case n > 0:
			return n
		}
	}
	return n
}

// Parameters of CarryInto: the partition whose hours outside [{start}, {end}) are carried.
const (
	PartitionStartParam = "partition_start"
	PartitionEndParam   = "partition_end"
)

// CarryInto returns the statement copying into the staging table the rollup's rows of the
// partition [{partition_start:DateTime}, {partition_end:DateTime}) whose hour lies outside
// [{start:DateTime}, {end:DateTime}): the hours the hourly populate does not recompute. It
// copies stored states (rollup rows, not raw rows), so the swap keeps them unchanged.
func (ra *RollupArtifacts) CarryInto(staging string) string {
	h := ident.Quote(HourColumn)
	cols := ra.plan.columnList()
	db := ra.plan.p.Database
	return "INSERT INTO " + ident.Qualified(db, staging) + " (" + cols + ")\nSELECT " + cols + " FROM " + ident.Qualified(db, ra.Table) +
		"\nWHERE " + h + " >= " + param(PartitionStartParam, TimeParamType) + " AND " + h + " < " + param(PartitionEndParam, TimeParamType) +
		"\n    AND (" + h + " < " + param(StartParam, TimeParamType) + " OR " + h + " >= " + param(EndParam, TimeParamType) + ")"
}

// ReplacePartitionFrom returns the statement that replaces the rollup's partition partitionID
// with the same partition of the staging table from.
func (ra *RollupArtifacts) ReplacePartitionFrom(partitionID, from string) string {
	return replacePartition(ra.plan.p.Database, ra.Table, partitionID, from)
}

// replacePartition replaces partition partitionID of db.table with the same partition of
// db.from.
func replacePartition(db, table, partitionID, from string) string {
	return "ALTER TABLE " + ident.Qualified(db, table) + " REPLACE PARTITION ID " + ident.String(partitionID) + " FROM " + ident.Qualified(db, from)
}

// DropPartition returns the statement that drops the rollup's partition partitionID (the swap
// of a partition whose recomputed result is empty).
func (ra *RollupArtifacts) DropPartition(partitionID string) string {
	return dropPartition(ra.plan.p.Database, ra.Table, partitionID)
}

// dropPartition drops partition partitionID of db.table.
func dropPartition(db, table, partitionID string) string {
	return "ALTER TABLE " + ident.Qualified(db, table) + " DROP PARTITION ID " + ident.String(partitionID)
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
	from, where := rp.rowSource(func(n string) string { return ident.Qualified(rp.p.Database, n) }, SideRollup,
		param(StartParam, TimeParamType), param(EndParam, TimeParamType))
	return "SELECT count() FROM " + from + " WHERE " + strings.Join(where, " AND ")
}

// StagingPrefix is how every staging table of the rollup starts; leftovers of killed runs are
// found by it.
func (ra *RollupArtifacts) StagingPrefix() string { return ra.Table + "__stg_" }

// Trigger rollups are cut over at one hour-aligned watermark T: the insert-trigger view writes
// rows with time ≥ T, the backfill rows before T. Their rollup and staging tables add
// `hour >= T` to the partition key, so the day holding T splits into partition "<day>-0"
// (backfill) and "<day>-1" (view): a backfill swap replaces only "-0" partitions and can never
// touch a row the view wrote, however late it arrives.

// CreateTableAt returns the rollup DDL of a trigger rollup cut over at watermark.
func (ra *RollupArtifacts) CreateTableAt(watermark time.Time) (string, error) {
	return ra.splitAt(ra.CreateTable, watermark)
}

// CreateStagingNamedAt returns the staging DDL of a trigger rollup cut over at watermark.
func (ra *RollupArtifacts) CreateStagingNamedAt(name string, watermark time.Time) (string, error) {
	return ra.splitAt(ra.CreateStagingNamed(name), watermark)
}

// BackfillPartitionID returns the partition id a backfill unit replaces for the partition
// whose plain id is id: id itself, or id+"-0" for trigger rollups.
func (ra *RollupArtifacts) BackfillPartitionID(id string) string {
	if ra.Rollup.Mode == datasources.ModeTrigger {
		return id + "-0"
	}
	return id
}

func (ra *RollupArtifacts) splitAt(ddl string, watermark time.Time) (string, error) {
	if ra.Rollup.Mode != datasources.ModeTrigger {
		return "", fmt.Errorf("rollup %q is not a trigger rollup (mode %q)", ra.Rollup.Name, ra.Rollup.Mode)
	}
	lit, err := watermarkLiteral(watermark)
	if err != nil {
		return "", fmt.Errorf("rollup %q: %w", ra.Rollup.Name, err)
	}
	old := "PARTITION BY " + ra.plan.partitionExpr() + "\n"
	if !strings.Contains(ddl, old) {
		return "", fmt.Errorf("rollup %q: partition clause not found", ra.Rollup.Name)
	}
	return strings.Replace(ddl, old, "PARTITION BY ("+ra.plan.partitionExpr()+", "+ident.Quote(HourColumn)+" >= "+lit+")\n", 1), nil
}

// HourBounds returns a query for the first and last hour a rollup-shaped table holds.
func (ra *RollupArtifacts) HourBounds(table string) string {
	h := ident.Quote(HourColumn)
	return "SELECT min(" + h + "), max(" + h + ") FROM " + ident.Qualified(ra.plan.p.Database, table)
}

// MetricsQuery is MetricsQuery for this compiled rollup: the rollup side reads the table this
// artifact lives in (a deployed version's "<rollup>_vN" included).
func (ra *RollupArtifacts) MetricsQuery(side Side, bucket string, groupBy []string, metrics []string) (string, error) {
	return ra.plan.query(clickhouseTarget(ra.plan.p.Database), querySpec{side: side, bucket: bucket, groupBy: groupBy, metrics: metrics})
}

// OutdatedParts returns a query counting the parts of some partitions of the rollup that a
// swap made outdated and that are still on disk; bind it with OutdatedPartsParams.
func (ra *RollupArtifacts) OutdatedParts() string {
	return "SELECT count() FROM system.parts WHERE database = {db:String} AND table = {table:String} AND has({partitions:Array(String)}, partition_id) AND active = 0"
}

// OutdatedPartsParams returns the parameters of OutdatedParts for partitions ids.
func (ra *RollupArtifacts) OutdatedPartsParams(ids []string) map[string]any {
	return map[string]any{"db": ra.plan.p.Database, "table": ra.Table, "partitions": ids}
}

// PurgeReplaced returns the statement that makes ClickHouse delete, at once, the parts a
// REPLACE PARTITION made outdated: dropping a partition that never exists (the Unix epoch's,
// before any data hourglass accepts) clears the table's outdated parts synchronously. Without
// it they linger until a background task removes them, and a process that stops in between
// loads them again as active parts on its next start, doubling their partitions.
func (ra *RollupArtifacts) PurgeReplaced() string {
	id := "19700101"
	if ra.Rollup.Partition == datasources.PartitionMonth {
		id = "197001"
	}
	return ra.DropPartition(ra.BackfillPartitionID(id))
}

// EndpointRollupView returns the CREATE OR REPLACE VIEW statement publishing endpoint e on
// this compiled rollup: the table this artifact lives in, a deployed version's
// "<rollup>_vN" included.
func (ra *RollupArtifacts) EndpointRollupView(e *datasources.Endpoint) (string, error) {
	sql, err := ra.EndpointRollupSQL(e)
	if err != nil {
		return "", err
	}
	return viewSQL(ra.plan.p, e, sql), nil
}

// EndpointRollupSQL returns endpoint e's rollup version reading this compiled rollup's table
// (a deployed version's "<rollup>_vN" included).
func (ra *RollupArtifacts) EndpointRollupSQL(e *datasources.Endpoint) (string, error) {
	sql, err := ra.plan.query(clickhouseTarget(ra.plan.p.Database), endpointSpec(e, SideRollup))
	if err != nil {
		return "", fmt.Errorf("endpoint %q: %v", e.Name, err)
	}
	return sql, nil
}

// StagedRows returns a query giving the rows of each partition of a rollup-shaped table (a
// staging table filled for a group of partitions, or the rollup's table); it binds
// {db:String} and {table:String}.
func (ra *RollupArtifacts) StagedRows() string {
	return "SELECT partition_id, sum(rows) FROM system.parts WHERE database = {db:String} AND table = {table:String} AND active GROUP BY partition_id"
}

// StagingTables returns a query listing the rollup's staging tables; it binds {db:String} and
// {prefix:String} (StagingPrefix).
func (ra *RollupArtifacts) StagingTables() string {
	return "SELECT name FROM system.tables WHERE database = {db:String} AND startsWith(name, {prefix:String})"
}

// CountInRange returns a query counting the rows of db.table whose column is in
// [{start:DateTime}, {end:DateTime}).
func CountInRange(db, table, column string) string {
	c := ident.Quote(column)
	return "SELECT count() FROM " + ident.Qualified(db, table) + " WHERE " + c + " >= " + param(StartParam, TimeParamType) + " AND " + c + " < " + param(EndParam, TimeParamType)
}
