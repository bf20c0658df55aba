package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/hourglass-dev/hourglass/engine"
)

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// formatValue renders one result value for a text table.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return x
	case time.Time:
		if x.Nanosecond() != 0 {
			return x.UTC().Format("2006-01-02 15:04:05.999999999")
		}
		return x.UTC().Format(time.DateTime)
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, y := range x {
			parts[i] = formatValue(y)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v)
}

// writeTable prints rows as an aligned table with a header.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	under := make([]string, len(header))
	for i, h := range header {
		under[i] = strings.Repeat("─", max(utf8.RuneCountInString(h), 1))
	}
	fmt.Fprintln(tw, strings.Join(under, "\t"))
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = strings.NewReplacer("\t", "\\t", "\n", "\\n").Replace(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// writeResult prints a query result as a table (text) or as JSON.
func writeResult(w io.Writer, output string, r *engine.Result) error {
	if output == "json" {
		return writeJSON(w, r)
	}
	header := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		header[i] = c.Name
	}
	rows := make([][]string, len(r.Rows))
	for i, row := range r.Rows {
		rows[i] = make([]string, len(row))
		for j, v := range row {
			rows[i][j] = formatValue(v)
			if t, ok := v.(time.Time); ok && j < len(r.Columns) && isDateType(r.Columns[j].Type) {
				rows[i][j] = t.UTC().Format(time.DateOnly) // a Date column holds days
			}
		}
	}
	if len(header) == 0 {
		_, err := fmt.Fprintln(w, "ok")
		return err
	}
	if err := writeTable(w, header, rows); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d row(s) · %d rows read · %s read · %s\n", len(r.Rows), r.Stats.RowsRead, humanBytes(r.Stats.BytesRead), r.Stats.Elapsed.Round(time.Microsecond))
	return err
}

func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// writeFiles writes files (slash-separated relative path → contents) under dir in path order,
// creating folders, and returns the paths written. Only commands that produce files call it.
func writeFiles(dir string, files map[string][]byte) ([]string, error) {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	written := make([]string, 0, len(names))
	for _, name := range names {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return written, err
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return written, err
		}
		written = append(written, path)
	}
	return written, nil
}

// isDateType reports whether a column type holds days: Date or Date32, maybe Nullable.
func isDateType(typ string) bool {
	t := strings.TrimSuffix(strings.TrimPrefix(typ, "Nullable("), ")")
	return t == "Date" || t == "Date32"
}
