package ident

import "strings"

// Ref is a bare name an expression refers to: an identifier outside string literals and
// quoted names that is not a function being called, a member after a dot, or a number.
type Ref struct {
	// Name is the identifier; Start and End its byte offsets in the expression.
	Name       string
	Start, End int
}

// Refs lists the bare names of a SQL expression in order (see Ref), so that the names of
// derived metrics' inputs can be checked and replaced without a SQL parser. Keywords
// (AND, CASE, NULL, …) are names too: the caller decides what a name means.
func Refs(expr string) []Ref {
	var out []Ref
	isStart := func(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isPart := func(c byte) bool { return isStart(c) || c >= '0' && c <= '9' }
	prevSignificant := byte(0)
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < len(expr) && expr[j] != c {
				if expr[j] == '\\' {
					j++
				}
				j++
			}
			i = j + 1
			prevSignificant = c
		case c >= '0' && c <= '9':
			// A number, with its exponent or hex digits: never a name.
			j := i + 1
			for j < len(expr) && (isPart(expr[j]) || expr[j] == '.') {
				j++
			}
			i = j
			prevSignificant = '0'
		case isStart(c):
			j := i + 1
			for j < len(expr) && isPart(expr[j]) {
				j++
			}
			k := j
			for k < len(expr) && (expr[k] == ' ' || expr[k] == '\t' || expr[k] == '\n' || expr[k] == '\r') {
				k++
			}
			call := k < len(expr) && expr[k] == '('
			member := prevSignificant == '.'
			if !call && !member {
				out = append(out, Ref{Name: expr[i:j], Start: i, End: j})
			}
			i = j
			prevSignificant = 'a'
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		default:
			prevSignificant = c
			i++
		}
	}
	return out
}

// ReplaceRefs returns expr with every bare name for which replace returns ok replaced by
// its text.
func ReplaceRefs(expr string, replace func(name string) (string, bool)) string {
	var b strings.Builder
	last := 0
	for _, r := range Refs(expr) {
		if s, ok := replace(r.Name); ok {
			b.WriteString(expr[last:r.Start])
			b.WriteString(s)
			last = r.End
		}
	}
	b.WriteString(expr[last:])
	return b.String()
}

// sqlKeywords are words an expression may hold that are not names.
var sqlKeywords = map[string]bool{
	"AND": true, "OR": true, "NOT": true, "NULL": true, "IS": true, "IN": true, "LIKE": true, "ILIKE": true,
	"BETWEEN": true, "CASE": true, "WHEN": true, "THEN": true, "ELSE": true, "END": true, "AS": true,
	"TRUE": true, "FALSE": true, "INTERVAL": true, "SECOND": true, "MINUTE": true, "HOUR": true, "DAY": true,
	"WEEK": true, "MONTH": true, "QUARTER": true, "YEAR": true, "DIV": true, "MOD": true, "NAN": true, "INF": true,
	"GLOBAL": true, "DISTINCT": true,
}

// IsKeyword reports whether a bare name is a SQL keyword rather than a column.
func IsKeyword(name string) bool { return sqlKeywords[strings.ToUpper(name)] }
