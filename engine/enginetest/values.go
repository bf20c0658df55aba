package enginetest

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hourglass-dev/hourglass/engine"
)

// conformanceValues checks that values the decoders handle differently (escapes, nulls inside
// arrays, tuples, time zones, special floats, empty arrays) come back as the same Go values from
// every engine. Only SQL that clickhouse-server 18.16 understands.
func conformanceValues(t *testing.T, e engine.Engine) {
	r := MustQuery(t, e, `SELECT
        'q"uote \\ back/slash' AS s1, concat('ctl', unhex('01090A0D1F')) AS s2,
        'héllo 世界 🌍' AS s3, '' AS s5,
        [toNullable(toUInt8(1)), NULL, 3] AS a1, [[toInt64(-1)], [], [toInt64(2), toInt64(3)]] AS a2,
        emptyArrayString() AS a3, (toUInt16(7), 'x', toDate('2026-11-02')) AS t1,
        toDateTime('2026-03-29 02:30:00', 'Asia/Kolkata') AS d1, toDateTime('2026-11-02 23:59:59', 'UTC') AS d2,
        toDate('1970-01-01') AS d3, 1 / 0 AS f1, -1 / 0 AS f2, toFloat32(-2.5) AS f3, 1e-7 AS f4,
        CAST('b' AS Enum8('a' = 1, 'b' = 2)) AS en, toFixedString('ab', 2) AS fs, toInt16(-300) AS i16,
        CAST(NULL AS Nullable(DateTime)) AS nd`, nil)
	want := []any{
		`q"uote \ back/slash`, "ctl\x01\t\n\r\x1f",
		"héllo 世界 🌍", "",
		[]any{uint64(1), nil, uint64(3)}, []any{[]any{int64(-1)}, []any{}, []any{int64(2), int64(3)}},
		[]any{}, []any{uint64(7), "x", time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)},
		time.Date(2026, 3, 28, 21, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 23, 59, 59, 0, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), math.Inf(1), math.Inf(-1), -2.5, 1e-7,
		"b", "ab", int64(-300),
		nil,
	}
	if diff := cmp.Diff(want, r.Row()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	r = MustQuery(t, e, "SELECT 0 / 0 AS nan, toFloat32(0 / 0) AS nan32", nil)
	if diff := cmp.Diff([]any{math.NaN(), math.NaN()}, r.Row(), cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("NaN (-want +got):\n%s", diff)
	}
}
