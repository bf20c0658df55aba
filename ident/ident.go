// Package ident is the one place hourglass validates and quotes SQL identifiers (database,
// table, column and parameter names). Every identifier that reaches a statement passes
// through Check at load time and through Quote when the statement is written.
package ident

import (
	"fmt"
	"strings"
)

// MaxLen is the longest identifier hourglass accepts.
const MaxLen = 128

// Check reports whether name is a plain identifier: an ASCII letter or underscore followed by
// ASCII letters, digits or underscores, at most MaxLen long. Anything else (quotes, backticks,
// spaces, comments, semicolons, look-alike Unicode letters) is refused with a message that
// says what to write instead.
func Check(name string) error {
	if name == "" {
		return fmt.Errorf("empty name: use letters, digits and underscores, starting with a letter")
	}
	if len(name) > MaxLen {
		return fmt.Errorf("name %q is %d characters long: use at most %d", name, len(name), MaxLen)
	}
	for i, r := range name {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return fmt.Errorf("name %q has %q at byte %d: use only ASCII letters, digits and underscores, starting with a letter or underscore", name, r, i)
		}
	}
	return nil
}

// Quote returns name in backticks, escaping backticks and backslashes, so that even a name
// that never went through Check cannot end the identifier.
func Quote(name string) string {
	r := strings.NewReplacer("\\", "\\\\", "`", "\\`")
	return "`" + r.Replace(name) + "`"
}

// Qualified returns `db`.`name`, or `name` when db is empty.
func Qualified(db, name string) string {
	if db == "" {
		return Quote(name)
	}
	return Quote(db) + "." + Quote(name)
}

// String returns s as a single-quoted ClickHouse string literal. It is for DDL positions
// where ClickHouse takes no bound parameter (comments, engine arguments); values in queries
// travel as bound parameters instead.
func String(s string) string {
	r := strings.NewReplacer("\\", "\\\\", "'", "\\'")
	return "'" + r.Replace(s) + "'"
}
