package httpapi

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
)

// encoder writes a result in one format.
type encoder struct {
	contentType string
	write       func(w io.Writer, r *Result, elapsed time.Duration) error
}

var encoders = map[string]*encoder{
	"json":   {"application/json", writeJSON},
	"csv":    {"text/csv; charset=utf-8", writeCSV},
	"ndjson": {"application/x-ndjson", writeNDJSON},
}

// writeJSON writes ClickHouse's JSON output format, which is what Tinybird answers: meta, data
// (one object per row, keys in column order), rows and statistics (elapsed in seconds).
func writeJSON(w io.Writer, r *Result, elapsed time.Duration) error {
	bw := bufio.NewWriter(w)
	meta, err := json.Marshal(r.Columns)
	if err != nil {
		return err
	}
	bw.WriteString(`{"meta":`)
	bw.Write(meta)
	bw.WriteString(`,"data":[`)
	for i, row := range r.Rows {
		if i > 0 {
			bw.WriteByte(',')
		}
		if err := writeObject(bw, r.Columns, row); err != nil {
			return err
		}
	}
	fmt.Fprintf(bw, `],"rows":%d,"statistics":{"elapsed":%s,"rows_read":%d,"bytes_read":%d}}`,
		len(r.Rows), strconv.FormatFloat(elapsed.Seconds(), 'f', -1, 64), r.Stats.RowsRead, r.Stats.BytesRead)
	bw.WriteByte('\n')
	return bw.Flush()
}

func writeNDJSON(w io.Writer, r *Result, _ time.Duration) error {
	bw := bufio.NewWriter(w)
	for _, row := range r.Rows {
		if err := writeObject(bw, r.Columns, row); err != nil {
			return err
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

func writeObject(w *bufio.Writer, cols []engine.Column, row []any) error {
	w.WriteByte('{')
	for i, c := range cols {
		if i > 0 {
			w.WriteByte(',')
		}
		k, _ := json.Marshal(c.Name)
		w.Write(k)
		w.WriteByte(':')
		v, err := json.Marshal(jsonValue(c.Type, row[i]))
		if err != nil {
			return fmt.Errorf("column %s: %w", c.Name, err)
		}
		w.Write(v)
	}
	w.WriteByte('}')
	return nil
}

// jsonValue turns a result value into what JSON carries: times as ClickHouse prints them,
// non-finite floats as null, 64-bit integers as exact numbers.
func jsonValue(typ string, v any) any {
	switch x := v.(type) {
	case time.Time:
		return formatTime(typ, x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(elementType(typ), e)
		}
		return out
	}
	return v
}

// formatTime prints a Date as 2026-11-01 and a DateTime as 2026-11-01 10:00:00 (UTC).
func formatTime(typ string, t time.Time) string {
	base := strings.TrimSuffix(strings.TrimPrefix(typ, "Nullable("), ")")
	if strings.HasPrefix(base, "Date") && !strings.HasPrefix(base, "DateTime") {
		return t.UTC().Format(time.DateOnly)
	}
	return t.UTC().Format(time.DateTime)
}

func elementType(typ string) string {
	if s, ok := strings.CutPrefix(typ, "Array("); ok {
		return strings.TrimSuffix(s, ")")
	}
	return typ
}

// writeCSV writes a header line of column names, then one line per row; NULL is \N, as
// ClickHouse's CSVWithNames writes it.
func writeCSV(w io.Writer, r *Result, _ time.Duration) error {
	cw := csv.NewWriter(w)
	names := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		names[i] = c.Name
	}
	if err := cw.Write(names); err != nil {
		return err
	}
	rec := make([]string, len(r.Columns))
	for _, row := range r.Rows {
		for i, c := range r.Columns {
			rec[i] = csvValue(c.Type, row[i])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvValue(typ string, v any) string {
	switch x := v.(type) {
	case nil:
		return `\N`
	case string:
		return x
	case time.Time:
		return formatTime(typ, x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []any, map[string]any:
		b, _ := json.Marshal(jsonValue(typ, v))
		return string(b)
	}
	return fmt.Sprint(v)
}

// writeError answers {"error": msg} with the status.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Write(append(b, '\n'))
}
