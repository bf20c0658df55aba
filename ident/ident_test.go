package ident

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, ok := range []string{"events", "_x", "events_hourly_v2", "A1"} {
		if err := Check(ok); err != nil {
			t.Errorf("Check(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "1x", "a-b", "a b", "x'; DROP TABLE t; --", "a`b", "аdmin", "a/*c*/", strings.Repeat("a", MaxLen+1)} {
		if err := Check(bad); err == nil {
			t.Errorf("Check(%q) accepted", bad)
		}
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{"events": "`events`", "a`b": "`a\\`b`", `a\`: "`a\\\\`"} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
	if got := Qualified("db", "t"); got != "`db`.`t`" {
		t.Errorf("Qualified = %s", got)
	}
	if got := String("it's"); got != `'it\'s'` {
		t.Errorf("String = %s", got)
	}
}

// unquote reads a backtick-quoted identifier the way ClickHouse does and reports where it ended.
func unquote(s string) (name string, end int, ok bool) {
	if len(s) < 2 || s[0] != '`' {
		return "", 0, false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) {
				return "", 0, false
			}
			i++
			b.WriteByte(s[i])
		case '`':
			return b.String(), i + 1, true
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, false
}

// FuzzQuote: whatever the name, the quoted form is one identifier that reads back as the name
// and ends exactly at the end of the quoted text — nothing can escape into the statement.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"events", "a`b", "x'; DROP TABLE t; --", "\\`", "`", "аdmin", "a\x00b", "\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		q := Quote(name)
		got, end, ok := unquote(q)
		if !ok || got != name || end != len(q) {
			t.Fatalf("Quote(%q) = %s reads back as %q (end %d of %d, ok %v)", name, q, got, end, len(q), ok)
		}
		if Check(name) == nil {
			for _, r := range name {
				if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
					t.Fatalf("Check accepted %q with %q", name, r)
				}
			}
		}
	})
}

func TestRefs(t *testing.T) {
	expr := "if(total = 0, NULL, bounced / total) + quantiles_lcp[1] * 1e3 + t.1 + 'bounced' + `x` + count (x)"
	var got []string
	for _, r := range Refs(expr) {
		got = append(got, r.Name)
	}
	want := []string{"total", "NULL", "bounced", "total", "quantiles_lcp", "t", "x"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Refs = %v, want %v", got, want)
	}
	out := ReplaceRefs("bounced / nullIf(total, 0)", func(n string) (string, bool) {
		if n == "bounced" || n == "total" {
			return "sum(`" + n + "`)", true
		}
		return "", false
	})
	if out != "sum(`bounced`) / nullIf(sum(`total`), 0)" {
		t.Fatalf("ReplaceRefs = %q", out)
	}
	if !IsKeyword("null") || IsKeyword("total") {
		t.Fatal("IsKeyword")
	}
}
