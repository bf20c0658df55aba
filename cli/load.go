package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
)

func newLoadCmd(g *globals) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "load TABLE [FILE|-]",
		Short: "Stream a file or standard input into a raw table, all or nothing",
		Long: `load appends a file, or standard input (- or no FILE), to a table: the engine parses the input
as it streams in, so files larger than memory load in bounded memory. TABLE is database.table,
or a table of the project's database.

The load is all or nothing: the rows go to a private staging table first and move into TABLE
in one INSERT only when every row parsed, so materialized views on TABLE see them like any
insert. A bad row stops the load with its line number and nothing is written; so does an
interrupt, or a kill before the final INSERT (which leaves a _hourglass_load_… staging table
that may be dropped). Loading the same data twice appends it twice.

Formats: ` + strings.Join(engine.LoadFormats, ", ") + `.
Without --format, .ndjson, .jsonl and .json files and standard input are JSONEachRow (one
JSON object per line), .parquet files Parquet; CSV and TSV need --format, to say whether the
first line holds column names. Fields or columns TABLE lacks are an error; columns the input
omits take their defaults. Compressed input: decompress it into standard input.

On a remote server, load uses its HTTP interface (the DSN's host, port http_port=, default
8123). A progress bar shows on a terminal; the summary gives rows, bytes and the rate.`,
		Example: `  hourglass load events events.ndjson
  gunzip -c events.ndjson.gz | hourglass load events
  hourglass load analytics.events export.csv --format CSVWithNames
  hourglass load sessions sessions.parquet --output json
  hourglass load events - --dsn "clickhouse://default:@db1:9000/analytics?http_port=8123" < events.ndjson`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return fmt.Errorf("%s takes a TABLE and an optional FILE (or - for standard input), got %d argument(s) (see %s --help)", cmd.CommandPath(), len(args), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			src := "-"
			if len(args) == 2 {
				src = args[1]
			}
			db, table := g.splitTable(args[0])
			f, err := loadFormat(format, src)
			if err != nil {
				return err
			}
			in, size, closeIn, err := g.openInput(src)
			if err != nil {
				return err
			}
			defer closeIn()
			ctx := cmd.Context()
			e, err := g.openEngine(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			bar := newLoadProgress(g.io.Err, args[0], size)
			res, err := engine.Load(ctx, e, engine.LoadRequest{Database: db, Table: table, Format: f, Data: in, Progress: bar.update})
			bar.finish()
			if err != nil {
				return fmt.Errorf("load %s: %w", args[0], err)
			}
			return writeLoadResult(g.io.Out, g.output, src, res)
		},
	}
	c.Flags().StringVar(&format, "format", "", "input format: "+strings.Join(engine.LoadFormats, ", ")+" (default: by the file's extension; JSONEachRow for standard input)")
	return c
}

// splitTable reads database.table, or a table of the project's database (the engine's
// current database when there is no project).
func (g *globals) splitTable(name string) (db, table string) {
	if db, table, ok := strings.Cut(name, "."); ok {
		return db, table
	}
	return g.projectDatabase(), name
}

// projectDatabase is the database of the project in --project (datasources.DefaultDatabase
// when its hourglass.yaml names none), or "" when there is no project.
func (g *globals) projectDatabase() string {
	b, err := os.ReadFile(filepath.Join(g.path(g.project), datasources.ProjectFile))
	if err != nil {
		return ""
	}
	var p struct {
		Database string `yaml:"database"`
	}
	if yaml.Unmarshal(b, &p) != nil || strings.TrimSpace(p.Database) == "" {
		return datasources.DefaultDatabase
	}
	return strings.TrimSpace(p.Database)
}

// loadFormat is --format, or the format a file's extension names.
func loadFormat(flag, src string) (string, error) {
	if flag != "" {
		return engine.ParseLoadFormat(flag)
	}
	switch ext := strings.ToLower(filepath.Ext(src)); ext {
	case ".csv", ".tsv":
		return "", fmt.Errorf("load %s: say whether its first line holds column names: --format %s or --format %sWithNames", src, strings.ToUpper(ext[1:]), strings.ToUpper(ext[1:]))
	case ".parquet":
		return "Parquet", nil
	case ".gz", ".zst", ".bz2", ".xz", ".lz4", ".zip":
		return "", fmt.Errorf("load %s: compressed input is not read directly: decompress it into standard input (gunzip -c %s | hourglass load TABLE)", src, src)
	}
	return "JSONEachRow", nil
}

// openInput opens FILE, or standard input for "-", and returns its size when known (else -1).
func (g *globals) openInput(src string) (io.Reader, int64, func(), error) {
	if src == "-" {
		if f, ok := g.io.In.(*os.File); ok && isTerminal(f) {
			return nil, 0, nil, errors.New("load: no input: give a FILE, or pipe the data into standard input (… | hourglass load TABLE)")
		}
		size := int64(-1)
		if f, ok := g.io.In.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
				size = fi.Size()
			}
		}
		return g.io.In, size, func() {}, nil
	}
	f, err := os.Open(g.path(src))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, nil, fmt.Errorf("load: file %s does not exist: give the path of the data file, or - for standard input", src)
		}
		return nil, 0, nil, fmt.Errorf("load: %w", err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%s is not a regular file: give a data file, or pipe it into standard input", src)
		}
		return nil, 0, nil, fmt.Errorf("load: %w", err)
	}
	return f, fi.Size(), func() { f.Close() }, nil
}

// loadOutput is load's --output json.
type loadOutput struct {
	*engine.LoadResult
	Source        string  `json:"source"`
	RowsPerSecond float64 `json:"rows_per_second"`
}

func writeLoadResult(w io.Writer, output, src string, res *engine.LoadResult) error {
	if src == "-" {
		src = "standard input"
	}
	out := loadOutput{LoadResult: res, Source: src}
	if s := res.Elapsed.Seconds(); s > 0 {
		out.RowsPerSecond = float64(res.Rows) / s
	}
	if output == "json" {
		return writeJSON(w, out)
	}
	_, err := fmt.Fprintf(w, "loaded %d rows (%s of %s from %s) into %s in %s: %s rows/s, %s/s\n",
		res.Rows, humanBytes(uint64(res.Bytes)), res.Format, src, res.Table, res.Elapsed.Round(time.Millisecond),
		humanCount(out.RowsPerSecond), humanBytes(uint64(float64(res.Bytes)/max(res.Elapsed.Seconds(), 1e-9))))
	return err
}

// loadProgress shows the bytes of input streamed so far: a bar redrawn at most ten times a
// second on a terminal (with a percentage and ETA when the size is known), a line every ten
// seconds elsewhere. update runs on the goroutine reading the input.
type loadProgress struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	what    string
	total   int64
	read    int64
	started time.Time
	drawn   time.Time
	done    bool
	now     func() time.Time
}

func newLoadProgress(w io.Writer, what string, total int64) *loadProgress {
	now := time.Now
	return &loadProgress{w: w, tty: isTerminal(w), what: what, total: total, started: now(), drawn: now(), now: now}
}

func (p *loadProgress) update(read int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	p.read = read
	every := 10 * time.Second
	if p.tty {
		every = 100 * time.Millisecond
	}
	if t := p.now(); t.Sub(p.drawn) >= every {
		p.drawn = t
		p.draw()
	}
}

func (p *loadProgress) draw() {
	elapsed := p.now().Sub(p.started)
	rate := float64(p.read) / max(elapsed.Seconds(), 1e-9)
	status := fmt.Sprintf("%s read · %s/s", humanBytes(uint64(p.read)), humanBytes(uint64(rate)))
	if p.total > 0 {
		status = fmt.Sprintf("%s of %s · %s/s", humanBytes(uint64(p.read)), humanBytes(uint64(p.total)), humanBytes(uint64(rate)))
		if rate > 0 && p.read < p.total {
			status += " · ETA " + (time.Duration(float64(p.total-p.read)/rate) * time.Second).Round(time.Second).String()
		}
	}
	if !p.tty {
		fmt.Fprintf(p.w, "load %s: %s\n", p.what, status)
		return
	}
	bar := ""
	if p.total > 0 {
		bar = progressBar(int(30*min(p.read, p.total)/p.total), 30) + " "
	}
	fmt.Fprintf(p.w, "\r\033[Kload %s %s%s", p.what, bar, status)
}

// finish clears the bar: the summary follows on standard output.
func (p *loadProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = true
	if p.tty && p.drawn != p.started {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
