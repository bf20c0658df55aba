package populate_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
)

// incrementalYAML has one raw table sorted by time, so the engine's rows read by a range
// query are the range's rows up to a granule at each end, and the same rollup partitioned by
// day and by month.
const incrementalYAML = `name: incremental
datasources:
  - name: events
    partition_by: toYYYYMM(timestamp)
    order_by: [timestamp]
    columns:
      - {name: timestamp, type: DateTime}
      - {name: kind, type: String}
      - {name: user_id, type: String}
      - {name: value, type: UInt32}
rollups:
  - name: by_day
    source: events
    time_column: timestamp
    dimensions: [kind]
    metrics: &m
      - {name: n, kind: count}
      - {name: users, kind: uniq, column: user_id}
      - {name: total, kind: sum, column: value}
  - name: by_month
    source: events
    time_column: timestamp
    partition: month
    dimensions: [kind]
    metrics: *m
`

// granularity is the raw table's index granularity in this test: a range query reads at most
// one granule too many at each end.
const granularity = 256

// The hourly populate reads only the raw rows of [watermark − lookback, last closed hour),
// whatever the hour of day and however large the partition: at 23:07 (20 hours of the day
// partition carried from the rollup), at 00:07 (the window ends the previous day) and at 01:07
// (it crosses midnight), for day and month partitions. The engine's rows read are asserted
// against the window's raw count computed in the test, and after every tick the rollup equals
// raw SQL per hour and kind.
func TestPopulateReadsOnlyTheLookbackWindow(t *testing.T) {
	e := shared.NeedEmbedded(t)
	ctx := context.Background()
	db := enginetest.TempDatabase(t, e)
	enginetest.MustExec(t, e, "CREATE TABLE `"+db+"`.events (timestamp DateTime, kind String, user_id String, value UInt32) ENGINE = MergeTree PARTITION BY toYYYYMM(timestamp) ORDER BY timestamp SETTINGS index_granularity = "+fmt.Sprint(granularity))
	f := projecttest.Deploy(t, e, projecttest.FromYAML(t, incrementalYAML, db))
	// One event every 6 s from Nov 1 to Nov 30: 600 per hour.
	first, last := day(1, 0), day(30, 0)
	enginetest.MustExec(t, e, fmt.Sprintf(`INSERT INTO %s.events SELECT toDateTime(%d + number * 6, 'UTC'), ['a','b','c'][1 + number %% 3],
        concat('u', toString(cityHash64(number) %% 997)), number %% 50 FROM numbers(%d)`, db, first.Unix(), int(last.Sub(first)/(6*time.Second))))
	rawCount := func(rg timerange.Range) uint64 {
		return enginetest.MustQuery(t, e, "SELECT count() FROM `"+db+"`.events WHERE timestamp >= {start:DateTime} AND timestamp < {end:DateTime}",
			engine.Params{"start": rg.Start, "end": rg.End}).Row()[0].(uint64)
	}
	for _, rollup := range []string{"by_day", "by_month"} {
		t.Run(rollup, func(t *testing.T) {
			f.Clock = day(28, 22).Add(7 * time.Minute)
			if _, err := populate.New(e, f.Store, f.A, populate.Options{Now: f.Now}).Backfill(ctx, rollup, timerange.Range{Start: first, End: day(29, 0)}, populate.BackfillOptions{}); err != nil {
				t.Fatal(err)
			}
			var reads []uint64
			for _, tick := range []time.Time{day(28, 23), day(29, 0), day(29, 1)} {
				f.Clock = tick.Add(7 * time.Minute)
				reps, err := populate.New(e, f.Store, f.A, populate.Options{Now: f.Now}).Populate(ctx, []string{rollup})
				if err != nil {
					t.Fatal(err)
				}
				rep := reps[0]
				window := timerange.Range{Start: tick.Add(-3 * time.Hour), End: tick} // the watermark was tick − 1h; lookback 2h
				want := rawCount(window)
				if !rep.Range.Start.Equal(window.Start) || !rep.Range.End.Equal(window.End) {
					t.Fatalf("%s at %s recomputed %s, want %s", rollup, timerange.Format(f.Clock), rep.Range, window)
				}
				// Each unit (one per partition the window touches) may read a granule too many at
				// each end of its part of the window.
				if slack := uint64(2 * granularity * rep.Units); rep.RowsRead < want || rep.RowsRead > want+slack {
					t.Fatalf("%s at %s read %d raw rows; the window %s holds %d (at most %d more may be read, a granule at each end of each unit)",
						rollup, timerange.Format(f.Clock), rep.RowsRead, window, want, slack)
				}
				reads = append(reads, rep.RowsRead)
				t.Logf("%s at %s: %d units, %d raw rows read (window holds %d, its partition %d), %d rollup rows written",
					rollup, timerange.Format(f.Clock), rep.Units, rep.RowsRead, want, rawCount(partitionOf(rollup, window.Start)), rep.RowsWritten)
				requireRollupEqualsRaw(t, e, db, rollup, timerange.Range{Start: first, End: tick})
			}
			if reads[0] > reads[1]+2*granularity || reads[1] > reads[0]+2*granularity {
				t.Fatalf("rows read at 23:07 (%d) and 00:07 (%d) differ by more than a granule at each end", reads[0], reads[1])
			}
		})
	}
}

func partitionOf(rollup string, t time.Time) timerange.Range {
	p := timerange.Partition("day")
	if strings.HasSuffix(rollup, "month") {
		p = "month"
	}
	s := timerange.PartitionStart(p, t)
	return timerange.Range{Start: s, End: timerange.PartitionEnd(p, s)}
}

// requireRollupEqualsRaw compares the rollup with raw SQL written here, per hour and kind and
// over the whole range: count, distinct users, sum of value, and the rollup's row count per
// hour and kind (one row each: a partition stored twice shows).
func requireRollupEqualsRaw(t *testing.T, e engine.Engine, db, rollup string, rg timerange.Range) {
	t.Helper()
	p := engine.Params{"start": rg.Start, "end": rg.End}
	raw := enginetest.MustQuery(t, e, "SELECT toStartOfHour(timestamp) AS h, kind, count(), uniq(user_id), sum(value), 1 FROM `"+db+
		"`.events WHERE timestamp >= {start:DateTime} AND timestamp < {end:DateTime} GROUP BY h, kind ORDER BY h, kind", p).Rows
	rolled := enginetest.MustQuery(t, e, "SELECT hour, kind, sum(n), uniqMerge(users), sum(total), count() FROM `"+db+"`.`"+rollup+
		"` WHERE hour >= {start:DateTime} AND hour < {end:DateTime} GROUP BY hour, kind ORDER BY hour, kind", p).Rows
	if len(raw) == 0 {
		t.Fatalf("no raw rows in %s", rg)
	}
	if diff := cmp.Diff(raw, rolled); diff != "" {
		t.Fatalf("%s over %s differs from raw (-raw +rollup):\n%s", rollup, rg, diff)
	}
	tot := "SELECT count(), uniq(user_id), sum(value) FROM `" + db + "`.events WHERE timestamp >= {start:DateTime} AND timestamp < {end:DateTime}"
	rtot := "SELECT sum(n), uniqMerge(users), sum(total) FROM `" + db + "`.`" + rollup + "` WHERE hour >= {start:DateTime} AND hour < {end:DateTime}"
	if a, b := enginetest.MustQuery(t, e, tot, p).Rows, enginetest.MustQuery(t, e, rtot, p).Rows; !cmp.Equal(a, b) {
		t.Fatalf("%s totals over %s: raw %v, rollup %v", rollup, rg, a, b)
	}
}
