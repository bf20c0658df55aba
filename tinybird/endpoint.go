package tinybird

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/pipes"
)

// importEndpoints translates every endpoint pipe that reads an imported rollup.
func (im *importer) importEndpoints() {
	for _, name := range sortedKeys(im.pipes) {
		p := im.pipes[name]
		switch p.Type {
		case "endpoint":
		case "materialized", "copy":
			continue
		case "sink":
			im.warn(p.File, p.Directives["TYPE"], "sink pipes export data elsewhere: not imported")
			continue
		default:
			if !im.readByOthers(name) {
				im.warn(p.File, 1, "pipe %s has no TYPE and no other pipe reads it: nothing to import", name)
			}
			continue
		}
		e, err := im.translateEndpoint(p)
		if err != nil {
			im.warn(p.File, err.line, "%s; %s not imported", err.msg, p.File)
			continue
		}
		im.endpoints = append(im.endpoints, e)
	}
}

func (im *importer) readByOthers(name string) bool {
	for _, p := range im.pipes {
		for _, n := range p.Nodes {
			var refs []*from
			tables(im.queries[n], &refs)
			for _, f := range refs {
				if f.table == name && p.Name != name {
					return true
				}
			}
		}
	}
	return false
}

// endpointQuery reads through the nodes and subqueries that only pick or rename columns,
// down to the SELECT that aggregates a rollup's datasource.
func (im *importer) endpointQuery(p *Pipe, nodes []*Node, q *query) (*selectStmt, *pipeError) {
	if len(q.parts) != 1 {
		return nil, errAt(q.line, "a UNION ALL is not imported")
	}
	s := flatten(q.parts[0])
	if s.from == nil || s.from.sub != nil || len(s.groupBy) > 0 || len(s.where) > 0 || !renamesOnly(s) {
		return s, nil
	}
	// SELECT * or renames over an earlier node: read that node, keeping ORDER BY and LIMIT.
	for i := len(nodes) - 1; i >= 0; i-- {
		if nodes[i].Name != s.from.table {
			continue
		}
		in, err := im.endpointQuery(p, nodes[:i], im.queries[nodes[i]])
		if err != nil {
			return nil, err
		}
		wrapped := &selectStmt{line: s.line, items: s.items, from: &from{sub: &query{parts: []*selectStmt{in}, line: in.line}, line: s.from.line}, orderBy: s.orderBy, limit: s.limit}
		return flatten(wrapped), nil
	}
	return s, nil
}

// renamesOnly says whether a SELECT only picks columns: * or plain names.
func renamesOnly(s *selectStmt) bool {
	for _, it := range s.items {
		if asName(it.expr) == "" && !(len(it.expr) == 1 && it.expr[0].is("*")) {
			return false
		}
	}
	return true
}

// finalizers maps what reads a stored metric to the kinds it finalises.
var finalizers = map[string][]datasources.MetricKind{
	"sum":            {datasources.MetricCount, datasources.MetricCountIf, datasources.MetricSum, datasources.MetricSumIf},
	"countMerge":     {datasources.MetricCount, datasources.MetricCountIf},
	"countIfMerge":   {datasources.MetricCountIf},
	"sumIfMerge":     {datasources.MetricSumIf},
	"sumMerge":       {datasources.MetricSum, datasources.MetricSumIf, datasources.MetricCount, datasources.MetricCountIf},
	"min":            {datasources.MetricMin},
	"minMerge":       {datasources.MetricMin},
	"max":            {datasources.MetricMax},
	"maxMerge":       {datasources.MetricMax},
	"uniqMerge":      {datasources.MetricUniq},
	"uniqExactMerge": {datasources.MetricUniqExact},
	"avgMerge":       {datasources.MetricAvg},
	"argMinMerge":    {datasources.MetricArgMin},
	"argMaxMerge":    {datasources.MetricArgMax},
	"any":            {datasources.MetricAny},
	"anyMerge":       {datasources.MetricAny},
	"anyLast":        {datasources.MetricAnyLast},
	"anyLastMerge":   {datasources.MetricAnyLast},
}

// precisionOf is a uniq_combined metric's precision, its default when it declares none.
func precisionOf(m *datasources.Metric) int {
	if m.Precision == 0 {
		return datasources.DefaultPrecision
	}
	return m.Precision
}

// metricRead reads an endpoint column as the finalised metric of the rollup, or returns why
// not.
func (rt *rollupT) metricRead(e []token) (*datasources.Metric, string) {
	e = stripParens(e)
	// hourglass's own reads: CAST(min(m) AS T), sum(m_sum) / sum(m_count),
	// toFloat64(sum(m_sum)) / sum(m_count).
	if c := asCall(e); c != nil && strings.EqualFold(c.name, "CAST") && len(c.args) == 1 {
		if i := indexTop(c.args[0], 0, "AS"); i > 0 {
			e = stripParens(c.args[0][:i])
		}
	}
	if div := splitTop(e, "/"); len(div) == 2 {
		num, den := stripParens(div[0]), asCall(stripParens(div[1]))
		if c := asCall(num); c != nil && c.name == "toFloat64" && len(c.args) == 1 {
			num = stripParens(c.args[0])
		}
		n := asCall(num)
		if n != nil && den != nil && n.name == "sum" && den.name == "sum" && len(n.args) == 1 && len(den.args) == 1 {
			a, b := rt.metrics[asName(n.args[0])], rt.metrics[asName(den.args[0])]
			if a != nil && a == b && a.Kind == datasources.MetricAvg {
				return a, ""
			}
		}
		return nil, "it is not a metric the rollup stores, finalised"
	}
	c := asCall(e)
	if c == nil || len(c.args) != 1 || c.params != nil && c.name != "uniqCombinedMerge" {
		return nil, "it is not a metric the rollup stores, finalised"
	}
	col := asName(c.args[0])
	m := rt.metrics[col]
	if m == nil {
		return nil, fmt.Sprintf("%s is not a metric of %s", text(c.args[0]), rt.r.Name)
	}
	if c.params != nil {
		// uniqCombinedMerge(p)(m) finalises a uniq_combined metric of the same precision.
		if c.name == "uniqCombinedMerge" && m.Kind == datasources.MetricUniqCombined && len(c.params) == 1 && len(c.params[0]) == 1 &&
			c.params[0][0].raw == strconv.Itoa(precisionOf(m)) {
			return m, ""
		}
		return nil, "it is not a metric the rollup stores, finalised"
	}
	for _, k := range finalizers[c.name] {
		if k == m.Kind {
			return m, ""
		}
	}
	return nil, fmt.Sprintf("%s does not finalise %s, a %s metric", c.name, col, m.Kind)
}

var templateCallRe = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9]*)\((.*)\)$`)

// templateParam reads {{Type(name[, default][, required=…][, description=…])}}.
func templateParam(t token) (fn, name, def string, ok bool) {
	if t.kind != tExpr {
		return "", "", "", false
	}
	m := templateCallRe.FindStringSubmatch(t.val)
	if m == nil {
		return "", "", "", false
	}
	toks, err := lex(m[2], 1)
	if err != nil || len(toks) == 0 {
		return "", "", "", false
	}
	args := splitTop(toks, ",")
	if len(args[0]) == 1 && args[0][0].kind == tIdent {
		name = args[0][0].val
	}
	if name == "" {
		return "", "", "", false
	}
	for _, a := range args[1:] {
		switch {
		case len(a) == 1 && (a[0].kind == tString || a[0].kind == tNumber):
			def = unquoteTemplate(a[0].raw)
		case len(a) == 3 && a[1].is("=") && a[0].is("default"):
			def = unquoteTemplate(a[2].raw)
		case len(a) == 3 && a[1].is("=") && (a[0].is("required") || a[0].is("description")):
		default:
			return "", "", "", false
		}
	}
	return m[1], name, def, true
}

func unquoteTemplate(s string) string {
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// conjunct is one condition of an endpoint's WHERE, with the parameter that guards it.
type conjunct struct {
	toks    []token
	guard   string
	line    int
	problem string
}

// conjuncts splits a WHERE with {% if defined(p) %} … {% end %} blocks into conditions.
func conjuncts(where []token) []conjunct {
	var out []conjunct
	var plain []token
	flush := func() {
		for _, c := range splitAnd(plain) {
			if len(c) > 0 {
				out = append(out, conjunct{toks: c, line: c[0].line})
			}
		}
		plain = nil
	}
	ifRe := regexp.MustCompile(`^if\s+defined\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$`)
	for i := 0; i < len(where); i++ {
		t := where[i]
		if t.kind != tStmt {
			plain = append(plain, t)
			continue
		}
		m := ifRe.FindStringSubmatch(t.val)
		// Find the matching {% end %}.
		depth, end := 0, -1
		hasElse := false
		for j := i; j < len(where); j++ {
			if where[j].kind != tStmt {
				continue
			}
			switch v := where[j].val; {
			case strings.HasPrefix(v, "if ") || strings.HasPrefix(v, "for "):
				depth++
			case v == "end" || strings.HasPrefix(v, "end "):
				depth--
			case v == "else" || strings.HasPrefix(v, "elif "):
				if depth == 1 {
					hasElse = true
				}
			}
			if depth == 0 {
				end = j
				break
			}
		}
		flush()
		if end < 0 {
			out = append(out, conjunct{line: t.line, problem: fmt.Sprintf("{%% %s %%} has no {%% end %%}", t.val)})
			return out
		}
		inner := where[i+1 : end]
		switch {
		case m == nil || hasElse:
			out = append(out, conjunct{toks: where[i : end+1], line: t.line, problem: fmt.Sprintf("the template block {%% %s %%} … {%% end %%} is not imported (only {%% if defined(param) %%} AND condition {%% end %%} is)", t.val)})
		default:
			if len(inner) > 0 && inner[0].is("AND") {
				inner = inner[1:]
			}
			for _, c := range splitAnd(inner) {
				if len(c) > 0 {
					out = append(out, conjunct{toks: c, guard: m[1], line: c[0].line})
				}
			}
		}
		i = end
	}
	flush()
	return out
}

func (im *importer) translateEndpoint(p *Pipe) (*datasources.Endpoint, *pipeError) {
	last := p.Nodes[len(p.Nodes)-1]
	s, err := im.endpointQuery(p, p.Nodes[:len(p.Nodes)-1], im.queries[last])
	if err != nil {
		return nil, err
	}
	switch {
	case s.from == nil:
		return nil, errAt(s.line, "node %s has no FROM: an hourglass endpoint reads a rollup", last.Name)
	case s.from.table == "":
		return nil, errAt(s.from.line, "node %s reads a subquery that filters or aggregates: an hourglass endpoint is one aggregation of a rollup", last.Name)
	}
	rt := im.rollups[s.from.table]
	if rt == nil {
		switch {
		case im.raw[s.from.table] != nil:
			return nil, errAt(s.from.line, "node %s reads the raw datasource %s: an hourglass endpoint reads a rollup (declare one with the dimensions and metrics it needs)", last.Name, s.from.table)
		case isNode(p, s.from.table) || im.pipes[s.from.table] != nil:
			return nil, errAt(s.from.line, "node %s reads %s, which filters or aggregates further: an hourglass endpoint is one aggregation of a rollup", last.Name, s.from.table)
		}
		return nil, errAt(s.from.line, "node %s reads %s, which is not an imported rollup", last.Name, s.from.table)
	}
	switch {
	case len(s.join) > 0:
		return nil, errAt(lineOf(s.join, s.line), "node %s joins: an hourglass endpoint reads one rollup", last.Name)
	case len(s.with) > 0:
		return nil, errAt(s.line, "node %s has a WITH clause, which is not imported", last.Name)
	case len(s.having) > 0:
		return nil, errAt(lineOf(s.having, s.line), "node %s has HAVING, which hourglass endpoints do not have", last.Name)
	}
	e := &datasources.Endpoint{Name: p.Name, Rollup: rt.r.Name}
	r := rt.r
	out := map[string]string{} // original output name → hourglass output name
	for _, it := range s.items {
		name := it.name()
		if hasTemplate(it.expr) {
			im.warn(p.File, it.line, "column %s uses template parameters: not imported", name)
			continue
		}
		x := stripParens(it.expr)
		if b := rt.bucketRead(x); b != "" && e.Bucket == "" {
			e.Bucket, out[name] = b, b
			if name != b {
				im.warn(p.File, it.line, "column %s is the time bucket: hourglass names it %s", name, b)
			}
			continue
		}
		if n := asName(x); n != "" && r.Dimension(n) != nil {
			e.GroupBy = append(e.GroupBy, n)
			out[name] = n
			if name != n {
				im.warn(p.File, it.line, "column %s is the dimension %s: hourglass names it %s", name, n, n)
			}
			continue
		}
		m, why := rt.metricRead(x)
		if m == nil {
			if expr, ok := rt.derivedRead(x); ok && asName(x) == "" {
				if d := r.DerivedMetric(name); d != nil && d.Expr != expr {
					im.warn(p.File, it.line, "column %s = %s is not imported: rollup %s already has the derived metric %s = %s", name, text(it.expr), r.Name, name, d.Expr)
					continue
				} else if d == nil && (r.Metric(name) != nil || r.Dimension(name) != nil) {
					im.warn(p.File, it.line, "column %s = %s is not imported: %s names a metric or dimension of %s", name, text(it.expr), name, r.Name)
					continue
				} else if d == nil {
					r.Derived = append(r.Derived, &datasources.DerivedMetric{Name: name, Expr: expr})
				}
				e.Metrics = append(e.Metrics, name)
				out[name] = name
				continue
			}
			im.warn(p.File, it.line, "column %s = %s is not imported: %s", name, text(it.expr), why)
			continue
		}
		e.Metrics = append(e.Metrics, m.Name)
		out[name] = m.Name
		if name != m.Name {
			im.warn(p.File, it.line, "column %s reads the metric %s: hourglass names it %s", name, m.Name, m.Name)
		}
	}
	if len(e.Metrics) == 0 {
		return nil, errAt(s.line, "node %s reads no metric of %s", last.Name, r.Name)
	}
	// GROUP BY must be the bucket and dimensions selected.
	for _, g := range s.groupBy {
		n := asName(g)
		ok := n != "" && (out[n] != "" && out[n] != "hour" && out[n] != "day" && r.Dimension(out[n]) != nil || out[n] == e.Bucket && e.Bucket != "")
		if !ok {
			for orig, hg := range out {
				ok = ok || (hg == e.Bucket || r.Dimension(hg) != nil) && n == orig
			}
			for _, it := range s.items {
				ok = ok || text(it.expr) == text(g) && out[it.name()] != ""
			}
		}
		if !ok {
			im.warn(p.File, lineOf(g, s.line), "GROUP BY %s is not a selected dimension or the time bucket: hourglass groups by what it selects", text(g))
		}
	}
	// Conditions: the time range, optional equality filters.
	var start, end *datasources.Param
	var conds []conjunct
	for _, c := range conjuncts(s.where) {
		// x BETWEEN a AND b is x >= a AND x <= b.
		if b := indexTop(c.toks, 0, "BETWEEN"); b > 0 && c.problem == "" {
			if a := indexTop(c.toks, b, "AND"); a > b {
				lhs := c.toks[:b]
				ge := append(append(append([]token{}, lhs...), token{kind: tOp, raw: ">=", val: ">=", line: c.line}), c.toks[b+1:a]...)
				le := append(append(append([]token{}, lhs...), token{kind: tOp, raw: "<=", val: "<=", line: c.line}), c.toks[a+1:]...)
				conds = append(conds, conjunct{toks: ge, guard: c.guard, line: c.line}, conjunct{toks: le, guard: c.guard, line: c.line})
				continue
			}
		}
		conds = append(conds, c)
	}
	for _, c := range conds {
		if c.problem != "" {
			im.warn(p.File, c.line, "%s", c.problem)
			continue
		}
		toks := stripParens(c.toks)
		if t := text(toks); t == "1" || strings.EqualFold(t, "true") || t == "1 = 1" {
			continue
		}
		if prm, isStart, note, ok := rt.timeBound(toks); ok {
			if note != "" {
				im.warn(p.File, c.line, "%s", note)
			}
			if c.guard != "" {
				im.warn(p.File, c.line, "the time bound %s applies only when %s is given: hourglass's range always applies", text(toks), c.guard)
			}
			if isStart {
				start = prm
			} else {
				end = prm
			}
			continue
		}
		if f, prm, ok := rt.filter(toks); ok || c.guard != "" && rt.opFilter(toks, c.guard, &f, &prm) {
			if prm.Name == pipes.TinybirdFromParam || prm.Name == pipes.TinybirdToParam || prm.Name == pipes.StartParam || prm.Name == pipes.EndParam {
				im.warn(p.File, c.line, "condition %s: parameter %s holds the time range in hourglass; not imported", text(toks), prm.Name)
				continue
			}
			if c.guard != "" && c.guard != prm.Name {
				im.warn(p.File, c.line, "condition %s is guarded by %s, not by its own parameter: imported as a filter on %s", text(toks), c.guard, prm.Name)
			}
			if e.Param(prm.Name) == nil {
				e.Params = append(e.Params, prm)
			}
			e.Filters = append(e.Filters, f)
			continue
		}
		why := "hourglass endpoints filter a dimension by a parameter: dim = {{T(p)}}, dim IN {{Array(p, 'T')}}, has({{Array(p, 'T')}}, dim) or a comparison, each in {% if defined(p) %} … {% end %}"
		im.warn(p.File, c.line, "condition %s is not imported: %s", text(toks), why)
	}
	if start == nil || end == nil {
		im.warn(p.File, s.line, "no time range %s >= {{DateTime(date_from)}} AND %s < {{DateTime(date_to)}}: an hourglass endpoint always reads [start, end)", rt.bucket, rt.bucket)
	}
	var params []*datasources.Param
	if start != nil && end != nil && start.Type == "Date" && end.Type == "Date" && start.Name != end.Name {
		// The days date_from to date_to, both included: a Date range.
		e.From, e.To = start.Name, end.Name
		params = append(params, start, end)
	} else {
		for _, b := range []**datasources.Param{&start, &end} {
			if *b != nil && (*b).Type == "Date" {
				// Only one end is a Date: read both as hourglass's DateTime range.
				dp, isStart := *b, *b == start
				im.warn(p.File, s.line, "{{Date(%s)}} with a DateTime other end: hourglass reads the range as DateTimes; pass the day's midnight", dp.Name)
				name := pipes.EndParam
				if isStart {
					name = pipes.StartParam
				}
				nd := &datasources.Param{Name: name, Type: "DateTime"}
				if d, err := time.Parse("2006-01-02", dp.Default); err == nil {
					if !isStart {
						d = d.AddDate(0, 0, 1)
					}
					nd.Default = d.Format("2006-01-02 15:04:05")
				}
				*b = nd
			}
		}
		if start != nil && start.Default != "" {
			params = append(params, start)
		}
		if end != nil && end.Default != "" {
			params = append(params, end)
		}
	}
	e.Params = append(params, e.Params...)
	// ORDER BY output columns (the time series filled: WITH FILL), LIMIT a number or a
	// parameter with its cap.
	if n := len(s.orderBy); n > 0 {
		last := s.orderBy[n-1]
		if w := indexTop(last, 0, "WITH"); w > 0 && w+1 < len(last) && last[w+1].is("FILL") {
			s.orderBy[n-1] = last[:w]
			if e.Bucket != "" {
				e.Fill = true
			} else {
				im.warn(p.File, last[w].line, "WITH FILL without a time bucket is not imported: hourglass fills a time series")
			}
		}
	}
	for _, o := range s.orderBy {
		dir := ""
		if n := len(o); n > 1 && (o[n-1].is("ASC") || o[n-1].is("DESC")) {
			dir, o = " "+strings.ToUpper(o[n-1].raw), o[:n-1]
		}
		hg := out[asName(o)]
		if hg == "" {
			for _, it := range s.items {
				if text(it.expr) == text(o) {
					hg = out[it.name()]
				}
			}
		}
		if hg == "" {
			im.warn(p.File, lineOf(o, s.line), "ORDER BY %s is not an output column: not imported", text(o))
			continue
		}
		e.OrderBy = append(e.OrderBy, hg+dir)
	}
	// hourglass orders by the bucket and the dimensions when nothing else is asked for.
	var byDefault []string
	if e.Bucket != "" {
		byDefault = append(byDefault, e.Bucket)
	}
	if strings.Join(e.OrderBy, ",") == strings.Join(append(byDefault, e.GroupBy...), ",") {
		e.OrderBy = nil
	}
	if e.Fill && strings.Join(e.OrderBy, ",") == strings.Join(append(append([]string{}, e.GroupBy...), e.Bucket), ",") {
		e.OrderBy = nil // the order fill keeps
	}
	if len(s.limit) > 0 && im.paging(p, e, s.limit) {
		s.limit = nil
	}
	if len(s.limit) > 0 {
		switch {
		case len(s.limit) == 1 && s.limit[0].kind == tNumber:
			n, err := strconv.Atoi(s.limit[0].raw)
			if err == nil && n > 0 {
				e.Limit = n
			}
		case len(s.limit) == 1 && s.limit[0].kind == tExpr:
			_, name, def, ok := templateParam(s.limit[0])
			n, err := strconv.Atoi(def)
			if ok && err == nil && n > 0 {
				e.Limit = n
				im.warn(p.File, s.limit[0].line, "LIMIT takes the parameter %s: hourglass endpoints have a fixed limit, its default %d", name, n)
			} else {
				im.warn(p.File, s.limit[0].line, "LIMIT %s is not imported: hourglass endpoints have a fixed limit", text(s.limit))
			}
		default:
			im.warn(p.File, lineOf(s.limit, s.line), "LIMIT %s is not imported: hourglass endpoints have a fixed limit and no offset", text(s.limit))
		}
	}
	if len(s.rest) > 0 {
		im.warn(p.File, lineOf(s.rest, s.line), "%s is not imported", text(s.rest))
	}
	for _, t := range p.Tokens {
		if !im.tokens[t.Name] || im.otherTokens {
			im.warn(p.File, t.Line, "TOKEN %s is not imported: hourglass writes one read token per project (<project>_read)", t.Name)
		}
	}
	return e, nil
}

// bucketRead reads an endpoint column as the time bucket: "hour", "day", or "".
func (rt *rollupT) bucketRead(x []token) string {
	if asName(x) == rt.bucket {
		if rt.day {
			return "day"
		}
		return "hour"
	}
	if col, day, ok := bucketOf(x); ok && asName(col) == rt.bucket {
		if day || rt.day {
			return "day"
		}
		return "hour"
	}
	return ""
}

// timeBound reads bucket >= {{DateTime(p)}} (the start) or bucket < {{DateTime(p)}} (the
// end), and the forms hourglass reads with a difference it explains.
func (rt *rollupT) timeBound(toks []token) (prm *datasources.Param, isStart bool, note string, ok bool) {
	var op token
	var lhs []token
	var rhs token
	switch {
	case len(toks) >= 3 && toks[len(toks)-1].kind == tExpr && toks[len(toks)-2].kind == tOp:
		lhs, op, rhs = toks[:len(toks)-2], toks[len(toks)-2], toks[len(toks)-1]
	default:
		return nil, false, "", false
	}
	lhs = stripParens(lhs)
	col := asName(lhs)
	day := false
	if col == "" {
		c, d, isBucket := bucketOf(lhs)
		if !isBucket {
			if in := asCall(lhs); in != nil && in.name == "toDateTime" && len(in.args) == 1 {
				c = in.args[0]
			}
		}
		col, day = asName(c), d
	}
	if col != rt.bucket {
		return nil, false, "", false
	}
	fn, name, def, isParam := templateParam(rhs)
	if !isParam {
		return nil, false, "", false
	}
	switch op.raw {
	case ">=", ">":
		isStart = true
	case "<", "<=":
	default:
		return nil, false, "", false
	}
	param := pipes.StartParam
	if !isStart {
		param = pipes.EndParam
	}
	prm = &datasources.Param{Name: param, Type: "DateTime", Default: def}
	switch {
	case fn == "Date" && (isStart && op.raw == ">=" || !isStart && op.raw == "<="):
		// A Date range, the last day included: hourglass's own Date range params.
		if _, err := time.Parse("2006-01-02", def); def != "" && err != nil {
			return nil, false, "", false
		}
		return &datasources.Param{Name: name, Type: "Date", Default: def}, isStart, "", true
	case fn == "Date" || day:
		note = fmt.Sprintf("%s %s {{%s}} compares days: hourglass's %s is a DateTime (UTC, on the hour); pass the day's midnight", text(lhs), op.raw, rhs.val, param)
		if !isStart && op.raw == "<=" {
			note = fmt.Sprintf("%s <= {{%s}} includes the whole last day: hourglass's end is an exclusive DateTime; pass the midnight after it (the default is)", text(lhs), rhs.val)
		}
		if d, err := time.Parse("2006-01-02", def); err == nil {
			if !isStart && op.raw == "<=" {
				d = d.AddDate(0, 0, 1)
			}
			prm.Default = d.Format("2006-01-02 15:04:05")
		}
	case fn != "DateTime" && fn != "DateTime64":
		return nil, false, "", false
	case op.raw == ">":
		note = fmt.Sprintf("%s > {{%s}} excludes its bound: hourglass's start is inclusive", text(lhs), rhs.val)
	case op.raw == "<=":
		note = fmt.Sprintf("%s <= {{%s}} includes its bound: hourglass's end is exclusive; pass the hour after it", text(lhs), rhs.val)
		if d, err := time.Parse("2006-01-02 15:04:05", def); err == nil {
			prm.Default = d.Truncate(time.Hour).Add(time.Hour).Format("2006-01-02 15:04:05")
		}
	}
	if name != pipes.TinybirdFromParam && name != pipes.TinybirdToParam && name != param {
		want := pipes.TinybirdFromParam
		if !isStart {
			want = pipes.TinybirdToParam
		}
		extra := fmt.Sprintf("parameter %s is the range's %s: hourglass calls it %s (%s on Tinybird)", name, map[bool]string{true: "start", false: "end"}[isStart], param, want)
		if note != "" {
			note += "; " + extra
		} else {
			note = extra
		}
	}
	return prm, isStart, note, true
}

// filter reads dim = {{Type(p[, default])}} as a filter of the rollup's dimension.
func (rt *rollupT) filter(toks []token) (*datasources.Filter, *datasources.Param, bool) {
	parts := splitTop(toks, "=")
	if len(parts) != 2 {
		return nil, nil, false
	}
	a, b := stripParens(parts[0]), stripParens(parts[1])
	if len(a) == 1 && a[0].kind == tExpr {
		a, b = b, a
	}
	dim := asName(a)
	if dim == "" || rt.r.Dimension(dim) == nil || len(b) != 1 {
		return nil, nil, false
	}
	fn, name, def, ok := templateParam(b[0])
	if !ok {
		return nil, nil, false
	}
	typ := fn
	switch fn {
	case "String", "UUID":
		typ = "String"
	case "Boolean":
		typ = "Bool"
	case "Int":
		typ = "Int32"
	case "Integer":
		typ = "Int32"
	}
	f := &datasources.Filter{Dimension: dim, Param: name, Op: datasources.FilterEq}
	return f, &datasources.Param{Name: name, Type: typ, Default: def}, true
}

// derivedRead reads an endpoint column computed from finalised metrics of the rollup (e.g.
// if(sum(visits) = 0, 0, sum(bounces) / sum(visits))) as a derived metric: its expression
// with every finalisation replaced by the metric's name. ok is false when it reads nothing
// else than metrics, or something that is not one.
func (rt *rollupT) derivedRead(x []token) (string, bool) {
	var out []token
	used := false
	for i := 0; i < len(x); i++ {
		t := x[i]
		if t.kind == tExpr || t.kind == tStmt {
			return "", false
		}
		if t.kind == tIdent && !t.quoted && !isKeyword(t) && i+1 < len(x) && x[i+1].is("(") {
			// A call: a metric's finalisation (with CAST and the avg form handled by
			// metricRead), or a function whose arguments are read in turn.
			if close := matching(x, i+1); close > 0 {
				if close+1 < len(x) && x[close+1].is("(") {
					// A parametric call, uniqCombinedMerge(14)(m): both lists.
					if c2 := matching(x, close+1); c2 > 0 {
						close = c2
					}
				}
				if m, _ := rt.metricRead(x[i : close+1]); m != nil {
					out = append(out, token{kind: tIdent, raw: m.Name, val: m.Name, line: t.line})
					used = true
					i = close
					continue
				}
			}
			out = append(out, t)
			continue
		}
		if t.kind == tIdent && !isKeyword(t) {
			return "", false // a column that is not a finalised metric
		}
		out = append(out, t)
	}
	if !used {
		return "", false
	}
	// hourglass writes each input in parentheses: drop those around a lone name.
	var clean []token
	for i := 0; i < len(out); i++ {
		if out[i].is("(") && i+2 < len(out) && out[i+1].kind == tIdent && out[i+2].is(")") &&
			(i == 0 || !(out[i-1].kind == tIdent && !isKeyword(out[i-1]))) {
			clean = append(clean, out[i+1])
			i += 2
			continue
		}
		clean = append(clean, out[i])
	}
	return text(clean), true
}

// opFilter reads a guarded condition on a dimension other than dim = {{T(p)}}: a list
// (dim IN {{Array(p, 'T')}}, has({{Array(p, 'T')}}, dim), their negations) or a comparison
// (dim >= {{T(p)}}, …), the parameter guard's own.
func (rt *rollupT) opFilter(toks []token, guard string, f **datasources.Filter, prm **datasources.Param) bool {
	negate := false
	if len(toks) > 1 && toks[0].is("NOT") {
		negate, toks = true, stripParens(toks[1:])
	}
	dimOf := func(x []token) string {
		if n := asName(stripParens(x)); n != "" && rt.r.Dimension(n) != nil {
			return n
		}
		return ""
	}
	list := func(t []token) (string, string, bool) {
		if len(t) != 1 {
			return "", "", false
		}
		fn, name, _, ok := templateParam(t[0])
		if !ok || fn != "Array" || name != guard {
			return "", "", false
		}
		el := "String"
		if m := regexp.MustCompile(`,\s*'([A-Za-z0-9]+)'`).FindStringSubmatch(t[0].val); m != nil {
			el = tinybirdType(m[1])
		}
		return name, "Array(" + el + ")", true
	}
	set := func(dim, op, name, typ string) bool {
		*f = &datasources.Filter{Dimension: dim, Param: name, Op: op}
		*prm = &datasources.Param{Name: name, Type: typ}
		return true
	}
	inOp := datasources.FilterIn
	if negate {
		inOp = datasources.FilterNotIn
	}
	if c := asCall(toks); c != nil && c.name == "has" && len(c.args) == 2 {
		if name, typ, ok := list(c.args[0]); ok {
			if dim := dimOf(c.args[1]); dim != "" {
				return set(dim, inOp, name, typ)
			}
		}
	}
	if i := indexTop(toks, 0, "IN"); i > 0 {
		lhs, neg := toks[:i], negate
		if i > 1 && toks[i-1].is("NOT") {
			lhs, neg = toks[:i-1], !neg
		}
		op := datasources.FilterIn
		if neg {
			op = datasources.FilterNotIn
		}
		if name, typ, ok := list(toks[i+1:]); ok {
			if dim := dimOf(lhs); dim != "" {
				return set(dim, op, name, typ)
			}
		}
	}
	if negate || len(toks) < 3 || toks[len(toks)-2].kind != tOp {
		return false
	}
	op := toks[len(toks)-2].raw
	switch op {
	case "!=", "<>":
		op = datasources.FilterNe
	case ">=", ">", "<=", "<":
	default:
		return false
	}
	fn, name, _, ok := templateParam(toks[len(toks)-1])
	if !ok || name != guard || fn == "Array" {
		return false
	}
	if dim := dimOf(toks[:len(toks)-2]); dim != "" {
		return set(dim, op, name, tinybirdType(fn))
	}
	return false
}

// tinybirdType is the ClickHouse type a Tinybird template type function reads.
func tinybirdType(fn string) string {
	switch fn {
	case "String", "UUID":
		return "String"
	case "Boolean":
		return "Bool"
	case "Int", "Integer":
		return "Int32"
	}
	return fn
}

// pagingParam reads {{Int32(p, default)}}, or hourglass's capped form
// if({{Int32(p, d)}} > max, throwIf(…), {{Int32(p, d)}}), as a paging parameter.
func pagingParam(toks []token) *datasources.Paging {
	toks = stripParens(toks)
	if len(toks) == 1 {
		fn, name, def, ok := templateParam(toks[0])
		n, err := strconv.Atoi(def)
		if !ok || !strings.Contains(fn, "Int") || err != nil && def != "" {
			return nil
		}
		return &datasources.Paging{Param: name, Default: n}
	}
	c := asCall(toks)
	if c == nil || c.name != "if" || len(c.args) != 3 {
		return nil
	}
	gt := splitTop(c.args[0], ">")
	if len(gt) != 2 || len(gt[1]) != 1 || gt[1][0].kind != tNumber {
		return nil
	}
	pg := pagingParam(gt[0])
	if pg == nil || text(gt[0]) != text(c.args[2]) {
		return nil
	}
	if thr := asCall(c.args[1]); thr == nil || thr.name != "throwIf" {
		return nil
	}
	pg.Max, _ = strconv.Atoi(gt[1][0].raw)
	return pg
}

// paging reads LIMIT p [OFFSET o], LIMIT o, p and the capped forms as the endpoint's
// limit and offset parameters; false when the LIMIT is not made of parameters.
func (im *importer) paging(p *Pipe, e *datasources.Endpoint, limit []token) bool {
	var lim, off []token
	if i := indexTop(limit, 0, "OFFSET"); i > 0 {
		lim, off = limit[:i], limit[i+1:]
	} else if parts := splitTop(limit, ","); len(parts) == 2 {
		off, lim = parts[0], parts[1]
	} else {
		lim = limit
	}
	l := pagingParam(lim)
	if l == nil || l.Default <= 0 {
		return false
	}
	var o *datasources.Paging
	if len(off) > 0 {
		if o = pagingParam(off); o == nil {
			return false
		}
	}
	// The loader declares the paging params (UInt64, the paging's default).
	e.LimitParam, e.OffsetParam = l, o
	return true
}
