package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // DateTime columns may name any IANA time zone
	"unicode/utf16"
	"unicode/utf8"

	"github.com/hourglass-dev/hourglass/chtype"
)

// decodeJSONCompact turns the embedded engine's JSONCompact output into a Result in one pass
// over the bytes: each cell is read straight into the Go value its column type documents on
// Result, without an intermediate tree of decoded JSON.
func decodeJSONCompact(out []byte) (*Result, error) {
	res, err := readJSONCompact(&scanner{b: out})
	if err != nil {
		return nil, fmt.Errorf("decode engine output: %w", err)
	}
	return res, nil
}

func readJSONCompact(s *scanner) (*Result, error) {
	res := &Result{}
	var cells []cellDecoder
	err := s.object(func(key string) error {
		switch key {
		case "meta":
			raw, err := s.skip()
			if err != nil {
				return err
			}
			if err := json.Unmarshal(raw, &res.Columns); err != nil {
				return err
			}
			cells = make([]cellDecoder, len(res.Columns))
			for i, c := range res.Columns {
				cells[i] = newCellDecoder(c.Type)
			}
			return nil
		case "data":
			if cells == nil {
				return errors.New(`"data" before "meta"`)
			}
			return readRows(s, res, cells)
		case "statistics":
			return s.object(func(key string) error {
				tok, _, err := s.scalar()
				if err != nil {
					return err
				}
				switch key {
				case "elapsed":
					f, err := strconv.ParseFloat(string(tok), 64)
					if err != nil {
						return fmt.Errorf("statistics elapsed: %w", err)
					}
					res.Stats.Elapsed = time.Duration(f * float64(time.Second))
				case "rows_read":
					res.Stats.RowsRead, _ = strconv.ParseUint(string(tok), 10, 64)
				case "bytes_read":
					res.Stats.BytesRead, _ = strconv.ParseUint(string(tok), 10, 64)
				}
				return nil
			})
		}
		_, err := s.skip()
		return err
	})
	if err != nil {
		return nil, err
	}
	if s.ws(); s.i != len(s.b) {
		return nil, s.errorf("unexpected %q after the result", s.b[s.i])
	}
	if res.Rows == nil {
		res.Rows = [][]any{}
	}
	return res, nil
}

func readRows(s *scanner, res *Result, cells []cellDecoder) error {
	res.Rows = make([][]any, 0, 64)
	return s.array(func() error {
		row := make([]any, len(cells))
		n := 0
		err := s.array(func() error {
			if n >= len(cells) {
				return fmt.Errorf("row has more values than the %d columns", len(cells))
			}
			v, err := cells[n](s)
			if err != nil {
				c := res.Columns[n]
				return fmt.Errorf("decode column %s (%s): %w", c.Name, c.Type, err)
			}
			row[n] = v
			n++
			return nil
		})
		if err != nil {
			return err
		}
		if n != len(cells) {
			return fmt.Errorf("row has %d values for %d columns", n, len(cells))
		}
		res.Rows = append(res.Rows, row)
		return nil
	})
}

// cellDecoder reads one JSON value and returns the Go value documented on Result.
type cellDecoder func(s *scanner) (any, error)

// newCellDecoder builds the decoder of a column type once, so per-cell work is only reading
// the value: time zones are resolved and nested types chosen here.
func newCellDecoder(typ string) cellDecoder {
	t, err := chtype.Parse(typ)
	if err != nil {
		return decodeJSONText // unknown to hourglass: keep the text
	}
	return decoderFor(t)
}

func decoderFor(t *chtype.Type) cellDecoder {
	switch t.Name {
	case "Nullable", "LowCardinality":
		if len(t.Args) == 1 {
			return decoderFor(t.Args[0])
		}
	case "Int8", "Int16", "Int32", "Int64":
		return scalarDecoder(func(tok []byte) (any, error) { return strconv.ParseInt(string(tok), 10, 64) })
	case "UInt8", "UInt16", "UInt32", "UInt64":
		return scalarDecoder(func(tok []byte) (any, error) { return strconv.ParseUint(string(tok), 10, 64) })
	case "Float32", "Float64":
		f32 := t.Name == "Float32"
		return scalarDecoder(func(tok []byte) (any, error) { return parseFloat(string(tok), f32) })
	case "Bool":
		return scalarDecoder(func(tok []byte) (any, error) {
			switch string(tok) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
			return nil, fmt.Errorf("want a boolean, got %s", tok)
		})
	case "Date", "Date32":
		return scalarDecoder(func(tok []byte) (any, error) { return parseDate(tok) })
	case "DateTime", "DateTime64":
		loc, err := columnLocation(t)
		if err != nil {
			return func(*scanner) (any, error) { return nil, err }
		}
		return scalarDecoder(func(tok []byte) (any, error) { return parseDateTimeIn(tok, loc) })
	case "Array", "Tuple":
		if len(t.Args) == 0 {
			break
		}
		elems := make([]cellDecoder, len(t.Args))
		for i, a := range t.Args {
			elems[i] = decoderFor(a)
		}
		tuple := t.Name == "Tuple"
		return func(s *scanner) (any, error) {
			if s.peek() == 'n' {
				return s.null()
			}
			out := []any{}
			err := s.array(func() error {
				d := elems[0]
				if tuple && len(out) < len(elems) {
					d = elems[len(out)]
				}
				v, err := d(s)
				out = append(out, v)
				return err
			})
			if err != nil {
				return nil, err
			}
			return out, nil
		}
	case "Map":
		if len(t.Args) != 2 {
			break
		}
		val := decoderFor(t.Args[1])
		return func(s *scanner) (any, error) {
			if s.peek() == 'n' {
				return s.null()
			}
			out := map[string]any{}
			err := s.object(func(key string) error {
				v, err := val(s)
				out[key] = v
				return err
			})
			if err != nil {
				return nil, err
			}
			return out, nil
		}
	}
	return decodeJSONText
}

// scalarDecoder reads a number, a string or null and parses its text with parse.
func scalarDecoder(parse func(tok []byte) (any, error)) cellDecoder {
	return func(s *scanner) (any, error) {
		tok, kind, err := s.scalar()
		if err != nil || kind == 'n' {
			return nil, err
		}
		if kind == '[' || kind == '{' {
			return nil, fmt.Errorf("want a scalar, got %s", tok)
		}
		return parse(tok)
	}
}

// decodeJSONText returns a value as text: a string as itself, a number or boolean as written,
// an array or object as compact JSON.
func decodeJSONText(s *scanner) (any, error) {
	tok, kind, err := s.scalar()
	if err != nil || kind == 'n' {
		return nil, err
	}
	if kind != '[' && kind != '{' {
		return string(tok), nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(tok))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// columnLocation is the time zone a DateTime column prints in: its own, or the session's,
// which hourglass pins to UTC.
func columnLocation(t *chtype.Type) (*time.Location, error) {
	loc := time.UTC
	for _, a := range t.Args {
		if strings.HasPrefix(a.Literal, "'") {
			name := strings.Trim(a.Literal, "'")
			l, err := time.LoadLocation(name)
			if err != nil {
				return nil, fmt.Errorf("time zone %s: %w", name, err)
			}
			loc = l
		}
	}
	return loc, nil
}

// parseDate reads YYYY-MM-DD as midnight UTC.
func parseDate(b []byte) (time.Time, error) {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return time.ParseInLocation(time.DateOnly, string(b), time.UTC)
	}
	y, ok1 := digits(b[0:4])
	m, ok2 := digits(b[5:7])
	d, ok3 := digits(b[8:10])
	if !ok1 || !ok2 || !ok3 {
		return time.ParseInLocation(time.DateOnly, string(b), time.UTC)
	}
	return checkedDate(b, y, m, d, 0, 0, 0, 0, time.UTC)
}

// parseDateTimeIn reads "YYYY-MM-DD hh:mm:ss[.fffffffff]" printed in loc and returns it in UTC.
func parseDateTimeIn(b []byte, loc *time.Location) (time.Time, error) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || b[10] != ' ' || b[13] != ':' || b[16] != ':' {
		return slowDateTime(b, loc)
	}
	y, ok1 := digits(b[0:4])
	mo, ok2 := digits(b[5:7])
	d, ok3 := digits(b[8:10])
	h, ok4 := digits(b[11:13])
	mi, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 {
		return slowDateTime(b, loc)
	}
	ns := 0
	if len(b) > 19 {
		frac := b[20:]
		if b[19] != '.' || len(frac) == 0 || len(frac) > 9 {
			return slowDateTime(b, loc)
		}
		f, ok := digits(frac)
		if !ok {
			return slowDateTime(b, loc)
		}
		for i := len(frac); i < 9; i++ {
			f *= 10
		}
		ns = f
	}
	return checkedDate(b, y, mo, d, h, mi, sec, ns, loc)
}

// checkedDate builds the time and refuses fields out of range, as time.Parse would.
func checkedDate(b []byte, y, mo, d, h, mi, sec, ns int, loc *time.Location) (time.Time, error) {
	t := time.Date(y, time.Month(mo), d, h, mi, sec, ns, loc)
	if mo < 1 || mo > 12 || d < 1 || t.Day() != d || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, fmt.Errorf("parsing time %q: field out of range", b)
	}
	return t.UTC(), nil
}

func slowDateTime(b []byte, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01-02 15:04:05.999999999", string(b), loc)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// digits reads an unsigned decimal number of ASCII digits.
func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func parseFloat(s string, f32 bool) (float64, error) {
	switch s {
	case "nan", "-nan":
		return math.NaN(), nil
	case "inf", "+inf":
		return math.Inf(1), nil
	case "-inf":
		return math.Inf(-1), nil
	}
	if f32 {
		f, err := strconv.ParseFloat(s, 32)
		return float64(float32(f)), err
	}
	return strconv.ParseFloat(s, 64)
}

// scanner reads JSON from a byte slice, one value at a time, with no intermediate tree.
type scanner struct {
	b   []byte
	i   int
	buf []byte // unescaped string contents, reused
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("at byte %d: %s", s.i, fmt.Sprintf(format, args...))
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte that is not white space, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		if s.i >= len(s.b) {
			return s.errorf("unexpected end, want %q", c)
		}
		return s.errorf("unexpected %q, want %q", s.b[s.i], c)
	}
	s.i++
	return nil
}

// object reads {"key": value, …}, calling fn for each key with the scanner on its value; fn
// must read the value.
func (s *scanner) object(fn func(key string) error) error {
	return s.sequence('{', '}', func() error {
		if s.peek() != '"' {
			return s.expect('"')
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		k := string(key)
		if err := s.expect(':'); err != nil {
			return err
		}
		return fn(k)
	})
}

// array reads [value, …], calling fn for each element with the scanner on it; fn must read it.
func (s *scanner) array(fn func() error) error {
	return s.sequence('[', ']', fn)
}

// sequence reads open, items separated by commas, and close, calling item for each.
func (s *scanner) sequence(open, close byte, item func() error) error {
	if err := s.expect(open); err != nil {
		return err
	}
	if s.peek() == close {
		s.i++
		return nil
	}
	for {
		if err := item(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case close:
			s.i++
			return nil
		default:
			return s.expect(close)
		}
	}
}

func (s *scanner) null() (any, error) {
	if _, kind, err := s.scalar(); err != nil || kind != 'n' {
		return nil, s.errorf("want null")
	}
	return nil, nil
}

// scalar reads the next value. kind is '"' for a string (tok is its unescaped contents, valid
// until the next string is read), '0' for a number, 't', 'f' or 'n' for true, false and null,
// and '[' or '{' for an array or object (tok is its JSON text).
func (s *scanner) scalar() (tok []byte, kind byte, err error) {
	switch c := s.peek(); {
	case c == '"':
		tok, err = s.str()
		return tok, '"', err
	case c == '[' || c == '{':
		tok, err = s.skip()
		return tok, c, err
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range []string{"true", "false", "null"} {
			if lit[0] == c && len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
				tok = s.b[s.i : s.i+len(lit)]
				s.i += len(lit)
				return tok, c, nil
			}
		}
	case c == '-' || c >= '0' && c <= '9':
		start := s.i
		for s.i < len(s.b) && isNumberByte(s.b[s.i]) {
			s.i++
		}
		return s.b[start:s.i], '0', nil
	case c == 0:
		return nil, 0, s.errorf("unexpected end")
	}
	return nil, 0, s.errorf("unexpected %q", s.b[s.i])
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// skip reads the next value and returns its JSON text.
func (s *scanner) skip() ([]byte, error) {
	start := s.peek()
	from := s.i
	switch start {
	case '[', '{':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if _, err := s.str(); err != nil {
					return nil, err
				}
				continue
			case '[', '{':
				depth++
			case ']', '}':
				depth--
				if depth == 0 {
					s.i++
					return s.b[from:s.i], nil
				}
			}
			s.i++
		}
		return nil, s.errorf("unexpected end inside a value")
	}
	if _, _, err := s.scalar(); err != nil {
		return nil, err
	}
	return s.b[from:s.i], nil
}

// str reads a string and returns its unescaped contents: a slice of the input when it holds
// no escape, of the reused buffer otherwise. Bytes that are not UTF-8 are kept as they are,
// as the remote engine keeps them.
func (s *scanner) str() ([]byte, error) {
	if err := s.expect('"'); err != nil {
		return nil, err
	}
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '"':
			s.i++
			return s.b[start : s.i-1], nil
		case '\\':
			s.buf = append(s.buf[:0], s.b[start:s.i]...)
			return s.escaped()
		}
		s.i++
	}
	return nil, s.errorf("unterminated string")
}

// escaped continues str from the first backslash, writing into buf.
func (s *scanner) escaped() ([]byte, error) {
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.buf, nil
		case c != '\\':
			s.buf = append(s.buf, c)
			s.i++
			continue
		}
		if s.i+1 >= len(s.b) {
			break
		}
		e := s.b[s.i+1]
		s.i += 2
		switch e {
		case '"', '\\', '/':
			s.buf = append(s.buf, e)
		case 'b':
			s.buf = append(s.buf, '\b')
		case 'f':
			s.buf = append(s.buf, '\f')
		case 'n':
			s.buf = append(s.buf, '\n')
		case 'r':
			s.buf = append(s.buf, '\r')
		case 't':
			s.buf = append(s.buf, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return nil, s.errorf("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
					save := s.i
					s.i += 2
					if r2, ok = s.hex4(); !ok {
						return nil, s.errorf("bad \\u escape")
					}
					if utf16.DecodeRune(r, r2) == utf8.RuneError {
						s.i, r2 = save, -1 // not a pair: the second escape stands alone
					}
				}
				if r2 < 0 {
					r = utf8.RuneError
				} else {
					r = utf16.DecodeRune(r, r2)
				}
			}
			s.buf = utf8.AppendRune(s.buf, r)
		default:
			return nil, s.errorf("bad escape \\%c", e)
		}
	}
	return nil, s.errorf("unterminated string")
}

func (s *scanner) hex4() (rune, bool) {
	if s.i+4 > len(s.b) {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	s.i += 4
	return r, true
}

// errorText matches chDB's error strings: "Code: 62. DB::Exception: … (SYNTAX_ERROR)".
var errorText = regexp.MustCompile(`(?s)^Code:\s*(\d+)\.\s*(?:DB::Exception:\s*)?(.*?)(?:\s*\(([A-Z][A-Z0-9_]+)\))?(?:\s*\(version [^)]*\))?\.?\s*$`)

// parseErrorText turns an engine error string into an *Error.
func parseErrorText(msg string) error {
	m := errorText.FindStringSubmatch(strings.TrimSpace(msg))
	if m == nil {
		return &Error{Code: 0, Message: oneLine(msg)}
	}
	code, _ := strconv.Atoi(m[1])
	return &Error{Code: code, Name: m[3], Message: oneLine(m[2])}
}
