package pipes

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/ident"
	"github.com/hourglass-dev/hourglass/timerange"
)

// Final numbers where they are final. A time-series endpoint that asks for finals stores,
// beside the rollup version T it reads, the table "<endpoint>_final_<T>": per bucket and per
// declared combination of its filters, the endpoint's metrics finished (one GROUPING SETS
// query over T's states). A bucket's distinct count over one hour or day is final once the
// bucket is closed, so a call whose bucket, filters and range fit reads finished rows instead
// of merging states. Populate keeps the table in step with T inside the unit that swaps T's
// partition (RebuildFrom); validate compares it with raw per combination (CompareQueries).

// SetColumn is the finals table's column naming the filter combination of a row: bit i is
// set when the row is restricted to one value of the i-th filter dimension of FilterDims.
const SetColumn = "__hg_set"

// FinalsArtifacts is the finals table of one endpoint over one rollup version.
type FinalsArtifacts struct {
	// Endpoint is the endpoint the finals serve; Table "<endpoint>_final_<version table>".
	Endpoint *datasources.Endpoint
	Table    string
	// Bucket is the endpoint's bucket ("hour" or "day"), the period of a row.
	Bucket string
	// FilterDims are the dimensions of the combinations, in the endpoint's filter order;
	// Combos the combinations as set masks over them (see SetColumn).
	FilterDims []string
	Combos     []uint8
	// CreateTable is the CREATE TABLE IF NOT EXISTS statement.
	CreateTable string

	rp      *rollupPlan
	from    string // the version's table
	metrics []*metricPlan
	dims    []*dimPlan // filter dimensions, then the group-by ones not among them
}

// compileFinals compiles the finals of every endpoint of p that reads rollup def and asks for
// them, over the rollup version rp lives in (table).
func compileFinals(p *datasources.Project, def *datasources.Rollup, rp *rollupPlan, table string) ([]*FinalsArtifacts, error) {
	var out []*FinalsArtifacts
	for _, e := range p.Endpoints {
		if e.Rollup != def.Name || len(e.Finals) == 0 {
			continue
		}
		fa, err := newFinals(e, rp, table)
		if err != nil {
			return nil, errAt(e.Pos, "endpoint %q: finals: %v", e.Name, err)
		}
		out = append(out, fa)
	}
	return out, nil
}

func newFinals(e *datasources.Endpoint, rp *rollupPlan, table string) (*FinalsArtifacts, error) {
	if rp.p.Cluster != "" {
		return nil, fmt.Errorf("not supported on a cluster yet: remove finals")
	}
	if e.Bucket != "hour" && e.Bucket != "day" {
		return nil, fmt.Errorf("finished numbers are stored per bucket: give the endpoint bucket: hour or day")
	}
	fa := &FinalsArtifacts{Endpoint: e, Table: e.Name + "_final_" + table, Bucket: e.Bucket, rp: rp, from: table}
	if err := ident.Check(fa.Table); err != nil {
		return nil, err
	}
	var filtered []string
	for _, f := range e.Filters {
		if !slices.Contains(filtered, f.Dimension) {
			filtered = append(filtered, f.Dimension)
		}
	}
	used := map[string]bool{}
	for _, c := range e.Finals {
		for _, d := range c {
			if !slices.Contains(filtered, d) {
				return nil, fmt.Errorf("%q is not a dimension the endpoint filters by", d)
			}
			used[d] = true
		}
	}
	for _, d := range filtered {
		if used[d] {
			fa.FilterDims = append(fa.FilterDims, d)
		}
	}
	if len(fa.FilterDims) > 8 {
		return nil, fmt.Errorf("more than 8 filter dimensions in combinations")
	}
	for _, c := range e.Finals {
		mask := fa.Mask(c)
		if !slices.Contains(fa.Combos, mask) {
			fa.Combos = append(fa.Combos, mask)
		}
	}
	for _, n := range append(append([]string{}, fa.FilterDims...), e.GroupBy...) {
		d := rp.dimension(n)
		if d == nil {
			return nil, fmt.Errorf("rollup %q has no dimension %q", rp.r.Name, n)
		}
		if !slices.Contains(fa.dims, d) {
			fa.dims = append(fa.dims, d)
		}
	}
	stored, err := rp.storedMetrics(e.Metrics)
	if err != nil {
		return nil, err
	}
	fa.metrics = stored
	if fa.CreateTable, err = fa.createTable(fa.Table); err != nil {
		return nil, err
	}
	return fa, nil
}

// Mask returns the set mask of a combination of filter dimensions (see SetColumn).
func (fa *FinalsArtifacts) Mask(dims []string) uint8 {
	var m uint8
	for i, d := range fa.FilterDims {
		if slices.Contains(dims, d) {
			m |= 1 << i
		}
	}
	return m
}

// Serves reports whether the finals hold the combination of filter dimensions given (a call
// restricting exactly those), and its mask.
func (fa *FinalsArtifacts) Serves(given []string) (uint8, bool) {
	for _, d := range given {
		if !slices.Contains(fa.FilterDims, d) {
			return 0, false
		}
	}
	m := fa.Mask(given)
	return m, slices.Contains(fa.Combos, m)
}

// storedMetrics returns the stored metrics names need, in order: each stored metric named, and
// the stored inputs of each derived one (a derived metric is computed from its inputs' values).
func (rp *rollupPlan) storedMetrics(names []string) ([]*metricPlan, error) {
	var out []*metricPlan
	var add func(n string) error
	add = func(n string) error {
		m := rp.metric(n)
		if m == nil {
			return fmt.Errorf("rollup %q has no metric %q", rp.r.Name, n)
		}
		if m.d == nil {
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
			return nil
		}
		for _, in := range m.inputs {
			if err := add(in); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range names {
		if err := add(n); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// finishedFace is a metric's value over finished rows whose columns are the stored metrics'
// values: the column itself, or a derived metric's expression over them.
func (rp *rollupPlan) finishedFace(mp *metricPlan) string {
	if mp.d == nil {
		return ident.Quote(mp.name)
	}
	return ident.ReplaceRefs(mp.d.Expr, func(n string) (string, bool) {
		in := rp.metric(n)
		if in == nil {
			return "", false
		}
		return "(" + rp.finishedFace(in) + ")", true
	})
}

func (fa *FinalsArtifacts) columns() ([]Column, error) {
	cols := []Column{{Name: HourColumn, Type: HourType, Role: RoleHour}, {Name: SetColumn, Type: "UInt8"}}
	for _, d := range fa.dims {
		cols = append(cols, Column{Name: d.d.Name, Type: d.typ.String(), Role: RoleDimension})
	}
	for _, m := range fa.metrics {
		if m.valueType == "" {
			return nil, fmt.Errorf("metric %q: its finished value has no known type", m.name)
		}
		cols = append(cols, Column{Name: m.name, Type: m.valueType, Role: RoleMetric, Metric: m.name})
	}
	return cols, nil
}

func (fa *FinalsArtifacts) createTable(name string) (string, error) {
	cols, err := fa.columns()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + ident.Qualified(fa.rp.p.Database, name) + "\n(\n")
	writeColumns(&b, cols)
	key := []string{SetColumn}
	key = append(key, fa.FilterDims...)
	key = append(key, HourColumn)
	nullable := false
	for _, d := range fa.dims {
		if !slices.Contains(key, d.d.Name) {
			key = append(key, d.d.Name)
		}
		nullable = nullable || d.typ.IsNullable()
	}
	b.WriteString("ENGINE = MergeTree\n")
	b.WriteString("PARTITION BY toYYYYMM(" + ident.Quote(HourColumn) + ")\n")
	b.WriteString("ORDER BY (" + quoteList(key) + ")\n")
	b.WriteString(tableSettings(GrainGranularity, nullable))
	return b.String(), nil
}

// CreateStagingNamed returns the DDL of a staging table of the finals.
func (fa *FinalsArtifacts) CreateStagingNamed(name string) string {
	s, _ := fa.createTable(name) // compiled once without error
	return s
}

// bucketStart is the SQL of the start of the finals' bucket holding the rollup's hour column.
func (fa *FinalsArtifacts) bucketStart() string {
	if fa.Bucket == "day" {
		return "toStartOfDay(" + ident.Quote(HourColumn) + ")"
	}
	return ident.Quote(HourColumn)
}

// Units returns the units bringing the finals in step after the hours of changed were
// recomputed in the rollup version: every bucket overlapping changed, grouped by month (the
// finals' partition).
func (fa *FinalsArtifacts) Units(changed timerange.Range) []GrainUnit {
	if changed.Empty() {
		return nil
	}
	periods := timerange.Range{Start: floorBucket(fa.Bucket, changed.Start), End: ceilBucket(fa.Bucket, changed.End)}
	var out []GrainUnit
	for m := time.Date(periods.Start.Year(), periods.Start.Month(), 1, 0, 0, 0, 0, time.UTC); m.Before(periods.End); m = m.AddDate(0, 1, 0) {
		part := timerange.Range{Start: m, End: m.AddDate(0, 1, 0)}
		out = append(out, GrainUnit{Table: fa.Table, PartitionID: m.Format("200601"), Partition: part, Periods: periods.Intersect(part)})
	}
	return out
}

// RebuildFrom returns the INSERT filling staging with one month of the finals as it must be
// after the rollup version changed: the month's buckets outside [{start:DateTime},
// {end:DateTime}) carried from the finals table, those inside finished again from source — the
// version's table (From) or its staging table (see GrainArtifacts.RebuildFrom) — with one
// GROUPING SETS aggregation over every combination. It binds what GrainUnit.RebuildParams
// gives.
func (fa *FinalsArtifacts) RebuildFrom(staging, source string) string {
	h := ident.Quote(HourColumn)
	s, e := param(StartParam, TimeParamType), param(EndParam, TimeParamType)
	return carryAndRecompute(fa.rp.p.Database, staging, fa.Table, fa.columnNames(), fa.finishedFrom(source, h+" >= "+s+" AND "+h+" < "+e))
}

// From returns the table the finals are finished from: the rollup version's.
func (fa *FinalsArtifacts) From() string { return fa.from }

// CreateFilled returns the statements creating the finals table filled from the rollup
// version as it is (see GrainArtifacts.CreateFilled).
func (fa *FinalsArtifacts) CreateFilled() []string {
	create := func(name string) string { return fa.CreateStagingNamed(name) }
	return createFilled(fa.rp.p.Database, fa.Table, create, fa.columnNames(), fa.finished(""))
}

func (fa *FinalsArtifacts) columnNames() []string {
	cols, _ := fa.columns()
	var names []string
	for _, c := range cols {
		names = append(names, ident.Quote(c.Name))
	}
	return names
}

// finished is the SELECT finishing the version's states (where: a condition on them, or "")
// per bucket and combination, naming the finals' columns.
func (fa *FinalsArtifacts) finished(where string) string { return fa.finishedFrom(fa.from, where) }

// finishedFrom is finished reading source instead of the version's table.
func (fa *FinalsArtifacts) finishedFrom(source, where string) string {
	cols, _ := fa.columns()
	alias := func(i int) string { return ident.Quote(fmt.Sprintf("__hg_c%d", i)) }
	dimAlias := map[string]string{}
	for i, c := range cols {
		if c.Role == RoleDimension {
			dimAlias[c.Name] = alias(i)
		}
	}
	var outer, inner []string
	for i, c := range cols {
		outer = append(outer, alias(i)+" AS "+ident.Quote(c.Name))
		var expr string
		switch c.Role {
		case RoleHour:
			expr = fa.bucketStart()
		case RoleDimension:
			expr = ident.Quote(c.Name)
		case RoleMetric:
			expr = fa.rp.metric(c.Metric).final
		default:
			expr = fa.setExpr(dimAlias)
		}
		inner = append(inner, expr+" AS "+alias(i))
	}
	var sets []string
	for _, m := range fa.Combos {
		set := []string{alias(0)}
		for i, d := range fa.FilterDims {
			if m&(1<<i) != 0 {
				set = append(set, dimAlias[d])
			}
		}
		for _, d := range fa.Endpoint.GroupBy {
			if !slices.Contains(fa.FilterDims, d) {
				set = append(set, dimAlias[d])
			}
		}
		sets = append(sets, "("+strings.Join(set, ", ")+")")
	}
	var b strings.Builder
	b.WriteString("SELECT " + strings.Join(outer, ", ") + "\nFROM\n(\n")
	b.WriteString("    SELECT\n        " + strings.Join(inner, ",\n        ") + "\n")
	b.WriteString("    FROM " + ident.Qualified(fa.rp.p.Database, source) + "\n")
	if where != "" {
		b.WriteString("    WHERE " + where + "\n")
	}
	b.WriteString("    GROUP BY GROUPING SETS (" + strings.Join(sets, ", ") + ")\n)\n")
	b.WriteString("SETTINGS force_grouping_standard_compatibility = 1")
	return b.String()
}

// setExpr is the SQL of a row's set mask: bit i when the i-th filter dimension is grouped
// (grouping() is 0 for a grouped column in standard mode, which the statement asks for).
func (fa *FinalsArtifacts) setExpr(dimAlias map[string]string) string {
	if len(fa.FilterDims) == 0 {
		return "toUInt8(0)"
	}
	var terms []string
	for i, d := range fa.FilterDims {
		terms = append(terms, fmt.Sprintf("(1 - grouping(%s)) * %d", dimAlias[d], 1<<i))
	}
	return "toUInt8(" + strings.Join(terms, " + ") + ")"
}

// ReplacePartitionFrom returns the statement replacing a month of the finals with staging's.
func (fa *FinalsArtifacts) ReplacePartitionFrom(partitionID, staging string) string {
	return replacePartition(fa.rp.p.Database, fa.Table, partitionID, staging)
}

// DropPartition returns the statement dropping a month of the finals.
func (fa *FinalsArtifacts) DropPartition(partitionID string) string {
	return dropPartition(fa.rp.p.Database, fa.Table, partitionID)
}

// PurgeReplaced returns the statement deleting at once the parts a REPLACE PARTITION of the
// finals made outdated (see RollupArtifacts.PurgeReplaced).
func (fa *FinalsArtifacts) PurgeReplaced() string { return fa.DropPartition("197001") }

// CountPartition counts a finals-shaped table's rows in [{partition_start}, {partition_end}).
func (fa *FinalsArtifacts) CountPartition(table string) string {
	return countPartition(fa.rp.p.Database, table)
}

// Finals returns the finals of endpoint over this rollup version, or nil.
func (ra *RollupArtifacts) FinalsOf(endpoint string) *FinalsArtifacts {
	for _, fa := range ra.Finals {
		if fa.Endpoint.Name == endpoint {
			return fa
		}
	}
	return nil
}

// CompareQueries returns the queries validate compares one combination of the finals with
// raw by, over the buckets in [{start:DateTime}, {end:DateTime}) (whole buckets: the caller
// aligns the range): the endpoint's metrics per bucket, group-by dimension and dimension of
// the combination, from raw rows with the raw faces, and as the finals table holds them. keys
// are the columns rows are matched on. The raw side holds the reference faces (the set of a
// group's values for any and any_last), as MetricsQuery's SideReference.
func (fa *FinalsArtifacts) CompareQueries(mask uint8) (raw, finals string, keys []string, err error) {
	rp := fa.rp
	t := clickhouseTarget(rp.p.Database)
	keys = []string{fa.Bucket}
	var dims []*dimPlan
	for _, d := range fa.dims {
		i := slices.Index(fa.FilterDims, d.d.Name)
		if i >= 0 && mask&(1<<i) == 0 {
			continue
		}
		dims = append(dims, d)
		keys = append(keys, d.d.Name)
	}
	h := ident.Quote(HourColumn)
	build := func(side Side) string {
		bucket := h
		if side.raw() {
			bucket = strings.Replace(fa.bucketStart(), h, rp.hour, 1)
		}
		sel := []string{bucket + " AS `__hg_b`"}
		outer := []string{"`__hg_b` AS " + ident.Quote(fa.Bucket)}
		group := []string{"`__hg_b`"}
		for i, d := range dims {
			alias := ident.Quote(fmt.Sprintf("__hg_g%d", i))
			sel = append(sel, rp.dimExpr(d, side)+" AS "+alias)
			outer = append(outer, alias+" AS "+ident.Quote(d.d.Name))
			group = append(group, alias)
		}
		for i, m := range fa.metrics {
			expr := "any(" + ident.Quote(m.name) + ")" // one row per key in the finals
			if side.raw() {
				expr = m.ref
			}
			alias := ident.Quote(fmt.Sprintf("__hg_m%d", i))
			sel = append(sel, expr+" AS "+alias)
			outer = append(outer, alias+" AS "+ident.Quote(m.name))
		}
		from := t.table(fa.Table)
		where := []string{ident.Quote(SetColumn) + " = " + fmt.Sprint(mask), h + " >= " + t.start, h + " < " + t.end}
		if side.raw() {
			from, where = rp.rowSource(t.table, side, t.start, t.end)
		}
		var b strings.Builder
		b.WriteString("SELECT\n    " + strings.Join(outer, ",\n    ") + "\nFROM\n(\n")
		b.WriteString("    SELECT\n        " + strings.Join(sel, ",\n        ") + "\n")
		b.WriteString("    FROM " + from + "\n")
		b.WriteString("    WHERE " + strings.Join(where, "\n        AND ") + "\n")
		b.WriteString("    GROUP BY " + strings.Join(group, ", ") + "\n)")
		return b.String()
	}
	return build(SideReference), build(SideRollup), keys, nil
}

// Metrics are the metrics the finals hold, in order.
func (fa *FinalsArtifacts) Metrics() []string {
	var out []string
	for _, m := range fa.metrics {
		out = append(out, m.name)
	}
	return out
}

// WholeBuckets returns the whole buckets of the finals inside rg.
func (fa *FinalsArtifacts) WholeBuckets(rg timerange.Range) timerange.Range {
	s, e := ceilBucket(fa.Bucket, rg.Start), floorBucket(fa.Bucket, rg.End)
	if e.Before(s) {
		e = s
	}
	return timerange.Range{Start: s, End: e}
}
