package validate

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

// diff is one comparison of two queries inside the engine (pipes.DiffQuery): rollup against
// raw, or an endpoint against the user's current query.
type diff struct {
	keys   []string
	values []pipes.DiffValue
	// limit is how many mismatches to list (negative: all).
	limit int
}

// listLimit turns Options.MaxMismatches into a list limit: the default when 0, all when
// negative.
func listLimit(max int) int {
	if max == 0 {
		return DefaultMaxMismatches
	}
	return max
}

func (d diff) query(reference, candidate string) (string, error) {
	// Each mismatching row lists at least one mismatch: limit rows are enough.
	return pipes.DiffQuery(pipes.Diff{Reference: reference, Candidate: candidate, Keys: d.keys, Values: d.values, Sample: d.limit})
}

// diffRow is one mismatching row of the sample.
type diffRow struct {
	keys       []any
	inRef      bool
	inCand     bool
	ref, cand  []any
	mismatches []int // indexes of the values that differ
}

// diffResult is the one row a diff query returns.
type diffResult struct {
	d          diff
	rows       int
	firstKeys  int
	mismatches []int
	largest    []float64
	sample     []diffRow
}

// read decodes a diff query's result row.
func (d diff) read(res *engine.Result) (*diffResult, error) {
	nv := len(d.values)
	if len(res.Rows) != 1 || len(res.Rows[0]) != 3+2*nv {
		return nil, fmt.Errorf("the comparison returned %d rows of %d columns, want 1 of %d", len(res.Rows), len(res.Columns), 3+2*nv)
	}
	row := res.Rows[0]
	out := &diffResult{d: d, rows: int(asUint(row[0])), firstKeys: int(asUint(row[1]))}
	for i := range nv {
		out.mismatches = append(out.mismatches, int(asUint(row[2+2*i])))
		f, _ := toFloat(row[3+2*i])
		out.largest = append(out.largest, f)
	}
	sample, _ := row[len(row)-1].([]any)
	nk := len(d.keys)
	for _, x := range sample {
		t, ok := x.([]any)
		if !ok || len(t) != 2*nk+2+3*nv {
			return nil, fmt.Errorf("the comparison returned a mismatching row of %d values, want %d", len(t), 2*nk+2+3*nv)
		}
		r := diffRow{inRef: asUint(t[2*nk]) == 1, inCand: asUint(t[2*nk+1]) == 1}
		for i := range nk {
			if asUint(t[2*i]) == 1 {
				r.keys = append(r.keys, nil)
			} else {
				r.keys = append(r.keys, t[2*i+1])
			}
		}
		for i := range nv {
			at := 2*nk + 2 + 3*i
			r.ref, r.cand = append(r.ref, t[at+1]), append(r.cand, t[at+2])
			if asUint(t[at]) == 1 {
				r.mismatches = append(r.mismatches, i)
			}
		}
		out.sample = append(out.sample, r)
	}
	return out, nil
}

// fill writes the totals and the listed mismatches into d. With bucket, the first key is the
// time bucket; dims name the other keys. reference names the reference side when it is not
// the raw table.
func (o *diffResult) fill(d *Differences, bucket bool, dims []string, reference string) {
	d.Buckets, d.Rows, d.Values = o.firstKeys, o.rows, o.rows*len(o.d.values)
	if d.MismatchesByMetric == nil {
		d.MismatchesByMetric = map[string]int{}
	}
	if d.Mismatches == nil {
		d.Mismatches = []Mismatch{}
	}
	for i, v := range o.d.values {
		d.MismatchCount += o.mismatches[i]
		if o.mismatches[i] > 0 {
			d.MismatchesByMetric[v.Name] = o.mismatches[i]
		}
		if o.largest[i] > d.LargestRelativeError {
			d.LargestRelativeError, d.LargestMetric = o.largest[i], v.Name
		}
	}
	for _, r := range o.sample {
		var at time.Time
		keys := r.keys
		if bucket {
			at, _ = keys[0].(time.Time)
			keys = keys[1:]
		}
		values := dimensionValues(dims, keys)
		for _, i := range r.mismatches {
			if o.d.limit >= 0 && len(d.Mismatches) >= o.d.limit {
				break
			}
			v := o.d.values[i]
			m := Mismatch{Bucket: at, Dimensions: values, Metric: v.Name, Tolerance: v.Tolerance, Reference: reference}
			switch {
			case !r.inRef:
				m.Kind, m.Rollup, m.RelativeError = KindMissingInRaw, r.cand[i], 1
				m.Difference, _ = toFloat(r.cand[i])
			case !r.inCand:
				m.Kind, m.Raw, m.RelativeError = KindMissingInRollup, r.ref[i], 1
				x, _ := toFloat(r.ref[i])
				m.Difference = -x
			default:
				rel, diff, numeric := relativeError(r.ref[i], r.cand[i])
				m.Kind, m.Raw, m.Rollup, m.Difference, m.RelativeError = KindValue, r.ref[i], r.cand[i], diff, rel
				if !numeric {
					m.RelativeError = 1
				}
			}
			d.Mismatches = append(d.Mismatches, m)
		}
	}
	d.Truncated = len(d.Mismatches) < d.MismatchCount
}

// QueryComparison is two queries returning the same named columns, compared row by row
// inside the engine with validate's rules.
type QueryComparison struct {
	// Reference and Candidate are the queries; ReferenceName names the reference in reports
	// (e.g. "current" for the user's current query; "" for the raw table).
	Reference, Candidate string
	ReferenceName        string
	// Params are bound to both queries.
	Params engine.Params
	// Bucket is the key column holding the time bucket ("" when none); Keys the other key
	// columns (a row is identified by the bucket and the keys).
	Bucket string
	Keys   []string
	// Values are the compared columns, each with its tolerance.
	Values []pipes.DiffValue
	// MaxMismatches is how many mismatches to list (see Options.MaxMismatches).
	MaxMismatches int
}

// MismatchingRow is one row that differs, with every value of both sides.
type MismatchingRow struct {
	// Bucket is the row's bucket (zero without one); Keys its other key values.
	Bucket time.Time         `json:"bucket,omitzero"`
	Keys   map[string]string `json:"keys,omitempty"`
	// Reference and Candidate are the values by column name; nil for a side that lacks the row.
	Reference map[string]any `json:"reference"`
	Candidate map[string]any `json:"candidate"`
	// Differ names the columns that differ.
	Differ []string `json:"differ"`
}

// QueryReport is the result of CompareQueries.
type QueryReport struct {
	Differences
	// MismatchingRows are the rows that differ, as many as the mismatches listed, in key order.
	MismatchingRows []MismatchingRow `json:"mismatching_rows,omitempty"`
	// Exact is true when nothing differs.
	Exact bool `json:"exact"`
	// Stats is what the comparison read; SQL the query that ran.
	Stats engine.Stats `json:"stats"`
	SQL   string       `json:"sql"`
}

// CompareQueries runs the comparison of c inside the engine and returns its totals and first
// mismatches; only those leave the engine.
func CompareQueries(ctx context.Context, e engine.Engine, c QueryComparison) (*QueryReport, error) {
	d := diff{keys: c.Keys, values: c.Values, limit: listLimit(c.MaxMismatches)}
	if c.Bucket != "" {
		d.keys = append([]string{c.Bucket}, c.Keys...)
	}
	q, err := d.query(c.Reference, c.Candidate)
	if err != nil {
		return nil, err
	}
	res, err := e.Query(ctx, q, c.Params)
	if err != nil {
		return nil, err
	}
	out, err := d.read(res)
	if err != nil {
		return nil, err
	}
	rep := &QueryReport{Stats: res.Stats, SQL: q}
	out.fill(&rep.Differences, c.Bucket != "", c.Keys, c.ReferenceName)
	for _, r := range out.sample {
		if out.d.limit >= 0 && len(rep.MismatchingRows) >= out.d.limit {
			break
		}
		m := MismatchingRow{}
		keys := r.keys
		if c.Bucket != "" {
			m.Bucket, _ = keys[0].(time.Time)
			keys = keys[1:]
		}
		m.Keys = dimensionValues(c.Keys, keys)
		side := func(present bool, vals []any) map[string]any {
			if !present {
				return nil
			}
			out := map[string]any{}
			for i, v := range c.Values {
				out[v.Name] = vals[i]
			}
			return out
		}
		m.Reference, m.Candidate = side(r.inRef, r.ref), side(r.inCand, r.cand)
		for _, i := range r.mismatches {
			m.Differ = append(m.Differ, c.Values[i].Name)
		}
		rep.MismatchingRows = append(rep.MismatchingRows, m)
	}
	if c.Bucket == "" {
		rep.Buckets = 0
	}
	rep.Exact = rep.MismatchCount == 0
	return rep, nil
}

// asUint reads a count or flag the diff query returns (0 when it is not one).
func asUint(v any) uint64 {
	n, _ := engine.Uint(v)
	return n
}

// dimensionValues renders a row's dimension values by name (nil when there are none).
func dimensionValues(names []string, values []any) map[string]string {
	if len(names) == 0 {
		return nil
	}
	out := map[string]string{}
	for i, n := range names {
		out[n] = FormatValue(values[i])
	}
	return out
}

// joinRanges renders ranges for a message.
func joinRanges(rs []timerange.Range) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.String())
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}
