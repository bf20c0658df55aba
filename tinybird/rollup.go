package tinybird

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/ident"
	"github.com/hourglass-dev/hourglass/pipes"
)

// rollupT is a rollup imported from a materialized or copy pipe, under the name of the
// datasource the pipe writes into.
type rollupT struct {
	r      *datasources.Rollup
	pipe   *Pipe
	target *Datasource
	// bucket is the name of the target's time bucket column; day is set when the pipe
	// bucketed by day (the hourly rollup is finer, endpoints group it by day).
	bucket string
	day    bool
	// metrics maps a target column to the metric it holds (both avg columns of hourglass's
	// own rollups map to the avg metric).
	metrics map[string]*datasources.Metric
	// dropped are the target columns whose metric was not imported (already reported).
	dropped map[string]bool
}

// view is what a FROM clause gives a query: columns as expressions over a raw datasource's
// columns, and conditions over them.
type view struct {
	base *rawDS
	// cols maps a visible name to its expression; nil means every base column as itself.
	cols  map[string][]token
	order []string
	where [][]token
}

// lookup returns a visible column's expression.
func (v *view) lookup(name string) ([]token, bool) {
	if v.cols == nil {
		if v.base.d.Column(name) != nil {
			return []token{{kind: tIdent, raw: name, val: name}}, true
		}
		return nil, false
	}
	e, ok := v.cols[name]
	return e, ok
}

// subst rewrites an expression over the view's columns as one over the base columns.
func (v *view) subst(toks []token) []token {
	var out []token
	for i, t := range toks {
		// Not a call, a qualified name's second part, or an interval's unit (INTERVAL 1 hour).
		if t.kind == tIdent && !isKeyword(t) && !(i+1 < len(toks) && toks[i+1].is("(")) && !(i > 0 && (toks[i-1].is(".") || toks[i-1].kind == tNumber)) {
			if e, ok := v.lookup(t.val); ok {
				if len(e) == 1 || asCall(e) != nil {
					out = append(out, e...)
				} else {
					out = append(out, token{kind: tOp, raw: "(", val: "("})
					out = append(out, e...)
					out = append(out, token{kind: tOp, raw: ")", val: ")"})
				}
				continue
			}
		}
		out = append(out, t)
	}
	return out
}

// pipeError is why a pipe was not imported, at a line.
type pipeError struct {
	line int
	msg  string
}

func errAt(line int, format string, args ...any) *pipeError {
	return &pipeError{line, fmt.Sprintf(format, args...)}
}

// viewOf resolves a FROM clause of pipe p (whose earlier nodes are nodes) into a view over a
// raw datasource.
func (im *importer) viewOf(p *Pipe, nodes []*Node, f *from, depth int) (*view, *pipeError) {
	if depth > 10 {
		return nil, errAt(f.line, "nodes read each other more than ten levels deep")
	}
	if f.sub != nil {
		return im.projection(p, nodes, f.sub, depth)
	}
	for i := len(nodes) - 1; i >= 0; i-- {
		if nodes[i].Name == f.table {
			return im.projection(p, nodes[:i], im.queries[nodes[i]], depth)
		}
	}
	if r := im.raw[f.table]; r != nil {
		return &view{base: r}, nil
	}
	if q := im.pipes[f.table]; q != nil && q != p {
		if q.Type != "" {
			return nil, errAt(f.line, "reads the %s pipe %s: only plain pipes (no TYPE) are read through", q.Type, f.table)
		}
		last := q.Nodes[len(q.Nodes)-1]
		return im.projection(q, q.Nodes[:len(q.Nodes)-1], im.queries[last], depth)
	}
	if im.datasources[f.table] != nil {
		return nil, errAt(f.line, "reads %s, which a pipe fills: hourglass rollups read a raw datasource", f.table)
	}
	return nil, errAt(f.line, "reads %s, which was not imported", f.table)
}

// projection resolves a query that selects columns (no aggregation) into a view.
func (im *importer) projection(p *Pipe, nodes []*Node, q *query, depth int) (*view, *pipeError) {
	if len(q.parts) != 1 {
		return nil, errAt(q.line, "reads a UNION ALL: hourglass rollups read one datasource")
	}
	s := q.parts[0]
	switch {
	case s.from == nil:
		return nil, errAt(s.line, "reads a SELECT without FROM")
	case len(s.join) > 0:
		return nil, errAt(lineOf(s.join, s.line), "reads a JOIN: hourglass rollups read one datasource")
	case len(s.groupBy) > 0 || s.distinct || len(s.having) > 0 || len(s.limit) > 0:
		return nil, errAt(s.line, "reads an aggregating or limited node: hourglass rollups aggregate raw rows once")
	case len(s.with) > 0:
		return nil, errAt(s.line, "reads a WITH clause, which is not imported")
	case hasTemplate(s.where):
		return nil, errAt(lineOf(s.where, s.line), "reads a node filtered by template parameters: a rollup has no parameters")
	}
	inner, err := im.viewOf(p, nodes, s.from, depth+1)
	if err != nil {
		return nil, err
	}
	v := &view{base: inner.base, cols: map[string][]token{}, where: inner.where}
	for _, it := range s.items {
		if len(it.expr) == 1 && it.expr[0].is("*") && it.alias == "" {
			names := inner.order
			if inner.cols == nil {
				names = nil
				for _, c := range inner.base.d.Columns {
					names = append(names, c.Name)
				}
			}
			for _, n := range names {
				e, _ := inner.lookup(n)
				v.add(n, e)
			}
			continue
		}
		if aggregateCall(it.expr) != nil {
			return nil, errAt(it.line, "reads a node that aggregates: hourglass rollups aggregate raw rows once")
		}
		v.add(it.name(), inner.subst(it.expr))
	}
	if len(s.where) > 0 {
		for _, c := range splitAnd(s.where) {
			v.where = append(v.where, inner.subst(c))
		}
	}
	return v, nil
}

func (v *view) add(name string, e []token) {
	if _, ok := v.cols[name]; !ok {
		v.order = append(v.order, name)
	}
	v.cols[name] = e
}

// aggregate functions hourglass knows, and the suffixes ClickHouse combinators add.
var (
	aggregateNames = map[string]bool{
		"count": true, "sum": true, "avg": true, "min": true, "max": true, "uniq": true,
		"uniqExact": true, "argMin": true, "argMax": true, "any": true, "anyLast": true,
		"uniqCombined": true, "uniqCombined64": true, "uniqHLL12": true, "uniqTheta": true,
		"quantile": true, "quantiles": true, "quantileExact": true, "quantilesExact": true,
		"quantileTDigest": true, "quantilesTDigest": true, "quantileTiming": true,
		"quantilesTiming": true, "median": true, "groupArray": true, "groupUniqArray": true,
		"topK": true, "stddevPop": true, "stddevSamp": true, "varPop": true, "varSamp": true,
		"groupBitmap": true, "sumMap": true, "minMap": true, "maxMap": true, "avgWeighted": true,
		"corr": true, "covarPop": true, "covarSamp": true, "entropy": true, "histogram": true,
		"simpleLinearRegression": true, "groupArraySample": true, "groupBitOr": true,
		"groupBitAnd": true, "groupBitXor": true, "sumWithOverflow": true, "countDistinct": true,
	}
	combinators = []string{"SimpleState", "MergeState", "State", "Merge", "If", "OrNull", "OrDefault", "Array", "Distinct", "ForEach", "Resample"}
)

// agg is an aggregate call: its base function, combinators (outermost last), arguments.
type agg struct {
	*call
	base  string
	combs []string
}

func (a *agg) has(comb string) bool {
	for _, c := range a.combs {
		if c == comb {
			return true
		}
	}
	return false
}

// aggregateCall reads toks as one aggregate function call, or nil.
func aggregateCall(toks []token) *agg {
	c := asCall(toks)
	if c == nil {
		return nil
	}
	name := c.name
	var combs []string
	for !aggregateNames[name] {
		found := false
		for _, s := range combinators {
			if strings.HasSuffix(name, s) && len(name) > len(s) {
				name, found = strings.TrimSuffix(name, s), true
				combs = append([]string{s}, combs...)
				break
			}
		}
		if !found {
			lower := strings.ToLower(c.name)
			if lower == "count" || lower == "sum" || lower == "min" || lower == "max" || lower == "avg" {
				return &agg{call: c, base: lower}
			}
			return nil
		}
	}
	return &agg{call: c, base: name, combs: combs}
}

// importRollups translates every materialized and copy pipe.
func (im *importer) importRollups() {
	targets := im.targets()
	for _, name := range sortedKeys(im.pipes) {
		p := im.pipes[name]
		if p.Type != "materialized" && p.Type != "copy" {
			continue
		}
		target := p.Datasource
		if p.Type == "copy" {
			target = p.TargetDatasource
		}
		if targets[target] != p {
			im.warn(p.File, p.Directives["TYPE"], "writes into %s, which %s fills already: an hourglass rollup has one source query; %s not imported", target, targets[target].File, p.File)
			continue
		}
		td := im.datasources[target]
		if td == nil {
			im.warn(p.File, p.Directives["TYPE"], "writes into %s, which was not imported; %s not imported", target, p.File)
			continue
		}
		rt, err := im.translateRollup(p, td)
		if err != nil {
			im.warn(p.File, err.line, "%s; %s not imported, nor the datasource %s it fills", err.msg, p.File, target)
			continue
		}
		im.rollups[target] = rt
		im.rollupOrder = append(im.rollupOrder, target)
	}
}

var (
	tzRe = regexp.MustCompile(`^'(UTC|Etc/UTC|GMT)'$`)
)

// bucketOf reads a time bucket expression: toStartOfHour(col[, 'UTC']),
// toStartOfHour(toDateTime(col[, 'UTC'])), toStartOfDay(col), toDate(col); the column as an
// expression over the view.
func bucketOf(e []token) (col []token, day bool, ok bool) {
	c := asCall(e)
	if c == nil || len(c.args) == 0 || len(c.args) > 2 || c.params != nil {
		return nil, false, false
	}
	switch c.name {
	case "toStartOfHour":
	case "toStartOfDay", "toDate":
		day = true
	default:
		return nil, false, false
	}
	if len(c.args) == 2 && !(len(c.args[1]) == 1 && tzRe.MatchString(c.args[1][0].raw)) {
		return nil, false, false
	}
	arg := stripParens(c.args[0])
	if in := asCall(arg); in != nil && (in.name == "toDateTime" || in.name == "toDateTime64") && len(in.args) >= 1 {
		tail := in.args[1:]
		if in.name == "toDateTime64" && len(tail) > 0 {
			tail = tail[1:]
		}
		if len(tail) == 0 || len(tail) == 1 && len(tail[0]) == 1 && tzRe.MatchString(tail[0][0].raw) {
			arg = stripParens(in.args[0])
		}
	}
	return arg, day, true
}

// flatten reads through a SELECT that only renames the columns of a subquery (as
// hourglass's own queries do): it returns the subquery's SELECT with the outer names, and the
// outer ORDER BY and LIMIT.
func flatten(s *selectStmt) *selectStmt {
	for s.from != nil && s.from.sub != nil && len(s.from.sub.parts) == 1 && len(s.where) == 0 && len(s.groupBy) == 0 && len(s.join) == 0 && len(s.having) == 0 {
		in := s.from.sub.parts[0]
		var items []item
		star := len(s.items) == 1 && len(s.items[0].expr) == 1 && s.items[0].expr[0].is("*") && s.items[0].alias == ""
		for _, it := range s.items {
			if star {
				items = in.items
				break
			}
			n := asName(it.expr)
			if n == "" {
				return s
			}
			found := false
			for _, x := range in.items {
				if x.name() == n {
					x.alias = it.name()
					items = append(items, x)
					found = true
					break
				}
			}
			if !found {
				return s
			}
		}
		flat := *in
		flat.items = items
		// Grouping keys naming the subquery's columns follow them to their outer names.
		renamed := map[string]string{}
		for _, x := range in.items {
			for _, y := range items {
				if text(x.expr) == text(y.expr) && x.name() != y.name() {
					renamed[x.name()] = y.name()
				}
			}
		}
		flat.groupBy = nil
		for _, g := range in.groupBy {
			if n, ok := renamed[asName(g)]; ok {
				g = []token{{kind: tIdent, raw: n, val: n, line: lineOf(g, in.line)}}
			}
			flat.groupBy = append(flat.groupBy, g)
		}
		if len(s.orderBy) > 0 {
			flat.orderBy = s.orderBy
		}
		if len(s.limit) > 0 {
			flat.limit = s.limit
		}
		s = &flat
	}
	return s
}

// jsonExtract reads an extraction of JSON text from a base column: JSONExtractString(col,
// 'k', …) and the like, or JSONExtract(col, 'k', …, 'Type'). It returns the source column,
// the keys and the column type.
func (v *view) jsonExtract(e []token) (src string, keys []string, typ string, ok bool) {
	c := asCall(stripParens(e))
	lowCard := false
	if c != nil && c.name == "toLowCardinality" && len(c.args) == 1 {
		c, lowCard = asCall(stripParens(c.args[0])), true
	}
	if c == nil || len(c.args) < 2 || c.params != nil {
		return "", nil, "", false
	}
	defer func() {
		if ok && lowCard {
			typ = "LowCardinality(" + typ + ")"
		}
	}()
	args := c.args
	switch c.name {
	case "JSONExtractString":
		typ = "String"
	case "JSONExtractInt":
		typ = "Int64"
	case "JSONExtractUInt":
		typ = "UInt64"
	case "JSONExtractFloat":
		typ = "Float64"
	case "JSONExtractBool":
		typ = "UInt8"
	case "JSONExtract":
		last := args[len(args)-1]
		if len(last) != 1 || last[0].kind != tString || len(args) < 3 {
			return "", nil, "", false
		}
		typ = unquoteSQL(last[0].raw)
		args = args[:len(args)-1]
		if !jsonType(typ) {
			return "", nil, "", false
		}
	default:
		return "", nil, "", false
	}
	src = asName(args[0])
	if src == "" {
		return "", nil, "", false
	}
	col := v.base.d.Column(src)
	if col == nil || col.JSONSource != "" || !isString(col.Type) {
		return "", nil, "", false
	}
	for _, a := range args[1:] {
		if len(a) != 1 || a[0].kind != tString {
			return "", nil, "", false
		}
		k := unquoteSQL(a[0].raw)
		if ident.Check(k) != nil {
			return "", nil, "", false
		}
		keys = append(keys, k)
	}
	return src, keys, typ, true
}

func unquoteSQL(s string) string {
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		return strings.NewReplacer(`\'`, `'`, `\\`, `\`, `''`, `'`).Replace(s[1 : len(s)-1])
	}
	return s
}

// materializeJSON turns the view's columns that extract from JSON text into columns of the
// raw datasource (added to pending), so the rollup reads them by name, as ClickHouse stores
// them (MATERIALIZED) and as Tinybird pipes compute them.
func (v *view) materializeJSON(pending *[]*datasources.Column) {
	for _, n := range v.order {
		if v.base.d.Column(n) != nil && v.base.d.Column(n).JSONSource == "" {
			continue
		}
		if _, _, _, ok := v.jsonExtract(v.cols[n]); ok {
			if c := v.columnOf([]token{{kind: tIdent, raw: n, val: n}}, n, pending); c == n {
				v.cols[n] = []token{{kind: tIdent, raw: n, val: n}}
			}
		}
	}
}

// columnOf reads an expression of the view as a base column: a plain one, or one extracted
// from JSON text, which is added to the raw datasource (named name) when new. It returns ""
// when the expression is neither.
func (v *view) columnOf(raw []token, name string, pending *[]*datasources.Column) string {
	known := func(m string) bool {
		if v.base.d.Column(m) != nil {
			return true
		}
		for _, c := range *pending {
			if c.Name == m {
				return true
			}
		}
		return false
	}
	if n := asName(raw); n != "" {
		e, ok := v.lookup(n)
		if !ok {
			return ""
		}
		if m := asName(e); m != "" && known(m) {
			return m
		}
		raw, name = e, n
	} else {
		raw = v.subst(raw)
		if m := asName(raw); m != "" && known(m) {
			return m
		}
	}
	src, keys, typ, ok := v.jsonExtract(raw)
	if !ok || ident.Check(name) != nil {
		return ""
	}
	want := &datasources.Column{Name: name, Type: typ, JSONSource: src, JSONPath: keys}
	for _, c := range append(append([]*datasources.Column{}, v.base.d.Columns...), *pending...) {
		if c.Name == name {
			if c.JSONSource == src && !c.JSONObject && strings.Join(c.JSONPath, ".") == strings.Join(keys, ".") && c.Type == typ {
				return name
			}
			return ""
		}
	}
	*pending = append(*pending, want)
	return name
}

func (im *importer) translateRollup(p *Pipe, target *Datasource) (*rollupT, *pipeError) {
	last := p.Nodes[len(p.Nodes)-1]
	q := im.queries[last]
	parts := q.parts
	if p.Type == "copy" && len(parts) > 1 {
		// hourglass's own copy pipes return the hours outside their window as the rollup holds
		// them: that part reads the target and is the copy mode's business, not the rollup's.
		var keep []*selectStmt
		for _, s := range parts {
			if !(s.from != nil && s.from.table == target.Name && len(s.groupBy) == 0) {
				keep = append(keep, s)
			}
		}
		parts = keep
	}
	if len(parts) != 1 {
		return nil, errAt(q.line, "node %s is a UNION ALL: an hourglass rollup is one aggregation of one datasource", last.Name)
	}
	s := flatten(parts[0])
	switch {
	case s.from == nil:
		return nil, errAt(s.line, "node %s has no FROM", last.Name)
	case len(s.join) > 0:
		return nil, errAt(lineOf(s.join, s.line), "node %s joins: an hourglass rollup aggregates one datasource", last.Name)
	case len(s.with) > 0:
		return nil, errAt(s.line, "node %s has a WITH clause, which is not imported", last.Name)
	case len(s.having) > 0:
		return nil, errAt(lineOf(s.having, s.line), "node %s has HAVING: a rollup keeps every group", last.Name)
	case len(s.limit) > 0:
		return nil, errAt(lineOf(s.limit, s.line), "node %s has LIMIT: a rollup keeps every group", last.Name)
	case len(s.groupBy) == 0:
		return nil, errAt(s.line, "node %s has no GROUP BY: an hourglass rollup aggregates by hour", last.Name)
	}
	v, perr := im.viewOf(p, p.Nodes[:len(p.Nodes)-1], s.from, 0)
	if perr != nil {
		return nil, errAt(perr.line, "node %s %s", last.Name, perr.msg)
	}
	r := &datasources.Rollup{Name: target.Name, Source: v.base.d.Name, Granularity: datasources.GranularityHour}
	rt := &rollupT{r: r, pipe: p, target: target, metrics: map[string]*datasources.Metric{}, dropped: map[string]bool{}}
	if p.Type == "materialized" {
		r.Mode = datasources.ModeTrigger
	} else {
		r.Mode = datasources.ModeScheduled
	}
	var pending []*datasources.Column
	v.materializeJSON(&pending)
	names := map[string]bool{}
	for i := 0; i < len(s.items); i++ {
		it := s.items[i]
		name := it.name()
		if ident.Check(name) != nil {
			return nil, errAt(it.line, "node %s: column %q needs a name: write it AS a name", last.Name, text(it.expr))
		}
		if names[name] {
			return nil, errAt(it.line, "node %s: column %s appears twice", last.Name, name)
		}
		names[name] = true
		if a := aggregateCall(it.expr); a != nil {
			// hourglass's own avg: sum(c) AS m_sum, count(c) AS m_count.
			if i+1 < len(s.items) && strings.HasSuffix(name, "_sum") && s.items[i+1].name() == strings.TrimSuffix(name, "_sum")+"_count" {
				b := aggregateCall(s.items[i+1].expr)
				if a.base == "sum" && len(a.combs) == 0 && b != nil && b.base == "count" && len(b.combs) == 0 && len(a.args) == 1 && len(b.args) == 1 && text(a.args[0]) == text(b.args[0]) {
					m, warn := im.metric(v, &agg{call: &call{name: "avgState", args: a.args}, base: "avg", combs: []string{"State"}}, strings.TrimSuffix(name, "_sum"), &pending)
					if m == nil {
						return nil, errAt(it.line, "node %s: %s", last.Name, warn)
					}
					rt.metrics[name], rt.metrics[s.items[i+1].name()] = m, m
					r.Metrics = append(r.Metrics, m)
					names[s.items[i+1].name()] = true
					i++
					continue
				}
			}
			m, warn := im.metric(v, a, name, &pending)
			if m == nil {
				im.warn(p.File, it.line, "node %s: metric %s = %s is not imported: %s", last.Name, name, text(it.expr), warn)
				rt.dropped[name] = true
				continue
			}
			if warn != "" {
				im.warn(p.File, it.line, "node %s: metric %s: %s", last.Name, name, warn)
			}
			rt.metrics[name] = m
			r.Metrics = append(r.Metrics, m)
			continue
		}
		if col, day, ok := bucketOf(v.subst(it.expr)); ok && rt.bucket == "" {
			tc := asName(col)
			if tc == "" || v.base.d.Column(tc) == nil {
				return nil, errAt(it.line, "node %s: the time bucket %s is not over a column of %s", last.Name, text(it.expr), v.base.d.Name)
			}
			r.TimeColumn, rt.bucket, rt.day = tc, name, day
			if day {
				im.warn(p.File, it.line, "node %s: the daily bucket %s becomes an hourly rollup, which is finer: endpoints reading %s group it by day", last.Name, text(it.expr), name)
			}
			continue
		}
		if col := v.columnOf(it.expr, name, &pending); col != "" {
			d := &datasources.Dimension{Name: name, Column: col}
			r.Dimensions = append(r.Dimensions, d)
			continue
		}
		expr := stripParens(v.subst(it.expr))
		if c := asCall(expr); c != nil && c.name == "toString" && len(c.args) == 1 && c.params == nil {
			expr = stripParens(c.args[0]) // hourglass stores expression dimensions as toString(expr)
		}
		if hasTemplate(expr) {
			return nil, errAt(it.line, "node %s: column %s uses template parameters: a rollup has no parameters", last.Name, name)
		}
		if name == pipes.HourColumn {
			return nil, errAt(it.line, "node %s: column hour is not the time bucket: hourglass names the bucket hour; rename this column", last.Name)
		}
		r.Dimensions = append(r.Dimensions, &datasources.Dimension{Name: name, Expr: text(expr)})
		if tc := targetColumn(target, name); tc != nil && !isString(tc.Type) {
			im.warn(p.File, it.line, "node %s: dimension %s is an expression: hourglass stores it as String (toString(%s)), where %s declares %s", last.Name, name, text(expr), target.Name, tc.Type)
		}
	}
	if rt.bucket == "" {
		return nil, errAt(s.line, "node %s has no time bucket (toStartOfHour(column) AS hour): an hourglass rollup is hourly", last.Name)
	}
	if len(r.Metrics) == 0 {
		return nil, errAt(s.line, "node %s has no metric hourglass can store", last.Name)
	}
	// Every grouping key is a selected column.
	for _, g := range s.groupBy {
		k := text(g)
		ok := false
		for _, it := range s.items {
			ok = ok || it.name() == asName(g) || text(it.expr) == k
		}
		if !ok {
			return nil, errAt(lineOf(g, s.line), "node %s groups by %s, which it does not select: every grouping key of an hourglass rollup is a dimension", last.Name, k)
		}
	}
	// Conditions: the copy window goes (hourglass has its own), the rest is the filter.
	var conds []string
	for _, c := range append(v.where, splitAnd(v.subst(s.where))...) {
		c = stripParens(c)
		if len(c) == 0 || text(c) == "1" || strings.EqualFold(text(c), "true") || text(c) == "1 = 1" {
			continue
		}
		if p.Type == "copy" && mentions(c, r.TimeColumn) && (hasTemplate(c) || usesNow(c)) {
			continue
		}
		if hasTemplate(c) {
			im.warn(p.File, lineOf(c, s.line), "node %s: condition %s uses template parameters and is dropped: a rollup has no parameters", last.Name, text(c))
			continue
		}
		if usesNow(c) {
			im.warn(p.File, lineOf(c, s.line), "node %s: condition %s depends on the time of the run and is dropped", last.Name, text(c))
			continue
		}
		t := text(c)
		if len(splitTop(c, "OR")) > 1 {
			t = "(" + t + ")"
		}
		conds = append(conds, t)
	}
	r.Filter = strings.Join(conds, " AND ")
	im.rollupTarget(rt)
	if p.Type == "copy" {
		im.copySchedule(rt)
	}
	v.base.d.Columns = append(v.base.d.Columns, pending...)
	return rt, nil
}

// targetColumn returns the target datasource's column named name, or nil.
func targetColumn(d *Datasource, name string) *Column {
	for _, c := range d.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func mentions(toks []token, col string) bool {
	for _, t := range toks {
		if t.kind == tIdent && t.val == col {
			return true
		}
	}
	return false
}

func usesNow(toks []token) bool {
	for i, t := range toks {
		if t.kind == tIdent && i+1 < len(toks) && toks[i+1].is("(") {
			switch strings.ToLower(t.raw) {
			case "now", "today", "yesterday", "now64":
				return true
			}
		}
	}
	return false
}

// metric translates an aggregate into an hourglass metric, with a note when the original
// stored something hourglass stores differently; nil and why when it cannot.
func (im *importer) metric(v *view, a *agg, name string, pending *[]*datasources.Column) (*datasources.Metric, string) {
	precision := 0
	if a.params != nil {
		// uniqCombined(p) is hourglass's uniq_combined with a precision; nothing else takes one.
		if a.base != "uniqCombined" || len(a.params) != 1 || len(a.params[0]) != 1 {
			return nil, fmt.Sprintf("%s takes parameters, and hourglass has no metric kind for it", a.name)
		}
		p, err := strconv.Atoi(a.params[0][0].raw)
		if err != nil || p < datasources.MinPrecision || p > datasources.MaxPrecision {
			return nil, fmt.Sprintf("%s: hourglass's uniq_combined takes a precision from %d to %d", text(a.call.toTokens()), datasources.MinPrecision, datasources.MaxPrecision)
		}
		precision = p
	}
	if a.has("Merge") || a.has("MergeState") {
		return nil, "it merges states another rollup stored: an hourglass rollup aggregates raw rows"
	}
	for _, c := range a.combs {
		if c != "State" && c != "SimpleState" && c != "If" {
			return nil, fmt.Sprintf("the -%s combinator has no hourglass metric kind", c)
		}
	}
	args := a.args
	m := &datasources.Metric{Name: name}
	colArg := func(i int) (string, string) {
		if i >= len(args) {
			return "", fmt.Sprintf("%s needs an argument", a.name)
		}
		c := v.columnOf(args[i], name+"_arg", pending)
		if c == "" {
			return "", fmt.Sprintf("its argument %s is not a column: hourglass metrics take a column", text(args[i]))
		}
		return c, ""
	}
	cond := func() (string, string) {
		if len(args) == 0 {
			return "", "the -If combinator needs a condition"
		}
		c := v.subst(stripParens(args[len(args)-1]))
		if hasTemplate(c) {
			return "", "its condition uses template parameters"
		}
		args = args[:len(args)-1]
		return text(c), ""
	}
	var why string
	if a.has("If") {
		if m.If, why = cond(); why != "" {
			return nil, why
		}
	}
	finished := ""
	plain := !a.has("State") && !a.has("SimpleState")
	switch a.base {
	case "count":
		m.Kind = datasources.MetricCount
		if m.If != "" {
			m.Kind = datasources.MetricCountIf
		}
		if len(args) == 1 && !(len(args[0]) == 1 && args[0][0].is("*")) {
			if m.Column, why = colArg(0); why != "" {
				return nil, why
			}
		} else if len(args) > 1 {
			return nil, "count takes at most one column"
		}
	case "sum":
		m.Kind = datasources.MetricSum
		if m.If != "" {
			m.Kind = datasources.MetricSumIf
		}
		if m.Column, why = colArg(0); why != "" {
			return nil, why
		}
	case "avg", "min", "max", "uniq", "uniqExact":
		if m.If != "" {
			return nil, fmt.Sprintf("hourglass has no conditional %s", a.base)
		}
		m.Kind = map[string]datasources.MetricKind{"avg": datasources.MetricAvg, "min": datasources.MetricMin, "max": datasources.MetricMax, "uniq": datasources.MetricUniq, "uniqExact": datasources.MetricUniqExact}[a.base]
		if len(args) != 1 {
			return nil, fmt.Sprintf("hourglass's %s takes one column", m.Kind)
		}
		if m.Column, why = colArg(0); why != "" {
			return nil, why
		}
		if plain && (a.base == "avg" || a.base == "uniq" || a.base == "uniqExact") {
			finished = fmt.Sprintf("%s is stored as a finished number per hour, which cannot be combined across hours; hourglass stores a mergeable state, so endpoints over several hours get the exact figure", text(a.call.toTokens()))
		}
	case "any", "anyLast":
		if m.If != "" || len(args) != 1 {
			return nil, fmt.Sprintf("hourglass's %s takes one column", a.base)
		}
		m.Kind = datasources.MetricAny
		if a.base == "anyLast" {
			m.Kind = datasources.MetricAnyLast
		}
		if m.Column, why = colArg(0); why != "" {
			return nil, why
		}
	case "argMin", "argMax":
		if m.If != "" || len(args) != 2 {
			return nil, fmt.Sprintf("hourglass's %s takes a column and an ordering column", a.base)
		}
		m.Kind = datasources.MetricArgMin
		if a.base == "argMax" {
			m.Kind = datasources.MetricArgMax
		}
		if m.Column, why = colArg(0); why != "" {
			return nil, why
		}
		by := v.columnOf(args[1], name+"_by", pending)
		if by == "" {
			return nil, fmt.Sprintf("its ordering argument %s is not a column", text(args[1]))
		}
		m.By = by
		if plain {
			finished = fmt.Sprintf("%s is stored as a finished value per hour; hourglass stores a mergeable state", text(a.call.toTokens()))
		}
	case "uniqCombined":
		if m.If != "" || len(args) != 1 {
			return nil, "hourglass's uniq_combined takes one column"
		}
		m.Kind, m.Precision = datasources.MetricUniqCombined, precision
		if m.Column, why = colArg(0); why != "" {
			return nil, why
		}
		if plain {
			finished = fmt.Sprintf("%s is stored as a finished number per hour, which cannot be combined across hours; hourglass stores a mergeable state", text(a.call.toTokens()))
		}
	default:
		return nil, fmt.Sprintf("%s has no hourglass metric kind (count, sum, avg, min, max, uniq, uniqExact, uniqCombined, argMin, argMax, any, anyLast, with -If for count and sum)", a.base)
	}
	return m, finished
}

// toTokens writes a call back as tokens (for messages).
func (c *call) toTokens() []token {
	out := []token{{kind: tIdent, raw: c.name, val: c.name}}
	lists := [][][]token{c.args}
	if c.params != nil {
		lists = [][][]token{c.params, c.args}
	}
	for _, l := range lists {
		out = append(out, token{kind: tOp, raw: "(", val: "("})
		for i, a := range l {
			if i > 0 {
				out = append(out, token{kind: tOp, raw: ",", val: ","})
			}
			out = append(out, a...)
		}
		out = append(out, token{kind: tOp, raw: ")", val: ")"})
	}
	return out
}

var (
	monthPartRe = regexp.MustCompile("^toYYYYMM\\(\\s*`?(\\w+)`?\\s*\\)$")
	dayPartRe   = regexp.MustCompile("^(toYYYYMMDD|toDate|toStartOfDay)\\(\\s*`?(\\w+)`?\\s*\\)$")
)

// rollupTarget reads the partitioning and sorting of the datasource the pipe fills.
func (im *importer) rollupTarget(rt *rollupT) {
	r, t := rt.r, rt.target
	pk := strings.TrimSpace(t.PartitionKey)
	switch {
	case pk == "":
	case monthPartRe.MatchString(pk) && monthPartRe.FindStringSubmatch(pk)[1] == rt.bucket:
		r.Partition = datasources.PartitionMonth
	case dayPartRe.MatchString(pk) && dayPartRe.FindStringSubmatch(pk)[2] == rt.bucket:
	default:
		im.warn(t.File, t.Directives["ENGINE_PARTITION_KEY"], "ENGINE_PARTITION_KEY %s: hourglass partitions a rollup by day or month of its hour; by day", pk)
	}
	// The sorting key, in dimension names and hour, completed as hourglass completes one.
	var order []string
	seen := map[string]bool{}
	for _, k := range sortingKey(t.SortingKey) {
		n := k
		if k == rt.bucket {
			n = pipes.HourColumn
		}
		if n != pipes.HourColumn && r.Dimension(n) == nil || seen[n] {
			order = nil
			if t.SortingKey != "" {
				im.warn(t.File, t.Directives["ENGINE_SORTING_KEY"], "ENGINE_SORTING_KEY %s holds %s, which is not a dimension of the rollup: hourglass's default sorting key is used", t.SortingKey, k)
			}
			break
		}
		seen[n] = true
		order = append(order, n)
	}
	if len(order) > 0 {
		if !seen[pipes.HourColumn] {
			order = append(order, pipes.HourColumn)
		}
		for _, d := range r.Dimensions {
			if !seen[d.Name] {
				order = append(order, d.Name)
			}
		}
		if strings.Join(order, ",") != strings.Join(datasources.DefaultOrderBy(r), ",") {
			r.OrderBy = order
		}
	}
	// Columns the pipe writes that the target does not declare, and the other way round.
	for _, c := range t.Columns {
		if c.Name != rt.bucket && rt.metrics[c.Name] == nil && r.Dimension(c.Name) == nil && !rt.dropped[c.Name] {
			im.warn(t.File, c.Line, "column %s is not written by %s: it is not imported", c.Name, rt.pipe.File)
		}
	}
}

// copySchedule takes the copy pipe's schedule when hourglass can run it.
func (im *importer) copySchedule(rt *rollupT) {
	p := rt.pipe
	s := strings.TrimSpace(p.CopySchedule)
	line := p.Directives["COPY_SCHEDULE"]
	switch {
	case s == "" || s == "@on-demand":
		im.warn(p.File, max(line, p.Directives["TYPE"]), "the copy runs on demand: the hourglass rollup is populated every hour at :05")
		return
	case len(strings.Fields(s)) != 5:
		im.warn(p.File, line, "COPY_SCHEDULE %s is not a five-field cron line: the hourglass rollup is populated every hour at :05", s)
		return
	}
	r := &datasources.Rollup{Name: rt.r.Name, Schedule: s}
	if _, err := pipes.CopyWindowHours(r); err != nil {
		im.warn(p.File, line, "COPY_SCHEDULE %s: %v; populated every hour at :05", s, err)
		return
	}
	if gap := shortestGap(s); gap < time.Hour {
		im.warn(p.File, line, "COPY_SCHEDULE %s runs every %s: an hourly rollup is populated at most hourly; every hour at :05", s, gap)
		return
	}
	rt.r.Schedule = s
}

// shortestGap is the shortest time between two runs of a cron line over two weeks.
func shortestGap(spec string) time.Duration {
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return 0
	}
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	gap := 14 * 24 * time.Hour
	prev := sched.Next(at)
	for n := 0; n < 2000 && !prev.IsZero() && prev.Before(at.Add(gap)); n++ {
		next := sched.Next(prev)
		if next.IsZero() {
			break
		}
		gap = min(gap, next.Sub(prev))
		prev = next
	}
	return gap
}
