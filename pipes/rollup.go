package pipes

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

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
	derived []*metricPlan
	// over is the plan of the rollup this one reads when its source is a rollup (a derived
	// table); overTable the table of that rollup's version populate reads.
	over      *rollupPlan
	overTable string
	orderBy   []string // column names
	// nullableKey is set when a sorting-key column is Nullable.
	nullableKey bool
}

type dimPlan struct {
	d   *datasources.Dimension
	typ *chtype.Type
	src string // expression over source columns
}

// metricPlan is the compiled faces of one metric (see docs/model.md): its state columns
// (with the state exprs filling them), its raw, final and reference exprs, the type of its
// value and how validate compares it. A derived metric has no state columns.
type metricPlan struct {
	m    *datasources.Metric        // nil for a derived metric
	d    *datasources.DerivedMetric // nil for a stored metric
	name string
	cols []Column // state columns, with Expr
	// raw is the aggregate computing the value from source rows; final the one computing it
	// from state columns; ref what validate compares final with (raw, except for member
	// metrics: the set of the group's values).
	raw, final, ref string
	// arg and argType are the argument over source rows ("" for row counts).
	arg     string
	argType *chtype.Type
	// valueType is the value's ClickHouse type ("" when only the engine knows: derived).
	valueType string
	cmp       compareRule
	// inputs are the metrics a derived metric uses.
	inputs []string
}

// compareRule is how validate compares a metric's two sides (docs/model.md): exactly, within
// a relative tolerance (float, or a stated tolerance), element by element (array), by
// membership in the reference's set of values (member), or not at all (skip: a derived
// metric whose value depends on which value a member metric kept).
type compareRule struct {
	numeric, float, array, member, skip bool
	tolerance                           float64
	// sketch, for a uniq_combined count, is where two exact computations may still differ;
	// sketchInputs, for a derived metric, the uniq_combined counts it is computed from.
	sketch       *Sketch
	sketchInputs []string
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
	var over *rollupPlan
	if src == nil {
		sr := p.Rollup(source)
		if sr == nil || sr == r {
			return nil, fail("source datasource %q is not declared", r.Source)
		}
		if p.Cluster != "" {
			return nil, fail("reads rollup %q: a rollup over a rollup is not supported on a cluster yet (a shard's sessions would miss the other shards' events); read the datasource %q", sr.Name, sr.Source)
		}
		if r.Mode == datasources.ModeTrigger {
			return nil, fail("reads rollup %q: a rollup over a rollup is populated, never triggered; use mode: scheduled", sr.Name)
		}
		if r.Span <= 0 {
			return nil, fail("reads rollup %q but has no span: write the longest an entity of %q lasts, e.g. span: 4h", sr.Name, sr.Name)
		}
		var err error
		if over, err = planRollup(p, sr, options{target: opts.target}); err != nil {
			return nil, err
		}
		if over.over != nil {
			return nil, fail("reads rollup %q, which reads a rollup itself: one level only", sr.Name)
		}
		src = over.entitySource()
	} else if r.Span != 0 {
		return nil, fail("span is only for a rollup reading another rollup: remove it")
	}
	rp := &rollupPlan{p: p, r: r, opts: opts, target: opts.target, src: src, over: over}
	if over != nil {
		rp.overTable = over.r.Name
		if opts.overTable != "" {
			rp.overTable = opts.overTable
		}
	}
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
	for _, d := range r.Derived {
		if err := ident.Check(d.Name); err != nil {
			return nil, errAt(d.Pos, "rollup %q: derived metric: %v", r.Name, err)
		}
		if err := use(d.Name, d.Pos); err != nil {
			return nil, err
		}
		mp, err := rp.planDerived(d)
		if err != nil {
			return nil, errAt(d.Pos, "rollup %q: derived metric %q: %v", r.Name, d.Name, err)
		}
		rp.derived = append(rp.derived, mp)
	}
	if err := rp.planOrderBy(); err != nil {
		return nil, err
	}
	return rp, nil
}

// entitySource is what a rollup reading this one sees as its source rows: one row per value
// of its dimensions (an entity, such as a session) holding the dimensions and every metric's
// value, named after them.
func (rp *rollupPlan) entitySource() *datasources.Datasource {
	d := &datasources.Datasource{Name: rp.r.Name, Pos: rp.r.Pos}
	for _, dp := range rp.dims {
		d.Columns = append(d.Columns, &datasources.Column{Name: dp.d.Name, Type: dp.typ.String()})
	}
	for _, mp := range rp.metrics {
		d.Columns = append(d.Columns, &datasources.Column{Name: mp.name, Type: mp.valueType})
	}
	return d
}

// spanSeconds is the span of a rollup over a rollup, in seconds.
func (rp *rollupPlan) spanSeconds() string {
	return strconv.FormatInt(int64(rp.r.Span/time.Second), 10)
}

// entityRows writes the rows of the source rollup a rollup over a rollup reads, for hours
// [lower, upper) widened by its span on both sides: one row per entity, each value
// finalised (side SideRollup: from the source rollup's table, through table) or computed
// from raw rows (side SideRaw or SideReference: from the raw datasource the source rollup
// reads, with its filter). An entity belongs to the hours of its time column (e.g. a session
// to the hour of its first hit), which only a read of its whole span can tell.
func (rp *rollupPlan) entityRows(table func(string) string, side Side, lower, upper string) string {
	o := rp.over
	span := " INTERVAL " + rp.spanSeconds() + " SECOND"
	var inner, outer, group, where []string
	i := 0
	add := func(expr, name string, key bool) {
		alias := ident.Quote(fmt.Sprintf("__hg_e%d", i))
		i++
		inner = append(inner, expr+" AS "+alias)
		outer = append(outer, alias+" AS "+ident.Quote(name))
		if key {
			group = append(group, alias)
		}
	}
	var from string
	if side == SideRollup {
		from = table(rp.overTable)
		h := ident.Quote(HourColumn)
		where = append(where, h+" >= "+lower+" -"+span, h+" < "+upper+" +"+span)
		for _, d := range o.dims {
			add(ident.Quote(d.d.Name), d.d.Name, true)
		}
		for _, m := range o.metrics {
			add(m.final, m.name, false)
		}
	} else {
		from = table(o.r.Source)
		where = append(where, o.timeCol+" >= "+lower+" -"+span, o.timeCol+" < "+upper+" +"+span)
		if f := strings.TrimSpace(o.r.Filter); f != "" {
			where = append(where, "("+f+")")
		}
		for _, d := range o.dims {
			add(d.src, d.d.Name, true)
		}
		for _, m := range o.metrics {
			add(m.raw, m.name, false)
		}
	}
	var b strings.Builder
	b.WriteString("(\n    SELECT " + strings.Join(outer, ", ") + "\n    FROM\n    (\n")
	b.WriteString("        SELECT " + strings.Join(inner, ", ") + "\n")
	b.WriteString("        FROM " + from + "\n")
	b.WriteString("        WHERE " + strings.Join(where, " AND ") + "\n")
	b.WriteString("        GROUP BY " + strings.Join(group, ", ") + "\n    )\n)")
	return b.String()
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

// value reads, on one row, the value a column written by simpleState holds: the column
// itself, or finalizeAggregation of its state.
func (rp *rollupPlan) value(col string) string {
	if rp.target.NoSimpleAggregateFunction {
		return "finalizeAggregation(" + ident.Quote(col) + ")"
	}
	return ident.Quote(col)
}

// merge reads a column written by simpleState across rows: fn(col), or fnMerge(col).
func (rp *rollupPlan) merge(fn, col string) string {
	if rp.target.NoSimpleAggregateFunction {
		return fn + "Merge(" + ident.Quote(col) + ")"
	}
	return fn + "(" + ident.Quote(col) + ")"
}

// arg returns a metric's argument over source rows and its type: its column, or its
// expression cast to its declared type (so the state, the raw side and every reader agree on
// the type). Kinds that count rows take none: "" and nil.
func (rp *rollupPlan) arg(m *datasources.Metric) (string, *chtype.Type, error) {
	switch {
	case m.Expr != "":
		if m.Column != "" {
			return "", nil, fmt.Errorf("both column and expr: keep one")
		}
		if m.Type == "" {
			return "", nil, fmt.Errorf("expr needs a type: write the ClickHouse type of the expression, e.g. type: String")
		}
		t, err := chtype.Parse(m.Type)
		if err != nil {
			return "", nil, fmt.Errorf("type: %v", err)
		}
		return "CAST((" + m.Expr + ") AS " + t.String() + ")", t, nil
	case m.Column != "":
		t, err := rp.colType(m.Column)
		if err != nil {
			return "", nil, err
		}
		return ident.Quote(m.Column), t, nil
	}
	switch m.Kind {
	case datasources.MetricCount, datasources.MetricCountIf:
		return "", nil, nil
	}
	return "", nil, fmt.Errorf("no column given")
}

// formatNumber writes a number for SQL: the shortest form that reads back exactly.
func formatNumber(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// quantilesFunc is the DDSketch function of a quantiles metric with its parameters:
// quantilesDD(accuracy, level, …).
func quantilesFunc(m *datasources.Metric) string {
	acc := m.Accuracy
	if acc == 0 {
		acc = datasources.DefaultQuantileAccuracy
	}
	parts := []string{formatNumber(acc)}
	for _, l := range m.Levels {
		parts = append(parts, formatNumber(l))
	}
	return "quantilesDD(" + strings.Join(parts, ", ") + ")"
}

// QuantileTolerance is the relative tolerance validate holds a quantiles metric of relative
// accuracy acc to: the raw rows and the merged hourly sketches each estimate a quantile within
// acc of the true value, so they may differ by up to about twice that.
func QuantileTolerance(acc float64) float64 {
	if acc == 0 {
		acc = datasources.DefaultQuantileAccuracy
	}
	return 2 * acc
}

func (rp *rollupPlan) planMetric(m *datasources.Metric) (*metricPlan, error) {
	mp := &metricPlan{m: m, name: m.Name}
	name := ident.Quote(m.Name)
	needIf := func() error {
		if strings.TrimSpace(m.If) == "" {
			return fmt.Errorf("%s needs an if condition", m.Kind)
		}
		return nil
	}
	col, t, err := rp.arg(m)
	if err != nil {
		return nil, err
	}
	mp.arg, mp.argType = col, t
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
	// byValue says how a metric whose value is of the argument's type compares.
	byValue := func() {
		mp.valueType = stripLowCardinality(t).String()
		mp.cmp = compareRule{numeric: t.IsNumeric(), float: t.IsFloat()}
	}
	counted := compareRule{numeric: true}
	switch m.Kind {
	case datasources.MetricCount:
		agg := "count(" + col + ")"
		if err := oneSimple("sum", "UInt64", agg, rp.merge("sum", m.Name)); err != nil {
			return nil, err
		}
		mp.valueType, mp.cmp = "UInt64", counted
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
		mp.valueType, mp.cmp = "UInt64", counted
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
		mp.valueType, mp.cmp = st, compareRule{numeric: true, float: t.IsFloat()}
	case datasources.MetricMin, datasources.MetricMax, datasources.MetricAny, datasources.MetricAnyLast:
		fn := map[datasources.MetricKind]string{
			datasources.MetricMin: "min", datasources.MetricMax: "max",
			datasources.MetricAny: "any", datasources.MetricAnyLast: "anyLast",
		}[m.Kind]
		if (m.Kind == datasources.MetricMin || m.Kind == datasources.MetricMax) && !t.IsComparable() {
			return nil, fmt.Errorf("%s of a %s column is not supported", m.Kind, t)
		}
		if isAggregateType(t) {
			return nil, fmt.Errorf("%s of a %s column: it is already an aggregate state", m.Kind, t)
		}
		agg := fn + "(" + col + ")"
		st := stripLowCardinality(t).String()
		// min/max/any over a SimpleAggregateFunction column keep its type: cast back to the
		// plain type so both sides of a read return the same columns.
		if err := oneSimple(fn, st, agg, "CAST("+rp.merge(fn, m.Name)+" AS "+st+")"); err != nil {
			return nil, err
		}
		byValue()
		if m.Kind == datasources.MetricAny || m.Kind == datasources.MetricAnyLast {
			// Which value any keeps is unspecified: the rollup's must be one of the group's.
			mp.cmp.member = true
			mp.ref = "groupUniqArray(" + col + ")"
		}
	case datasources.MetricUniq, datasources.MetricUniqExact, datasources.MetricUniqCombined, datasources.MetricUniqIf, datasources.MetricCountDistinctIf:
		if isAggregateType(t) {
			return nil, fmt.Errorf("%s of a %s column: it is already an aggregate state", m.Kind, t)
		}
		fn := DistinctFunction(m)
		state, raw := Combinator(fn, "State")+"("+col+")", fn+"("+col+")"
		argType := stripLowCardinality(t)
		if m.Kind == datasources.MetricUniqIf || m.Kind == datasources.MetricCountDistinctIf {
			if err := needIf(); err != nil {
				return nil, err
			}
			// -StateIf keeps the state of the plain function, merged like any uniq; NULLs are
			// skipped, so its argument type is never Nullable.
			state, raw = Combinator(fn, "StateIf")+"("+col+", "+m.If+")", Combinator(fn, "If")+"("+col+", "+m.If+")"
			if argType.IsNullable() {
				argType = argType.Args[0]
			}
		}
		one("AggregateFunction("+fn+", "+argType.String()+")", state, raw, Combinator(fn, "Merge")+"("+name+")")
		mp.valueType, mp.cmp = "UInt64", counted
		mp.cmp.sketch = SketchOf(m)
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
		byValue()
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
		mp.valueType, mp.cmp = "Float64", compareRule{numeric: true, float: true}
	case datasources.MetricQuantiles:
		if !t.IsNumeric() {
			return nil, fmt.Errorf("quantiles of a %s column: use a number column", t)
		}
		if len(m.Levels) == 0 {
			return nil, fmt.Errorf("quantiles needs levels, e.g. levels: [0.75, 0.95]")
		}
		if rp.target.NoDDSketch {
			return nil, fmt.Errorf("kind quantiles is stored as a DDSketch (quantilesDD), which needs ClickHouse ≥ %s and %s lacks: use a newer server, or leave the metric out", DDSketchSince, rp.target.server())
		}
		fn := quantilesFunc(m)
		merge := strings.Replace(fn, "quantilesDD(", "quantilesDDMerge(", 1)
		one("AggregateFunction("+fn+", "+stripLowCardinality(t).String()+")",
			strings.Replace(fn, "quantilesDD(", "quantilesDDState(", 1)+"("+col+")", fn+"("+col+")", merge+"("+name+")")
		mp.valueType = "Array(Float64)"
		mp.cmp = compareRule{numeric: true, float: true, array: true, tolerance: QuantileTolerance(m.Accuracy)}
	default:
		return nil, fmt.Errorf("unknown kind %q", m.Kind)
	}
	if mp.ref == "" {
		mp.ref = mp.raw
	}
	return mp, nil
}

// isAggregateType reports whether t holds aggregate states.
func isAggregateType(t *chtype.Type) bool {
	n := t.Base().Name
	return n == "AggregateFunction" || n == "SimpleAggregateFunction"
}

// planDerived plans a derived metric: its final and raw exprs are its expression with every
// metric name replaced by that metric's (earlier derived ones included). It has no state.
// It compares through its inputs: never when one of them is compared by membership (its
// value depends on which member any kept), else as a number held to the sum of its inputs'
// stated tolerances.
func (rp *rollupPlan) planDerived(d *datasources.DerivedMetric) (*metricPlan, error) {
	if strings.TrimSpace(d.Expr) == "" {
		return nil, fmt.Errorf("no expr")
	}
	mp := &metricPlan{d: d, name: d.Name, valueType: "", cmp: compareRule{numeric: true, float: true}}
	used := 0
	var unknown []string
	sub := func(face func(*metricPlan) string) string {
		return ident.ReplaceRefs(d.Expr, func(n string) (string, bool) {
			in := rp.metric(n)
			if in == nil {
				if !ident.IsKeyword(n) && !slices.Contains(unknown, n) {
					unknown = append(unknown, n)
				}
				return "", false
			}
			return "(" + face(in) + ")", true
		})
	}
	mp.final = sub(func(in *metricPlan) string { return in.final })
	mp.raw = sub(func(in *metricPlan) string { return in.raw })
	for _, r := range ident.Refs(d.Expr) {
		if in := rp.metric(r.Name); in != nil {
			used++
			mp.inputs = append(mp.inputs, in.name)
			mp.cmp.tolerance += in.cmp.tolerance
			if in.cmp.member || in.cmp.skip {
				mp.cmp.skip = true
			}
			if in.cmp.sketch != nil && !slices.Contains(mp.cmp.sketchInputs, in.name) {
				mp.cmp.sketchInputs = append(mp.cmp.sketchInputs, in.name)
			}
			for _, n := range in.cmp.sketchInputs {
				if !slices.Contains(mp.cmp.sketchInputs, n) {
					mp.cmp.sketchInputs = append(mp.cmp.sketchInputs, n)
				}
			}
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("expr uses %s, which is not a metric of the rollup declared before it", strings.Join(unknown, ", "))
	}
	if used == 0 {
		return nil, fmt.Errorf("expr uses no metric")
	}
	mp.ref = mp.raw
	return mp, nil
}

// DistinctFunction is the ClickHouse aggregate function a distinct-count metric computes, on
// the raw side and (with -State, -Merge) on every rollup side alike: uniq, uniqExact or
// uniqCombined(precision). "" for other kinds.
func DistinctFunction(m *datasources.Metric) string {
	switch m.Kind {
	case datasources.MetricUniq, datasources.MetricUniqIf:
		return "uniq"
	case datasources.MetricUniqExact, datasources.MetricCountDistinctIf:
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
// reference. A rollup over a rollup reads the source rollup's entities instead, its table
// referenced through table.
func (rp *rollupPlan) populateSelect(from string, table func(string) string, lower, upper string) string {
	src, where := rp.rowSource(table, SideRollup, lower, upper)
	if rp.over == nil {
		src = from
	}
	return stateSelect(rp.columns(), src, where)
}

// stateSelect writes the SELECT computing columns cols (their Expr over source rows, the
// metric states grouped by the others) from the rows of from that every item of where holds.
// Aggregation runs in an inner query under reserved __hg_ aliases, so no alias can shadow a
// source column used by a condition; the outer query names the columns.
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
		b.WriteString("    WHERE " + joinConditions(where) + "\n")
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
