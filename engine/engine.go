// Package engine is the only place hourglass talks to ClickHouse. It offers one small
// interface, Engine, with two implementations chosen by DSN:
//
//   - chdb://DIR or chdb://:memory: — the embedded engine: ClickHouse 26.x in-process through
//     chDB's C API (libchdb.so), loaded at run time with purego, so the binary builds without
//     cgo and only needs the library when the embedded engine is used;
//   - clickhouse://user:pass@host:9000/db — a ClickHouse server over the native protocol
//     (clickhouse-go/v2).
//
// Statements bind values as ClickHouse query parameters, written {name:Type} in the SQL and
// passed in Params; values never travel inside the SQL text. Results come back as typed Go
// values (see Result), identical for both implementations, and every session runs in UTC.
package engine

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Engine runs SQL on a ClickHouse engine. Implementations are safe for concurrent use.
type Engine interface {
	// Exec runs a statement that returns no rows (DDL, INSERT … SELECT, ALTER, SET).
	Exec(ctx context.Context, query string, params Params) error
	// Query runs a query and returns its rows as typed Go values. Run with Query, a statement
	// that returns no rows (INSERT … SELECT) gives its statistics: what it read and wrote.
	Query(ctx context.Context, query string, params Params) (*Result, error)
	// QueryFormat runs a statement that names its own output format (… FORMAT JSON,
	// FORMAT Vertical, FORMAT CSVWithNames; see FormatClause) and copies the engine's output to
	// w unchanged. Stats holds the elapsed time, and rows and bytes read where the engine
	// reports them (a remote server since 19.x).
	QueryFormat(ctx context.Context, query string, params Params, w io.Writer) (Stats, error)
	// InsertFormat streams data in a ClickHouse input format (JSONEachRow, CSV, Parquet …)
	// into table (a quoted, qualified name) as INSERT INTO table FORMAT format: the engine
	// parses it as it arrives, and Go never holds more than a buffer of it. A field or column
	// the table lacks is an error on every engine. Like any INSERT it may commit the blocks it
	// parsed before an error; Load is the all-or-nothing form.
	InsertFormat(ctx context.Context, table, format string, data io.Reader) error
	// Info describes the engine: kind, ClickHouse version, where the data lives.
	Info(ctx context.Context) (Info, error)
	// Close releases the engine. The embedded engine must be closed before the process exits.
	Close() error
}

// Params are query parameter values by name, for {name:Type} placeholders. Values may be
// string, bool, any integer or float type, time.Time (sent in UTC), or a slice of those.
type Params map[string]any

// Column describes one result column.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Result holds a query's rows and what running it cost.
//
// Values are normalised so both engines return the same Go values: Int8…Int64 → int64,
// UInt8…UInt64 → uint64, Float32/Float64 → float64, Bool → bool, String/FixedString/UUID/Enum/
// IP/Decimal/128- and 256-bit integers → string, Date/DateTime/DateTime64 → time.Time in UTC,
// Nullable → nil or the value, LowCardinality(T) → T, Array and Tuple → []any, Map →
// map[string]any.
type Result struct {
	Columns []Column `json:"columns"`
	Rows    [][]any  `json:"rows"`
	Stats   Stats    `json:"statistics"`
}

// Stats is what a query read and how long it took, as the engine reports it.
type Stats struct {
	// RowsRead and BytesRead are the rows and bytes the engine scanned.
	RowsRead  uint64 `json:"rows_read"`
	BytesRead uint64 `json:"bytes_read"`
	// RowsWritten and BytesWritten are what a statement wrote (an INSERT … SELECT run with
	// Query), when WritesKnown: servers older than protocol revision 54420 (Debian's 18.16)
	// do not report them.
	RowsWritten  uint64 `json:"rows_written,omitempty"`
	BytesWritten uint64 `json:"bytes_written,omitempty"`
	WritesKnown  bool   `json:"-"`
	// Elapsed is the engine's own measure of the query time.
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Info describes an engine.
type Info struct {
	// Kind is "embedded" or "remote".
	Kind string `json:"kind"`
	// Version is the ClickHouse version, e.g. "26.5.1.1".
	Version string `json:"version"`
	// Location is the data folder (embedded) or host:port (remote).
	Location string `json:"location"`
	// Database is the default database of the session.
	Database string `json:"database"`
	// Library is the path of libchdb.so (embedded only).
	Library string `json:"library,omitempty"`
}

// Error is an error reported by ClickHouse, carrying its numeric code and name.
type Error struct {
	// Code is ClickHouse's error code, e.g. 62 for a syntax error.
	Code int
	// Name is ClickHouse's error name, e.g. "SYNTAX_ERROR", when the engine reports it.
	Name string
	// Message is the engine's message, on one line.
	Message string
}

func (e *Error) Error() string {
	if e.Name != "" {
		return fmt.Sprintf("ClickHouse error %d (%s): %s", e.Code, e.Name, e.Message)
	}
	return fmt.Sprintf("ClickHouse error %d: %s", e.Code, e.Message)
}

// Common ClickHouse error codes hourglass reacts to.
const (
	CodeSyntaxError        = 62
	CodeUnknownTable       = 60
	CodeUnknownDatabase    = 81
	CodeTableAlreadyExists = 57
	CodeMemoryLimit        = 241
	CodeQueryWasCancelled  = 394
)

// Row returns the first row of a result, or nil.
func (r *Result) Row() []any {
	if len(r.Rows) == 0 {
		return nil
	}
	return r.Rows[0]
}

// Uint reads a whole number the engines return (a UInt as uint64, an Int as int64, a Bool as
// bool; a NULL as 0). ok is false for any other value.
func Uint(v any) (n uint64, ok bool) {
	switch x := v.(type) {
	case uint64:
		return x, true
	case int64:
		return uint64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case nil:
		return 0, true
	}
	return 0, false
}

// ColumnIndex returns the index of the named column, or -1.
func (r *Result) ColumnIndex(name string) int {
	for i, c := range r.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Open opens the engine a DSN names: "chdb://DIR", "chdb://:memory:" or
// "clickhouse://user:pass@host:port/db". An empty DSN is an error; callers apply their
// default (the project's data folder) first.
func Open(ctx context.Context, dsn string) (Engine, error) {
	switch {
	case dsn == "":
		return nil, fmt.Errorf("no engine DSN: pass --dsn chdb://DIR or clickhouse://host:9000/db")
	case strings.HasPrefix(dsn, "chdb://"):
		return openEmbedded(ctx, strings.TrimPrefix(dsn, "chdb://"), LibraryPath())
	case strings.HasPrefix(dsn, "clickhouse://"), strings.HasPrefix(dsn, "tcp://"):
		return openRemote(ctx, dsn)
	}
	return nil, fmt.Errorf("unknown engine DSN %q: use chdb://DIR, chdb://:memory: or clickhouse://user:pass@host:9000/db", redact(dsn))
}

// redact hides a password in a DSN for messages.
func redact(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return dsn
	}
	userinfo := dsn[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return dsn[:scheme+3] + userinfo[:i] + ":***" + dsn[at:]
	}
	return dsn
}
