package pipes

import (
	"fmt"
	"strings"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/ident"
)

// Reconcile's fingerprint: per rollup partition, a handful of numbers computed once from the
// raw rows and once from the rollup, cheap enough to run over months (the raw side is one
// scan grouped by partition, never by every dimension) and compared inside the engine by
// DiffQuery:
//
//   - every metric finalised over the whole partition (counts, sums, min/max, distinct counts,
//     arg_min/arg_max: the raw aggregate against the rollup's -Merge of its states);
//   - for every additive state (counts, sums, the two halves of an average), the sum over the
//     partition of value × weight(hour, dimensions), the weight an odd 64-bit hash of the
//     row's key. The rollup's per-key states are sums of raw rows, so both sides agree
//     exactly (integers wrap modulo 2^64 alike on both sides; floats and decimals within
//     a relative tolerance), and a value changed in place, or moved from one key to another,
//     changes the weighted sum even when the partition's total stays the same.

// FingerprintPartition is the key column of the fingerprint queries: the partition's start.
const FingerprintPartition = "partition"

// weightedPrefix names the weighted sums of state columns in the fingerprint queries.
const weightedPrefix = "__hg_w_"

// Fingerprint returns reconcile's per-partition fingerprint of the rollup (see above): the raw
// query, the rollup query (on this artifact's table, a version's included), both over
// [{start:DateTime}, {end:DateTime}) and returning FingerprintPartition then the values, and
// the values to compare. Values of metrics are named after the metric; weighted sums after
// the state column with the prefix "__hg_w_". Float values come with Float set and no
// tolerance: the caller sets it.
func (ra *RollupArtifacts) Fingerprint() (raw, rollup string, values []DiffValue, err error) {
	rp := ra.plan
	t := clickhouseTarget(rp.p.Database)
	partition := func(hour string) string {
		if rp.r.Partition == datasources.PartitionMonth {
			return "toDateTime(toStartOfMonth(" + hour + "), 'UTC')"
		}
		return "toStartOfDay(" + hour + ")"
	}
	weight := func(hour string, dims []string) string {
		return "bitOr(cityHash64(" + strings.Join(append([]string{hour}, dims...), ", ") + "), 1)"
	}
	var rawDims, rollDims []string
	for _, d := range rp.dims {
		src, col := d.src, ident.Quote(d.d.Name)
		if d.typ.IsNullable() {
			rawDims = append(rawDims, "isNull("+src+")", "assumeNotNull("+src+")")
			rollDims = append(rollDims, "isNull("+col+")", "assumeNotNull("+col+")")
			continue
		}
		rawDims, rollDims = append(rawDims, src), append(rollDims, col)
	}
	hRaw, hRoll := weight(rp.hour, rawDims), weight(ident.Quote(HourColumn), rollDims)
	wRaw, wRoll := "toFloat64("+hRaw+" % 1048573 + 1)", "toFloat64("+hRoll+" % 1048573 + 1)"

	rawCols := []string{partition(rp.hour)}
	rollCols := []string{partition(ident.Quote(HourColumn))}
	names := []string{FingerprintPartition}
	for _, mp := range rp.metrics {
		v, _ := ra.MetricValue(mp.m.Name)
		values = append(values, v)
		names = append(names, mp.m.Name)
		rawCols, rollCols = append(rawCols, mp.ref), append(rollCols, mp.final)
	}
	for _, mp := range rp.metrics {
		states, err := additiveStates(rp, mp)
		if err != nil {
			return "", "", nil, fmt.Errorf("rollup %q: metric %q: %v", rp.r.Name, mp.m.Name, err)
		}
		for _, s := range states {
			col := ident.Quote(s.column)
			name := weightedPrefix + s.column
			v := DiffValue{Name: name, Numeric: true, Float: s.float}
			switch {
			case s.count && s.row == "":
				rawCols = append(rawCols, "sum("+hRaw+")")
				rollCols = append(rollCols, "sum(toUInt64("+col+") * "+hRoll+")")
			case s.count:
				rawCols = append(rawCols, "sum(if("+s.row+", "+hRaw+", 0))")
				rollCols = append(rollCols, "sum(toUInt64("+col+") * "+hRoll+")")
			case s.float:
				rawCols = append(rawCols, "sum(toFloat64("+s.row+") * "+wRaw+")")
				rollCols = append(rollCols, "sum(toFloat64("+col+") * "+wRoll+")")
			default:
				rawCols = append(rawCols, "sum(toUInt64("+s.row+") * "+hRaw+")")
				rollCols = append(rollCols, "sum(toUInt64("+col+") * "+hRoll+")")
			}
			values, names = append(values, v), append(names, name)
		}
	}
	from, where := rp.rowSource(t.table, SideReference, t.start, t.end)
	raw = fingerprintSelect(names, rawCols, from, where)
	h := ident.Quote(HourColumn)
	rollup = fingerprintSelect(names, rollCols, t.table(rp.r.Name), []string{h + " >= " + t.start, h + " < " + t.end})
	return raw, rollup, values, nil
}

// fingerprintSelect writes one side: expressions under reserved aliases in an inner query
// grouped by the first (so no alias shadows a column a condition reads), named outside.
func fingerprintSelect(names, exprs []string, from string, where []string) string {
	var outer, inner []string
	for i, e := range exprs {
		alias := ident.Quote(fmt.Sprintf("__hg_f%d", i))
		inner = append(inner, e+" AS "+alias)
		outer = append(outer, alias+" AS "+ident.Quote(names[i]))
	}
	var b strings.Builder
	b.WriteString("SELECT\n    " + strings.Join(outer, ",\n    ") + "\nFROM\n(\n")
	b.WriteString("    SELECT\n        " + strings.Join(inner, ",\n        ") + "\n")
	b.WriteString("    FROM " + from + "\n")
	b.WriteString("    WHERE " + strings.Join(where, "\n        AND ") + "\n")
	b.WriteString("    GROUP BY " + ident.Quote("__hg_f0") + "\n)")
	return b.String()
}

// additiveState is a state column that is a sum of raw rows: its per-row value (count: the
// condition a row is counted on, "" for every row), and how it compares.
type additiveState struct {
	column string
	row    string
	count  bool
	float  bool
}

// additiveStates lists the additive state columns of a metric (none for min, max, uniq and
// arg_min/arg_max, whose states are not sums).
func additiveStates(rp *rollupPlan, mp *metricPlan) ([]additiveState, error) {
	m := mp.m
	col, t := mp.arg, mp.argType
	// counted is the condition a row is counted on: cond (may be empty) and, with a column,
	// the column not NULL.
	counted := func(cond string) string {
		var parts []string
		if strings.TrimSpace(cond) != "" {
			parts = append(parts, "("+cond+")")
		}
		if col != "" {
			parts = append(parts, "isNotNull("+col+")")
		}
		if len(parts) == 0 {
			return ""
		}
		return strings.Join(parts, " AND ")
	}
	exact := t != nil && t.IsInteger()
	switch m.Kind {
	case datasources.MetricCount:
		return []additiveState{{column: mp.cols[0].Name, row: counted(""), count: true}}, nil
	case datasources.MetricCountIf:
		return []additiveState{{column: mp.cols[0].Name, row: counted(m.If), count: true}}, nil
	case datasources.MetricSum:
		return []additiveState{{column: mp.cols[0].Name, row: col, float: !exact}}, nil
	case datasources.MetricSumIf:
		return []additiveState{{column: mp.cols[0].Name, row: "if(" + m.If + ", " + col + ", 0)", float: !exact}}, nil
	case datasources.MetricAvg:
		return []additiveState{
			{column: mp.cols[0].Name, row: col, float: !exact},
			{column: mp.cols[1].Name, row: counted(""), count: true},
		}, nil
	}
	return nil, nil
}
