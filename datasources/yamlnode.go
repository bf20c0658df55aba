package datasources

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// This file holds the small helpers that read yaml.v3 nodes into values while recording
// diagnostics with positions: mappings with known keys, scalars, lists, durations.

// mapNode is a checked YAML mapping: known keys only, each once.
type mapNode struct {
	node *yaml.Node
	keys map[string]*yaml.Node
	vals map[string]*yaml.Node
}

// deref follows YAML aliases.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// kindName describes a node for messages ("a list", "a mapping", "the number 2").
func kindName(n *yaml.Node) string {
	n = deref(n)
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Tag == "!!null":
		return "an empty value"
	case n.Tag == "!!bool":
		return "the boolean " + n.Value
	case n.Tag == "!!int" || n.Tag == "!!float":
		return "the number " + n.Value
	}
	return fmt.Sprintf("%q", n.Value)
}

// at returns the position of a node in the current file.
func (l *loader) at(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: l.file}
	}
	return Pos{File: l.file, Line: n.Line, Col: n.Column}
}

func (l *loader) errAt(p Pos, code, format string, args ...any) {
	l.diags = append(l.diags, Diagnostic{Pos: p, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (l *loader) errf(n *yaml.Node, code, format string, args ...any) {
	l.errAt(l.at(n), code, format, args...)
}

// mapping checks that n is a mapping whose keys are all in allowed, each once. It returns nil
// (after reporting) when n is not a mapping.
func (l *loader) mapping(n *yaml.Node, what string, allowed []string) *mapNode {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		l.errf(n, CodeType, "%s must be a mapping of key: value lines, got %s", what, kindName(n))
		return nil
	}
	m := &mapNode{node: n, keys: map[string]*yaml.Node{}, vals: map[string]*yaml.Node{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			l.errf(k, CodeType, "a key in %s must be a plain word, got %s", what, kindName(k))
			continue
		}
		key := k.Value
		if prev, ok := m.keys[key]; ok {
			l.errf(k, CodeDupKey, "key %q appears twice in %s (first at line %d): keep only one", key, what, prev.Line)
			continue
		}
		if !contains(allowed, key) {
			l.errf(k, CodeUnknownKey, "unknown key %q in %s%s", key, what, suggest(key, allowed))
			continue
		}
		m.keys[key] = k
		m.vals[key] = v
	}
	return m
}

// has reports whether key is present with a non-null value.
func (m *mapNode) has(key string) bool {
	v, ok := m.vals[key]
	return ok && !isNull(v)
}

// str reads an optional scalar as text; ok is false when absent, null or of the wrong kind.
func (l *loader) str(m *mapNode, key string) (s string, ok bool) {
	if m == nil || !m.has(key) {
		return "", false
	}
	v := deref(m.vals[key])
	if v.Kind != yaml.ScalarNode {
		l.errf(v, CodeType, "%s must be a single value, got %s", key, kindName(v))
		return "", false
	}
	return v.Value, true
}

// required reads a scalar that must be present.
func (l *loader) required(m *mapNode, key, what string) (string, bool) {
	if m == nil {
		return "", false
	}
	if !m.has(key) {
		l.errf(m.node, CodeRequired, "%s has no %s: add `%s: …`", what, key, key)
		return "", false
	}
	return l.str(m, key)
}

// boolean reads an optional true/false value.
func (l *loader) boolean(m *mapNode, key string) (b bool, ok bool) {
	if m == nil || !m.has(key) {
		return false, false
	}
	v := deref(m.vals[key])
	if v.Kind == yaml.ScalarNode {
		switch strings.ToLower(v.Value) {
		case "true", "yes", "on":
			return true, true
		case "false", "no", "off":
			return false, true
		}
	}
	l.errf(v, CodeType, "%s must be true or false, got %s", key, kindName(v))
	return false, false
}

// integer reads an optional whole number.
func (l *loader) integer(m *mapNode, key string) (int, bool) {
	if m == nil || !m.has(key) {
		return 0, false
	}
	v := deref(m.vals[key])
	if v.Kind == yaml.ScalarNode {
		if i, err := strconv.Atoi(v.Value); err == nil {
			return i, true
		}
	}
	l.errf(v, CodeType, "%s must be a whole number such as 100, got %s", key, kindName(v))
	return 0, false
}

// duration reads an optional Go-style duration ("2h", "90m", "0s").
func (l *loader) duration(m *mapNode, key string) (time.Duration, bool) {
	if m == nil || !m.has(key) {
		return 0, false
	}
	v := deref(m.vals[key])
	if v.Kind == yaml.ScalarNode && (v.Tag == "!!str" || v.Tag == "!!int" || v.Tag == "!!float") {
		if d, err := time.ParseDuration(v.Value); err == nil {
			return d, true
		}
	}
	l.errf(v, CodeType, "%s must be a duration with a unit, like 2h, 90m or 0s; got %s", key, kindName(v))
	return 0, false
}

// list returns the items of an optional list; a single scalar counts as a one-item list when
// scalarOK is set.
func (l *loader) list(m *mapNode, key string, scalarOK bool) []*yaml.Node {
	if m == nil || !m.has(key) {
		return nil
	}
	v := deref(m.vals[key])
	switch {
	case v.Kind == yaml.SequenceNode:
		return v.Content
	case scalarOK && v.Kind == yaml.ScalarNode:
		return []*yaml.Node{v}
	}
	l.errf(v, CodeType, "%s must be a list (`- item` lines or [a, b]), got %s", key, kindName(v))
	return nil
}

// strList reads an optional list of scalars, with the position of each.
func (l *loader) strList(m *mapNode, key string) ([]string, []Pos) {
	var out []string
	var pos []Pos
	for _, it := range l.list(m, key, true) {
		it = deref(it)
		if it.Kind != yaml.ScalarNode || it.Tag == "!!null" {
			l.errf(it, CodeType, "each item of %s must be a single name or expression, got %s", key, kindName(it))
			continue
		}
		out = append(out, it.Value)
		pos = append(pos, l.at(it))
	}
	return out, pos
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns `: did you mean "x"?` for the closest allowed word, or a list of the
// allowed words when none is close.
func suggest(word string, allowed []string) string {
	best, bestD := "", 1<<30
	lw := strings.ToLower(word)
	for _, a := range allowed {
		d := levenshtein(lw, strings.ToLower(a))
		if d > max(2, len(word)/3) && len(lw) >= 3 && (strings.HasPrefix(a, lw) || strings.HasPrefix(lw, a)) {
			d = 2 // campaign for campaign_id
		}
		if d < bestD {
			best, bestD = a, d
		}
	}
	if best != "" && bestD <= max(2, len(word)/3) {
		return fmt.Sprintf(": did you mean %q?", best)
	}
	if len(allowed) > 12 {
		return ": use one of " + strings.Join(allowed[:12], ", ") + ", …"
	}
	return ": use one of " + strings.Join(allowed, ", ")
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
