package pipes

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/ident"
)

// The row-by-row comparison of two queries inside the engine: validate compares a rollup with
// its raw table this way, and an endpoint with the user's current query. Both queries return
// the same named columns; rows are matched on the key columns with a full outer join (NULL
// keys match NULL keys), every value column is compared with its own tolerance, and one row
// comes back: the totals and the first mismatching rows. Neither side's rows ever leave the
// engine.

// DiffValue is one compared column.
type DiffValue struct {
	// Name is the column's name in both queries.
	Name string
	// Tolerance is the relative tolerance (0: exact). Values equal when
	// |a − b| ≤ Tolerance × min(|a|, |b|), as go-cmp's EquateApprox.
	Tolerance float64
	// Numeric says a relative error can be computed (numbers); Float that NaN equals NaN.
	Numeric, Float bool
	// Sketch, for a uniq_combined count, is where two exact computations may still differ
	// (see Sketch); nil for every other value.
	Sketch *Sketch
	// SketchInputs, for a derived metric, are the uniq_combined counts it is computed from: in
	// a row where one of them (compared in the same query) differs by its sketch's rule, the
	// derived value may differ too.
	SketchInputs []string
	// Array says the values are arrays of numbers, compared element by element (each with
	// Tolerance; arrays of different lengths differ).
	Array bool
	// Member says the reference holds an array of acceptable values (the group's values of an
	// any metric): the candidate equals when it is one of them (or NULL and the set is empty).
	Member bool
	// Skip says the value is not compared (DiffQuery refuses it: leave it out).
	Skip bool
}

// Diff describes a comparison of two queries.
type Diff struct {
	// Reference and Candidate are the two queries (SELECTs, parameters left bound by the caller).
	Reference, Candidate string
	// Keys are the columns rows are matched on (none: each side returns one row).
	Keys []string
	// Values are the columns compared.
	Values []DiffValue
	// Sample is how many mismatching rows the result lists, in key order (negative: all).
	Sample int
}

// Result columns of a diff query, in this order: DiffRows, DiffFirstKeys, then per value
// "__hg_mm<i>" (mismatching rows) and "__hg_err<i>" (largest relative error), then DiffSample.
const (
	// DiffRows counts the rows of either side (matched rows once).
	DiffRows = "__hg_rows"
	// DiffFirstKeys counts the distinct values of the first key (the bucket).
	DiffFirstKeys = "__hg_first_keys"
	// DiffSample is an array of tuples, one per mismatching row in key order: per key its NULL
	// flag (UInt8) and value, then "present in reference" and "present in candidate" (UInt8),
	// then per value whether it differs (UInt8), the reference's and the candidate's.
	DiffSample = "__hg_sample"
)

// DiffQuery returns the query comparing d.Reference and d.Candidate (see Diff). Its one result
// row holds DiffRows, DiffFirstKeys, per value its mismatch count and largest relative error,
// and DiffSample. A row present on one side only is a mismatch of every value with relative
// error 1; so is a non-numeric value that differs.
func DiffQuery(d Diff) (string, error) {
	if strings.TrimSpace(d.Reference) == "" || strings.TrimSpace(d.Candidate) == "" {
		return "", fmt.Errorf("diff: both queries are needed")
	}
	if len(d.Values) == 0 && len(d.Keys) == 0 {
		return "", fmt.Errorf("diff: no values to compare")
	}
	seen := map[string]bool{}
	for _, n := range d.Keys {
		if seen[n] {
			return "", fmt.Errorf("diff: column %q appears twice", n)
		}
		seen[n] = true
	}
	for _, v := range d.Values {
		if seen[v.Name] {
			return "", fmt.Errorf("diff: column %q appears twice", v.Name)
		}
		seen[v.Name] = true
		if v.Tolerance < 0 || math.IsNaN(v.Tolerance) || math.IsInf(v.Tolerance, 0) {
			return "", fmt.Errorf("diff: tolerance of %s is %v: use a number ≥ 0", v.Name, v.Tolerance)
		}
		if v.Skip {
			return "", fmt.Errorf("diff: %s cannot be compared: leave it out", v.Name)
		}
	}
	var using []string
	side := func(q, present, prefix string) string {
		var cols []string
		for i, k := range d.Keys {
			c := ident.Quote(k)
			cols = append(cols, fmt.Sprintf("isNull(%s) AS __hg_kn%d", c, i), fmt.Sprintf("assumeNotNull(%s) AS __hg_kv%d", c, i))
		}
		if len(d.Keys) == 0 {
			cols = append(cols, "0 AS __hg_one")
		}
		cols = append(cols, "1 AS "+present)
		for i, v := range d.Values {
			cols = append(cols, fmt.Sprintf("%s AS %s%d", ident.Quote(v.Name), prefix, i))
		}
		return "        SELECT " + strings.Join(cols, ", ") + "\n        FROM\n        (\n" + indentBy(strings.TrimSpace(q), "            ") + "\n        )"
	}
	for i := range d.Keys {
		using = append(using, fmt.Sprintf("__hg_kn%d", i), fmt.Sprintf("__hg_kv%d", i))
	}
	if len(d.Keys) == 0 {
		using = []string{"__hg_one"}
	}
	both := "(__hg_in_ref AND __hg_in_cand)"
	var row []string // per-row expressions of the middle layer
	var sample []string
	for i := range d.Keys {
		sample = append(sample, fmt.Sprintf("__hg_kn%d", i), fmt.Sprintf("__hg_kv%d", i))
	}
	sample = append(sample, "__hg_in_ref", "__hg_in_cand")
	var anyMismatch, totals []string
	// sketchDiffers is, for a uniq_combined count compared at index i, the condition "its two
	// sides differ, as the sketch's rule allows" (see Sketch).
	sketchDiffers := func(i int, sk *Sketch) string {
		r, c := fmt.Sprintf("__hg_ref%d", i), fmt.Sprintf("__hg_cand%d", i)
		var sizes []string
		for _, n := range sk.Sizes {
			sizes = append(sizes, strconv.FormatUint(n, 10))
		}
		in := "(" + strings.Join(sizes, ", ") + ")"
		fr, fc := "toFloat64("+r+")", "toFloat64("+c+")"
		return fmt.Sprintf("ifNull(%s != %s AND (%s IN %s OR %s IN %s) AND abs(%s - %s) <= %s * least(%s, %s), 0)",
			r, c, r, in, c, in, fc, fr, strconv.FormatFloat(sk.Tolerance, 'g', -1, 64), fr, fc)
	}
	for i, v := range d.Values {
		r, c := fmt.Sprintf("__hg_ref%d", i), fmt.Sprintf("__hg_cand%d", i)
		same := fmt.Sprintf("(ifNull(%s = %s, 0) OR (isNull(%s) AND isNull(%s)))", r, c, r, c)
		if v.Float && !v.Array {
			same = fmt.Sprintf("(%s OR ifNull(isNaN(%s) AND isNaN(%s), 0))", same, r, c)
		}
		equal := same
		rel := "1"
		switch {
		case v.Member:
			// The reference is the set of the group's values: the candidate is one of them,
			// or NULL where the group has none.
			// A group without values (a filled bucket) holds NULL or the type's default.
			same = fmt.Sprintf("(ifNull(has(%s, %s), 0) OR (empty(%s) AND (isNull(%s) OR ifNull(%s = defaultValueOfArgumentType(%s), 0))))", r, c, r, c, c, c)
			equal = same
		case v.Array:
			// Element by element, each within the tolerance; arrays of other lengths differ.
			// Both are resized to the longer one first, so the lambdas never see arrays of
			// different sizes.
			n := fmt.Sprintf("greatest(length(%s), length(%s))", r, c)
			rr, cc := fmt.Sprintf("arrayResize(%s, %s)", r, n), fmt.Sprintf("arrayResize(%s, %s)", c, n)
			tol := strconv.FormatFloat(v.Tolerance, 'g', -1, 64)
			equal = fmt.Sprintf("(length(%s) = length(%s) AND arrayAll((x, y) -> x = y OR (isNaN(x) AND isNaN(y)) OR abs(x - y) <= %s * least(abs(x), abs(y)), %s, %s))", r, c, tol, rr, cc)
			rel = fmt.Sprintf("if(length(%s) = length(%s), arrayMax(arrayMap((x, y) -> if(x = y OR (isNaN(x) AND isNaN(y)), 0., if(isFinite(abs(x - y) / greatest(abs(x), abs(y))), abs(x - y) / greatest(abs(x), abs(y)), 1.)), %s, %s)), 1.)", r, c, rr, cc)
		case v.Numeric:
			fr, fc := "toFloat64("+r+")", "toFloat64("+c+")"
			if v.Tolerance > 0 {
				equal = fmt.Sprintf("(%s OR ifNull(abs(%s - %s) <= %s * least(abs(%s), abs(%s)), 0))",
					same, fc, fr, strconv.FormatFloat(v.Tolerance, 'g', -1, 64), fr, fc)
			}
			if v.Sketch != nil {
				equal = "(" + equal + " OR " + sketchDiffers(i, v.Sketch) + ")"
			}
			for j, in := range d.Values {
				if in.Sketch != nil && slices.Contains(v.SketchInputs, in.Name) {
					equal = "(" + equal + " OR " + sketchDiffers(j, in.Sketch) + ")"
				}
			}
			x := fmt.Sprintf("abs(%s - %s) / greatest(abs(%s), abs(%s))", fc, fr, fr, fc)
			rel = fmt.Sprintf("ifNull(if(isFinite(%s), %s, 1), 1)", x, x)
		}
		row = append(row,
			fmt.Sprintf("NOT (%s AND %s) AS __hg_x%d", both, equal, i),
			fmt.Sprintf("if(%s, if(%s, 0., %s), 1.) AS __hg_e%d", both, same, rel, i))
		sample = append(sample, fmt.Sprintf("__hg_x%d", i), r, c)
		anyMismatch = append(anyMismatch, fmt.Sprintf("__hg_x%d", i))
		totals = append(totals, fmt.Sprintf("countIf(__hg_x%d) AS __hg_mm%d", i, i), fmt.Sprintf("max(__hg_e%d) AS __hg_err%d", i, i))
	}
	if len(d.Values) == 0 {
		// Keys only: a row on one side only is the mismatch.
		anyMismatch = append(anyMismatch, "NOT "+both)
	}
	first := "0"
	if len(d.Keys) > 0 {
		first = "uniqExact(__hg_kn0, __hg_kv0)"
	}
	collected := fmt.Sprintf("arraySort(groupArrayIf(tuple(%s), %s))", strings.Join(sample, ", "), strings.Join(anyMismatch, " OR "))
	if d.Sample >= 0 {
		collected = fmt.Sprintf("arraySlice(%s, 1, %d)", collected, d.Sample)
	}
	var b strings.Builder
	b.WriteString("SELECT\n    count() AS " + DiffRows + ",\n    " + first + " AS " + DiffFirstKeys + ",\n    ")
	b.WriteString(strings.Join(totals, ",\n    "))
	b.WriteString(",\n    " + collected + " AS " + DiffSample + "\nFROM\n(\n")
	// The columns are named, not *: old servers repeat the right side's keys under *.
	var pass []string
	pass = append(pass, using...)
	pass = append(pass, "__hg_in_ref", "__hg_in_cand")
	for i := range d.Values {
		pass = append(pass, fmt.Sprintf("__hg_ref%d", i), fmt.Sprintf("__hg_cand%d", i))
	}
	b.WriteString("    SELECT\n        " + strings.Join(pass, ", ") + ",\n        " + strings.Join(row, ",\n        ") + "\n    FROM\n    (\n")
	b.WriteString(side(d.Reference, "__hg_in_ref", "__hg_ref"))
	b.WriteString("\n    ) AS __hg_reference\n    FULL OUTER JOIN\n    (\n")
	b.WriteString(side(d.Candidate, "__hg_in_cand", "__hg_cand"))
	b.WriteString("\n    ) AS __hg_candidate USING (" + strings.Join(using, ", ") + ")\n)\nSETTINGS join_use_nulls = 0")
	return b.String(), nil
}

func indentBy(s, pad string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = pad + l
	}
	return strings.Join(lines, "\n")
}

// MetricValue says how a finalised metric of the rollup compares (docs/model.md): Numeric
// when a relative error means something, Float when it is a float (sums of floats and
// averages depend on the order of additions, so they get a relative tolerance; NaN equals
// NaN), Tolerance the metric's stated tolerance (quantiles: QuantileTolerance of their
// accuracy; a derived metric: the sum of its inputs'), Array when it is an array compared
// element by element, Member when the reference holds the set of the group's values (any,
// any_last), Skip when it cannot be compared (a derived metric over a member metric). ok is
// false for an unknown metric. Derived metrics are named too.
func (ra *RollupArtifacts) MetricValue(metric string) (v DiffValue, ok bool) {
	mp := ra.plan.metric(metric)
	if mp == nil {
		return DiffValue{}, false
	}
	c := mp.cmp
	return DiffValue{Name: metric, Numeric: c.numeric, Float: c.float, Tolerance: c.tolerance, Array: c.array, Member: c.member, Skip: c.skip,
		Sketch: c.sketch, SketchInputs: c.sketchInputs}, true
}

// IsDerived reports whether metric is a derived metric of the rollup (computed from the
// stored ones after the merge, never stored).
func (ra *RollupArtifacts) IsDerived(metric string) bool {
	return ra.Rollup.DerivedMetric(metric) != nil
}

// Sketch is the one place where two computations of uniqCombined(p) over the same rows may
// differ. ClickHouse's sketch holds the values themselves (a hash set, counted exactly) until
// the set is full — 2^(p−5) values for String and 64-bit arguments, 2^(p−4) for 32-bit ones —
// and turns into a HyperLogLog when one more value arrives, even a value it holds already. A
// group of exactly that many distinct values therefore ends as the exact count or as the
// HyperLogLog's estimate of the same values, depending on the order its rows or states came
// in — one query's threads, the grains a plan merges. Every other count is a function of the
// values alone, so it is compared exactly. Equal says whether two counts agree under this rule.
type Sketch struct {
	// Sizes are the set sizes at which the two results may differ.
	Sizes []uint64
	// Tolerance is how far the estimate may be from the exact count there: five standard
	// errors of a HyperLogLog of 2^p cells (1.04 / √2^p each).
	Tolerance float64
}

// SketchOf returns the sketch rule of a distinct-count metric, or nil when its counts compare
// exactly (uniq, uniq_exact, and every other kind).
func SketchOf(m *datasources.Metric) *Sketch {
	if m.Kind != datasources.MetricUniqCombined {
		return nil
	}
	p := m.Precision
	if p == 0 {
		p = datasources.DefaultPrecision
	}
	return &Sketch{Sizes: []uint64{1 << (p - 5), 1 << (p - 4)}, Tolerance: 5 * 1.04 / math.Sqrt(float64(uint64(1)<<p))}
}

// Equal reports whether two counts agree: the same, or one of them a set size of the sketch
// and the other within its tolerance.
func (s *Sketch) Equal(a, b uint64) bool {
	if a == b {
		return true
	}
	if s == nil || !slices.Contains(s.Sizes, a) && !slices.Contains(s.Sizes, b) {
		return false
	}
	d := math.Abs(float64(a) - float64(b))
	return d <= s.Tolerance*math.Min(float64(a), float64(b))
}

// SourceFirstHour returns a query for the first hour of the rollup's source rows (with the
// rollup's filter) and how many there are: where an endpoint reading the raw table starts
// serving, so the hours a rollup version must hold before an endpoint may switch to it.
func (ra *RollupArtifacts) SourceFirstHour() string {
	rp := ra.plan
	if rp.over != nil {
		// Entities start at their first source row: the source rollup's first hour.
		rp = rp.over
	}
	q := "SELECT min(" + rp.hour + "), count() FROM " + ident.Qualified(rp.p.Database, rp.r.Source)
	if f := strings.TrimSpace(rp.r.Filter); f != "" {
		q += " WHERE (" + f + ")"
	}
	return q
}

// fromTableRe matches a table named after FROM or JOIN, and whether a "." follows it (then it
// is a database name).
var fromTableRe = regexp.MustCompile(`(?i)\b(FROM|JOIN)(\s+)([A-Za-z_][A-Za-z0-9_]*)\b(\s*\.)?`)

// CurrentQuery returns an endpoint's current query (its current_sql) ready to run beside the
// project's statements: tables of the project (datasources and rollups) it names after FROM or
// JOIN without a database are read in the project's database, as the query did in production.
// Names a WITH clause defines, and names already qualified, are left alone.
func CurrentQuery(p *datasources.Project, sql string) string {
	tables := map[string]bool{}
	for _, d := range p.Datasources {
		tables[d.Name] = true
	}
	for _, r := range p.Rollups {
		tables[r.Name] = true
	}
	return fromTableRe.ReplaceAllStringFunc(sql, func(m string) string {
		g := fromTableRe.FindStringSubmatch(m)
		name := g[3]
		if g[4] != "" || !tables[name] || regexp.MustCompile(`(?i)\b`+name+`\s+AS\s*\(`).MatchString(sql) {
			return m
		}
		return g[1] + g[2] + ident.Qualified(p.Database, name)
	})
}
