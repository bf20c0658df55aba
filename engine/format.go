package engine

import (
	"context"
	"io"
	"strings"
)

// FormatClause returns the output format a statement names in its own FORMAT clause
// ("SELECT … FORMAT JSON" → "JSON", "INSERT INTO t FORMAT CSV …" → "CSV"), or "" when it names
// none. Strings, quoted identifiers, comments and parentheses are skipped, and a column or
// function called format is not a clause: a SELECT's FORMAT name must end the statement or be
// followed by SETTINGS. Such statements go through QueryFormat, whose output is the engine's
// own text in that format.
func FormatClause(query string) string {
	toks := sqlTokens(query)
	insert := len(toks) > 0 && strings.EqualFold(toks[0].text, "INSERT")
	for i, t := range toks {
		if t.depth != 0 || !t.word || !strings.EqualFold(t.text, "FORMAT") || i+1 >= len(toks) || !toks[i+1].word {
			if insert && t.word && strings.EqualFold(t.text, "VALUES") {
				return "" // inline data follows
			}
			continue
		}
		if insert || i+2 == len(toks) || toks[i+2].text == ";" || strings.EqualFold(toks[i+2].text, "SETTINGS") {
			return toks[i+1].text
		}
	}
	return ""
}

// ReturnsRows reports whether a statement returns rows, by its first keyword: SELECT, WITH,
// SHOW, DESCRIBE, EXPLAIN, EXISTS, CHECK, or a parenthesised query. Other statements (DDL,
// INSERT, SET, ALTER …) are for Exec.
func ReturnsRows(query string) bool {
	toks := sqlTokens(query)
	if len(toks) == 0 {
		return false
	}
	if toks[0].text == "(" {
		return true
	}
	switch strings.ToUpper(toks[0].text) {
	case "SELECT", "WITH", "SHOW", "DESC", "DESCRIBE", "EXPLAIN", "EXISTS", "CHECK":
		return true
	}
	return false
}

// InlineData reports whether a statement is an INSERT carrying its rows in its own text
// (VALUES or FORMAT). The native protocol cannot send those to servers before 21.x, so they
// go through QueryFormat.
func InlineData(query string) bool {
	toks := sqlTokens(query)
	if len(toks) == 0 || !strings.EqualFold(toks[0].text, "INSERT") {
		return false
	}
	for _, t := range toks {
		if t.depth == 0 && t.word && (strings.EqualFold(t.text, "VALUES") || strings.EqualFold(t.text, "FORMAT")) {
			return true
		}
		if t.depth == 0 && t.word && strings.EqualFold(t.text, "SELECT") {
			return false
		}
	}
	return false
}

type sqlToken struct {
	text  string
	word  bool
	depth int
}

// sqlTokens splits a statement into words and punctuation with their parenthesis depth,
// dropping comments, string literals and quoted identifiers (a quoted token is kept as a
// non-word placeholder).
func sqlTokens(q string) []sqlToken {
	var toks []sqlToken
	depth := 0
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(q[i:], "--"):
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				return toks
			}
			i += j
		case strings.HasPrefix(q[i:], "/*"):
			j := strings.Index(q[i+2:], "*/")
			if j < 0 {
				return toks
			}
			i += j + 4
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(q, i)
			toks = append(toks, sqlToken{text: string(c), depth: depth})
		case isIdentByte(c):
			j := i
			for j < len(q) && (isIdentByte(q[j]) || q[j] >= '0' && q[j] <= '9') {
				j++
			}
			toks = append(toks, sqlToken{text: q[i:j], word: true, depth: depth})
			i = j
		default:
			switch c {
			case '(', '[', '{':
				depth++
			case ')', ']', '}':
				depth--
			}
			if c >= '0' && c <= '9' {
				j := i
				for j < len(q) && (isIdentByte(q[j]) || q[j] >= '0' && q[j] <= '9' || q[j] == '.') {
					j++
				}
				toks = append(toks, sqlToken{text: q[i:j], depth: depth})
				i = j
				continue
			}
			toks = append(toks, sqlToken{text: string(c), depth: depth})
			i++
		}
	}
	return toks
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// QueryFormat runs a statement on the embedded engine and copies its output, in the format the
// statement's FORMAT clause names, to w unchanged.
func (e *embedded) QueryFormat(ctx context.Context, query string, params Params, w io.Writer) (Stats, error) {
	out, stats, err := e.do(ctx, query, params)
	if err != nil {
		return Stats{}, err
	}
	if _, err := w.Write(out); err != nil {
		return stats, err
	}
	return stats, nil
}
