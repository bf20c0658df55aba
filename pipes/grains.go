package pipes

import (
	"fmt"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/chtype"
	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/ident"
	"github.com/hourglass-dev/hourglass/timerange"
)

// Grains above the hour. A rollup version T that declares grains also stores T_day (one row per
// day and dimension values) and T_week (per ISO week, Monday 00:00 UTC), with T's columns: the
// hour column holds the start of the period. They are built by merging states — T_day from T,
// T_week from T_day — with each metric's merge face (…MergeState, or the simple function of a
// SimpleAggregateFunction column), never from raw rows, so a grain holds exactly what T holds.
// Populate keeps them in step with T inside the unit that swaps T's partition (see
// GrainArtifacts.RebuildFrom), and reads use their whole periods (see PlanRead).

// Layout for reads: rollup tables use small index granules, so that a filter on the leading
// sorting-key columns (a tenant) reads — and deserialises the states of — only its own rows;
// coarse grains hold fewer, larger rows, in coarser partitions.
const (
	// RollupGranularity is the index_granularity of hourly rollup tables.
	RollupGranularity = 256
	// GrainGranularity is the index_granularity of grain and finals tables: a grain table
	// holds a few rows per tenant and period, so granules of 8 let a time range prune inside
	// each tenant's run of rows (measured: a day of the day grain, 180 → 56 rows read, 8.0 →
	// 4.2 ms).
	GrainGranularity = 8
)

// GrainArtifacts is one grain of a compiled rollup version.
type GrainArtifacts struct {
	Grain datasources.Grain
	// Table is "<table>_day" or "<table>_week" of the rollup version's table; From the table
	// it is merged from (the version's table for day, the day grain for week).
	Table, From string
	// CreateTable is its CREATE TABLE IF NOT EXISTS statement: the rollup's columns, sorting
	// key and engine, partitioned by PartitionExpr (toMonday(hour): the ISO week, for days and
	// weeks alike).
	CreateTable   string
	PartitionExpr string

	plan *rollupPlan
}

// compileGrains compiles the grains of a rollup version living in table.
func compileGrains(rp *rollupPlan, table string) ([]*GrainArtifacts, error) {
	if len(rp.r.Grains) == 0 {
		return nil, nil
	}
	if rp.p.Cluster != "" {
		return nil, errAt(rp.r.Pos, "rollup %q: grains are not supported on a cluster yet: remove grains (reads then merge the hourly states)", rp.r.Name)
	}
	var out []*GrainArtifacts
	from := table
	for _, g := range []datasources.Grain{datasources.GrainDay, datasources.GrainWeek} {
		if !rp.r.HasGrain(g) {
			continue
		}
		ga := &GrainArtifacts{Grain: g, Table: table + "_" + string(g), From: from, plan: rp}
		if err := ident.Check(ga.Table); err != nil {
			return nil, errAt(rp.r.Pos, "rollup %q: grain %s: %v", rp.r.Name, g, err)
		}
		// A unit rebuilds the grain partitions holding its hours, carrying their other periods
		// as they are. Partitions of an ISO week keep that carry small — at most six days of
		// the day grain, and nothing of the week grain, whose partition is its one period — so
		// an hourly populate costs the same whatever the history and the day of the month (a
		// year of week states carried on every populate cost 1.2 s; a month of them, 18 ms
		// more at the month's end than at its start, measured), while a read of a long range
		// still touches few parts (13 for 90 days).
		ga.PartitionExpr = "toMonday(" + ident.Quote(HourColumn) + ")"
		ga.CreateTable = ga.createTable(ga.Table)
		for _, c := range rp.columns() {
			if c.Role == RoleMetric {
				if _, err := mergeExpr(c); err != nil {
					return nil, errAt(rp.r.Pos, "rollup %q: grain %s: %v", rp.r.Name, g, err)
				}
			}
		}
		out = append(out, ga)
		from = ga.Table
	}
	return out, nil
}

// hashedDDL is the grain's part of the rollup version's hash: its DDL as grains were first
// compiled, the week grain partitioned by month. How a grain table is partitioned changes
// where its rows live, not what they hold, so it does not make a new version: deploy lays
// the table out again in place (see ReplaceFilled), and versions deployed before keep their
// hash.
func (ga *GrainArtifacts) hashedDDL() string {
	expr := ga.PartitionExpr
	if ga.Grain == datasources.GrainWeek {
		expr = "toYYYYMM(" + ident.Quote(HourColumn) + ")"
	}
	return ga.plan.createTableLayout(ga.Table, false, "", expr, GrainGranularity)
}

func (ga *GrainArtifacts) createTable(name string) string {
	return ga.plan.createTableLayout(name, false, "", ga.PartitionExpr, GrainGranularity)
}

// mergeExpr is the merge face of a state column: the expression merging its values across the
// rows of a coarser bucket into a value of the same column — sum(col) for
// SimpleAggregateFunction(sum, T), uniqCombinedMergeState(14)(col) for
// AggregateFunction(uniqCombined(14), T).
func mergeExpr(c Column) (string, error) {
	t, err := chtype.Parse(c.Type)
	if err != nil {
		return "", fmt.Errorf("column %s: %v", c.Name, err)
	}
	if len(t.Args) == 0 || t.Args[0].Name == "" {
		return "", fmt.Errorf("column %s of type %s is not an aggregate state", c.Name, c.Type)
	}
	fn := t.Args[0].String()
	switch t.Name {
	case "SimpleAggregateFunction":
		return fn + "(" + ident.Quote(c.Name) + ")", nil
	case "AggregateFunction":
		return Combinator(fn, "MergeState") + "(" + ident.Quote(c.Name) + ")", nil
	}
	return "", fmt.Errorf("column %s of type %s is not an aggregate state", c.Name, c.Type)
}

// PeriodStart returns the start of the grain's period holding t (UTC day, or the Monday of its
// ISO week).
func (ga *GrainArtifacts) PeriodStart(t time.Time) time.Time {
	return periodStart(ga.Grain, t)
}

func periodStart(g datasources.Grain, t time.Time) time.Time {
	d := time.Date(t.UTC().Year(), t.UTC().Month(), t.UTC().Day(), 0, 0, 0, 0, time.UTC)
	if g == datasources.GrainWeek {
		back := (int(d.Weekday()) + 6) % 7 // days since Monday
		d = d.AddDate(0, 0, -back)
	}
	return d
}

func periodEnd(g datasources.Grain, start time.Time) time.Time {
	if g == datasources.GrainWeek {
		return start.AddDate(0, 0, 7)
	}
	return start.AddDate(0, 0, 1)
}

// periodExpr is the SQL of the start of the grain's period holding the hour column.
func (ga *GrainArtifacts) periodExpr() string {
	h := ident.Quote(HourColumn)
	if ga.Grain == datasources.GrainWeek {
		return "toDateTime(toMonday(" + h + "), 'UTC')"
	}
	return "toStartOfDay(" + h + ")"
}

// partitionOf returns the partition of the grain table holding the period starting at start:
// its id and range, the ISO week (see PartitionExpr).
func (ga *GrainArtifacts) partitionOf(start time.Time) (string, timerange.Range) {
	p := periodStart(datasources.GrainWeek, start)
	return p.Format("20060102"), timerange.Range{Start: p, End: p.AddDate(0, 0, 7)}
}

// GrainUnit is the work keeping one partition of a grain table in step after the hours of a
// rollup range changed: the periods to merge again from the finer table (Periods), inside the
// partition PartitionID whose other periods are carried as they are.
type GrainUnit struct {
	Grain       datasources.Grain `json:"grain"`
	Table       string            `json:"table"`
	PartitionID string            `json:"partition_id"`
	Partition   timerange.Range   `json:"partition"`
	Periods     timerange.Range   `json:"periods"`
}

// Units returns the grain units that bring the grain in step after the hours of changed were
// recomputed in the finer table: every period that overlaps changed, grouped by the grain
// partition holding its start, in order.
func (ga *GrainArtifacts) Units(changed timerange.Range) []GrainUnit {
	if changed.Empty() {
		return nil
	}
	var out []GrainUnit
	for p := periodStart(ga.Grain, changed.Start); p.Before(changed.End); p = periodEnd(ga.Grain, p) {
		id, part := ga.partitionOf(p)
		if n := len(out); n > 0 && out[n-1].PartitionID == id {
			out[n-1].Periods.End = periodEnd(ga.Grain, p)
			continue
		}
		out = append(out, GrainUnit{Grain: ga.Grain, Table: ga.Table, PartitionID: id, Partition: part,
			Periods: timerange.Range{Start: p, End: periodEnd(ga.Grain, p)}})
	}
	return out
}

// The grain and finals rebuild statements bind PartitionStartParam and PartitionEndParam (the
// partition being rebuilt) beside {start:DateTime} and {end:DateTime}, the periods merged again.

// RebuildParams returns the parameters of RebuildFrom for a unit.
func (u GrainUnit) RebuildParams() map[string]any {
	return map[string]any{
		PartitionStartParam: u.Partition.Start, PartitionEndParam: u.Partition.End,
		StartParam: u.Periods.Start, EndParam: u.Periods.End,
	}
}

// CreateStagingNamed returns the DDL of a staging table for the grain: its columns,
// partitioning and sorting key.
func (ga *GrainArtifacts) CreateStagingNamed(name string) string { return ga.createTable(name) }

// RebuildFrom returns the INSERT filling staging with one partition of the grain table as it
// must be after its finer table changed: the partition's periods outside
// [{start:DateTime}, {end:DateTime}) carried from the grain table itself, and the periods inside
// merged again from source — the finer table (From), or a table of its shape holding what the
// finer table will: the staging table whose partitions are about to replace its own, so that
// the merge need not wait for the swaps. It binds PartitionStartParam and PartitionEndParam
// (the partition's range) and the periods' range (GrainUnit.RebuildParams).
func (ga *GrainArtifacts) RebuildFrom(staging, source string) string {
	h := ident.Quote(HourColumn)
	s, e := param(StartParam, TimeParamType), param(EndParam, TimeParamType)
	return carryAndRecompute(ga.plan.p.Database, staging, ga.Table, ga.columnNames(), ga.mergedFrom(source, h+" >= "+s+" AND "+h+" < "+e))
}

// CreateFilled returns the statements creating the grain table filled from its finer table
// as it is: built under a temporary name and renamed, so that the table either does not
// exist or holds every period its finer table does (deploy runs them when it is missing).
func (ga *GrainArtifacts) CreateFilled() []string {
	return createFilled(ga.plan.p.Database, ga.Table, ga.createTable, ga.columnNames(), ga.merged(""))
}

// ReplaceFilled returns the statements replacing the grain table, as it exists, by one filled
// from its finer table with the compiled layout (deploy runs them when the table's partition
// key is not PartitionExpr): built under a temporary name, then both renamed in one RENAME,
// so that readers always find the table whole.
func (ga *GrainArtifacts) ReplaceFilled() []string {
	return replaceFilled(ga.plan.p.Database, ga.Table, ga.createTable, ga.columnNames(), ga.merged(""))
}

// PartitionKey returns a query giving the partition key of the grain table as it exists (no
// row when it does not); it binds {db:String} and {table:String}. A swap into a table whose key
// is not PartitionExpr fails: deploy lays such a table out again (ReplaceFilled).
func (ga *GrainArtifacts) PartitionKey() string {
	return "SELECT partition_key FROM system.tables WHERE database = {db:String} AND name = {table:String}"
}

// LaidOut reports whether a grain table whose partition key the server reports as key
// (system.tables' partition_key) has the compiled layout, PartitionExpr: swaps of the compiled
// partitions into a table laid out otherwise fail.
func (ga *GrainArtifacts) LaidOut(key string) bool {
	bare := strings.NewReplacer("`", "", " ", "", "\n", "", "\t", "")
	return bare.Replace(key) == bare.Replace(ga.PartitionExpr)
}

// ReplacedTable is the name ReplaceFilled gives the table it replaces until it drops it: a
// table of that name is the leftover of a ReplaceFilled that stopped after its RENAME.
func (ga *GrainArtifacts) ReplacedTable() string { return replacedName(ga.Table) }

// DropReplaced returns the statement dropping ReplacedTable.
func (ga *GrainArtifacts) DropReplaced() string {
	return "DROP TABLE IF EXISTS " + ident.Qualified(ga.plan.p.Database, ga.ReplacedTable())
}

func replacedName(table string) string { return table + "__hg_old" }

func (ga *GrainArtifacts) columnNames() []string {
	var names []string
	for _, c := range ga.plan.columns() {
		names = append(names, ident.Quote(c.Name))
	}
	return names
}

// merged is the SELECT merging the finer table's rows (where: a condition on them, or "")
// into the grain's periods, naming the grain's columns. The merge runs under reserved
// aliases, so no output name shadows a column it reads.
func (ga *GrainArtifacts) merged(where string) string { return ga.mergedFrom(ga.From, where) }

// mergedFrom is merged reading source instead of the finer table.
func (ga *GrainArtifacts) mergedFrom(source, where string) string {
	rp := ga.plan
	var outer, inner, group []string
	for i, c := range rp.columns() {
		alias := ident.Quote(fmt.Sprintf("__hg_c%d", i))
		outer = append(outer, alias+" AS "+ident.Quote(c.Name))
		switch c.Role {
		case RoleHour:
			inner = append(inner, ga.periodExpr()+" AS "+alias)
			group = append(group, alias)
		case RoleDimension:
			inner = append(inner, ident.Quote(c.Name)+" AS "+alias)
			group = append(group, alias)
		default:
			m, _ := mergeExpr(c) // checked by compileGrains
			inner = append(inner, m+" AS "+alias)
		}
	}
	var b strings.Builder
	b.WriteString("SELECT " + strings.Join(outer, ", ") + "\nFROM\n(\n")
	b.WriteString("    SELECT\n        " + strings.Join(inner, ",\n        ") + "\n")
	b.WriteString("    FROM " + ident.Qualified(rp.p.Database, source) + "\n")
	if where != "" {
		b.WriteString("    WHERE " + where + "\n")
	}
	b.WriteString("    GROUP BY " + strings.Join(group, ", ") + "\n)")
	return b.String()
}

// carryAndRecompute writes the INSERT into staging of a derived table's partition
// [{partition_start}, {partition_end}): its rows outside [{start}, {end}) carried from table,
// and recomputed (a SELECT naming the columns) for the rest.
func carryAndRecompute(db, staging, table string, names []string, recomputed string) string {
	h := ident.Quote(HourColumn)
	ps, pe := param(PartitionStartParam, TimeParamType), param(PartitionEndParam, TimeParamType)
	s, e := param(StartParam, TimeParamType), param(EndParam, TimeParamType)
	cols := strings.Join(names, ", ")
	var b strings.Builder
	b.WriteString("INSERT INTO " + ident.Qualified(db, staging) + " (" + cols + ")\n")
	b.WriteString("SELECT " + cols + "\nFROM " + ident.Qualified(db, table) + "\n")
	b.WriteString("WHERE " + h + " >= " + ps + " AND " + h + " < " + pe + " AND NOT (" + h + " >= " + s + " AND " + h + " < " + e + ")\n")
	b.WriteString("UNION ALL\n")
	b.WriteString(recomputed)
	return b.String()
}

// createFilled returns the statements creating table filled by the SELECT fill under a
// temporary name, then renaming it: a crash leaves the table missing, never half filled.
func createFilled(db, table string, create func(name string) string, names []string, fill string) []string {
	tmp := table + "__hg_fill"
	return []string{
		"DROP TABLE IF EXISTS " + ident.Qualified(db, tmp),
		create(tmp),
		"INSERT INTO " + ident.Qualified(db, tmp) + " (" + strings.Join(names, ", ") + ")\n" + fill,
		"RENAME TABLE " + ident.Qualified(db, tmp) + " TO " + ident.Qualified(db, table),
	}
}

// replaceFilled is createFilled for a table that exists: the filled table takes its name and
// the old one is dropped. A crash before the RENAME leaves the old table in place; after it,
// the old table under its temporary name, dropped by the next run.
func replaceFilled(db, table string, create func(name string) string, names []string, fill string) []string {
	tmp, old := ident.Qualified(db, table+"__hg_fill"), ident.Qualified(db, replacedName(table))
	stmts := createFilled(db, table, create, names, fill)
	return append([]string{"DROP TABLE IF EXISTS " + old}, append(stmts[:len(stmts)-1],
		"RENAME TABLE "+ident.Qualified(db, table)+" TO "+old+", "+tmp+" TO "+ident.Qualified(db, table),
		"DROP TABLE IF EXISTS "+old)...)
}

// ReplacePartitionFrom returns the statement replacing the grain table's partition
// partitionID with the same partition of staging.
func (ga *GrainArtifacts) ReplacePartitionFrom(partitionID, staging string) string {
	return replacePartition(ga.plan.p.Database, ga.Table, partitionID, staging)
}

// DropPartition returns the statement dropping the grain table's partition partitionID (a
// rebuild whose result is empty).
func (ga *GrainArtifacts) DropPartition(partitionID string) string {
	return dropPartition(ga.plan.p.Database, ga.Table, partitionID)
}

// CountPartition returns a query counting the rows of a grain-shaped table in the partition
// [{partition_start:DateTime}, {partition_end:DateTime}).
func (ga *GrainArtifacts) CountPartition(table string) string {
	return countPartition(ga.plan.p.Database, table)
}

// countPartition counts the rows of db.table with hour in [{partition_start}, {partition_end}).
func countPartition(db, table string) string {
	h := ident.Quote(HourColumn)
	return "SELECT count() FROM " + ident.Qualified(db, table) + " WHERE " + h + " >= " +
		param(PartitionStartParam, TimeParamType) + " AND " + h + " < " + param(PartitionEndParam, TimeParamType)
}

// PurgeReplaced returns the statement deleting at once the parts a REPLACE PARTITION of the
// grain table made outdated (see RollupArtifacts.PurgeReplaced): it drops a partition that
// never exists, before any data hourglass accepts.
func (ga *GrainArtifacts) PurgeReplaced() string {
	id := "19700105" // a Monday before any data hourglass accepts
	if ga.Grain == datasources.GrainWeek {
		id = "197001"
	}
	return ga.DropPartition(id)
}

// CreateTables returns the CREATE statements of a new, empty rollup version: its table (one
// host's; on a cluster deploy adds the Distributed table), then its grain and finals tables.
// Deploy fills the derived tables of a version that already holds rows (CreateFilled).
func (ra *RollupArtifacts) CreateTables() []string {
	out := []string{ra.CreateTable}
	for _, g := range ra.Grains {
		out = append(out, g.CreateTable)
	}
	for _, f := range ra.Finals {
		out = append(out, f.CreateTable)
	}
	return out
}

// Grain returns the compiled grain g of the rollup version, or nil.
func (ra *RollupArtifacts) Grain(g datasources.Grain) *GrainArtifacts {
	for _, ga := range ra.Grains {
		if ga.Grain == g {
			return ga
		}
	}
	return nil
}

// MetricsQuery returns the query validate compares the grain with raw by: the named metrics
// (all when nil) per period of the grain — a column named after it ("day", "week") holding
// the period's start — and per groupBy dimension, over the periods in
// [{start:DateTime}, {end:DateTime}) (whole periods: the caller aligns the range). SideRaw
// computes them from raw rows with the raw faces (SideReference with the reference faces, as
// MetricsQuery does); SideRollup finalises the grain table's rows.
func (ga *GrainArtifacts) MetricsQuery(side Side, groupBy, metrics []string) (string, error) {
	rp := ga.plan
	t := clickhouseTarget(rp.p.Database)
	bucket := ident.Quote(HourColumn)
	from := t.table(ga.Table)
	where := []string{bucket + " >= " + t.start, bucket + " < " + t.end}
	if err := checkSide(side); err != nil {
		return "", err
	}
	if side.raw() {
		bucket = strings.Replace(ga.periodExpr(), ident.Quote(HourColumn), rp.hour, 1)
		from, where = rp.rowSource(t.table, side, t.start, t.end)
	}
	name := string(ga.Grain)
	sel := []string{bucket + " AS `__hg_b`"}
	outer := []string{"`__hg_b` AS " + ident.Quote(name)}
	group := []string{"`__hg_b`"}
	for i, g := range groupBy {
		d := rp.dimension(g)
		if d == nil {
			return "", fmt.Errorf("rollup %q has no dimension %q", rp.r.Name, g)
		}
		alias := ident.Quote(fmt.Sprintf("__hg_g%d", i))
		sel = append(sel, rp.dimExpr(d, side)+" AS "+alias)
		outer = append(outer, alias+" AS "+ident.Quote(g))
		group = append(group, alias)
	}
	if metrics == nil {
		for _, m := range rp.metrics {
			metrics = append(metrics, m.name)
		}
	}
	for i, n := range metrics {
		m := rp.metric(n)
		if m == nil {
			return "", fmt.Errorf("rollup %q has no metric %q", rp.r.Name, n)
		}
		expr := m.final
		switch side {
		case SideRaw:
			expr = m.raw
		case SideReference:
			expr = m.ref
		}
		alias := ident.Quote(fmt.Sprintf("__hg_m%d", i))
		sel = append(sel, expr+" AS "+alias)
		outer = append(outer, alias+" AS "+ident.Quote(n))
	}
	var b strings.Builder
	b.WriteString("SELECT\n    " + strings.Join(outer, ",\n    ") + "\nFROM\n(\n")
	b.WriteString("    SELECT\n        " + strings.Join(sel, ",\n        ") + "\n")
	b.WriteString("    FROM " + from + "\n")
	b.WriteString("    WHERE " + strings.Join(where, "\n        AND ") + "\n")
	b.WriteString("    GROUP BY " + strings.Join(group, ", ") + "\n)\nORDER BY " + strings.Join(append([]string{ident.Quote(name)}, quoteAll(groupBy)...), ", "))
	return b.String(), nil
}

// WholePeriods returns the whole periods of the grain inside rg.
func (ga *GrainArtifacts) WholePeriods(rg timerange.Range) timerange.Range {
	s := periodStart(ga.Grain, rg.Start)
	if s.Before(rg.Start) {
		s = periodEnd(ga.Grain, s)
	}
	e := periodStart(ga.Grain, rg.End)
	if e.Before(s) {
		e = s
	}
	return timerange.Range{Start: s, End: e}
}

func quoteAll(names []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, ident.Quote(n))
	}
	return out
}
