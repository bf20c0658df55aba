// Package estimate is the rollup design advisor: before a rollup is built, it measures on the
// raw data how many rows the rollup would hold — one per hour and distinct dimension tuple —,
// how much smaller than the raw data that is, and which dimension inflates it most.
//
// A rollup whose dimension combinations per hour approach the events per hour is worse than
// none: it costs a backfill and reads about as many rows as the raw table. Warn says so when
// the reduction is under MinReduction.
//
// How it counts: the rollup's keys are the compiler's own expressions (the hour bucket and
// every dimension's source expression from pipes.RollupArtifacts.Columns), over the same
// source rows as the populate query (time column in [start, end) and the rollup's filter).
// One query per chunk of days computes count() and uniqExact over the full key tuple and over
// the tuple without each dimension in turn: N+1 exact distinct counts in a single scan. Since
// the hour is part of every key, no key spans two chunks, so chunk counts add up exactly, and
// memory stays bounded by the keys of one chunk (ChunkRows raw rows at most, unless one day
// alone holds more).
package estimate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/ident"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

// MinReduction is the raw-to-rollup row ratio under which Warn warns.
const MinReduction = 10

// ChunkRows is the most raw rows one counting query covers (whole days; a day with more rows
// is one chunk on its own).
const ChunkRows = 5_000_000

// chunkRows is ChunkRows, changed by tests.
var chunkRows uint64 = ChunkRows

// ErrNotDeployed is returned (wrapped) when the rollup's source table does not exist.
var ErrNotDeployed = errors.New("run hourglass deploy first")

// Report is what a rollup would hold over a range of raw data.
type Report struct {
	Rollup string          `json:"rollup"`
	Source string          `json:"source"`
	Range  timerange.Range `json:"range"`
	// RawRows is the number of source rows in the range (after the rollup's filter).
	RawRows uint64 `json:"raw_rows"`
	// RollupRows is the number of rows the rollup would hold: distinct (hour, dimensions).
	RollupRows uint64 `json:"rollup_rows"`
	// Hours is the number of hours in the range; RowsPerHour is RollupRows / Hours.
	Hours       int     `json:"hours"`
	RowsPerHour float64 `json:"rollup_rows_per_hour"`
	// Reduction is RawRows / RollupRows (0 when the rollup would be empty).
	Reduction float64 `json:"reduction"`
	// Dimensions says what each dimension costs, the one that inflates the rollup most first.
	Dimensions []Dimension `json:"dimensions"`
	// Queries is the number of counting queries run (one per chunk of days).
	Queries int           `json:"queries"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Dimension is one dimension's effect on the rollup's size.
type Dimension struct {
	Name string `json:"name"`
	// Values is the number of distinct values of the dimension in the range.
	Values uint64 `json:"values"`
	// RowsWithout is how many rows the rollup would hold without this dimension.
	RowsWithout uint64 `json:"rows_without"`
	// Inflation is RollupRows / RowsWithout: how many times larger the dimension makes it.
	Inflation float64 `json:"inflation"`
}

// Estimate measures rollup on the raw rows of range r.
func Estimate(ctx context.Context, e engine.Engine, a *pipes.Artifacts, rollup string, r timerange.Range) (*Report, error) {
	began := time.Now()
	ra := a.Rollup(rollup)
	if ra == nil {
		return nil, fmt.Errorf("no rollup %q: the project has %s", rollup, rollupNames(a))
	}
	if err := timerange.Check(r, timerange.Options{AllowFuture: true}); err != nil {
		return nil, err
	}
	src := ident.Qualified(a.Project.Database, ra.Rollup.Source)
	where := whereClause(ra)
	rep := &Report{Rollup: rollup, Source: ra.Rollup.Source, Range: r, Hours: r.Hours()}

	chunks, err := chunkRange(ctx, e, ra, src, where, r)
	if err != nil {
		return nil, err
	}
	var keys []string // hour first, then dimensions
	var nullable []bool
	var dims []string
	for _, c := range ra.Columns {
		switch c.Role {
		case pipes.RoleHour:
			keys = append([]string{c.Expr}, keys...)
			nullable = append([]bool{false}, nullable...)
		case pipes.RoleDimension:
			keys = append(keys, c.Expr)
			nullable = append(nullable, strings.Contains(c.Type, "Nullable("))
			dims = append(dims, c.Name)
		}
	}
	q := countingQuery(keys, nullable, src, where)
	without := make([]uint64, len(dims))
	values := make([]uint64, len(dims))
	for _, ch := range chunks {
		res, err := e.Query(ctx, q, engine.Params{pipes.StartParam: ch.Start, pipes.EndParam: ch.End})
		if err != nil {
			return nil, fmt.Errorf("count %s over %s: %w", rollup, ch, err)
		}
		rep.Queries++
		row := res.Row()
		rep.RawRows += row[0].(uint64)
		rep.RollupRows += row[1].(uint64)
		for i := range dims {
			without[i] += row[2+i].(uint64)
			values[i] = max(values[i], row[2+len(dims)+i].(uint64))
		}
	}
	if len(chunks) > 1 {
		// Distinct values over the whole range, not per chunk.
		if values, err = distinctValues(ctx, e, keys[1:], src, where, r); err != nil {
			return nil, err
		}
	}
	if rep.RollupRows > 0 {
		rep.Reduction = float64(rep.RawRows) / float64(rep.RollupRows)
	}
	if rep.Hours > 0 {
		rep.RowsPerHour = float64(rep.RollupRows) / float64(rep.Hours)
	}
	for i, d := range dims {
		dim := Dimension{Name: d, Values: values[i], RowsWithout: without[i]}
		if without[i] > 0 {
			dim.Inflation = float64(rep.RollupRows) / float64(without[i])
		}
		rep.Dimensions = append(rep.Dimensions, dim)
	}
	sort.SliceStable(rep.Dimensions, func(i, j int) bool { return rep.Dimensions[i].Inflation > rep.Dimensions[j].Inflation })
	rep.Elapsed = time.Since(began)
	return rep, nil
}

// whereClause selects the source rows of [{start}, {end}) the rollup aggregates.
func whereClause(ra *pipes.RollupArtifacts) string {
	tc := ident.Quote(ra.Rollup.TimeColumn)
	w := tc + " >= {" + pipes.StartParam + ":" + pipes.TimeParamType + "} AND " + tc + " < {" + pipes.EndParam + ":" + pipes.TimeParamType + "}"
	if f := strings.TrimSpace(ra.Rollup.Filter); f != "" {
		w += " AND (" + f + ")"
	}
	return w
}

// countingQuery returns raw rows, distinct full keys, distinct keys without each dimension and
// distinct values of each dimension, in that order.
//
// Each key part is hashed once per row (cityHash64, times an odd constant) and a key is the
// wrapping sum of its parts, so the key without dimension i is the full key minus part i:
// N+1 distinct counts cost N hashes and N+1 hash-set inserts per row instead of N+1 hashes of
// whole tuples. Distinct keys are counted exactly over these 64-bit sums; two different keys
// share a sum with probability about 2⁻⁶⁴ per pair (negligible below billions of keys).
func countingQuery(keys []string, nullable []bool, src, where string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		h := "cityHash64(" + k + ")"
		if nullable[i] {
			h = "ifNull(" + h + ", 11400714819323198485)"
		}
		parts[i] = fmt.Sprintf("%s * %d AS __hg_h%d", h, multiplier(i), i)
	}
	var sum []string
	for i := range keys {
		sum = append(sum, fmt.Sprintf("__hg_h%d", i))
	}
	items := []string{"count()", "uniqExact(__hg_k)"}
	for i := 1; i < len(keys); i++ {
		items = append(items, fmt.Sprintf("uniqExact(__hg_k - __hg_h%d)", i))
	}
	for i := 1; i < len(keys); i++ {
		items = append(items, fmt.Sprintf("uniqExact(__hg_h%d)", i))
	}
	return "SELECT " + strings.Join(items, ",\n    ") + "\nFROM\n(\n    SELECT " + strings.Join(parts, ",\n        ") +
		",\n        " + strings.Join(sum, " + ") + " AS __hg_k\n    FROM " + src + "\n    WHERE " + where + "\n)"
}

// multiplier is the odd constant key part i is multiplied by (splitmix64 of i, made odd).
func multiplier(i int) uint64 {
	x := uint64(i) + 0x9E3779B97F4A7C15
	x = (x ^ x>>30) * 0xBF58476D1CE4E5B9
	x = (x ^ x>>27) * 0x94D049BB133111EB
	return (x ^ x>>31) | 1
}

func distinctValues(ctx context.Context, e engine.Engine, dims []string, src, where string, r timerange.Range) ([]uint64, error) {
	out := make([]uint64, len(dims))
	if len(dims) == 0 {
		return out, nil
	}
	items := make([]string, len(dims))
	for i, d := range dims {
		items[i] = "uniqExact(" + d + ")"
	}
	res, err := e.Query(ctx, "SELECT "+strings.Join(items, ", ")+" FROM "+src+" WHERE "+where,
		engine.Params{pipes.StartParam: r.Start, pipes.EndParam: r.End})
	if err != nil {
		return nil, err
	}
	for i, v := range res.Row() {
		out[i] = v.(uint64)
	}
	return out, nil
}

// chunkRange splits r into runs of whole UTC days holding at most ChunkRows source rows each
// (the first and last runs follow r's own hour-aligned ends).
func chunkRange(ctx context.Context, e engine.Engine, ra *pipes.RollupArtifacts, src, where string, r timerange.Range) ([]timerange.Range, error) {
	tc := ident.Quote(ra.Rollup.TimeColumn)
	res, err := e.Query(ctx, "SELECT toStartOfDay(toDateTime("+tc+", 'UTC')) AS d, count() FROM "+src+" WHERE "+where+" GROUP BY d ORDER BY d",
		engine.Params{pipes.StartParam: r.Start, pipes.EndParam: r.End})
	if err != nil {
		var ce *engine.Error
		if errors.As(err, &ce) && (ce.Code == engine.CodeUnknownTable || ce.Code == engine.CodeUnknownDatabase) {
			return nil, fmt.Errorf("table %s does not exist: %w", src, ErrNotDeployed)
		}
		return nil, fmt.Errorf("count %s per day: %w", src, err)
	}
	var chunks []timerange.Range
	cur := timerange.Range{Start: r.Start, End: r.Start}
	var rows uint64
	for _, row := range res.Rows {
		day, n := row[0].(time.Time).UTC(), row[1].(uint64)
		if rows > 0 && rows+n > chunkRows {
			cur.End = day
			chunks = append(chunks, cur)
			cur, rows = timerange.Range{Start: day}, 0
		}
		rows += n
	}
	cur.End = r.End
	if rows > 0 || len(chunks) == 0 {
		chunks = append(chunks, cur)
	}
	return chunks, nil
}

// DataRange returns the hour-aligned range covering every source row of the rollup:
// [hour of the first row, hour after the last row). ok is false when the source is empty.
func DataRange(ctx context.Context, e engine.Engine, a *pipes.Artifacts, rollup string) (r timerange.Range, ok bool, err error) {
	ra := a.Rollup(rollup)
	if ra == nil {
		return r, false, fmt.Errorf("no rollup %q: the project has %s", rollup, rollupNames(a))
	}
	src := ident.Qualified(a.Project.Database, ra.Rollup.Source)
	tc := ident.Quote(ra.Rollup.TimeColumn)
	res, err := e.Query(ctx, "SELECT count(), toStartOfHour(toDateTime(min("+tc+"), 'UTC')), toStartOfHour(toDateTime(max("+tc+"), 'UTC')) FROM "+src, nil)
	if err != nil {
		var ce *engine.Error
		if errors.As(err, &ce) && (ce.Code == engine.CodeUnknownTable || ce.Code == engine.CodeUnknownDatabase) {
			return r, false, fmt.Errorf("table %s does not exist: %w", src, ErrNotDeployed)
		}
		return r, false, err
	}
	row := res.Row()
	if row[0].(uint64) == 0 {
		return r, false, nil
	}
	return timerange.Range{Start: row[1].(time.Time).UTC(), End: row[2].(time.Time).UTC().Add(time.Hour)}, true, nil
}

func rollupNames(a *pipes.Artifacts) string {
	var names []string
	for _, r := range a.Rollups {
		names = append(names, r.Rollup.Name)
	}
	if len(names) == 0 {
		return "no rollups"
	}
	return strings.Join(names, ", ")
}

// Warn returns a one-line warning when the rollup would not be at least MinReduction times
// smaller than its raw data, naming the dimension that inflates it most; "" otherwise.
func Warn(r *Report) string {
	if r == nil || r.RawRows == 0 || r.Reduction >= MinReduction {
		return ""
	}
	msg := fmt.Sprintf("rollup %s would hold %s rows for %s raw rows (%s×)", r.Rollup, Count(r.RollupRows), Count(r.RawRows), ratio(r.Reduction))
	switch {
	case len(r.Dimensions) > 0 && r.Dimensions[0].Inflation >= 1.5:
		d := r.Dimensions[0]
		msg += fmt.Sprintf(": dimension %s inflates it most (×%s); drop it or move it to a breakdown rollup", d.Name, ratio(d.Inflation))
	case len(r.Dimensions) > 0:
		d := r.Dimensions[0]
		msg += fmt.Sprintf(": no single dimension inflates it much (at most ×%s, %s) because several fine-grained dimensions together make almost every row distinct; read totals from a narrow rollup and keep this one for breakdowns, or split its dimensions across breakdown rollups", ratio(d.Inflation), d.Name)
	default:
		msg += ": it saves little over reading the raw rows"
	}
	return msg
}

// Count renders a row count briefly: 950, 12.3 k, 17.6 M, 2.1 G.
func Count(n uint64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f G", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f M", float64(n)/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.1f k", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

func ratio(x float64) string {
	if x >= 100 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.1f", x)
}
