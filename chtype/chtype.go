// Package chtype parses ClickHouse type names ("Nullable(LowCardinality(String))",
// "DateTime64(3, 'UTC')", "Map(String, UInt64)") into a small tree, so the validator can check
// that a metric fits its column and the compiler can derive a rollup's state types. It also
// reads ClickHouse version numbers (ParseVersion), which decide what a server can run: the
// one rule the compiler, deploy and the metadata store compare versions by.
package chtype

import (
	"fmt"
	"strings"
)

// Type is a parsed ClickHouse type: a name and its arguments. Arguments are types for
// composite types (Nullable, LowCardinality, Array, Map, Tuple, AggregateFunction) and literals
// (kept as Literal) for parameterised scalars (DateTime64(3, 'UTC'), Decimal(18, 4),
// FixedString(16)).
type Type struct {
	Name string
	Args []*Type
	// Literal is set for a literal argument (a number or a quoted string), with Name empty.
	Literal string
}

// Parse parses a ClickHouse type name.
func Parse(s string) (*Type, error) {
	p := &parser{s: s}
	t, err := p.parseType()
	if err != nil {
		return nil, fmt.Errorf("type %q: %w", s, err)
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("type %q: unexpected %q at %d", s, p.s[p.i:], p.i)
	}
	if err := t.check(); err != nil {
		return nil, fmt.Errorf("type %q: %w", s, err)
	}
	return t, nil
}

// MustParse is Parse for types known to be valid (tests, built-in definitions); it panics on
// error.
func MustParse(s string) *Type {
	t, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return t
}

// String renders the type in ClickHouse syntax.
func (t *Type) String() string {
	if t.Name == "" {
		return t.Literal
	}
	if len(t.Args) == 0 {
		return t.Name
	}
	parts := make([]string, len(t.Args))
	for i, a := range t.Args {
		parts[i] = a.String()
	}
	return t.Name + "(" + strings.Join(parts, ", ") + ")"
}

// Base strips Nullable and LowCardinality wrappers.
func (t *Type) Base() *Type {
	for (t.Name == "Nullable" || t.Name == "LowCardinality") && len(t.Args) == 1 {
		t = t.Args[0]
	}
	return t
}

// IsNullable reports whether the type is Nullable at its outermost level (or inside
// LowCardinality).
func (t *Type) IsNullable() bool {
	if t.Name == "LowCardinality" && len(t.Args) == 1 {
		return t.Args[0].IsNullable()
	}
	return t.Name == "Nullable"
}

// NotNull returns the type without its Nullable wrapper (keeping LowCardinality).
func (t *Type) NotNull() *Type {
	switch {
	case t.Name == "Nullable" && len(t.Args) == 1:
		return t.Args[0]
	case t.Name == "LowCardinality" && len(t.Args) == 1 && t.Args[0].Name == "Nullable":
		return &Type{Name: "LowCardinality", Args: []*Type{t.Args[0].Args[0]}}
	}
	return t
}

// IsSignedInt reports whether the base type is Int8…Int256.
func (t *Type) IsSignedInt() bool {
	switch t.Base().Name {
	case "Int8", "Int16", "Int32", "Int64", "Int128", "Int256":
		return true
	}
	return false
}

// IsUnsignedInt reports whether the base type is UInt8…UInt256 or Bool.
func (t *Type) IsUnsignedInt() bool {
	switch t.Base().Name {
	case "UInt8", "UInt16", "UInt32", "UInt64", "UInt128", "UInt256", "Bool":
		return true
	}
	return false
}

// IsInteger reports whether the base type is an integer (signed, unsigned or Bool).
func (t *Type) IsInteger() bool { return t.IsSignedInt() || t.IsUnsignedInt() }

// IsFloat reports whether the base type is Float32 or Float64.
func (t *Type) IsFloat() bool {
	n := t.Base().Name
	return n == "Float32" || n == "Float64"
}

// IsDecimal reports whether the base type is a Decimal.
func (t *Type) IsDecimal() bool { return strings.HasPrefix(t.Base().Name, "Decimal") }

// IsNumeric reports whether the base type can be summed.
func (t *Type) IsNumeric() bool { return t.IsInteger() || t.IsFloat() || t.IsDecimal() }

// IsDateTime reports whether the base type is DateTime or DateTime64.
func (t *Type) IsDateTime() bool {
	n := t.Base().Name
	return n == "DateTime" || n == "DateTime64"
}

// IsDate reports whether the base type is Date or Date32.
func (t *Type) IsDate() bool {
	n := t.Base().Name
	return n == "Date" || n == "Date32"
}

// IsString reports whether the base type is String or FixedString.
func (t *Type) IsString() bool {
	n := t.Base().Name
	return n == "String" || n == "FixedString"
}

// IsComparable reports whether min/max are meaningful on the type (numbers, strings, dates,
// UUIDs, enums).
func (t *Type) IsComparable() bool {
	if t.IsNumeric() || t.IsString() || t.IsDateTime() || t.IsDate() {
		return true
	}
	n := t.Base().Name
	return n == "UUID" || strings.HasPrefix(n, "Enum") || n == "IPv4" || n == "IPv6"
}

// known lists the type names hourglass accepts, with how many arguments each takes
// (-1: any number of type arguments; -2: optional literal arguments).
var known = map[string]int{
	"UInt8": 0, "UInt16": 0, "UInt32": 0, "UInt64": 0, "UInt128": 0, "UInt256": 0,
	"Int8": 0, "Int16": 0, "Int32": 0, "Int64": 0, "Int128": 0, "Int256": 0,
	"Float32": 0, "Float64": 0, "Bool": 0, "String": 0, "UUID": 0, "Date": 0, "Date32": 0,
	"IPv4": 0, "IPv6": 0, "JSON": -2,
	"DateTime": -2, "DateTime64": -2, "Decimal": -2, "Decimal32": -2, "Decimal64": -2,
	"Decimal128": -2, "FixedString": -2, "Enum8": -2, "Enum16": -2,
	"Nullable": 1, "LowCardinality": 1, "Array": 1, "Map": 2, "Tuple": -1,
	"AggregateFunction": -1, "SimpleAggregateFunction": -1,
}

func (t *Type) check() error {
	if t.Name == "" {
		return nil
	}
	n, ok := known[t.Name]
	if !ok {
		return fmt.Errorf("unknown type %s", t.Name)
	}
	switch {
	case n >= 0 && len(t.Args) != n:
		return fmt.Errorf("%s takes %d type argument(s), got %d", t.Name, n, len(t.Args))
	case n >= 0:
		for _, a := range t.Args {
			if a.Name == "" {
				return fmt.Errorf("%s takes a type, not %s", t.Name, a.Literal)
			}
			if err := a.check(); err != nil {
				return err
			}
		}
	case n == -1:
		for i, a := range t.Args {
			if i == 0 && strings.HasSuffix(t.Name, "AggregateFunction") {
				continue // the function name (and its parameters)
			}
			if err := a.check(); err != nil {
				return err
			}
		}
	}
	return nil
}

type parser struct {
	s string
	i int
}

func (p *parser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *parser) parseType() (*Type, error) {
	p.skipSpace()
	if p.i >= len(p.s) {
		return nil, fmt.Errorf("unexpected end")
	}
	c := p.s[p.i]
	if c == '\'' {
		return p.parseQuoted()
	}
	if c == '-' || (c >= '0' && c <= '9') {
		start := p.i
		p.i++
		for p.i < len(p.s) && (p.s[p.i] >= '0' && p.s[p.i] <= '9' || p.s[p.i] == '.') {
			p.i++
		}
		return &Type{Literal: p.s[start:p.i]}, nil
	}
	start := p.i
	for p.i < len(p.s) && isWord(p.s[p.i]) {
		p.i++
	}
	if start == p.i {
		return nil, fmt.Errorf("unexpected %q at %d", p.s[p.i:], p.i)
	}
	t := &Type{Name: p.s[start:p.i]}
	p.skipSpace()
	// Enum values: 'a' = 1
	if p.i < len(p.s) && p.s[p.i] == '(' {
		p.i++
		for {
			a, err := p.parseType()
			if err != nil {
				return nil, err
			}
			p.skipSpace()
			if p.i < len(p.s) && p.s[p.i] == '=' && a.Name == "" {
				p.i++
				v, err := p.parseType()
				if err != nil {
					return nil, err
				}
				a = &Type{Literal: a.Literal + " = " + v.Literal}
				p.skipSpace()
			}
			t.Args = append(t.Args, a)
			if p.i >= len(p.s) {
				return nil, fmt.Errorf("missing )")
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] == ')' {
				p.i++
				break
			}
			return nil, fmt.Errorf("unexpected %q at %d", p.s[p.i:], p.i)
		}
	}
	return t, nil
}

func (p *parser) parseQuoted() (*Type, error) {
	start := p.i
	p.i++
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '\\':
			p.i += 2
			continue
		case '\'':
			p.i++
			return &Type{Literal: p.s[start:p.i]}, nil
		}
		p.i++
	}
	return nil, fmt.Errorf("unterminated string")
}

func isWord(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
