package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/chtype"
)

// bindLiterals replaces {name:Type} placeholders with typed literals, for servers whose
// protocol cannot carry query parameters. Values are rendered by one escaping function and
// converted to the placeholder's type; placeholders inside string literals, quoted identifiers
// and comments are left alone.
func bindLiterals(query string, params Params) (string, error) {
	var b strings.Builder
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '\'' || c == '`' || c == '"':
			j := skipQuoted(query, i)
			b.WriteString(query[i:j])
			i = j
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i
			}
			b.WriteString(query[i : i+j])
			i += j
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			j := strings.Index(query[i+2:], "*/")
			if j < 0 {
				j = len(query) - i - 2
			} else {
				j += 2
			}
			b.WriteString(query[i : i+2+j])
			i += 2 + j
		case c == '{':
			end := strings.IndexByte(query[i:], '}')
			colon := strings.IndexByte(query[i:], ':')
			if end < 0 || colon < 0 || colon > end {
				b.WriteByte(c)
				i++
				continue
			}
			name := strings.TrimSpace(query[i+1 : i+colon])
			typ := strings.TrimSpace(query[i+colon+1 : i+end])
			v, ok := params[name]
			if !ok {
				return "", fmt.Errorf("query parameter %s is not set", name)
			}
			lit, err := literal(v, typ)
			if err != nil {
				return "", fmt.Errorf("parameter %s: %w", name, err)
			}
			b.WriteString(lit)
			i += end + 1
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

func skipQuoted(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case q:
			return j + 1
		}
	}
	return len(s)
}

// literal renders v as an expression of ClickHouse type typ.
func literal(v any, typ string) (string, error) {
	t, err := chtype.Parse(typ)
	if err != nil {
		return "", err
	}
	if tm, ok := v.(time.Time); ok {
		tm = tm.UTC()
		switch t.Base().Name {
		case "DateTime":
			return fmt.Sprintf("toDateTime(%s, 'UTC')", quoteString(tm.Format(time.DateTime))), nil
		case "DateTime64":
			prec := "3"
			if len(t.Base().Args) > 0 {
				prec = t.Base().Args[0].Literal
			}
			return fmt.Sprintf("toDateTime64(%s, %s, 'UTC')", quoteString(tm.Format("2006-01-02 15:04:05.999999999")), prec), nil
		case "Date":
			return fmt.Sprintf("toDate(%s)", quoteString(tm.Format(time.DateOnly))), nil
		}
	}
	if v == nil {
		return "CAST(NULL AS " + t.String() + ")", nil
	}
	txt, err := paramText(v, false)
	if err != nil {
		return "", err
	}
	if _, isString := v.(string); !isString && !strings.HasPrefix(txt, "[") {
		txt = quoteString(txt)
	}
	return "CAST(" + txt + " AS " + t.String() + ")", nil
}
