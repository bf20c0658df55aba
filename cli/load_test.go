package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/engine/enginetest"
)

// runIn runs the CLI in-process with in as standard input.
func runIn(t *testing.T, in io.Reader, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, IO{In: in, Out: &out, Err: &errb}, Build{Version: "test"})
	return code, out.String(), errb.String()
}

// TestLoadAndSQLOnBothEngines is the user's view of load and sql on the embedded engine and
// on a clickhouse-server: a table made with `sql -`, 1,000,000 NDJSON rows loaded from
// standard input and checked with SQL written here against sums computed by formula (read
// back through FORMAT passthrough), then a file whose line 500,001 is bad, which must change
// nothing and name that line.
func TestLoadAndSQLOnBothEngines(t *testing.T) {
	needLibrary(t)
	dsns := map[string]string{"embedded": "chdb://" + filepath.Join(t.TempDir(), "data")}
	if s, err := enginetest.StartServer(context.Background(), filepath.Join(t.TempDir(), "server")); err != nil {
		enginetest.Unavailable(t, "clickhouse-server", err)
	} else {
		t.Cleanup(s.Stop)
		if dsns["remote"], err = s.HTTPDSN(); err != nil {
			t.Fatal(err)
		}
	}
	const rows = 1000000
	inputBytes, _ := io.Copy(io.Discard, &enginetest.NDJSON{Rows: rows})
	bad := filepath.Join(t.TempDir(), "bad-line-500001.ndjson")
	f, err := os.Create(bad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, &enginetest.NDJSON{Rows: 600000, BadLine: 500001}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sums := enginetest.LoadSums(rows)
	wantSums := fmt.Sprintf("%d\t%d\t%d\t%d\n", sums...)

	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			sql := func(stdin, query string) string {
				t.Helper()
				code, out, errOut := runIn(t, strings.NewReader(stdin), "--dsn", dsn, "sql", query)
				if code != ExitOK {
					t.Fatalf("sql %q: exit %d: %s", query, code, errOut)
				}
				return out
			}
			sql("CREATE DATABASE IF NOT EXISTS loadtest\n", "-")
			sql("  CREATE TABLE loadtest.ev "+enginetest.LoadTableColumns+" "+enginetest.LoadTableEngine+";\n", "-")

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			code, out, errOut := runIn(t, &enginetest.NDJSON{Rows: rows}, "--dsn", dsn, "-o", "json", "load", "loadtest.ev", "-")
			runtime.ReadMemStats(&after)
			if code != ExitOK {
				t.Fatalf("load: exit %d: %s", code, errOut)
			}
			var res loadOutput
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("load --output json %q: %v", out, err)
			}
			if res.Rows != rows || res.Bytes != inputBytes || res.Table != "loadtest.ev" || res.Source != "standard input" || res.RowsPerSecond <= 0 {
				t.Errorf("load result %s", out)
			}
			t.Logf("%s: loaded %d rows (%d MiB) from standard input in %s: %.0f rows/s", name, res.Rows, res.Bytes>>20, res.Elapsed, res.RowsPerSecond)
			// Go streams the input: it allocates a small fraction of what it reads.
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%s: Go allocated %d KiB while loading %d MiB", name, alloc>>10, inputBytes>>20)
			if alloc > uint64(inputBytes)/8 {
				t.Errorf("Go allocated %d bytes while loading %d: the input is not streamed", alloc, inputBytes)
			}
			if got := sql("", "SELECT count(), sum(id), sum(value), uniqExact(user) FROM loadtest.ev FORMAT TSV"); got != wantSums {
				t.Errorf("after the load the table holds %q, want %q", got, wantSums)
			}

			code, out, errOut = runIn(t, strings.NewReader(""), "--dsn", dsn, "load", "loadtest.ev", bad)
			if code != ExitError || out != "" || !strings.HasPrefix(errOut, "hourglass: load loadtest.ev: line 500001: ") || strings.Count(errOut, "\n") != 1 {
				t.Errorf("bad row: exit %d, stdout %q, stderr %q; want exit 2 and one line naming line 500001", code, out, errOut)
			}
			if got := sql("", "SELECT count(), sum(id), sum(value), uniqExact(user) FROM loadtest.ev FORMAT TSV"); got != wantSums {
				t.Errorf("after the bad load the table holds %q, want %q", got, wantSums)
			}
			if got := sql("SELECT count() AS n, max(id) AS top FROM loadtest.ev FORMAT Vertical", "-"); got != "Row 1:\n──────\nn:   1000000\ntop: 1000000\n" {
				t.Errorf("sql - with FORMAT Vertical printed %q", got)
			}
			if got := sql("", "SHOW TABLES FROM loadtest FORMAT TSV"); got != "ev\n" {
				t.Errorf("tables left: %q, want only ev", got)
			}
			// Rows sent in the statement itself (a remote 18.16 server over the native
			// protocol would wait for data blocks instead).
			if got := sql("", "INSERT INTO loadtest.ev VALUES (0, 'x', 5, '2026-11-01 00:00:00')"); got != "ok\n" {
				t.Errorf("INSERT … VALUES printed %q", got)
			}
			if got := sql("", "SELECT count(), sum(value) FROM loadtest.ev FORMAT CSV"); got != fmt.Sprintf("%d,%d\n", rows+1, sums[2].(uint64)+5) {
				t.Errorf("after INSERT … VALUES: %q", got)
			}
		})
	}
}

// TestLoadIntoTheProjectsEvents loads NDJSON into the default project's raw events table, as
// the README's walkthrough does: a bare table name is the project's database, omitted fields
// take the table's defaults, materialized columns are computed from the loaded ones.
func TestLoadIntoTheProjectsEvents(t *testing.T) {
	needLibrary(t)
	dir := initProject(t)
	if code, _, errOut := run(t, "--project", dir, "deploy"); code != ExitOK {
		t.Fatal(errOut)
	}
	path := filepath.Join(t.TempDir(), "events.ndjson")
	lines := `{"timestamp":"2026-11-01 10:00:00","event_id":"e1","event_type":"pageview","user_id":"u1","value_usd":2.5,"properties":"{\"page\":{\"path\":\"/a\"},\"scroll\":{\"depth\":40}}"}
{"timestamp":"2026-11-01 10:30:00","event_id":"e2","event_type":"click","user_id":"u2"}
`
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "--project", dir, "load", "events", path)
	if code != ExitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	want := fmt.Sprintf("loaded 2 rows (%d B of JSONEachRow from %s) into analytics.events in ", len(lines), path)
	if !strings.HasPrefix(out, want) || !strings.Contains(out, " rows/s, ") {
		t.Errorf("summary %q, want it to start with %q", out, want)
	}
	code, out, errOut = run(t, "--project", dir, "sql", "SELECT event_id, timestamp, value_usd, properties, page_path, scroll_depth, environment FROM analytics.events ORDER BY event_id FORMAT TSV")
	if wantRows := "e1\t2026-11-01 10:00:00\t2.5\t{\"page\":{\"path\":\"/a\"},\"scroll\":{\"depth\":40}}\t/a\t40\t\n" +
		"e2\t2026-11-01 10:30:00\t0\t{}\t\t0\t\n"; code != ExitOK || out != wantRows {
		t.Errorf("exit %d (%s), rows\n%q\nwant\n%q", code, errOut, out, wantRows)
	}
}

func TestLoadAndSQLHaveHelpWithExamples(t *testing.T) {
	for _, cmd := range []string{"load", "sql"} {
		code, out, _ := run(t, cmd, "--help")
		if code != ExitOK || !strings.Contains(out, "Examples:") || !strings.Contains(out, "hourglass "+cmd+" ") {
			t.Errorf("%s --help: exit %d\n%s", cmd, code, out)
		}
	}
}

// TestLoadProgressBar draws the terminal bar with a fake clock: redrawn at most every 100 ms,
// with the share, rate and ETA of a known size, and cleared before the summary.
func TestLoadProgressBar(t *testing.T) {
	var w bytes.Buffer
	now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	p := &loadProgress{w: &w, tty: true, what: "events", total: 4 << 20, started: now, drawn: now, now: func() time.Time { return now }}
	now = now.Add(50 * time.Millisecond)
	p.update(1 << 20)
	if w.Len() != 0 {
		t.Errorf("drew %q within 100 ms of the start", w.String())
	}
	now = now.Add(950 * time.Millisecond)
	p.update(2 << 20)
	want := "\r\033[Kload events [" + strings.Repeat("█", 15) + strings.Repeat("░", 15) + "] 2.0 MiB of 4.0 MiB · 2.0 MiB/s · ETA 1s"
	if w.String() != want {
		t.Errorf("bar %q, want %q", w.String(), want)
	}
	p.finish()
	p.update(3 << 20) // the input goroutine may still report after the load ended
	if !strings.HasSuffix(w.String(), "\r\033[K") || strings.Count(w.String(), "load events") != 1 {
		t.Errorf("after finish: %q", w.String())
	}
}
