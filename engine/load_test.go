package engine_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
)

// eachEngine runs f as a subtest on the embedded engine and on the remote one.
func eachEngine(t *testing.T, f func(t *testing.T, e engine.Engine)) {
	for name, need := range map[string]func(testing.TB) engine.Engine{"embedded": shared.NeedEmbedded, "remote": shared.NeedRemote} {
		t.Run(name, func(t *testing.T) { f(t, need(t)) })
	}
}

// loadEngines runs f on each engine, in its own database holding an empty load table "ev".
func loadEngines(t *testing.T, f func(t *testing.T, e engine.Engine, db string)) {
	eachEngine(t, func(t *testing.T, e engine.Engine) {
		db := enginetest.TempDatabase(t, e)
		enginetest.MustExec(t, e, "CREATE TABLE `"+db+"`.ev "+enginetest.LoadTableColumns+" "+enginetest.LoadTableEngine)
		f(t, e, db)
	})
}

// tablesOf lists a database's tables: a load must leave no staging table behind.
func tablesOf(t *testing.T, e engine.Engine, db string) []any {
	r := enginetest.MustQuery(t, e, "SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name", engine.Params{"db": db})
	var names []any
	for _, row := range r.Rows {
		names = append(names, row[0])
	}
	return names
}

var badFile struct {
	once sync.Once
	path string
	err  error
}

// badRowFile is a 600,000-line NDJSON file whose line 500,001 does not parse, written once.
func badRowFile(t *testing.T) string {
	badFile.once.Do(func() {
		badFile.path = filepath.Join(shared.Dir, "bad-row-500001.ndjson")
		f, err := os.Create(badFile.path)
		if err == nil {
			_, err = io.Copy(f, &enginetest.NDJSON{Rows: 600000, BadLine: 500001})
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		badFile.err = err
	})
	if badFile.err != nil {
		t.Fatal(badFile.err)
	}
	return badFile.path
}

// TestLoadBadRowCommitsNothing loads a file whose line 500,001 is bad into a table that
// already holds rows: the error names line 500,001, and the table holds exactly what it held.
func TestLoadBadRowCommitsNothing(t *testing.T) {
	path := badRowFile(t)
	loadEngines(t, func(t *testing.T, e engine.Engine, db string) {
		ctx := context.Background()
		if _, err := engine.Load(ctx, e, engine.LoadRequest{Database: db, Table: "ev", Format: "JSONEachRow", Data: &enginetest.NDJSON{Rows: 1000}}); err != nil {
			t.Fatal(err)
		}
		before := enginetest.MustQuery(t, e, enginetest.LoadSumsQuery+"`"+db+"`.ev", nil).Row()
		if diff := cmp.Diff(enginetest.LoadSums(1000), before); diff != "" {
			t.Fatalf("first load (-want +got):\n%s", diff)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		_, err = engine.Load(ctx, e, engine.LoadRequest{Database: db, Table: "ev", Format: "JSONEachRow", Data: f})
		var bad *engine.BadDataError
		if !errors.As(err, &bad) || bad.Line != 500001 || bad.Row != 500001 {
			t.Fatalf("err = %v, want a BadDataError on line 500001", err)
		}
		t.Logf("error: %v", err)
		if msg := err.Error(); !strings.HasPrefix(msg, "line 500001: ") || strings.Contains(msg, "\n") || len(msg) > 300 || !strings.Contains(msg, "nothing was loaded") {
			t.Errorf("message %q: want one short line starting with the line number", msg)
		}
		after := enginetest.MustQuery(t, e, enginetest.LoadSumsQuery+"`"+db+"`.ev", nil).Row()
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("the failed load changed the table (-before +after):\n%s", diff)
		}
		if got := tablesOf(t, e, db); !cmp.Equal(got, []any{"ev"}) {
			t.Errorf("tables after the failed load: %v, want only ev", got)
		}
	})
}

// TestLoadFormatsNameTheLine loads small inputs in each text format, good and with a bad
// row, and checks rows against SQL and the line the error names (header lines count).
func TestLoadFormatsNameTheLine(t *testing.T) {
	cases := []struct {
		format, good, bad string
		badLine           uint64
	}{
		{"JSONEachRow", `{"id":1,"user":"a","value":2,"ts":"2026-11-01 00:00:01"}` + "\n", `{"id":1,"user":"a","value":2,"ts":"2026-11-01 00:00:01"}` + "\n" + `{"id":2,"user":"b","value":3,"ts":"2026-11-01 00:00:02","extra":1}` + "\n", 2},
		{"CSV", "1,a,2,2026-11-01 00:00:01\n", "1,a,2,2026-11-01 00:00:01\n2,b,x,2026-11-01 00:00:02\n", 2},
		{"CSVWithNames", "id,user,value,ts\n1,a,2,2026-11-01 00:00:01\n", "id,user,value,ts\n1,a,2,2026-11-01 00:00:01\n2,b\n", 3},
		{"TSV", "1\ta\t2\t2026-11-01 00:00:01\n", "1\ta\t2\t2026-11-01 00:00:01\n1\ta\t2\t2026-11-01 00:00:01\nx\tb\t3\t2026-11-01 00:00:02\n", 3},
		{"TSVWithNames", "id\tuser\tvalue\tts\n1\ta\t2\t2026-11-01 00:00:01\n", "id\tuser\tvalue\tts\n1\ta\t2\t2026-11-01 00:00:01\n2\tb\t3\tnot a time\n", 3},
	}
	loadEngines(t, func(t *testing.T, e engine.Engine, db string) {
		ctx := context.Background()
		for i, c := range cases {
			res, err := engine.Load(ctx, e, engine.LoadRequest{Database: db, Table: "ev", Format: strings.ToLower(c.format), Data: strings.NewReader(c.good)})
			if err != nil {
				t.Fatalf("%s: %v", c.format, err)
			}
			if res.Rows != 1 || res.Bytes != int64(len(c.good)) || res.Format != c.format || res.Table != db+".ev" {
				t.Errorf("%s: result %+v", c.format, res)
			}
			got := enginetest.MustQuery(t, e, "SELECT count(), sum(id), sum(value), max(ts) = toDateTime('2026-11-01 00:00:01', 'UTC') FROM `"+db+"`.ev", nil).Row()
			if want := []any{uint64(i + 1), uint64(i + 1), uint64(2 * (i + 1)), uint64(1)}; !cmp.Equal(want, got) {
				t.Errorf("%s: table holds %v, want %v", c.format, got, want)
			}
			_, err = engine.Load(ctx, e, engine.LoadRequest{Database: db, Table: "ev", Format: c.format, Data: strings.NewReader(c.bad)})
			var bad *engine.BadDataError
			if !errors.As(err, &bad) || bad.Line != c.badLine {
				t.Errorf("%s: err = %v, want a BadDataError on line %d", c.format, err, c.badLine)
			}
			t.Logf("%s: %v", c.format, err)
			if n := enginetest.MustQuery(t, e, "SELECT count() FROM `"+db+"`.ev", nil).Row()[0]; n != uint64(i+1) {
				t.Errorf("%s: the bad load left %v rows, want %d", c.format, n, i+1)
			}
		}
		if got := tablesOf(t, e, db); !cmp.Equal(got, []any{"ev"}) {
			t.Errorf("tables after the loads: %v, want only ev", got)
		}
	})
}

// TestLoadRefusesBadTargets: a missing table, a bad name or format is one clear error before
// anything is created.
func TestLoadRefusesBadTargets(t *testing.T) {
	loadEngines(t, func(t *testing.T, e engine.Engine, db string) {
		for _, c := range []struct {
			req  engine.LoadRequest
			want string
		}{
			{engine.LoadRequest{Database: db, Table: "nosuch", Format: "CSV"}, "table " + db + ".nosuch does not exist"},
			{engine.LoadRequest{Database: db, Table: "ev; DROP", Format: "CSV"}, `table name "ev; DROP"`},
			{engine.LoadRequest{Database: db, Table: "ev", Format: "XML"}, `unknown format "XML": use one of JSONEachRow, CSV`},
		} {
			c.req.Data = strings.NewReader("1,a,2,2026-11-01 00:00:00\n")
			_, err := engine.Load(context.Background(), e, c.req)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%+v: err = %v, want %q", c.req, err, c.want)
			}
		}
		if got := tablesOf(t, e, db); !cmp.Equal(got, []any{"ev"}) {
			t.Errorf("tables: %v, want only ev", got)
		}
	})
}

// cancelAfter is an input that cancels the load's context once n bytes have been read, as an
// interrupt would, and keeps producing data.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= n; c.n <= 0 {
		c.cancel()
	}
	return n, err
}

// TestLoadInterruptedCommitsNothing cancels loads part way through the input: the table
// keeps what it held and no staging table is left.
func TestLoadInterruptedCommitsNothing(t *testing.T) {
	loadEngines(t, func(t *testing.T, e engine.Engine, db string) {
		for _, after := range []int{1, 64 << 10, 3 << 20} {
			ctx, cancel := context.WithCancel(context.Background())
			in := &cancelAfter{r: &enginetest.NDJSON{Rows: 200000}, n: after, cancel: cancel}
			_, err := engine.Load(ctx, e, engine.LoadRequest{Database: db, Table: "ev", Format: "JSONEachRow", Data: in})
			cancel()
			if !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled after %d bytes: err = %v, want context.Canceled", after, err)
			}
			if n := enginetest.MustQuery(t, e, "SELECT count() FROM `"+db+"`.ev", nil).Row()[0]; n != uint64(0) {
				t.Errorf("cancelled after %d bytes: the table holds %v rows, want 0", after, n)
			}
		}
		if got := tablesOf(t, e, db); !cmp.Equal(got, []any{"ev"}) {
			t.Errorf("tables: %v, want only ev", got)
		}
	})
}

// TestLoadFeedsMaterializedViews: the move is an INSERT, so a view triggered by inserts into
// the table sees the loaded rows.
func TestLoadFeedsMaterializedViews(t *testing.T) {
	loadEngines(t, func(t *testing.T, e engine.Engine, db string) {
		enginetest.MustExec(t, e, "CREATE MATERIALIZED VIEW `"+db+"`.per_day ENGINE = SummingMergeTree ORDER BY day AS SELECT toDate(ts) AS day, count() AS n FROM `"+db+"`.ev GROUP BY day")
		if _, err := engine.Load(context.Background(), e, engine.LoadRequest{Database: db, Table: "ev", Format: "JSONEachRow", Data: &enginetest.NDJSON{Rows: 100000}}); err != nil {
			t.Fatal(err)
		}
		got := enginetest.MustQuery(t, e, "SELECT sum(n) FROM `"+db+"`.per_day", nil).Row()
		if !cmp.Equal(got, []any{uint64(100000)}) {
			t.Errorf("the view counted %v rows, want 100000", got)
		}
	})
}

// TestLoadParquet loads Parquet the embedded engine wrote, from a file and from a stream
// (spooled, since Parquet must be read from its end), and checks the sums against SQL.
func TestLoadParquet(t *testing.T) {
	e := shared.NeedEmbedded(t)
	db := enginetest.TempDatabase(t, e)
	enginetest.MustExec(t, e, "CREATE TABLE `"+db+"`.ev "+enginetest.LoadTableColumns+" "+enginetest.LoadTableEngine)
	path := filepath.Join(t.TempDir(), "ev.parquet")
	enginetest.MustExec(t, e, "INSERT INTO FUNCTION file('"+path+"', 'Parquet', 'id UInt64, user String, value UInt32, ts DateTime(''UTC'')') SELECT number + 1, concat('u', toString((number + 1) % 1000)), (number + 1) % 100, toDateTime('2026-11-01 00:00:00', 'UTC') + number + 1 FROM numbers(50000)")
	ctx := context.Background()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	res, err := engine.Load(ctx, e, engine.LoadRequest{Database: db, Table: "ev", Format: "parquet", Data: f})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 50000 || res.Bytes != fi.Size() {
		t.Errorf("result %+v, want 50000 rows and %d bytes", res, fi.Size())
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Load(ctx, e, engine.LoadRequest{Database: db, Table: "ev", Format: "Parquet", Data: io.MultiReader(f)}); err != nil {
		t.Fatal(err)
	}
	got := enginetest.MustQuery(t, e, enginetest.LoadSumsQuery+"`"+db+"`.ev", nil).Row()
	want := enginetest.LoadSums(50000)
	for i := range want {
		want[i] = 2 * want[i].(uint64)
	}
	want[3] = uint64(1000)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// BenchmarkLoad measures Load of 1,000,000 NDJSON rows from a stream (standard input's path:
// a named pipe on the embedded engine, the HTTP interface on the remote one), staging and
// move included.
func BenchmarkLoad(b *testing.B) {
	const rows = 1000000
	for name, need := range map[string]func(testing.TB) engine.Engine{"embedded": shared.NeedEmbedded, "remote": shared.NeedRemote} {
		b.Run(name, func(b *testing.B) {
			e := need(b)
			db := enginetest.TempDatabase(b, e)
			enginetest.MustExec(b, e, "CREATE TABLE `"+db+"`.ev "+enginetest.LoadTableColumns+" "+enginetest.LoadTableEngine)
			size, _ := io.Copy(io.Discard, &enginetest.NDJSON{Rows: rows})
			b.SetBytes(size)
			for b.Loop() {
				if _, err := engine.Load(context.Background(), e, engine.LoadRequest{Database: db, Table: "ev", Format: "JSONEachRow", Data: &enginetest.NDJSON{Rows: rows}}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
