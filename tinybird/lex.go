package tinybird

import (
	"fmt"
	"strings"
)

// tokKind is what a token of node SQL is.
type tokKind int

const (
	tIdent  tokKind = iota // a name, bare or quoted with backticks or double quotes
	tString                // a single-quoted string literal
	tNumber                // a number literal
	tOp                    // punctuation or an operator
	tExpr                  // a template expression {{ … }}
	tStmt                  // a template statement {% … %}
)

// token is one lexical element of node SQL. Raw is the text as written; Val is the name of a
// quoted identifier, the inside of a template tag, and Raw otherwise.
type token struct {
	kind   tokKind
	raw    string
	val    string
	line   int
	quoted bool
}

// is says whether t is the keyword or operator s (keywords compare case-insensitively).
func (t token) is(s string) bool {
	switch t.kind {
	case tIdent:
		return !t.quoted && strings.EqualFold(t.raw, s)
	case tOp:
		return t.raw == s
	}
	return false
}

// keywords are words that are never a column name in the queries the importer reads.
var keywords = map[string]bool{
	"SELECT": true, "FROM": true, "WHERE": true, "PREWHERE": true, "GROUP": true, "BY": true,
	"ORDER": true, "HAVING": true, "LIMIT": true, "OFFSET": true, "UNION": true, "ALL": true,
	"AS": true, "AND": true, "OR": true, "NOT": true, "IN": true, "IS": true, "NULL": true,
	"LIKE": true, "ILIKE": true, "BETWEEN": true, "CASE": true, "WHEN": true, "THEN": true,
	"ELSE": true, "END": true, "ASC": true, "DESC": true, "JOIN": true, "ON": true, "USING": true,
	"LEFT": true, "RIGHT": true, "INNER": true, "OUTER": true, "FULL": true, "CROSS": true,
	"ARRAY": true, "WITH": true, "DISTINCT": true, "INTERVAL": true, "SETTINGS": true,
	"FORMAT": true, "FINAL": true, "SAMPLE": true, "GLOBAL": true, "ANY": true, "TRUE": true,
	"FALSE": true, "NULLS": true, "FIRST": true, "LAST": true, "COLLATE": true, "TOTALS": true,
	"ROLLUP": true, "CUBE": true, "EXCEPT": true, "REPLACE": true,
}

func isKeyword(t token) bool {
	return t.kind == tIdent && !t.quoted && keywords[strings.ToUpper(t.raw)]
}

// lex splits node SQL into tokens; firstLine is the file line of the SQL's first line.
// Comments are dropped.
func lex(sql string, firstLine int) ([]token, error) {
	var out []token
	line := firstLine
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case strings.HasPrefix(sql[i:], "--"):
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case strings.HasPrefix(sql[i:], "/*"):
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("line %d: unclosed /* comment", line)
			}
			line += strings.Count(sql[i:i+2+end], "\n")
			i += end + 4
		case strings.HasPrefix(sql[i:], "{{") || strings.HasPrefix(sql[i:], "{%"):
			closer, kind := "}}", tExpr
			if sql[i+1] == '%' {
				closer, kind = "%}", tStmt
			}
			end := strings.Index(sql[i+2:], closer)
			if end < 0 {
				return nil, fmt.Errorf("line %d: unclosed %s template tag", line, sql[i:i+2])
			}
			raw := sql[i : i+2+end+2]
			out = append(out, token{kind: kind, raw: raw, val: strings.TrimSpace(sql[i+2 : i+2+end]), line: line})
			line += strings.Count(raw, "\n")
			i += len(raw)
		case c == '\'' || c == '`' || c == '"':
			j := i + 1
			for ; j < len(sql); j++ {
				if sql[j] == '\\' {
					j++
					continue
				}
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c { // doubled quote
						j++
						continue
					}
					break
				}
			}
			if j >= len(sql) {
				return nil, fmt.Errorf("line %d: unclosed %c quote", line, c)
			}
			raw := sql[i : j+1]
			t := token{kind: tString, raw: raw, val: raw, line: line}
			if c != '\'' {
				t = token{kind: tIdent, raw: raw, val: strings.ReplaceAll(raw[1:len(raw)-1], string([]byte{c, c}), string(c)), line: line, quoted: true}
			}
			out = append(out, t)
			line += strings.Count(raw, "\n")
			i = j + 1
		case isIdentStart(c):
			j := i + 1
			for j < len(sql) && isIdentChar(sql[j]) {
				j++
			}
			out = append(out, token{kind: tIdent, raw: sql[i:j], val: sql[i:j], line: line})
			i = j
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(sql) && (isIdentChar(sql[j]) || sql[j] == '.' || (sql[j] == '-' || sql[j] == '+') && (sql[j-1] == 'e' || sql[j-1] == 'E')) {
				j++
			}
			out = append(out, token{kind: tNumber, raw: sql[i:j], val: sql[i:j], line: line})
			i = j
		default:
			op := string(c)
			for _, two := range []string{">=", "<=", "!=", "<>", "==", "||", "::", "->"} {
				if strings.HasPrefix(sql[i:], two) {
					op = two
				}
			}
			out = append(out, token{kind: tOp, raw: op, val: op, line: line})
			i += len(op)
		}
	}
	return out, nil
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' }

// text writes tokens back as SQL, spaced canonically: writing the result and lexing it again
// gives the same text.
func text(toks []token) string {
	var b strings.Builder
	for i, t := range toks {
		if i > 0 && space(toks[i-1], t) {
			b.WriteByte(' ')
		}
		b.WriteString(t.raw)
	}
	return b.String()
}

func space(prev, t token) bool {
	switch {
	case prev.is("(") || prev.is("[") || prev.is(".") || prev.is("::"):
		return false
	case t.is(")") || t.is("]") || t.is(",") || t.is(".") || t.is("::"):
		return false
	case t.is("(") && (prev.kind == tIdent && (!isKeyword(prev) || prev.is("ANY")) || prev.is(")")):
		return false // a call, or a parametric aggregate's second argument list
	}
	return true
}

// splitTop splits tokens at top-level occurrences of the separator (a keyword or operator).
func splitTop(toks []token, sep string) [][]token {
	var out [][]token
	depth, start := 0, 0
	for i, t := range toks {
		switch {
		case t.is("(") || t.is("["):
			depth++
		case t.is(")") || t.is("]"):
			depth--
		case depth == 0 && t.is(sep):
			out = append(out, toks[start:i])
			start = i + 1
		}
	}
	return append(out, toks[start:])
}

// splitAnd splits a condition into its top-level AND terms, keeping x BETWEEN a AND b whole.
func splitAnd(toks []token) [][]token {
	var out [][]token
	for _, part := range splitTop(toks, "AND") {
		if n := len(out); n > 0 && indexTop(out[n-1], 0, "BETWEEN") >= 0 && indexTop(out[n-1], 0, "AND") < 0 {
			joined := append(append(append([]token{}, out[n-1]...), token{kind: tIdent, raw: "AND", val: "AND", line: lineOf(part, 0)}), part...)
			out[n-1] = joined
			continue
		}
		out = append(out, part)
	}
	return out
}

// call is a function call spanning a whole expression: name(args…), or a parametric
// aggregate name(params…)(args…).
type call struct {
	name   string
	params [][]token
	args   [][]token
}

// asCall reads toks as exactly one function call, or returns nil.
func asCall(toks []token) *call {
	// ANY is a JOIN keyword, and any(x) the aggregate: a keyword followed by ( is a call
	// only for it.
	if len(toks) < 3 || toks[0].kind != tIdent || toks[0].quoted || isKeyword(toks[0]) && !toks[0].is("ANY") || !toks[1].is("(") {
		return nil
	}
	lists, end := [][][]token{}, 1
	for end < len(toks) && toks[end].is("(") {
		close := matching(toks, end)
		if close < 0 {
			return nil
		}
		inner := toks[end+1 : close]
		var args [][]token
		if len(inner) > 0 {
			args = splitTop(inner, ",")
		}
		lists = append(lists, args)
		end = close + 1
	}
	if end != len(toks) || len(lists) > 2 {
		return nil
	}
	c := &call{name: toks[0].raw, args: lists[len(lists)-1]}
	if len(lists) == 2 {
		c.params = lists[0]
	}
	return c
}

// matching returns the index of the parenthesis closing the one at open, or -1.
func matching(toks []token, open int) int {
	depth := 0
	for i := open; i < len(toks); i++ {
		switch {
		case toks[i].is("(") || toks[i].is("["):
			depth++
		case toks[i].is(")") || toks[i].is("]"):
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// asName reads toks as one column name (bare or quoted), or returns "".
func asName(toks []token) string {
	if len(toks) == 1 && toks[0].kind == tIdent && !isKeyword(toks[0]) {
		return toks[0].val
	}
	return ""
}

// stripParens removes parentheses around a whole expression.
func stripParens(toks []token) []token {
	for len(toks) >= 2 && toks[0].is("(") && matching(toks, 0) == len(toks)-1 {
		toks = toks[1 : len(toks)-1]
	}
	return toks
}

// hasTemplate says whether any token is a template tag.
func hasTemplate(toks []token) bool {
	for _, t := range toks {
		if t.kind == tExpr || t.kind == tStmt {
			return true
		}
	}
	return false
}

// lineOf is the line of the first token, or def.
func lineOf(toks []token, def int) int {
	if len(toks) > 0 {
		return toks[0].line
	}
	return def
}
