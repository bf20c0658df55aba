package pipes

import (
	"fmt"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/ident"
)

// param writes a ClickHouse query parameter placeholder, {name:Type}.
func param(name, typ string) string { return "{" + name + ":" + typ + "}" }

// target is where a read query runs: how tables are referenced, how the range bounds, the
// filters and the paging are written. ClickHouse binds {name:Type} parameters; Tinybird
// templates.
type target struct {
	table func(name string) string
	start string
	end   string
	// condition returns the WHERE item of filter f on expr, the dimension on the side being
	// read; typ is the filter parameter's type. It holds only when the call gives the
	// parameter.
	condition func(f *datasources.Filter, expr, typ string) string
	// paging returns the value of a LIMIT or OFFSET taken from a parameter.
	paging func(pg *datasources.Paging) string
	// settings ends a statement that needs settings ("" when the target takes none).
	settings func(kv string) string
	// rangeWhere, when set, writes the call's range on a rollup's hour column as WHERE items
	// (instead of hour >= start AND hour < end): Tinybird's Date ranges.
	rangeWhere func(hour string) []string
}

// GivenParam is the name of the UInt8 parameter saying whether a call gives filter parameter
// name (1) or not (0): a filter applies only when its parameter is given, so an empty string
// is a value like any other. endpoints.Bind binds it.
func GivenParam(name string) string { return "__hg_has_" + name }

// filterSQL writes "expr <op> value" for a filter operator.
func filterSQL(op, expr, value string) string {
	switch op {
	case datasources.FilterIn:
		return "has(" + value + ", " + expr + ")"
	case datasources.FilterNotIn:
		return "NOT has(" + value + ", " + expr + ")"
	case "", datasources.FilterEq:
		return expr + " = " + value
	}
	return expr + " " + op + " " + value
}

func clickhouseTarget(db string) target {
	return target{
		table: func(name string) string { return ident.Qualified(db, name) },
		start: param(StartParam, TimeParamType),
		end:   param(EndParam, TimeParamType),
		condition: func(f *datasources.Filter, expr, typ string) string {
			return "(NOT " + param(GivenParam(f.Param), "UInt8") + " OR " + filterSQL(f.Op, expr, param(f.Param, typ)) + ")"
		},
		paging:   func(pg *datasources.Paging) string { return param(pg.Param, "UInt64") },
		settings: func(kv string) string { return "\nSETTINGS " + kv },
	}
}

// querySpec is a read over a rollup's metrics.
type querySpec struct {
	side    Side
	bucket  string
	fill    bool
	groupBy []string
	metrics []string
	filters []*datasources.Filter
	params  []*datasources.Param
	orderBy []string
	limit   int
	// limitParam and offsetParam page the result from parameters.
	limitParam, offsetParam *datasources.Paging
	compare                 string
	// finished, when set, yields the finished rows of window w (a finals table's, see
	// PlanRead) under the aggregate's aliases, their bucket moved by shift, read beside the
	// aggregate of the same window; "" for none.
	finished func(w readWindow, shift string, keys, metrics []outColumn) (string, error)
}

// MetricsQuery returns a query computing the named metrics of rollup r (all of them if metrics
// is nil) over [{start:DateTime}, {end:DateTime}), per bucket ("" for totals, "hour" or "day")
// and per group-by dimension. SideRaw reads the source datasource with plain aggregates and the
// rollup's filter; SideRollup reads the rollup and finalises its states; SideReference is
// SideRaw with the set of a group's values (groupUniqArray) for the metrics validate compares
// by membership (any, any_last). Every side returns the same columns in the same order — the
// bucket (named "hour", a DateTime, or "day", a Date), then the group-by dimensions, then the
// metrics (avg finalised) — ordered by bucket and dimensions. Derived metrics may be named;
// nil names every stored metric.
//
// It compiles r for a current server on a single node; RollupArtifacts.MetricsQuery reads what
// CompileFor compiled (another server's state types, a cluster's Distributed tables).
func MetricsQuery(p *datasources.Project, r *datasources.Rollup, side Side, bucket string, groupBy []string, metrics []string) (string, error) {
	if p == nil || r == nil {
		return "", fmt.Errorf("no project or rollup")
	}
	if err := ident.Check(p.Database); err != nil {
		return "", fmt.Errorf("database: %w", err)
	}
	rp, err := planRollup(p, r, options{})
	if err != nil {
		return "", err
	}
	return rp.query(clickhouseTarget(p.Database), querySpec{side: side, bucket: bucket, groupBy: groupBy, metrics: metrics})
}

func (rp *rollupPlan) dimension(name string) *dimPlan {
	for _, d := range rp.dims {
		if d.d.Name == name {
			return d
		}
	}
	return nil
}

// metric returns the plan of a stored or derived metric, or nil.
func (rp *rollupPlan) metric(name string) *metricPlan {
	for _, m := range rp.metrics {
		if m.name == name {
			return m
		}
	}
	for _, m := range rp.derived {
		if m.name == name {
			return m
		}
	}
	return nil
}

// readWindow is the time range one aggregate of a read covers, as SQL: the call's range, or
// (previous) the period of the same length just before it, for compare: previous_period.
type readWindow struct {
	start, end string
	previous   bool
}

// stateSource returns what an aggregate of a read reads for a window: the FROM item and the
// WHERE items (time range and conditions). On the rollup side it yields the rollup's
// columns — hour, dimensions, state columns — on the raw side source rows. The read planner
// (docs/model.md) replaces the default (one table, tableSource) with a UNION ALL of segments,
// each restricted by filterConditions.
type stateSource func(w readWindow) (from string, where []string, err error)

// raw reports whether a side reads source rows.
func (s Side) raw() bool { return s == SideRaw || s == SideReference }

func checkSide(s Side) error {
	switch s {
	case SideRaw, SideRollup, SideReference:
		return nil
	}
	return fmt.Errorf("unknown side %q: use %q, %q or %q", s, SideRaw, SideRollup, SideReference)
}

// dimExpr is a dimension on a side: its column in the rollup, its expression over source rows.
func (rp *rollupPlan) dimExpr(d *dimPlan, side Side) string {
	if side.raw() {
		return d.src
	}
	return ident.Quote(d.d.Name)
}

// filterConditions returns the WHERE items a call's parameters produce on one side (one per
// filter; each holds only when the call gives its parameter), dimExpr writing a dimension on
// that side. The time range is not among them: the caller's window (or the read plan) owns
// it. The read planner applies them to every segment.
func (rp *rollupPlan) filterConditions(t target, q querySpec, dimExpr func(*dimPlan) string) ([]string, error) {
	var out []string
	for _, f := range q.filters {
		d := rp.dimension(f.Dimension)
		if d == nil {
			return nil, errAt(f.Pos, "filter: rollup %q has no dimension %q", rp.r.Name, f.Dimension)
		}
		if err := ident.Check(f.Param); err != nil {
			return nil, errAt(f.Pos, "filter parameter: %v", err)
		}
		if f.Param == StartParam || f.Param == EndParam || strings.HasPrefix(f.Param, "__hg_") {
			return nil, errAt(f.Pos, "filter parameter %q is reserved for the time range", f.Param)
		}
		typ := "String"
		for _, p := range q.params {
			if p.Name == f.Param && p.Type != "" {
				typ = p.Type
			}
		}
		out = append(out, t.condition(f, dimExpr(d), typ))
	}
	return out, nil
}

// tableSource is the state source of a read of one table: the rollup (its hour column in the
// window) or, on the raw side, the source rows (the time column in the window, the rollup's
// filter; for a rollup over a rollup, its entities), with the filter conditions.
func (rp *rollupPlan) tableSource(t target, q querySpec) stateSource {
	return func(w readWindow) (string, []string, error) {
		conds, err := rp.filterConditions(t, q, func(d *dimPlan) string { return rp.dimExpr(d, q.side) })
		if err != nil {
			return "", nil, err
		}
		var from string
		var where []string
		if q.side.raw() {
			from, where = rp.rowSource(t.table, q.side, w.start, w.end)
		} else {
			from = t.table(rp.r.Name)
			h := ident.Quote(HourColumn)
			where = []string{h + " >= " + w.start, h + " < " + w.end}
			if t.rangeWhere != nil && !w.previous {
				where = t.rangeWhere(h)
			}
		}
		return from, append(where, conds...), nil
	}
}

// rowSource is the FROM item and WHERE items of the source rows a read or populate of hours
// [lower, upper) aggregates: the source datasource with the time column in range and the
// rollup's filter, or for a rollup over a rollup its entities whose time column is in range
// (see entityRows). Either bound may be "" for none (a trigger view reads every row after
// its watermark). side SideRollup reads a source rollup's table; raw sides raw rows.
func (rp *rollupPlan) rowSource(table func(string) string, side Side, lower, upper string) (string, []string) {
	var from string
	switch {
	case rp.over != nil:
		from = rp.entityRows(table, side, lower, upper)
	case table != nil:
		from = table(rp.r.Source)
	}
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
	return from, where
}

// outColumn is one column of a read's result: the alias it has in the aggregate, its name.
type outColumn struct {
	alias, name string
	metric      *metricPlan
}

// bucketExpr is the bucket of a read on a side: the hour (DateTime) or its day (a Date).
func (rp *rollupPlan) bucketExpr(bucket string, side Side) string {
	expr := ident.Quote(HourColumn)
	if side.raw() {
		expr = rp.hour
	}
	if bucket == "day" {
		return "toDate(" + expr + ")"
	}
	return expr
}

// aggregate writes one aggregate of a read: the bucket, the group-by dimensions and the
// metrics (final exprs on the rollup side, raw or reference exprs on the raw sides) over
// what src yields for window w, under reserved aliases (so no alias shadows a column a
// condition reads). shift moves the bucket by a SQL interval (the previous period's buckets
// onto the call's), or "".
func (rp *rollupPlan) aggregate(q querySpec, src stateSource, w readWindow, shift string, keys []outColumn, metrics []outColumn) (string, error) {
	from, where, err := src(w)
	if err != nil {
		return "", err
	}
	var sel, group []string
	for _, k := range keys {
		var expr string
		if k.alias == "__hg_b" {
			expr = rp.bucketExpr(q.bucket, q.side)
			if shift != "" {
				expr = expr + " + " + shift
			}
		} else {
			expr = rp.dimExpr(rp.dimension(k.name), q.side)
		}
		sel = append(sel, expr+" AS "+ident.Quote(k.alias))
		group = append(group, ident.Quote(k.alias))
	}
	for _, m := range metrics {
		expr := m.metric.final
		switch q.side {
		case SideRaw:
			expr = m.metric.raw
		case SideReference:
			expr = m.metric.ref
		}
		sel = append(sel, expr+" AS "+ident.Quote(m.alias))
	}
	var b strings.Builder
	b.WriteString("    SELECT\n        " + strings.Join(sel, ",\n        ") + "\n")
	b.WriteString("    FROM " + from + "\n")
	if len(where) > 0 {
		b.WriteString("    WHERE " + joinConditions(where) + "\n")
	}
	if len(group) > 0 {
		b.WriteString("    GROUP BY " + strings.Join(group, ", ") + "\n")
	}
	return b.String(), nil
}

func (rp *rollupPlan) query(t target, q querySpec) (string, error) {
	return rp.read(t, q, rp.tableSource(t, q))
}

// read writes a whole read: one aggregate over src for the call's range (and, with compare,
// one for the previous period) wrapped in the finalising select — the output columns named
// and typed (a day bucket is a Date), the previous period joined, ORDER BY with WITH FILL for
// a filled time series, LIMIT and OFFSET. The read planner calls it with its own state
// source, and with q.finished the finished rows of each window are read beside its aggregate.
func (rp *rollupPlan) read(t target, q querySpec, src stateSource) (string, error) {
	if err := checkSide(q.side); err != nil {
		return "", err
	}
	outNames := map[string]bool{}
	claim := func(name string) error {
		if outNames[name] {
			return fmt.Errorf("output column %q appears twice", name)
		}
		outNames[name] = true
		return nil
	}
	var keys, metrics []outColumn
	var defaultOrder, fillOrder []string
	switch q.bucket {
	case "":
		if q.fill {
			return "", fmt.Errorf("fill needs a bucket")
		}
	case "hour", "day":
		if err := claim(q.bucket); err != nil {
			return "", err
		}
		keys = append(keys, outColumn{alias: "__hg_b", name: q.bucket})
		defaultOrder = append(defaultOrder, ident.Quote(q.bucket))
	default:
		return "", fmt.Errorf("bucket %q: use \"\", \"hour\" or \"day\"", q.bucket)
	}
	for i, g := range q.groupBy {
		if rp.dimension(g) == nil {
			return "", fmt.Errorf("rollup %q has no dimension %q", rp.r.Name, g)
		}
		if err := claim(g); err != nil {
			return "", err
		}
		keys = append(keys, outColumn{alias: fmt.Sprintf("__hg_g%d", i), name: g})
		defaultOrder = append(defaultOrder, ident.Quote(g))
		fillOrder = append(fillOrder, ident.Quote(g))
	}
	names := q.metrics
	if names == nil {
		for _, m := range rp.metrics {
			names = append(names, m.name)
		}
	}
	if len(names) == 0 {
		return "", fmt.Errorf("no metrics asked for")
	}
	for i, n := range names {
		m := rp.metric(n)
		if m == nil {
			return "", fmt.Errorf("rollup %q has no metric %q", rp.r.Name, n)
		}
		if err := claim(n); err != nil {
			return "", err
		}
		metrics = append(metrics, outColumn{alias: fmt.Sprintf("__hg_m%d", i), name: n, metric: m})
	}
	var outer []string
	for _, k := range keys {
		outer = append(outer, ident.Quote(k.alias)+" AS "+ident.Quote(k.name))
	}
	part := func(w readWindow, shift string) (string, error) {
		agg, err := rp.aggregate(q, src, w, shift, keys, metrics)
		if err != nil || q.finished == nil {
			return agg, err
		}
		done, err := q.finished(w, shift, keys, metrics)
		if err != nil || done == "" {
			return agg, err
		}
		return done + "    UNION ALL\n" + agg, nil
	}
	cur, err := part(readWindow{start: t.start, end: t.end}, "")
	if err != nil {
		return "", err
	}
	var from string
	var settings []string
	switch q.compare {
	case "":
		for _, m := range metrics {
			outer = append(outer, ident.Quote(m.alias)+" AS "+ident.Quote(m.name))
		}
		from = "(\n" + cur + ")"
	case datasources.ComparePreviousPeriod:
		// The previous period has the call's length and ends where the call starts; its
		// buckets move by that length onto the call's, and the two join on the keys: a key
		// present in one period only gets zero metrics in the other.
		period := "dateDiff('second', " + t.start + ", " + t.end + ")"
		prevWindow := readWindow{start: "(" + t.start + " - toIntervalSecond(" + period + "))", end: t.start, previous: true}
		shift := "toIntervalSecond(" + period + ")"
		if q.bucket == "day" {
			shift = "toIntervalDay(intDiv(" + period + ", 86400))"
		}
		prev, err := part(prevWindow, shift)
		if err != nil {
			return "", err
		}
		for _, m := range metrics {
			c, p := "__hg_c."+ident.Quote(m.alias), "__hg_p."+ident.Quote(m.alias)
			for _, n := range []string{m.name + "_previous", m.name + "_change"} {
				if err := claim(n); err != nil {
					return "", fmt.Errorf("compare: %v", err)
				}
			}
			outer = append(outer, c+" AS "+ident.Quote(m.name), p+" AS "+ident.Quote(m.name+"_previous"))
			if m.metric.cmp.numeric && !m.metric.cmp.array {
				outer = append(outer, "if("+p+" = 0, NULL, (toFloat64("+c+") - toFloat64("+p+")) / toFloat64("+p+")) AS "+ident.Quote(m.name+"_change"))
			}
		}
		join := "CROSS JOIN"
		if len(keys) > 0 {
			var using []string
			for _, k := range keys {
				using = append(using, ident.Quote(k.alias))
			}
			join = "FULL OUTER JOIN"
			from = "(\n" + cur + ") AS __hg_c\n" + join + "\n(\n" + prev + ") AS __hg_p USING (" + strings.Join(using, ", ") + ")"
		} else {
			from = "(\n" + cur + ") AS __hg_c\n" + join + "\n(\n" + prev + ") AS __hg_p"
		}
		settings = append(settings, "join_use_nulls = 0")
	default:
		return "", fmt.Errorf("compare %q: use %q", q.compare, datasources.ComparePreviousPeriod)
	}

	order := defaultOrder
	if q.fill {
		order = append(fillOrder, ident.Quote(q.bucket)+" "+rp.fillClause(t, q.bucket))
		if len(q.orderBy) > 0 {
			want := strings.Join(append(append([]string{}, q.groupBy...), q.bucket), ", ")
			var got []string
			for _, o := range q.orderBy {
				f := strings.Fields(o)
				if len(f) == 2 && strings.EqualFold(f[1], "asc") {
					f = f[:1]
				}
				got = append(got, strings.Join(f, " "))
			}
			if strings.Join(got, ", ") != want {
				return "", fmt.Errorf("fill orders rows by %s to fill each series: remove order_by", want)
			}
		}
	} else if len(q.orderBy) > 0 {
		order = nil
		for _, o := range q.orderBy {
			f := strings.Fields(o)
			if len(f) == 0 || len(f) > 2 || !outNames[f[0]] {
				return "", fmt.Errorf("order_by %q: use an output column name, optionally followed by ASC or DESC", o)
			}
			item := ident.Quote(f[0])
			if len(f) == 2 {
				dir := strings.ToUpper(f[1])
				if dir != "ASC" && dir != "DESC" {
					return "", fmt.Errorf("order_by %q: direction must be ASC or DESC", o)
				}
				item += " " + dir
			}
			order = append(order, item)
		}
	}
	if q.limit < 0 {
		return "", fmt.Errorf("limit %d: must not be negative", q.limit)
	}
	if q.limit > 0 && q.limitParam != nil {
		return "", fmt.Errorf("limit is both fixed and a parameter: keep one")
	}

	var b strings.Builder
	b.WriteString("SELECT\n    " + strings.Join(outer, ",\n    ") + "\nFROM\n" + from)
	if len(order) > 0 {
		b.WriteString("\nORDER BY " + strings.Join(order, ", "))
	}
	switch {
	case q.limit > 0:
		fmt.Fprintf(&b, "\nLIMIT %d", q.limit)
	case q.limitParam != nil:
		b.WriteString("\nLIMIT " + t.paging(q.limitParam))
	case q.offsetParam != nil:
		// OFFSET needs a LIMIT: the largest one.
		b.WriteString("\nLIMIT 18446744073709551615")
	}
	if q.offsetParam != nil {
		b.WriteString(" OFFSET " + t.paging(q.offsetParam))
	}
	if len(settings) > 0 && t.settings != nil {
		b.WriteString(t.settings(strings.Join(settings, ", ")))
	}
	return b.String(), nil
}

// joinConditions joins WHERE items with AND, one a line; a template item ("{% if … %}AND …
// {% end %}", a Tinybird filter) carries its own AND.
func joinConditions(where []string) string {
	var b strings.Builder
	for i, w := range where {
		switch {
		case i == 0:
		case strings.HasPrefix(w, "{%"):
			b.WriteString("\n        ")
		default:
			b.WriteString("\n        AND ")
		}
		b.WriteString(w)
	}
	return b.String()
}

// fillClause is the WITH FILL of a time series: every bucket of the call's range, the first
// and the last partial ones included.
func (rp *rollupPlan) fillClause(t target, bucket string) string {
	if bucket == "day" {
		return "WITH FILL FROM toDate(" + t.start + ") TO toDate(" + t.end + " - toIntervalSecond(1)) + 1 STEP toIntervalDay(1)"
	}
	return "WITH FILL FROM toStartOfHour(" + t.start + ") TO " + t.end + " STEP toIntervalHour(1)"
}

// TriggerViewSQL returns the CREATE MATERIALIZED VIEW statement of a trigger rollup: an
// insert trigger from the source into the rollup for rows with time column at or after
// watermark (the backfill covers the rows before it). Views cannot take parameters, so the
// watermark is written into the DDL as toDateTime('YYYY-MM-DD hh:00:00', 'UTC'); it must be
// hour-aligned. The view is never created with POPULATE.
func (ra *RollupArtifacts) TriggerViewSQL(watermark time.Time) (string, error) {
	if ra.Rollup.Mode != datasources.ModeTrigger {
		return "", fmt.Errorf("rollup %q is not a trigger rollup (mode %q)", ra.Rollup.Name, ra.Rollup.Mode)
	}
	lit, err := watermarkLiteral(watermark)
	if err != nil {
		return "", fmt.Errorf("rollup %q: %w", ra.Rollup.Name, err)
	}
	rp := ra.plan
	p := rp.p
	sel := rp.populateSelect(ident.Qualified(p.Database, rp.local(rp.r.Source)), nil, lit, "")
	return "CREATE MATERIALIZED VIEW IF NOT EXISTS " + ident.Qualified(p.Database, ra.TriggerView) + rp.onCluster() +
		" TO " + ident.Qualified(p.Database, ra.LocalTable) + "\nAS " + sel, nil
}

// watermarkLiteral validates an hour-aligned watermark and writes it as a UTC DateTime
// literal.
func watermarkLiteral(w time.Time) (string, error) {
	u := w.UTC()
	if u.Minute() != 0 || u.Second() != 0 || u.Nanosecond() != 0 {
		return "", fmt.Errorf("watermark %s is not hour-aligned", u.Format(time.RFC3339Nano))
	}
	if u.Year() < 1970 || u.Year() > 2105 {
		return "", fmt.Errorf("watermark %s is outside the DateTime range", u.Format(time.RFC3339))
	}
	return "toDateTime(" + ident.String(u.Format("2006-01-02 15:04:05")) + ", 'UTC')", nil
}

func endpointSpec(e *datasources.Endpoint, side Side) querySpec {
	return querySpec{
		side: side, bucket: e.Bucket, fill: e.Fill, groupBy: e.GroupBy, metrics: e.Metrics,
		filters: e.Filters, params: e.Params, orderBy: e.OrderBy, limit: e.Limit,
		limitParam: e.LimitParam, offsetParam: e.OffsetParam, compare: e.Compare,
	}
}

func compileEndpoint(p *datasources.Project, e *datasources.Endpoint, opts options) (*EndpointArtifacts, error) {
	if err := ident.Check(e.Name); err != nil {
		return nil, errAt(e.Pos, "endpoint: %v", err)
	}
	for _, prm := range e.Params {
		if err := ident.Check(prm.Name); err != nil {
			return nil, errAt(prm.Pos, "endpoint %q: parameter: %v", e.Name, err)
		}
	}
	r := p.Rollup(e.Rollup)
	if r == nil {
		return nil, errAt(e.Pos, "endpoint %q: rollup %q is not declared", e.Name, e.Rollup)
	}
	rp, err := planRollup(p, r, opts)
	if err != nil {
		return nil, err
	}
	ea := &EndpointArtifacts{Endpoint: e}
	t := clickhouseTarget(p.Database)
	if ea.RawSQL, err = rp.query(t, endpointSpec(e, SideRaw)); err != nil {
		return nil, errAt(e.Pos, "endpoint %q: %v", e.Name, err)
	}
	if ea.RollupSQL, err = rp.query(t, endpointSpec(e, SideRollup)); err != nil {
		return nil, errAt(e.Pos, "endpoint %q: %v", e.Name, err)
	}
	if ea.ReferenceSQL, err = rp.query(t, endpointSpec(e, SideReference)); err != nil {
		return nil, errAt(e.Pos, "endpoint %q: %v", e.Name, err)
	}
	ea.RawView = viewSQL(p, e, ea.RawSQL)
	ea.RollupView = viewSQL(p, e, ea.RollupSQL)
	return ea, nil
}

func viewSQL(p *datasources.Project, e *datasources.Endpoint, sql string) string {
	return "CREATE OR REPLACE VIEW " + ident.Qualified(p.Database, e.Name) + onCluster(p) + " AS\n" + sql
}

// EndpointViewSQL returns the CREATE OR REPLACE VIEW statement publishing endpoint e of
// project p as a ClickHouse parameterised view `db`.`<endpoint>`, reading side.
func EndpointViewSQL(p *datasources.Project, e *datasources.Endpoint, side Side) (string, error) {
	ea, err := compileEndpoint(p, e, options{})
	if err != nil {
		return "", err
	}
	switch side {
	case SideRaw:
		return ea.RawView, nil
	case SideRollup:
		return ea.RollupView, nil
	}
	return "", fmt.Errorf("unknown side %q", side)
}
