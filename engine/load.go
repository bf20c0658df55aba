package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/ident"
)

// LoadFormats are the input formats Load accepts, as ClickHouse names them.
var LoadFormats = []string{"JSONEachRow", "CSV", "CSVWithNames", "TSV", "TSVWithNames", "Parquet"}

// ParseLoadFormat returns the ClickHouse name of an input format, whatever its case; NDJSON,
// JSONLines and JSONL name JSONEachRow, TabSeparated names TSV.
func ParseLoadFormat(name string) (string, error) {
	n := strings.ToLower(name)
	switch n {
	case "ndjson", "jsonlines", "jsonl":
		return "JSONEachRow", nil
	case "tabseparated":
		return "TSV", nil
	case "tabseparatedwithnames":
		return "TSVWithNames", nil
	}
	for _, f := range LoadFormats {
		if strings.ToLower(f) == n {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown format %q: use one of %s", name, strings.Join(LoadFormats, ", "))
}

// headerLines is how many lines a format's input starts with before its first row.
func headerLines(format string) int {
	if strings.HasSuffix(format, "WithNames") {
		return 1
	}
	return 0
}

// seekable reports whether the engine needs to seek in the input (Parquet keeps its index at
// the end), so a stream must be spooled to a file first.
func seekable(format string) bool { return format == "Parquet" }

// LoadRequest says what Load reads and where it writes.
type LoadRequest struct {
	// Database and Table name the table to append to; an empty Database is the session's.
	Database, Table string
	// Format is an input format of LoadFormats.
	Format string
	// Data is the input: a file, standard input or any stream. It is read once, in order.
	Data io.Reader
	// Progress, when set, is called with the bytes of Data read so far, from the goroutine
	// that reads it.
	Progress func(bytesRead int64)
}

// LoadResult is what a load wrote.
type LoadResult struct {
	// Table is the table appended to, as database.table.
	Table  string `json:"table"`
	Format string `json:"format"`
	// Rows and Bytes are the rows written and the bytes of input read.
	Rows  uint64 `json:"rows"`
	Bytes int64  `json:"bytes"`
	// Elapsed is the time of the whole load, staging and move included.
	Elapsed time.Duration `json:"elapsed_ns"`
}

// BadDataError is an input the engine could not parse. Nothing of the load was written.
type BadDataError struct {
	// Row is the data row (from 1, header lines not counted) the engine stopped at.
	Row uint64
	// Line is the input line that row starts on, for formats that write one row per line
	// (JSONEachRow as NDJSON, CSV and TSV without quoted line breaks); 0 for Parquet.
	Line uint64
	// Reason is the engine's reason, on one line.
	Reason string
	// Err is the engine's error.
	Err error
}

func (e *BadDataError) Error() string {
	where := fmt.Sprintf("row %d", e.Row)
	if e.Line > 0 {
		where = fmt.Sprintf("line %d", e.Line)
	}
	return where + ": " + e.Reason + " (nothing was loaded: fix the input and load it again)"
}

func (e *BadDataError) Unwrap() error { return e.Err }

// Load appends Data to a table all or nothing: the engine parses the input into a private
// staging table with the table's columns (CREATE TABLE … AS), and only when every row parsed
// does one INSERT … SELECT move the rows in (so the table's materialized views see them as
// they would see any insert). A bad row, a failed read of the input or a cancelled context
// drops the staging table and leaves the table as it was. Go streams the input to the engine
// and never holds more than a buffer of it; the engine parses it, and a Parquet stream, which
// the engine must seek in, is first spooled to a temporary file.
//
// Loading the same data twice appends it twice, as two INSERTs would. A process killed while
// staging leaves a table named _hourglass_load_<table>_<id>, which may be dropped.
func Load(ctx context.Context, e Engine, req LoadRequest) (*LoadResult, error) {
	start := time.Now()
	format, err := ParseLoadFormat(req.Format)
	if err != nil {
		return nil, err
	}
	db, err := loadTarget(ctx, e, req.Database, req.Table)
	if err != nil {
		return nil, err
	}
	res := &LoadResult{Table: db + "." + req.Table, Format: format}
	target := ident.Qualified(db, req.Table)

	id := make([]byte, 4)
	_, _ = rand.Read(id)
	stagingName := "_hourglass_load_" + truncate(req.Table, 64) + "_" + hex.EncodeToString(id)
	staging := ident.Qualified(db, stagingName)
	if err := e.Exec(ctx, "CREATE TABLE "+staging+" AS "+target+" ENGINE = MergeTree ORDER BY tuple()", nil); err != nil {
		return nil, fmt.Errorf("create the staging table %s.%s: %w", db, stagingName, err)
	}
	defer dropStaging(ctx, e, staging)

	data := &countingReader{r: req.Data, progress: req.Progress}
	var input io.Reader = data
	if seekable(format) {
		f, cleanup, err := spool(req.Data, data)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		input = f
	}
	if err := e.InsertFormat(ctx, staging, format, input); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, badData(err, format)
	}
	if err := ctx.Err(); err != nil {
		return nil, err // the input may have been cut short
	}
	res.Bytes = data.n
	r, err := e.Query(ctx, "SELECT count() FROM "+staging, nil)
	if err != nil {
		return nil, fmt.Errorf("count the staged rows: %w", err)
	}
	res.Rows, _ = r.Row()[0].(uint64)
	// Past this point the load is all parsed: an interrupt no longer stops the move, so it
	// cannot leave half of it behind.
	if err := e.Exec(context.WithoutCancel(ctx), "INSERT INTO "+target+" SELECT * FROM "+staging, nil); err != nil {
		return nil, fmt.Errorf("move the staged rows into %s: %w", res.Table, err)
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// loadTarget checks the names and that the table exists, and returns its database.
func loadTarget(ctx context.Context, e Engine, db, table string) (string, error) {
	if err := ident.Check(table); err != nil {
		return "", fmt.Errorf("table %w", err)
	}
	if db != "" {
		if err := ident.Check(db); err != nil {
			return "", fmt.Errorf("database %w", err)
		}
	}
	if db == "" {
		r, err := e.Query(ctx, "SELECT currentDatabase()", nil)
		if err != nil {
			return "", err
		}
		db, _ = r.Row()[0].(string)
	}
	r, err := e.Query(ctx, "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {table:String}",
		Params{"db": db, "table": table})
	if err != nil {
		return "", err
	}
	if n, _ := r.Row()[0].(uint64); n == 0 {
		return "", fmt.Errorf("table %s.%s does not exist: create it first (hourglass deploy creates a project's raw tables), or name another", db, table)
	}
	return db, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// dropStaging drops the staging table even when ctx was cancelled. Not with SYNC: on the
// embedded engine (chDB 26.5) DROP TABLE … SYNC of a table that has had an INSERT never returns.
func dropStaging(ctx context.Context, e Engine, staging string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	_ = e.Exec(ctx, "DROP TABLE IF EXISTS "+staging, nil)
}

// spool copies a stream into a temporary file the engine can seek in, unless it already is
// one (src is the caller's reader, counted its counting wrapper).
func spool(src io.Reader, counted *countingReader) (*os.File, func(), error) {
	if _, ok := regularFile(src); ok {
		fi, err := src.(*os.File).Stat()
		if err == nil {
			counted.add(fi.Size())
		}
		return src.(*os.File), func() {}, nil
	}
	f, err := os.CreateTemp("", "hourglass-load-*")
	if err != nil {
		return nil, nil, fmt.Errorf("spool the input: %w", err)
	}
	cleanup := func() { f.Close(); os.Remove(f.Name()) }
	if _, err := io.Copy(f, counted); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("spool the input to %s: %w", f.Name(), err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		cleanup()
		return nil, nil, err
	}
	return f, cleanup, nil
}

// countingReader counts the bytes read and reports them.
type countingReader struct {
	r        io.Reader
	n        int64
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.add(int64(n))
	}
	return n, err
}

func (c *countingReader) add(n int64) {
	c.n += n
	if c.progress != nil {
		c.progress(c.n)
	}
}

var (
	atRow      = regexp.MustCompile(`\(at row (\d+)\)`)
	nestedCode = regexp.MustCompile(`^(?:Code:\s*\d+\.\s*DB::Exception:\s*)+`)
	// diagnostic is the engine's note on the bad row of a CSV or TSV input.
	diagnostic = regexp.MustCompile(`Column \d+, name: ([^,]+), type: ([^,]+), (?:parsed text: "[^"]*" )?ERROR: (.*?)(?:\s*:\s*\(in file.*)?$`)
	lineFeeds  = regexp.MustCompile(`<LINE FEED>[^"]*"`)
)

// badData turns the engine's parse error into a BadDataError naming the row and its line;
// other errors pass through.
func badData(err error, format string) error {
	var ce *Error
	if !errors.As(err, &ce) {
		return err
	}
	msg := nestedCode.ReplaceAllString(ce.Message, "")
	loc := atRow.FindStringSubmatchIndex(msg)
	if loc == nil {
		return err
	}
	row, _ := strconv.ParseUint(msg[loc[2]:loc[3]], 10, 64)
	reason := shortenSnippet(strings.TrimRight(msg[:loc[0]], ": "))
	if m := diagnostic.FindStringSubmatch(msg[loc[1]:]); m != nil {
		reason += fmt.Sprintf("; column %s (%s): %s", m[1], m[2], lineFeeds.ReplaceAllString(m[3], `…"`))
	}
	bad := &BadDataError{Row: row, Reason: reason, Err: err}
	if format != "Parquet" {
		bad.Line = row + uint64(headerLines(format))
	}
	return bad
}

// shortenSnippet keeps the first line of the input the engine quotes after "before: ".
func shortenSnippet(reason string) string {
	i := strings.Index(reason, "before: ")
	if i < 0 {
		return reason
	}
	snippet, rest := reason[i+len("before: "):], ""
	if k := strings.Index(snippet, ": ("); k >= 0 {
		snippet, rest = snippet[:k], snippet[k:]
	}
	quoted := strings.HasPrefix(snippet, "'") && strings.HasSuffix(snippet, "'") && len(snippet) > 1
	if quoted {
		snippet = snippet[1 : len(snippet)-1]
	}
	if j := strings.Index(snippet, `\n`); j == 0 {
		snippet = `\n…` // the line ended early
	} else if j > 0 {
		snippet = snippet[:j] + "…"
	}
	if quoted {
		snippet = "'" + snippet + "'"
	}
	return reason[:i] + "before: " + snippet + rest
}
