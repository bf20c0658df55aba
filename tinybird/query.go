package tinybird

import (
	"fmt"
	"strings"
)

// query is a node's SQL read as SELECTs joined by UNION ALL.
type query struct {
	parts []*selectStmt
	line  int
}

// item is one expression of a SELECT list with its output name.
type item struct {
	expr  []token
	alias string // "" when the expression names itself
	line  int
}

// name is the item's output column name: its alias, or the column it reads.
func (it item) name() string {
	if it.alias != "" {
		return it.alias
	}
	if n := asName(it.expr); n != "" {
		return n
	}
	if len(it.expr) == 3 && it.expr[1].is(".") && it.expr[2].kind == tIdent {
		return it.expr[2].val
	}
	return text(it.expr)
}

// from is a FROM clause: a table (datasource, node or pipe) or a subquery.
type from struct {
	table string
	sub   *query
	line  int
}

// selectStmt is one SELECT. Clauses the importer does not translate are kept as tokens so it
// can say what it dropped.
type selectStmt struct {
	line     int
	with     []token
	distinct bool
	items    []item
	from     *from
	join     []token
	where    []token
	groupBy  [][]token
	having   []token
	orderBy  [][]token
	limit    []token
	rest     []token // SETTINGS, FORMAT, …
}

// parseQuery reads node SQL (after its optional leading % line) starting at file line.
func parseQuery(sql string, line int) (*query, error) {
	toks, err := lex(sql, line)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("line %d: empty SQL", line)
	}
	return parseTokens(toks)
}

func parseTokens(toks []token) (*query, error) {
	q := &query{line: toks[0].line}
	// Split at top-level UNION ALL.
	depth, start := 0, 0
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.is("(") || t.is("["):
			depth++
		case t.is(")") || t.is("]"):
			depth--
		case depth == 0 && t.is("UNION"):
			if i+1 >= len(toks) || !toks[i+1].is("ALL") {
				return nil, fmt.Errorf("line %d: UNION without ALL is not read: write UNION ALL", t.line)
			}
			s, err := parseSelect(toks[start:i])
			if err != nil {
				return nil, err
			}
			q.parts = append(q.parts, s)
			start = i + 2
			i++
		}
	}
	s, err := parseSelect(toks[start:])
	if err != nil {
		return nil, err
	}
	q.parts = append(q.parts, s)
	return q, nil
}

// clause keywords in the order a SELECT has them; JOIN words start the join clause.
var clauseStarts = []string{"FROM", "PREWHERE", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "SETTINGS", "FORMAT"}

func parseSelect(toks []token) (*selectStmt, error) {
	toks = stripParens(toks)
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty SELECT")
	}
	s := &selectStmt{line: toks[0].line}
	i := 0
	if toks[0].is("WITH") {
		j := indexTop(toks, 0, "SELECT")
		if j < 0 {
			return nil, fmt.Errorf("line %d: WITH without SELECT", toks[0].line)
		}
		s.with, i = toks[1:j], j
	}
	if i >= len(toks) || !toks[i].is("SELECT") {
		return nil, fmt.Errorf("line %d: expected SELECT, found %q", lineOf(toks[i:], s.line), text(toks[i:min(i+3, len(toks))]))
	}
	i++
	if i < len(toks) && toks[i].is("DISTINCT") {
		s.distinct = true
		i++
	}
	// Find the top-level clause boundaries.
	type mark struct {
		kw  string
		pos int
	}
	var marks []mark
	depth := 0
	for j := i; j < len(toks); j++ {
		t := toks[j]
		switch {
		case t.is("(") || t.is("["):
			depth++
			continue
		case t.is(")") || t.is("]"):
			depth--
			continue
		}
		if depth != 0 || t.kind != tIdent || t.quoted {
			continue
		}
		kw := strings.ToUpper(t.raw)
		if len(marks) > 0 && marks[len(marks)-1].kw == "ORDER" && kw != "LIMIT" && kw != "SETTINGS" && kw != "FORMAT" {
			continue // ORDER BY … WITH FILL FROM … TO … STEP …: FROM is the fill's
		}
		for _, c := range clauseStarts {
			if kw == c && (kw != "GROUP" && kw != "ORDER" || j+1 < len(toks) && toks[j+1].is("BY")) {
				marks = append(marks, mark{kw, j})
			}
		}
		if kw == "JOIN" || kw == "ARRAY" && j+1 < len(toks) && toks[j+1].is("JOIN") ||
			(kw == "LEFT" || kw == "RIGHT" || kw == "INNER" || kw == "FULL" || kw == "CROSS" || kw == "GLOBAL" || kw == "ANY") && len(marks) > 0 && marks[len(marks)-1].kw == "FROM" {
			if len(marks) == 0 || marks[len(marks)-1].kw != "JOIN" {
				marks = append(marks, mark{"JOIN", j})
			}
		}
	}
	end := func(k int) int {
		if k+1 < len(marks) {
			return marks[k+1].pos
		}
		return len(toks)
	}
	listEnd := len(toks)
	if len(marks) > 0 {
		listEnd = marks[0].pos
	}
	for _, it := range splitTop(toks[i:listEnd], ",") {
		if len(it) == 0 {
			return nil, fmt.Errorf("line %d: empty expression in the SELECT list", s.line)
		}
		s.items = append(s.items, parseItem(it))
	}
	for k, m := range marks {
		body := toks[m.pos+1 : end(k)]
		switch m.kw {
		case "FROM":
			f, err := parseFrom(body, toks[m.pos].line)
			if err != nil {
				return nil, err
			}
			s.from = f
		case "JOIN":
			s.join = toks[m.pos:end(k)]
		case "PREWHERE", "WHERE":
			s.where = append(s.where, body...)
		case "GROUP":
			s.groupBy = splitTop(body[1:], ",")
		case "HAVING":
			s.having = body
		case "ORDER":
			s.orderBy = splitTop(body[1:], ",")
		case "LIMIT":
			s.limit = body
		default:
			s.rest = append(s.rest, toks[m.pos:end(k)]...)
		}
	}
	return s, nil
}

// indexTop returns the index of the first top-level keyword kw at or after from, or -1.
func indexTop(toks []token, from int, kw string) int {
	depth := 0
	for j := from; j < len(toks); j++ {
		switch {
		case toks[j].is("(") || toks[j].is("["):
			depth++
		case toks[j].is(")") || toks[j].is("]"):
			depth--
		case depth == 0 && toks[j].is(kw):
			return j
		}
	}
	return -1
}

func parseItem(toks []token) item {
	it := item{expr: toks, line: toks[0].line}
	n := len(toks)
	switch {
	case n >= 3 && toks[n-2].is("AS") && toks[n-1].kind == tIdent:
		it.expr, it.alias = toks[:n-2], toks[n-1].val
	case n >= 2 && toks[n-1].kind == tIdent && !isKeyword(toks[n-1]) &&
		(toks[n-2].is(")") || toks[n-2].kind == tIdent && !isKeyword(toks[n-2]) || toks[n-2].kind == tString || toks[n-2].kind == tNumber):
		it.expr, it.alias = toks[:n-1], toks[n-1].val
	}
	return it
}

func parseFrom(body []token, line int) (*from, error) {
	if len(body) == 0 {
		return nil, fmt.Errorf("line %d: FROM without a table", line)
	}
	f := &from{line: body[0].line}
	if body[0].is("(") {
		close := matching(body, 0)
		if close < 0 {
			return nil, fmt.Errorf("line %d: unbalanced parentheses after FROM", body[0].line)
		}
		sub, err := parseTokens(body[1:close])
		if err != nil {
			return nil, err
		}
		f.sub = sub
		body = body[close+1:]
	} else {
		if body[0].kind != tIdent {
			return nil, fmt.Errorf("line %d: FROM %s is not a table", body[0].line, body[0].raw)
		}
		f.table = body[0].val
		body = body[1:]
		if len(body) >= 2 && body[0].is(".") {
			return nil, fmt.Errorf("line %d: FROM %s.%s names a database: Tinybird pipes read datasources of their workspace", body[1].line, f.table, body[1].val)
		}
		if len(body) > 0 && body[0].is("(") {
			return nil, fmt.Errorf("line %d: FROM %s(…) is a table function, which is not imported", f.line, f.table)
		}
	}
	// An alias, FINAL or SAMPLE may follow.
	for len(body) > 0 && (body[0].is("AS") || body[0].is("FINAL") || body[0].kind == tIdent && !isKeyword(body[0])) {
		body = body[1:]
	}
	if len(body) > 0 {
		return nil, fmt.Errorf("line %d: %q after FROM is not read", body[0].line, text(body))
	}
	return f, nil
}
