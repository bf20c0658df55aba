package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
)

// timeseriesQuery is an endpoint-shaped read: 90 days of hourly buckets (2,160 rows) with the
// types rollup reads return — an hour, a dimension, 64-bit counts, a distinct count, a float
// sum and average, a nullable string and a small array.
const timeseriesQuery = `SELECT toStartOfHour(ts) AS hour, any(kind) AS event_type, count() AS events,
       uniq(user) AS users, sum(v) AS value_usd, avg(v) AS avg_value, toUInt32(max(n)) AS max_n,
       if(count() % 2 = 0, NULL, any(user)) AS some_user, [min(n), max(n)] AS n_range
FROM %s GROUP BY hour ORDER BY hour`

// benchTable fills a table with 90 days of events, 30 an hour, and returns its name.
func benchTable(b *testing.B, e engine.Engine) string {
	db := enginetest.TempDatabase(b, e)
	enginetest.MustExec(b, e,
		"CREATE TABLE `"+db+"`.ev (ts DateTime('UTC'), kind LowCardinality(String), user String, v Float64, n UInt64) ENGINE = MergeTree ORDER BY ts",
		"INSERT INTO `"+db+"`.ev SELECT toDateTime('2026-08-01 00:00:00', 'UTC') + number * 120, ['view', 'click'][1 + number % 2], concat('u', toString(number % 977)), (number % 100) / 7, number FROM numbers(64800)",
	)
	return "`" + db + "`.ev"
}

// BenchmarkEmbeddedQueryTimeseries measures a whole Query of 2,160 rows on the embedded engine:
// the engine's work plus decoding its output into Go values.
func BenchmarkEmbeddedQueryTimeseries(b *testing.B) {
	e := shared.NeedEmbedded(b)
	q := sprintfTable(timeseriesQuery, benchTable(b, e))
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		r, err := e.Query(ctx, q, nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Rows) != 2160 {
			b.Fatalf("%d rows, want 2160", len(r.Rows))
		}
	}
}

// BenchmarkDecodeTimeseries measures decoding alone, on the output of the same real query.
func BenchmarkDecodeTimeseries(b *testing.B) {
	e := shared.NeedEmbedded(b)
	out, err := engine.RawOutput(context.Background(), e, sprintfTable(timeseriesQuery, benchTable(b, e)))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ResetTimer()
	for b.Loop() {
		r, err := engine.DecodeJSONCompact(out)
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Rows) != 2160 {
			b.Fatalf("%d rows, want 2160", len(r.Rows))
		}
	}
}

func sprintfTable(q, table string) string { return strings.Replace(q, "%s", table, 1) }
