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

// target is where a read query runs: how tables are referenced, how the range bounds and the
// optional filters are written. ClickHouse binds {name:Type} parameters; Tinybird templates.
type target struct {
	table func(name string) string
	start string
	end   string
	// filter returns the WHERE line for an optional dimension filter: expr is the dimension
	// on the side being read, typ the parameter's type.
	filter func(expr, param, typ string) string
}

func clickhouseTarget(db string) target {
	return target{
		table: func(name string) string { return ident.Qualified(db, name) },
		start: param(StartParam, TimeParamType),
		end:   param(EndParam, TimeParamType),
		filter: func(expr, p, typ string) string {
			if typ == "String" {
				ph := param(p, typ)
				return "AND (" + ph + " = '' OR " + expr + " = " + ph + ")"
			}
			return "AND " + expr + " = " + param(p, typ)
		},
	}
}

// querySpec is a read over a rollup's metrics.
type querySpec struct {
	side    Side
	bucket  string
	groupBy []string
	metrics []string
	filters []*datasources.Filter
	params  []*datasources.Param
	orderBy []string
	limit   int
	// finished, when set, yields finished rows (a finals table's) under the aggregate's
	// aliases, read beside the aggregate; "" for none.
	finished func(keys, metrics []outColumn) (string, error)
}

// MetricsQuery returns a query computing the named metrics of rollup r (all of them if metrics
// is nil) over [{start:DateTime}, {end:DateTime}), per bucket ("" for totals, "hour" or "day")
// and per group-by dimension. SideRaw reads the source datasource with plain aggregates and the
// rollup's filter; SideRollup reads the rollup and finalises its states. Both sides return the
// same columns in the same order — the bucket (named "hour" or "day"), then the group-by
// dimensions, then the metrics (avg finalised) — ordered by bucket and dimensions.
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

func (rp *rollupPlan) metric(name string) *metricPlan {
	for _, m := range rp.metrics {
		if m.m.Name == name {
			return m
		}
	}
	return nil
}

// readWindow is the time range one aggregate of a read covers, as SQL.
type readWindow struct {
	start, end string
}

// stateSource returns what the aggregate of a read reads for a window: the FROM item and the
// WHERE items (time range and conditions, each after the first starting with AND). On the
// rollup side it yields the rollup's columns — hour, dimensions, state columns — on the raw
// side source rows. The read planner (see PlanRead) replaces the default (one table,
// tableSource) with a UNION ALL of segments, each restricted by filterConditions.
type stateSource func(w readWindow) (from string, where []string, err error)

// outColumn is one column of a read's result: the alias it has in the aggregate, its name.
type outColumn struct {
	alias, name string
	metric      *metricPlan
}

// dimExpr is a dimension on a side: its column in the rollup, its expression over source rows.
func (rp *rollupPlan) dimExpr(d *dimPlan, side Side) string {
	if side == SideRaw {
		return d.src
	}
	return ident.Quote(d.d.Name)
}

// filterConditions returns the WHERE items a call's parameters produce on one side (one per
// filter), dimExpr writing a dimension on that side. The time range is not among them: the
// caller's window (or the read plan) owns it. The read planner applies them to every segment.
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
		out = append(out, t.filter(dimExpr(d), f.Param, typ))
	}
	return out, nil
}

// tableSource is the state source of a read of one table: the rollup (its hour column in the
// window) or, on the raw side, the source rows (the time column in the window, the rollup's
// filter), with the filter conditions.
func (rp *rollupPlan) tableSource(t target, q querySpec) stateSource {
	return func(w readWindow) (string, []string, error) {
		conds, err := rp.filterConditions(t, q, func(d *dimPlan) string { return rp.dimExpr(d, q.side) })
		if err != nil {
			return "", nil, err
		}
		var from string
		var where []string
		if q.side == SideRaw {
			from = t.table(rp.r.Source)
			where = append(where, rp.timeCol+" >= "+w.start, "AND "+rp.timeCol+" < "+w.end)
			if f := strings.TrimSpace(rp.r.Filter); f != "" {
				where = append(where, "AND ("+f+")")
			}
		} else {
			from = t.table(rp.r.Name)
			h := ident.Quote(HourColumn)
			where = append(where, h+" >= "+w.start, "AND "+h+" < "+w.end)
		}
		return from, append(where, conds...), nil
	}
}

// bucketExpr is the bucket of a read on a side: the hour, or the start of its day.
func (rp *rollupPlan) bucketExpr(bucket string, side Side) string {
	expr := ident.Quote(HourColumn)
	if side == SideRaw {
		expr = rp.hour
	}
	if bucket == "day" {
		return "toStartOfDay(" + expr + ")"
	}
	return expr
}

// aggregate writes the aggregate of a read: the bucket, the group-by dimensions and the
// metrics (final exprs on the rollup side, raw exprs on the raw side) over what src yields
// for window w, under reserved aliases (so no alias shadows a column a condition reads).
func (rp *rollupPlan) aggregate(q querySpec, src stateSource, w readWindow, keys, metrics []outColumn) (string, error) {
	from, where, err := src(w)
	if err != nil {
		return "", err
	}
	var sel, group []string
	for _, k := range keys {
		expr := rp.bucketExpr(q.bucket, q.side)
		if k.alias != "__hg_b" {
			expr = rp.dimExpr(rp.dimension(k.name), q.side)
		}
		sel = append(sel, expr+" AS "+ident.Quote(k.alias))
		group = append(group, ident.Quote(k.alias))
	}
	for _, m := range metrics {
		expr := m.metric.final
		if q.side == SideRaw {
			expr = m.metric.raw
		}
		sel = append(sel, expr+" AS "+ident.Quote(m.alias))
	}
	var b strings.Builder
	b.WriteString("    SELECT\n        " + strings.Join(sel, ",\n        ") + "\n")
	b.WriteString("    FROM " + from + "\n")
	if len(where) > 0 {
		b.WriteString("    WHERE " + strings.Join(where, "\n        ") + "\n")
	}
	if len(group) > 0 {
		b.WriteString("    GROUP BY " + strings.Join(group, ", ") + "\n")
	}
	return b.String(), nil
}

func (rp *rollupPlan) query(t target, q querySpec) (string, error) {
	return rp.read(t, q, rp.tableSource(t, q))
}

// read writes a whole read: the aggregate over src for the call's range wrapped in the
// finalising select — the output columns named, ORDER BY and LIMIT. With q.finished (finals,
// see PlanRead) the finished rows it yields are read beside the aggregate. The read planner
// calls it with its own state source.
func (rp *rollupPlan) read(t target, q querySpec, src stateSource) (string, error) {
	switch q.side {
	case SideRaw, SideRollup:
	default:
		return "", fmt.Errorf("unknown side %q: use %q or %q", q.side, SideRaw, SideRollup)
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
	var defaultOrder []string
	switch q.bucket {
	case "":
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
	}
	names := q.metrics
	if names == nil {
		for _, m := range rp.metrics {
			names = append(names, m.m.Name)
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

	order := defaultOrder
	if len(q.orderBy) > 0 {
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

	inner, err := rp.aggregate(q, src, readWindow{start: t.start, end: t.end}, keys, metrics)
	if err != nil {
		return "", err
	}
	if q.finished != nil {
		done, err := q.finished(keys, metrics)
		if err != nil {
			return "", err
		}
		if done != "" {
			inner = done + "    UNION ALL\n" + inner
		}
	}
	var outer []string
	for _, c := range append(append([]outColumn{}, keys...), metrics...) {
		outer = append(outer, ident.Quote(c.alias)+" AS "+ident.Quote(c.name))
	}
	var b strings.Builder
	b.WriteString("SELECT\n    " + strings.Join(outer, ",\n    ") + "\nFROM\n(\n")
	b.WriteString(inner)
	b.WriteString(")")
	if len(order) > 0 {
		b.WriteString("\nORDER BY " + strings.Join(order, ", "))
	}
	if q.limit > 0 {
		fmt.Fprintf(&b, "\nLIMIT %d", q.limit)
	}
	return b.String(), nil
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
	sel := rp.populateSelect(ident.Qualified(p.Database, rp.local(rp.r.Source)), lit, "")
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
		side: side, bucket: e.Bucket, groupBy: e.GroupBy, metrics: e.Metrics,
		filters: e.Filters, params: e.Params, orderBy: e.OrderBy, limit: e.Limit,
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
