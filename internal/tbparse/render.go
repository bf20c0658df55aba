package tbparse

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Render renders a Tinybird SQL template the way Tinybird's documentation describes it, for
// the subset tests use: a leading "%" line; {{Type(name[, default][, required=…][,
// description=…])}} with the types String, UUID, Date, DateTime, DateTime64, Int*, UInt*,
// Int, Integer, Float32, Float64 and Boolean (quoted values for strings, dates and times, bare
// ones for numbers); {% if [not] defined(name) %} … [{% else %} …] {% end %}. A parameter
// missing from params takes its default; one without a default fails. Anything else in a
// template tag fails, so a test never runs SQL the renderer did not understand.
func Render(sql string, params map[string]string) (string, error) {
	body := strings.TrimLeft(sql, " \t\n")
	if rest, ok := strings.CutPrefix(body, "%"); ok && (rest == "" || rest[0] == '\n') {
		sql = rest
	}
	var out strings.Builder
	// Each open {% if %} pushes whether its condition holds and whether its else is reached.
	type frame struct{ cond, inElse bool }
	var stack []frame
	on := func() bool {
		for _, f := range stack {
			if f.cond == f.inElse {
				return false
			}
		}
		return true
	}
	for len(sql) > 0 {
		i := strings.IndexAny(sql, "{")
		if i < 0 || i+1 >= len(sql) {
			if on() {
				out.WriteString(sql)
			}
			break
		}
		if sql[i+1] != '{' && sql[i+1] != '%' {
			if on() {
				out.WriteString(sql[:i+1])
			}
			sql = sql[i+1:]
			continue
		}
		if on() {
			out.WriteString(sql[:i])
		}
		closer := "}}"
		if sql[i+1] == '%' {
			closer = "%}"
		}
		j := strings.Index(sql[i+2:], closer)
		if j < 0 {
			return "", fmt.Errorf("template: unclosed %s", sql[i:i+2])
		}
		tag := strings.TrimSpace(sql[i+2 : i+2+j])
		sql = sql[i+2+j+2:]
		if closer == "}}" {
			if !on() {
				continue
			}
			v, err := renderValue(tag, params)
			if err != nil {
				return "", err
			}
			out.WriteString(v)
			continue
		}
		switch f := strings.Fields(tag); {
		case tag == "end":
			if len(stack) == 0 {
				return "", fmt.Errorf("template: {%% end %%} without {%% if %%}")
			}
			stack = stack[:len(stack)-1]
		case tag == "else":
			if len(stack) == 0 || stack[len(stack)-1].inElse {
				return "", fmt.Errorf("template: misplaced {%% else %%}")
			}
			stack[len(stack)-1].inElse = true
		case len(f) >= 2 && f[0] == "if":
			cond, err := condition(strings.TrimSpace(strings.TrimPrefix(tag, "if")), params)
			if err != nil {
				return "", err
			}
			stack = append(stack, frame{cond: cond})
		default:
			return "", fmt.Errorf("template: {%% %s %%} is not understood by the test renderer", tag)
		}
	}
	if len(stack) > 0 {
		return "", fmt.Errorf("template: {%% if %%} without {%% end %%}")
	}
	return out.String(), nil
}

var (
	definedRe = regexp.MustCompile(`^(not\s+)?defined\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$`)
	callRe    = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9]*)\((.*)\)$`)
)

func condition(s string, params map[string]string) (bool, error) {
	m := definedRe.FindStringSubmatch(s)
	if m == nil {
		return false, fmt.Errorf("template: condition %q is not understood by the test renderer", s)
	}
	_, ok := params[m[2]]
	return ok != (m[1] != ""), nil
}

func renderValue(expr string, params map[string]string) (string, error) {
	m := callRe.FindStringSubmatch(expr)
	if m == nil {
		return "", fmt.Errorf("template: {{%s}} is not understood by the test renderer", expr)
	}
	fn := m[1]
	args := splitArgs(m[2])
	name := strings.TrimSpace(args[0])
	var def *string
	required := false
	elem := ""
	if fn == "Array" && len(args) > 1 {
		// Array(name, 'Type'[, default]): the element type comes first.
		elem, args = unquote(strings.TrimSpace(args[1])), append(args[:1:1], args[2:]...)
	}
	for _, a := range args[1:] {
		a = strings.TrimSpace(a)
		if k, v, ok := strings.Cut(a, "="); ok && !strings.HasPrefix(a, "'") && !strings.HasPrefix(a, "\"") {
			switch strings.TrimSpace(k) {
			case "required":
				required = strings.EqualFold(strings.TrimSpace(v), "true")
			case "default":
				d := unquote(strings.TrimSpace(v))
				def = &d
			case "description":
			default:
				return "", fmt.Errorf("template: {{%s}}: argument %q is not understood", expr, a)
			}
			continue
		}
		d := unquote(a)
		def = &d
	}
	v, ok := params[name]
	if !ok {
		if def == nil || required {
			return "", fmt.Errorf("template: parameter %s is required", name)
		}
		v = *def
	}
	switch fn {
	case "Array":
		// Tinybird reads a list as comma-separated values of the element type.
		var items []string
		for _, it := range strings.Split(v, ",") {
			switch elem {
			case "String", "UUID", "Date", "DateTime", "":
				items = append(items, "'"+strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(it)+"'")
			default:
				if _, err := strconv.ParseFloat(it, 64); err != nil {
					return "", fmt.Errorf("template: %s=%q: %q is not a number", name, v, it)
				}
				items = append(items, it)
			}
		}
		return "[" + strings.Join(items, ",") + "]", nil
	case "String", "UUID", "Date", "DateTime", "DateTime64":
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'", nil
	case "Boolean":
		if b, err := strconv.ParseBool(v); err == nil {
			if b {
				return "1", nil
			}
			return "0", nil
		}
		return "", fmt.Errorf("template: %s=%q is not a Boolean", name, v)
	case "Int", "Integer", "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64":
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			if _, err := strconv.ParseUint(v, 10, 64); err != nil {
				return "", fmt.Errorf("template: %s=%q is not an integer", name, v)
			}
		}
		return v, nil
	case "Float32", "Float64":
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return "", fmt.Errorf("template: %s=%q is not a number", name, v)
		}
		return v, nil
	}
	return "", fmt.Errorf("template: function %s is not understood by the test renderer", fn)
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '\'' && s[len(s)-1] == '\'' || s[0] == '"' && s[len(s)-1] == '"') {
		return s[1 : len(s)-1]
	}
	return s
}

// splitArgs splits a call's arguments at top-level commas.
func splitArgs(s string) []string {
	var out []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
