package pipes

import (
	"fmt"
	"strings"

	"github.com/hourglass-dev/hourglass/chtype"
	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/ident"
)

// HourColumn is the name of the hour bucket column of every rollup.
const HourColumn = "hour"

// HourType is the type of the hour column.
const HourType = "DateTime('UTC')"

// ExprDimensionType is the type of expression dimensions: the compiler cannot know an
// expression's type without the engine, so expression dimensions are stored as
// toString(<expr>) in a String column, on the rollup and the raw side alike.
const ExprDimensionType = "String"

// tenantDimensions are the dimension names that lead the default sorting key, in the order
// they are declared in the rollup.
var tenantDimensions = map[string]bool{
	"workspace_id": true, "team_id": true, "tenant_id": true, "project_id": true,
	"campaign_id": true, "environment": true, "account_id": true, "org_id": true,
}

// rollupPlan is a rollup resolved against its source: every expression and type it needs.
type rollupPlan struct {
	p *datasources.Project
	// r is the rollup with Name the table reads go to and Source the table raw reads go to:
	// on a cluster the Distributed tables, or for one shard (opts.shard) the local ones.
	r       *datasources.Rollup
	opts    options
	target  Target
	src     *datasources.Datasource
	hour    string // source expression of the hour bucket
	timeCol string // quoted source time column
	dims    []*dimPlan
	metrics []*metricPlan
	orderBy []string // column names
	// nullableKey is set when a sorting-key column is Nullable.
	nullableKey bool
}

type dimPlan struct {
	d   *datasources.Dimension
	typ *chtype.Type
	src string // expression over source columns
}

type metricPlan struct {
	m     *datasources.Metric
	cols  []Column // state columns, with Expr
	raw   string   // raw aggregate over source columns
	final string   // finalisation over rollup columns
}

func planRollup(p *datasources.Project, r *datasources.Rollup, opts options) (*rollupPlan, error) {
	fail := func(format string, args ...any) error {
		return errAt(r.Pos, "rollup %q: %s", r.Name, fmt.Sprintf(format, args...))
	}
	if err := ident.Check(r.Name); err != nil {
		return nil, errAt(r.Pos, "rollup: %v", err)
	}
	if r.Granularity != "" && r.Granularity != datasources.GranularityHour {
		return nil, fail("granularity %q is not supported: use %q", r.Granularity, datasources.GranularityHour)
	}
	switch r.Partition {
	case "", datasources.PartitionDay, datasources.PartitionMonth:
	default:
		return nil, fail("partition %q: use %q or %q", r.Partition, datasources.PartitionDay, datasources.PartitionMonth)
	}
	switch r.Mode {
	case "", datasources.ModeScheduled, datasources.ModeTrigger:
	default:
		return nil, fail("mode %q: use %q or %q", r.Mode, datasources.ModeScheduled, datasources.ModeTrigger)
	}
	source := r.Source
	if opts.shard {
		source = strings.TrimSuffix(source, datasources.LocalSuffix)
	}
	src := p.Datasource(source)
	if src == nil {
		return nil, fail("source datasource %q is not declared", r.Source)
	}
	rp := &rollupPlan{p: p, r: r, opts: opts, target: opts.target, src: src}
	tt, err := rp.colType(r.TimeColumn)
	if err != nil {
		return nil, fail("time column: %v", err)
	}
	rp.timeCol = ident.Quote(r.TimeColumn)
	switch {
	case tt.IsNullable():
		return nil, fail("time column %q is %s: use a non-Nullable DateTime", r.TimeColumn, tt)
	case tt.Base().Name == "DateTime":
		rp.hour = "toStartOfHour(" + rp.timeCol + ", 'UTC')"
	case tt.Base().Name == "DateTime64":
		rp.hour = "toStartOfHour(toDateTime(" + rp.timeCol + ", 'UTC'))"
	default:
		return nil, fail("time column %q is %s: use DateTime or DateTime64", r.TimeColumn, tt)
	}

	names := map[string]bool{HourColumn: true}
	use := func(name string, pos datasources.Pos) error {
		if err := ident.Check(name); err != nil {
			return errAt(pos, "rollup %q: %v", r.Name, err)
		}
		if names[name] {
			return errAt(pos, "rollup %q: column name %q is used twice (%q is reserved for the hour)", r.Name, name, HourColumn)
		}
		if strings.HasPrefix(name, "__hg_") {
			return errAt(pos, "rollup %q: column name %q: the prefix __hg_ is reserved", r.Name, name)
		}
		names[name] = true
		return nil
	}
	for _, d := range r.Dimensions {
		if err := use(d.Name, d.Pos); err != nil {
			return nil, err
		}
		dp := &dimPlan{d: d}
		switch {
		case d.Column != "" && d.Expr != "":
			return nil, errAt(d.Pos, "rollup %q: dimension %q has both a column and an expression: keep one", r.Name, d.Name)
		case d.Column != "":
			t, err := rp.colType(d.Column)
			if err != nil {
				return nil, errAt(d.Pos, "rollup %q: dimension %q: %v", r.Name, d.Name, err)
			}
			dp.typ, dp.src = t, ident.Quote(d.Column)
		case d.Expr != "":
			dp.typ, dp.src = chtype.MustParse(ExprDimensionType), "toString("+d.Expr+")"
		default:
			return nil, errAt(d.Pos, "rollup %q: dimension %q needs a column or an expression", r.Name, d.Name)
		}
		rp.dims = append(rp.dims, dp)
	}
	if len(r.Metrics) == 0 {
		return nil, fail("no metrics")
	}
	for _, m := range r.Metrics {
		mp, err := rp.planMetric(m)
		if err != nil {
			return nil, errAt(m.Pos, "rollup %q: metric %q: %v", r.Name, m.Name, err)
		}
		if err := ident.Check(m.Name); err != nil {
			return nil, errAt(m.Pos, "rollup %q: metric: %v", r.Name, err)
		}
		for _, c := range mp.cols {
			if err := use(c.Name, m.Pos); err != nil {
				return nil, err
			}
		}
		rp.metrics = append(rp.metrics, mp)
	}
	if err := rp.planOrderBy(); err != nil {
		return nil, err
	}
	return rp, nil
}

func (rp *rollupPlan) colType(name string) (*chtype.Type, error) {
	if name == "" {
		return nil, fmt.Errorf("no column given")
	}
	c := rp.src.Column(name)
	if c == nil {
		return nil, fmt.Errorf("datasource %q has no column %q", rp.src.Name, name)
	}
	t, err := chtype.Parse(c.Type)
	if err != nil {
		return nil, fmt.Errorf("column %q: %v", name, err)
	}
	return t, nil
}

func (rp *rollupPlan) planOrderBy() error {
	r := rp.r
	if len(r.OrderBy) > 0 {
		seen := map[string]bool{}
		for _, n := range r.OrderBy {
			if n != HourColumn && r.Dimension(n) == nil {
				return errAt(r.Pos, "rollup %q: order_by %q is neither %q nor a dimension", r.Name, n, HourColumn)
			}
			if seen[n] {
				return errAt(r.Pos, "rollup %q: order_by lists %q twice", r.Name, n)
			}
			seen[n] = true
			rp.orderBy = append(rp.orderBy, n)
		}
		// AggregatingMergeTree merges rows with equal sorting keys, so the key must hold the
		// hour and every dimension: complete a partial order_by in declaration order.
		if !seen[HourColumn] {
			rp.orderBy = append(rp.orderBy, HourColumn)
		}
		for _, d := range rp.dims {
			if !seen[d.d.Name] {
				rp.orderBy = append(rp.orderBy, d.d.Name)
			}
		}
	} else {
		for _, d := range rp.dims {
			if tenantDimensions[d.d.Name] {
				rp.orderBy = append(rp.orderBy, d.d.Name)
			}
		}
		rp.orderBy = append(rp.orderBy, HourColumn)
		for _, d := range rp.dims {
			if !tenantDimensions[d.d.Name] {
				rp.orderBy = append(rp.orderBy, d.d.Name)
			}
		}
	}
	for _, n := range rp.orderBy {
		for _, d := range rp.dims {
			if d.d.Name == n && d.typ.IsNullable() {
				rp.nullableKey = true
			}
		}
	}
	return nil
}

// stripLowCardinality removes LowCardinality wrappers, keeping Nullable: aggregate functions
// take and return the plain type.
func stripLowCardinality(t *chtype.Type) *chtype.Type {
	switch {
	case t.Name == "LowCardinality" && len(t.Args) == 1:
		return stripLowCardinality(t.Args[0])
	case t.Name == "Nullable" && len(t.Args) == 1:
		return &chtype.Type{Name: "Nullable", Args: []*chtype.Type{stripLowCardinality(t.Args[0])}}
	}
	return t
}

// sumType is the result type of sum(t): Int64 for signed integers, UInt64 for unsigned ones and
// Bool, Float64 for floats, Decimal(38, S) (or Decimal(76, S) past 38 digits) for decimals, the
// same 128/256-bit integer for wide ones; Nullable when t is.
func sumType(t *chtype.Type) (string, error) {
	b := t.Base()
	var s string
	switch {
	case b.Name == "Int128" || b.Name == "Int256" || b.Name == "UInt128" || b.Name == "UInt256":
		s = b.Name
	case t.IsSignedInt():
		s = "Int64"
	case t.IsUnsignedInt():
		s = "UInt64"
	case t.IsFloat():
		s = "Float64"
	case t.IsDecimal():
		prec, scale := 0, ""
		switch b.Name {
		case "Decimal32":
			prec = 9
		case "Decimal64":
			prec = 18
		case "Decimal128":
			prec = 38
		case "Decimal256":
			prec = 76
		}
		switch {
		case b.Name == "Decimal" && len(b.Args) == 2:
			fmt.Sscan(b.Args[0].Literal, &prec)
			scale = b.Args[1].Literal
		case b.Name == "Decimal" && len(b.Args) == 1:
			fmt.Sscan(b.Args[0].Literal, &prec)
			scale = "0"
		case len(b.Args) == 1:
			scale = b.Args[0].Literal
		default:
			return "", fmt.Errorf("cannot read precision and scale of %s", t)
		}
		if prec > 38 {
			s = "Decimal(76, " + scale + ")"
		} else {
			s = "Decimal(38, " + scale + ")"
		}
	default:
		return "", fmt.Errorf("cannot sum a %s column", t)
	}
	if t.IsNullable() {
		s = "Nullable(" + s + ")"
	}
	return s, nil
}

// simpleState returns the column type and the state expression of a metric column holding
// fn over the per-group value agg of type typ: SimpleAggregateFunction(fn, typ) filled with
// agg itself, or — on servers without SimpleAggregateFunction — AggregateFunction(fn, typ)
// filled with arrayReduce('fnState', [agg]), the state of that one value. Either way the
// stored hour holds exactly agg and reads merge hours with fn (see merge).
//
// The AggregateFunction form cannot keep a NULL result (the state of NULL reads back as
// 0), so a Nullable value is refused there rather than stored inexactly.
func (rp *rollupPlan) simpleState(fn, typ, agg string) (colType, expr string, err error) {
	if !rp.target.NoSimpleAggregateFunction {
		return "SimpleAggregateFunction(" + fn + ", " + typ + ")", agg, nil
	}
	if strings.HasPrefix(typ, "Nullable(") {
		return "", "", fmt.Errorf("its value is %s: %s lacks SimpleAggregateFunction (ClickHouse < %s), and the AggregateFunction(%s, …) state that replaces it cannot hold NULL exactly — use a non-Nullable column, or a server ≥ %s",
			typ, rp.target.server(), SimpleAggregateFunctionSince, fn, SimpleAggregateFunctionSince)
	}
	return "AggregateFunction(" + fn + ", " + typ + ")", "arrayReduce('" + fn + "State', [" + agg + "])", nil
}

// merge reads a column written by simpleState across rows: fn(col), or fnMerge(col).
func (rp *rollupPlan) merge(fn, col string) string {
	if rp.target.NoSimpleAggregateFunction {
		return fn + "Merge(" + ident.Quote(col) + ")"
	}
	return fn + "(" + ident.Quote(col) + ")"
}

func (rp *rollupPlan) planMetric(m *datasources.Metric) (*metricPlan, error) {
	mp := &metricPlan{m: m}
	name := ident.Quote(m.Name)
	needIf := func() error {
		if strings.TrimSpace(m.If) == "" {
			return fmt.Errorf("%s needs an if condition", m.Kind)
		}
		return nil
	}
	var (
		t   *chtype.Type
		col string
	)
	switch m.Kind {
	case datasources.MetricCount, datasources.MetricCountIf:
		if m.Column != "" {
			var err error
			if t, err = rp.colType(m.Column); err != nil {
				return nil, err
			}
			col = ident.Quote(m.Column)
		}
	default:
		var err error
		if t, err = rp.colType(m.Column); err != nil {
			return nil, err
		}
		col = ident.Quote(m.Column)
	}
	one := func(typ, state, raw, final string) {
		mp.cols = []Column{{Name: m.Name, Type: typ, Role: RoleMetric, Metric: m.Name, Expr: state}}
		mp.raw, mp.final = raw, final
	}
	// oneSimple is one for a metric stored through simpleState.
	oneSimple := func(fn, typ, agg, final string) error {
		ct, state, err := rp.simpleState(fn, typ, agg)
		if err != nil {
			return err
		}
		one(ct, state, agg, final)
		return nil
	}
	switch m.Kind {
	case datasources.MetricCount:
		agg := "count(" + col + ")"
		if err := oneSimple("sum", "UInt64", agg, rp.merge("sum", m.Name)); err != nil {
			return nil, err
		}
	case datasources.MetricCountIf:
		if err := needIf(); err != nil {
			return nil, err
		}
		agg := "countIf(" + m.If + ")"
		if col != "" {
			agg = "countIf(" + col + ", " + m.If + ")"
		}
		if err := oneSimple("sum", "UInt64", agg, rp.merge("sum", m.Name)); err != nil {
			return nil, err
		}
	case datasources.MetricSum, datasources.MetricSumIf:
		st, err := sumType(t)
		if err != nil {
			return nil, err
		}
		agg := "sum(" + col + ")"
		if m.Kind == datasources.MetricSumIf {
			if err := needIf(); err != nil {
				return nil, err
			}
			agg = "sumIf(" + col + ", " + m.If + ")"
		}
		if err := oneSimple("sum", st, agg, rp.merge("sum", m.Name)); err != nil {
			return nil, err
		}
	case datasources.MetricMin, datasources.MetricMax:
		if !t.IsComparable() {
			return nil, fmt.Errorf("%s of a %s column is not supported", m.Kind, t)
		}
		fn := string(m.Kind)
		agg := fn + "(" + col + ")"
		st := stripLowCardinality(t).String()
		// min/max over a SimpleAggregateFunction column keep its type: cast back to the plain
		// type so both sides of a read return the same columns.
		if err := oneSimple(fn, st, agg, "CAST("+rp.merge(fn, m.Name)+" AS "+st+")"); err != nil {
			return nil, err
		}
	case datasources.MetricUniq, datasources.MetricUniqExact, datasources.MetricUniqCombined:
		fn := DistinctFunction(m)
		one("AggregateFunction("+fn+", "+stripLowCardinality(t).String()+")",
			Combinator(fn, "State")+"("+col+")", fn+"("+col+")", Combinator(fn, "Merge")+"("+name+")")
	case datasources.MetricArgMin, datasources.MetricArgMax:
		bt, err := rp.colType(m.By)
		if err != nil {
			return nil, fmt.Errorf("by: %v", err)
		}
		if !bt.IsComparable() {
			return nil, fmt.Errorf("by column %q is %s, which cannot be ordered", m.By, bt)
		}
		fn := "argMin"
		if m.Kind == datasources.MetricArgMax {
			fn = "argMax"
		}
		by := ident.Quote(m.By)
		one("AggregateFunction("+fn+", "+stripLowCardinality(t).String()+", "+stripLowCardinality(bt).String()+")",
			fn+"State("+col+", "+by+")", fn+"("+col+", "+by+")", fn+"Merge("+name+")")
	case datasources.MetricAvg:
		st, err := sumType(t)
		if err != nil {
			return nil, err
		}
		sumCol, countCol := m.Name+"_sum", m.Name+"_count"
		sumType, sumExpr, err := rp.simpleState("sum", st, "sum("+col+")")
		if err != nil {
			return nil, err
		}
		countType, countExpr, err := rp.simpleState("sum", "UInt64", "count("+col+")")
		if err != nil {
			return nil, err
		}
		mp.cols = []Column{
			{Name: sumCol, Type: sumType, Role: RoleMetric, Metric: m.Name, Expr: sumExpr},
			{Name: countCol, Type: countType, Role: RoleMetric, Metric: m.Name, Expr: countExpr},
		}
		mp.raw = "avg(" + col + ")"
		num := rp.merge("sum", sumCol)
		if t.IsDecimal() {
			num = "toFloat64(" + num + ")"
		}
		mp.final = num + " / " + rp.merge("sum", countCol)
	default:
		return nil, fmt.Errorf("unknown kind %q", m.Kind)
	}
	return mp, nil
}

// DistinctFunction is the ClickHouse aggregate function a distinct-count metric computes, on
// the raw side and (with -State, -Merge) on every rollup side alike: uniq, uniqExact or
// uniqCombined(precision). "" for other kinds.
func DistinctFunction(m *datasources.Metric) string {
	switch m.Kind {
	case datasources.MetricUniq:
		return "uniq"
	case datasources.MetricUniqExact:
		return "uniqExact"
	case datasources.MetricUniqCombined:
		p := m.Precision
		if p == 0 {
			p = datasources.DefaultPrecision
		}
		return fmt.Sprintf("uniqCombined(%d)", p)
	}
	return ""
}

// Combinator adds an aggregate function combinator to fn, before its parameters:
// Combinator("uniqCombined(14)", "State") is "uniqCombinedState(14)".
func Combinator(fn, suffix string) string {
	if i := strings.Index(fn, "("); i >= 0 {
		return fn[:i] + suffix + fn[i:]
	}
	return fn + suffix
}

// columns lists the rollup's columns in table order.
func (rp *rollupPlan) columns() []Column {
	cols := []Column{{Name: HourColumn, Type: HourType, Role: RoleHour, Expr: rp.hour}}
	for _, d := range rp.dims {
		cols = append(cols, Column{Name: d.d.Name, Type: d.typ.String(), Role: RoleDimension, Expr: d.src})
	}
	for _, m := range rp.metrics {
		cols = append(cols, m.cols...)
	}
	return cols
}

func (rp *rollupPlan) columnList() string {
	var names []string
	for _, c := range rp.columns() {
		names = append(names, ident.Quote(c.Name))
	}
	return strings.Join(names, ", ")
}

func (rp *rollupPlan) partitionExpr() string {
	if rp.r.Partition == datasources.PartitionMonth {
		return "toYYYYMM(" + ident.Quote(HourColumn) + ")"
	}
	return "toYYYYMMDD(" + ident.Quote(HourColumn) + ")"
}

func quoteList(names []string) string {
	var q []string
	for _, n := range names {
		q = append(q, ident.Quote(n))
	}
	return strings.Join(q, ", ")
}

func (rp *rollupPlan) sortingKey() string { return quoteList(rp.orderBy) }

// MaxPrimaryKey is the longest rollup primary key the compiler writes.
const MaxPrimaryKey = 8

// primaryKey is the prefix of the sorting key worth indexing, or nil when it is the whole key:
// up to and including "hour", extended to at most MaxPrimaryKey elements.
func (rp *rollupPlan) primaryKey() []string {
	k := rp.orderBy
	if len(k) <= MaxPrimaryKey {
		return nil
	}
	for i, n := range k {
		if n == HourColumn && i+1 > MaxPrimaryKey {
			return k[:i+1]
		}
	}
	return k[:MaxPrimaryKey]
}

// createTable writes the rollup DDL for a table of the given name; replicated asks for the
// Replicated engine when the project has a cluster, created ON CLUSTER (see onCluster).
// Without it the table is a staging table: never replicated, created on the host the
// statement runs on — where the populate unit that stages into it runs and later drops it.
func (rp *rollupPlan) createTable(name string, replicated bool) string {
	on := ""
	if replicated {
		on = rp.onCluster()
	}
	return rp.createTableOn(name, replicated, on)
}

// createTableOn is createTable with the ON CLUSTER clause given ("" for none).
func (rp *rollupPlan) createTableOn(name string, replicated bool, on string) string {
	return rp.createTableLayout(name, replicated, on, rp.partitionExpr(), RollupGranularity)
}

// createTableLayout writes the DDL of a table with the rollup's columns, engine and sorting
// key, partitioned by partitionExpr with index granules of granularity rows: the rollup's own
// tables, and its grains (see GrainArtifacts).
func (rp *rollupPlan) createTableLayout(name string, replicated bool, on, partitionExpr string, granularity int) string {
	p := rp.p
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + ident.Qualified(p.Database, name) + on + "\n(\n")
	writeColumns(&b, rp.columns())
	if p.Cluster != "" && replicated {
		b.WriteString("ENGINE = ReplicatedAggregatingMergeTree(" + replicaArgs(p, name) + ")\n")
	} else {
		b.WriteString("ENGINE = AggregatingMergeTree\n")
	}
	b.WriteString("PARTITION BY " + partitionExpr + "\n")
	b.WriteString("ORDER BY (" + rp.sortingKey() + ")")
	if pk := rp.primaryKey(); pk != nil {
		b.WriteString("\nPRIMARY KEY (" + quoteList(pk) + ")")
	}
	b.WriteString("\n" + tableSettings(granularity, rp.nullableKey))
	return b.String()
}

// writeColumns writes the column list of a CREATE TABLE, closing parenthesis included.
func writeColumns(b *strings.Builder, cols []Column) {
	for i, c := range cols {
		b.WriteString("    " + ident.Quote(c.Name) + " " + c.Type)
		if i < len(cols)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString(")\n")
}

// tableSettings is the SETTINGS clause of every table populate swaps partitions of.
//
// Replaced parts must leave the disk at once: a part REPLACE PARTITION made outdated but that
// is still on disk when the process stops is loaded as active again by the next process,
// doubling its partition. Populate waits for them to go before it records a unit done (see
// OutdatedParts). Small granules let a filter on the leading sorting-key columns read, and
// deserialise the states of, only its own rows.
func tableSettings(granularity int, nullableKey bool) string {
	s := fmt.Sprintf("SETTINGS old_parts_lifetime = 0, cleanup_delay_period = 1, cleanup_delay_period_random_add = 0, index_granularity = %d", granularity)
	if nullableKey {
		s += ", allow_nullable_key = 1"
	}
	return s
}

// populateSelect writes the SELECT computing the rollup's states from source rows with time
// column in [lower, upper) (either bound may be empty for none); from is the source table
// reference.
func (rp *rollupPlan) populateSelect(from, lower, upper string) string {
	var where []string
	if lower != "" {
		where = append(where, rp.timeCol+" >= "+lower)
	}
	if upper != "" {
		where = append(where, rp.timeCol+" < "+upper)
	}
	if f := strings.TrimSpace(rp.r.Filter); f != "" {
		where = append(where, "("+f+")")
	}
	for i := 1; i < len(where); i++ {
		where[i] = "AND " + where[i]
	}
	return stateSelect(rp.columns(), from, where)
}

// stateSelect writes the SELECT computing columns cols (their Expr over source rows, the
// metric states grouped by the others) from the rows of from that where holds (its items
// after the first start with AND). Aggregation runs in an inner query under reserved __hg_
// aliases, so no alias can shadow a source column used by a condition; the outer query names
// the columns.
func stateSelect(cols []Column, from string, where []string) string {
	var outer, inner, group []string
	for i, c := range cols {
		alias := ident.Quote(fmt.Sprintf("__hg_c%d", i))
		outer = append(outer, alias+" AS "+ident.Quote(c.Name))
		inner = append(inner, c.Expr+" AS "+alias)
		if c.Role != RoleMetric {
			group = append(group, alias)
		}
	}
	var b strings.Builder
	b.WriteString("SELECT\n    " + strings.Join(outer, ",\n    ") + "\nFROM\n(\n")
	b.WriteString("    SELECT\n        " + strings.Join(inner, ",\n        ") + "\n")
	b.WriteString("    FROM " + from + "\n")
	if len(where) > 0 {
		b.WriteString("    WHERE " + strings.Join(where, "\n        ") + "\n")
	}
	b.WriteString("    GROUP BY " + strings.Join(group, ", ") + "\n)")
	return b.String()
}

// onCluster is the ON CLUSTER clause of the rollup's DDL: the project's cluster, except for
// one shard's statements (opts.shard), which run on the host they are sent to.
func (rp *rollupPlan) onCluster() string {
	if rp.opts.shard {
		return ""
	}
	return onCluster(rp.p)
}

// local returns the local table under the table name: "<name>_local" when compiling a
// cluster project for the whole cluster; name itself on a single server and for one shard,
// whose names are local already.
func (rp *rollupPlan) local(name string) string {
	if rp.p.Cluster == "" || rp.opts.shard {
		return name
	}
	return name + datasources.LocalSuffix
}

// createDistributed writes the Distributed table name over local (the cluster's rollup or
// datasource, shardBy its sharding key or "" for none), or "" on a single server or for one
// shard.
func (rp *rollupPlan) createDistributed(name, local, shardBy string) string {
	if rp.p.Cluster == "" || rp.opts.shard {
		return ""
	}
	return distributedDDL(rp.p, name, local, shardBy)
}
