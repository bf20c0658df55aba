package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // DateTime columns may name any IANA time zone

	"github.com/hourglass-dev/hourglass/chtype"
)

// jsonCompact is ClickHouse's JSONCompact output.
type jsonCompact struct {
	Meta       []Column            `json:"meta"`
	Data       [][]json.RawMessage `json:"data"`
	Statistics struct {
		Elapsed   float64     `json:"elapsed"`
		RowsRead  json.Number `json:"rows_read"`
		BytesRead json.Number `json:"bytes_read"`
	} `json:"statistics"`
}

// decodeJSONCompact turns the embedded engine's JSONCompact output into a Result.
func decodeJSONCompact(out []byte) (*Result, error) {
	var jc jsonCompact
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&jc); err != nil {
		return nil, fmt.Errorf("decode engine output: %w", err)
	}
	types := make([]*chtype.Type, len(jc.Meta))
	for i, c := range jc.Meta {
		t, err := chtype.Parse(c.Type)
		if err != nil {
			t = &chtype.Type{Name: "String"} // unknown to hourglass: keep the text
		}
		types[i] = t
	}
	res := &Result{Columns: jc.Meta, Rows: make([][]any, 0, len(jc.Data))}
	for _, raw := range jc.Data {
		if len(raw) != len(types) {
			return nil, fmt.Errorf("decode engine output: row has %d values for %d columns", len(raw), len(types))
		}
		row := make([]any, len(raw))
		for i, cell := range raw {
			var v any
			d := json.NewDecoder(bytes.NewReader(cell))
			d.UseNumber()
			if err := d.Decode(&v); err != nil {
				return nil, fmt.Errorf("decode column %s: %w", jc.Meta[i].Name, err)
			}
			x, err := fromJSON(types[i], v)
			if err != nil {
				return nil, fmt.Errorf("decode column %s (%s): %w", jc.Meta[i].Name, jc.Meta[i].Type, err)
			}
			row[i] = x
		}
		res.Rows = append(res.Rows, row)
	}
	res.Stats.Elapsed = time.Duration(jc.Statistics.Elapsed * float64(time.Second))
	res.Stats.RowsRead, _ = strconv.ParseUint(jc.Statistics.RowsRead.String(), 10, 64)
	res.Stats.BytesRead, _ = strconv.ParseUint(jc.Statistics.BytesRead.String(), 10, 64)
	return res, nil
}

// fromJSON converts one decoded JSON value to the Go value documented on Result.
func fromJSON(t *chtype.Type, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t.Name {
	case "Nullable", "LowCardinality":
		return fromJSON(t.Args[0], v)
	case "Int8", "Int16", "Int32", "Int64":
		return strconv.ParseInt(text(v), 10, 64)
	case "UInt8", "UInt16", "UInt32", "UInt64":
		return strconv.ParseUint(text(v), 10, 64)
	case "Float32", "Float64":
		return parseFloat(text(v), t.Name == "Float32")
	case "Bool":
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("want a boolean, got %v", v)
		}
		return b, nil
	case "Date", "Date32":
		return time.ParseInLocation(time.DateOnly, text(v), time.UTC)
	case "DateTime", "DateTime64":
		return parseDateTime(t, text(v))
	case "Array", "Tuple":
		xs, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("want an array, got %T", v)
		}
		out := make([]any, len(xs))
		for i, x := range xs {
			et := t.Args[0]
			if t.Name == "Tuple" && i < len(t.Args) {
				et = t.Args[i]
			}
			y, err := fromJSON(et, x)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	case "Map":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("want an object, got %T", v)
		}
		out := make(map[string]any, len(m))
		for k, x := range m {
			y, err := fromJSON(t.Args[1], x)
			if err != nil {
				return nil, err
			}
			out[k] = y
		}
		return out, nil
	}
	return text(v), nil
}

func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
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

// parseDateTime reads a DateTime/DateTime64 value printed in the column's time zone (or the
// session's, which hourglass pins to UTC) and returns it in UTC.
func parseDateTime(t *chtype.Type, s string) (time.Time, error) {
	loc := time.UTC
	for _, a := range t.Args {
		if strings.HasPrefix(a.Literal, "'") {
			name := strings.Trim(a.Literal, "'")
			l, err := time.LoadLocation(name)
			if err != nil {
				return time.Time{}, fmt.Errorf("time zone %s: %w", name, err)
			}
			loc = l
		}
	}
	layout := time.DateTime
	if strings.Contains(s, ".") {
		layout = "2006-01-02 15:04:05.999999999"
	}
	tm, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		return time.Time{}, err
	}
	return tm.UTC(), nil
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
