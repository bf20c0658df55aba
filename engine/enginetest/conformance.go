package enginetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hourglass-dev/hourglass/engine"
)

// Conformance runs the suite every Engine implementation must pass, with the same
// expectations for all, so both implementations return the same Go values for the same SQL.
// It only uses SQL that Debian's clickhouse-server 18.16 understands.
func Conformance(t *testing.T, e engine.Engine) {
	ctx := context.Background()

	t.Run("CreateInsertSelect", func(t *testing.T) {
		db := TempDatabase(t, e)
		MustExec(t, e,
			"CREATE TABLE `"+db+"`.t (id UInt64, name String, at DateTime) ENGINE = MergeTree ORDER BY id",
			"INSERT INTO `"+db+"`.t SELECT number, concat('n', toString(number)), toDateTime('2026-11-02 10:00:00') + number * 600 FROM numbers(10)",
		)
		r := MustQuery(t, e, "SELECT id, name, at FROM `"+db+"`.t WHERE id >= {from:UInt64} ORDER BY id LIMIT 2", engine.Params{"from": uint64(7)})
		want := [][]any{
			{uint64(7), "n7", time.Date(2026, 11, 2, 11, 10, 0, 0, time.UTC)},
			{uint64(8), "n8", time.Date(2026, 11, 2, 11, 20, 0, 0, time.UTC)},
		}
		if diff := cmp.Diff(want, r.Rows); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
		if got := []engine.Column{{Name: "id", Type: "UInt64"}, {Name: "name", Type: "String"}, {Name: "at", Type: "DateTime"}}; !cmp.Equal(got, r.Columns) {
			t.Errorf("columns = %v, want %v", r.Columns, got)
		}
	})

	t.Run("AggregatingMergeTree", func(t *testing.T) {
		db := TempDatabase(t, e)
		MustExec(t, e,
			"CREATE TABLE `"+db+"`.raw (ts DateTime, user String, v UInt32) ENGINE = MergeTree ORDER BY ts",
			"INSERT INTO `"+db+"`.raw SELECT toDateTime('2026-11-02 00:00:00') + number * 37, concat('u', toString(number % 1000)), number % 7 FROM numbers(20000)",
			"CREATE TABLE `"+db+"`.agg (hour DateTime, users AggregateFunction(uniq, String), total AggregateFunction(sum, UInt32), n AggregateFunction(count)) ENGINE = AggregatingMergeTree PARTITION BY toYYYYMMDD(hour) ORDER BY hour",
			// two inserts for the same hours: merge must combine states, never add finished numbers
			"INSERT INTO `"+db+"`.agg SELECT toStartOfHour(ts), uniqState(user), sumState(v), countState() FROM `"+db+"`.raw WHERE v < 3 GROUP BY toStartOfHour(ts)",
			"INSERT INTO `"+db+"`.agg SELECT toStartOfHour(ts), uniqState(user), sumState(v), countState() FROM `"+db+"`.raw WHERE v >= 3 GROUP BY toStartOfHour(ts)",
		)
		rollup := MustQuery(t, e, "SELECT uniqMerge(users), sumMerge(total), countMerge(n) FROM `"+db+"`.agg", nil)
		raw := MustQuery(t, e, "SELECT uniq(user), sum(v), count() FROM `"+db+"`.raw", nil)
		if diff := cmp.Diff(raw.Rows, rollup.Rows); diff != "" {
			t.Errorf("rollup differs from raw (-raw +rollup):\n%s", diff)
		}
		if got := raw.Row()[2]; got != uint64(20000) {
			t.Errorf("count = %v, want 20000", got)
		}
		perHourRaw := MustQuery(t, e, "SELECT toStartOfHour(ts) h, uniq(user), sum(v) FROM `"+db+"`.raw GROUP BY h ORDER BY h", nil)
		perHourRollup := MustQuery(t, e, "SELECT hour, uniqMerge(users), sumMerge(total) FROM `"+db+"`.agg GROUP BY hour ORDER BY hour", nil)
		if diff := cmp.Diff(perHourRaw.Rows, perHourRollup.Rows); diff != "" {
			t.Errorf("per-hour rollup differs from raw (-raw +rollup):\n%s", diff)
		}
	})

	t.Run("ErrorsCarryCodes", func(t *testing.T) {
		for _, c := range []struct {
			q    string
			code int
		}{
			{"SELEC 1", engine.CodeSyntaxError},
			{"SELECT * FROM default.hourglass_no_such_table", engine.CodeUnknownTable},
		} {
			_, err := e.Query(ctx, c.q, nil)
			var ce *engine.Error
			if !errors.As(err, &ce) {
				t.Fatalf("%s: error %v (%T), want *engine.Error", c.q, err, err)
			}
			if ce.Code != c.code || ce.Message == "" {
				t.Errorf("%s: code %d message %q, want code %d", c.q, ce.Code, ce.Message, c.code)
			}
			for _, r := range err.Error() {
				if r == '\n' {
					t.Errorf("%s: error is not one line: %q", c.q, err)
				}
			}
		}
	})

	t.Run("Statistics", func(t *testing.T) {
		db := TempDatabase(t, e)
		MustExec(t, e,
			"CREATE TABLE `"+db+"`.n (x UInt64) ENGINE = MergeTree ORDER BY x",
			"INSERT INTO `"+db+"`.n SELECT number FROM numbers(100000)",
		)
		r := MustQuery(t, e, "SELECT sum(x) FROM `"+db+"`.n", nil)
		if got := r.Row()[0]; got != uint64(4999950000) {
			t.Errorf("sum = %v", got)
		}
		if r.Stats.RowsRead != 100000 {
			t.Errorf("rows read = %d, want 100000", r.Stats.RowsRead)
		}
		if r.Stats.BytesRead < 800000 {
			t.Errorf("bytes read = %d, want ≥ 800000", r.Stats.BytesRead)
		}
		if r.Stats.Elapsed <= 0 {
			t.Errorf("elapsed = %v, want > 0", r.Stats.Elapsed)
		}
	})

	t.Run("InsertStatistics", func(t *testing.T) {
		db := TempDatabase(t, e)
		MustExec(t, e, "CREATE TABLE `"+db+"`.w (x UInt64) ENGINE = MergeTree ORDER BY x")
		r, err := e.Query(ctx, "INSERT INTO `"+db+"`.w SELECT number FROM numbers({n:UInt64})", engine.Params{"n": uint64(5000)})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Rows) != 0 || r.Stats.RowsRead != 5000 {
			t.Errorf("INSERT … SELECT: %d rows, %d rows read; want none and 5000", len(r.Rows), r.Stats.RowsRead)
		}
		if r.Stats.WritesKnown && r.Stats.RowsWritten != 5000 {
			t.Errorf("rows written = %d, want 5000", r.Stats.RowsWritten)
		}
	})

	t.Run("Nulls", func(t *testing.T) {
		r := MustQuery(t, e, "SELECT CAST(NULL AS Nullable(Int64)) a, toNullable(toInt64(-5)) b, CAST(NULL AS Nullable(String)) c", nil)
		want := []any{nil, int64(-5), nil}
		if diff := cmp.Diff(want, r.Row()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})

	t.Run("UnicodeAndInjectionAsParameters", func(t *testing.T) {
		for _, s := range []string{"héllo 世界 🌍", "'; DROP TABLE t; --", "back\\slash `tick` \"dq\"", "tab\tnew\nline", "аdmin"} {
			r := MustQuery(t, e, "SELECT {s:String} AS s, length({s:String}) AS n", engine.Params{"s": s})
			if got := r.Row()[0]; got != s {
				t.Errorf("round trip of %q = %q", s, got)
			}
			if got := r.Row()[1]; got != uint64(len(s)) {
				t.Errorf("length(%q) = %v, want %d", s, got, len(s))
			}
		}
	})

	t.Run("IntegerLimits", func(t *testing.T) {
		r := MustQuery(t, e, "SELECT toUInt64('18446744073709551615') a, toInt64('-9223372036854775808') b, toInt64('9223372036854775807') c, toUInt8(255) d, toInt8(-128) e, toFloat64(0.1) f, toFloat32(0.1) g", nil)
		want := []any{uint64(math.MaxUint64), int64(math.MinInt64), int64(math.MaxInt64), uint64(255), int64(-128), 0.1, float64(float32(0.1))}
		if diff := cmp.Diff(want, r.Row()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		r = MustQuery(t, e, "SELECT {a:UInt64} + 0, {b:Int64} + 0", engine.Params{"a": uint64(math.MaxUint64), "b": int64(math.MinInt64)})
		if diff := cmp.Diff([]any{uint64(math.MaxUint64), int64(math.MinInt64)}, r.Row()); diff != "" {
			t.Errorf("parameters (-want +got):\n%s", diff)
		}
	})

	t.Run("DateTimeInUTC", func(t *testing.T) {
		at := time.Date(2026, 11, 2, 23, 59, 59, 0, time.UTC)
		r := MustQuery(t, e, "SELECT {t:DateTime} AS t, toStartOfHour({t:DateTime}) AS h, toYYYYMMDD({t:DateTime}) AS d, toUnixTimestamp({t:DateTime}) AS u, toDate({t:DateTime}) AS day", engine.Params{"t": at})
		want := []any{at, time.Date(2026, 11, 2, 23, 0, 0, 0, time.UTC), uint64(20261102), uint64(at.Unix()), time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}
		if diff := cmp.Diff(want, r.Row()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		// A time given in another zone is the same instant.
		ny, _ := time.LoadLocation("America/New_York")
		r = MustQuery(t, e, "SELECT toUnixTimestamp({t:DateTime})", engine.Params{"t": at.In(ny)})
		if got := r.Row()[0]; got != uint64(at.Unix()) {
			t.Errorf("instant from another zone = %v, want %d", got, at.Unix())
		}
	})

	t.Run("ConcurrentParameters", func(t *testing.T) { ConcurrentParameters(t, e) })

	t.Run("ValuesDecodeAlike", func(t *testing.T) { conformanceValues(t, e) })

	t.Run("ArraysAndTypes", func(t *testing.T) {
		r := MustQuery(t, e, "SELECT [1, 2, 3] a, ['x', 'y'] b, toUInt8(1) = 1 c", nil)
		want := []any{[]any{uint64(1), uint64(2), uint64(3)}, []any{"x", "y"}, uint64(1)}
		if diff := cmp.Diff(want, r.Row()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

// ConcurrentParameters runs parameterised queries from several goroutines at once: each must
// see its own values.
func ConcurrentParameters(t *testing.T, e engine.Engine) {
	var wg sync.WaitGroup
	errs := make(chan error, 8*25)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				want := uint64(g*1000 + i)
				r, err := e.Query(context.Background(), "SELECT {v:UInt64} + 0 AS v, {s:String} AS s FROM numbers(1000) LIMIT 1", engine.Params{"v": want, "s": fmt.Sprint(want)})
				if err != nil {
					errs <- err
					return
				}
				if r.Row()[0] != want || r.Row()[1] != fmt.Sprint(want) {
					errs <- fmt.Errorf("goroutine %d got %v, want %d", g, r.Row(), want)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
