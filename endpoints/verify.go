package endpoints

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
	"github.com/hourglass-dev/hourglass/validate"
)

// References an endpoint is verified against.
const (
	// ReferenceCurrent is the user's current query (the endpoint's current_sql).
	ReferenceCurrent = "current"
	// ReferenceRaw is the endpoint's own raw version, when it declares no current query.
	ReferenceRaw = "raw"
)

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// Now is the clock (time.Now when zero): it reads relative times and decides which hours
	// are closed.
	Now time.Time
	// Range is the whole range the cases run over when they leave start and end out (zero:
	// the whole history the version holds).
	Range timerange.Range
	// Version is the rollup version to verify (nil: the artifacts' one, the deployed version).
	Version *pipes.RollupArtifacts
	// MaxMismatches is how many mismatches each case lists (see validate.Options).
	MaxMismatches int
}

// Case is one run of the endpoint and its reference with the same parameters.
type Case struct {
	// Name says where the parameters come from: "tests[1]", "tests[1] over the whole range",
	// "the whole range".
	Name string `json:"name"`
	// Params are the parameters, as text, with start and end resolved and clipped to closed
	// hours.
	Params map[string]string `json:"params"`
	*validate.QueryReport
}

// Verification is an endpoint compared row by row with its reference — the user's current
// query, or the endpoint's raw version — on each case.
type Verification struct {
	Endpoint string `json:"endpoint"`
	// Reference is ReferenceCurrent or ReferenceRaw.
	Reference string `json:"reference"`
	// Table is the rollup version's table the endpoint was run on.
	Table string  `json:"table"`
	Cases []*Case `json:"cases"`
	// Exact is true when every case returned the same rows on both sides.
	Exact   bool          `json:"exact"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Summary is the one-line verdict, e.g. "sum_primitives against its current query: EXACT —
// 3 cases, 1,234 rows" or "…: DIFFERENT — 2 of 3 cases differ (tests[1] campaign_id=c1: …)".
func (v *Verification) Summary() string {
	what := "its current query"
	if v.Reference == ReferenceRaw {
		what = "its raw version"
	}
	rows, bad := 0, []string{}
	for _, c := range v.Cases {
		rows += c.Rows
		if !c.Exact {
			bad = append(bad, c.Name)
		}
	}
	if v.Exact {
		return fmt.Sprintf("%s against %s on %s: EXACT — %d cases, %d rows", v.Endpoint, what, v.Table, len(v.Cases), rows)
	}
	s := fmt.Sprintf("%s against %s on %s: DIFFERENT — %d of %d cases differ (%s)", v.Endpoint, what, v.Table, len(bad), len(v.Cases), strings.Join(bad, ", "))
	for _, c := range v.Cases {
		if !c.Exact && len(c.Mismatches) > 0 {
			s += "; first: " + c.Describe() + " " + c.Mismatches[0].Line()
			break
		}
	}
	return s
}

// Describe names a case with its parameters: `tests[1] (campaign_id=c1 end="2026-11-20 00:00:00" …)`.
func (c *Case) Describe() string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(c.Params)) {
		v := c.Params[k]
		if v == "" || strings.ContainsAny(v, " \"=") {
			v = strconv.Quote(v)
		}
		kv = append(kv, k+"="+v)
	}
	return c.Name + " (" + strings.Join(kv, " ") + ")"
}

// Verify runs endpoint on a rollup version (its planned read, see pipes.PlanRead) and its reference — its current_sql, or its raw
// version when it has none — with the same parameters, and compares their rows inside the
// engine with validate's rules (rows matched on the bucket and group_by columns; counts,
// integer sums and distinct counts exact; floats within validate.DefaultTolerance). The cases
// are each of the endpoint's tests as written and, when a test gives start or end, again over
// the whole range; without tests, the whole range with every parameter at its default. The
// whole range is opts.Range, or the history the version holds. A current query that does not
// run, or that lacks a column of the endpoint, is an error naming the endpoint and its file.
func Verify(ctx context.Context, e engine.Engine, store *meta.Store, a *pipes.Artifacts, endpoint string, opts VerifyOptions) (*Verification, error) {
	started := time.Now()
	ea, err := lookup(a, endpoint)
	if err != nil {
		return nil, err
	}
	ep := ea.Endpoint
	ra := opts.Version
	if ra == nil {
		if ra, err = lookupRollup(a, ea); err != nil {
			return nil, err
		}
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	whole := opts.Range
	if whole.Empty() {
		if store == nil {
			return nil, fmt.Errorf("verify %s: no metadata to read the history of %s from: pass a range", endpoint, ra.Rollup.Name)
		}
		h, err := validate.ReadHistory(ctx, store, ra, opts.Now)
		if err != nil {
			return nil, err
		}
		if h.Covered.Empty() {
			return nil, fmt.Errorf("verify %s: %s: run hourglass backfill %s --from -30d --to now first", endpoint, h.Describe(), ra.Rollup.Name)
		}
		whole = h.Covered
	}
	candidate, err := ra.EndpointRollupSQL(ep)
	if err != nil {
		return nil, err
	}
	v := &Verification{Endpoint: endpoint, Reference: ReferenceRaw, Table: ra.Table}
	reference, refName := ea.ReferenceSQL, ""
	if ep.CurrentSQL != "" {
		v.Reference, reference, refName = ReferenceCurrent, pipes.CurrentQuery(a.Project, ep.CurrentSQL), ReferenceCurrent
	}
	cases, err := verifyCases(ep, whole, opts.Now, ra.Rollup.Delay, validate.ClosedEnd(ra, opts.Now))
	if err != nil {
		return nil, err
	}
	if v.Reference == ReferenceCurrent {
		if err := checkCurrentColumns(ctx, e, ep, reference, candidate, cases[0].bound); err != nil {
			return nil, err
		}
	}
	values := endpointValues(ra, ep, v.Reference)
	v.Exact = true
	for _, c := range cases {
		// The endpoint runs as it is served: its planned read of the version.
		plan, params, err := planCall(ctx, e, store, a, ra, c.call)
		if err != nil {
			return nil, err
		}
		qr, err := validate.CompareQueries(ctx, e, validate.QueryComparison{
			Reference: reference, Candidate: plan.SQL, ReferenceName: refName, Params: params,
			Bucket: ep.Bucket, Keys: ep.GroupBy, Values: values, MaxMismatches: opts.MaxMismatches,
		})
		if err != nil {
			return nil, fmt.Errorf("compare endpoint %s with %s (%s): %w", endpoint, v.Reference, c.Describe(), err)
		}
		c.QueryReport = qr
		v.Cases = append(v.Cases, c.Case)
		v.Exact = v.Exact && qr.Exact
	}
	v.Elapsed = time.Since(started)
	return v, nil
}

// boundCase is a case with its engine parameters.
type boundCase struct {
	*Case
	call  *Call
	bound engine.Params
}

// verifyCases lists the cases of an endpoint (see Verify), each bound and clipped to closed
// hours.
func verifyCases(ep *datasources.Endpoint, whole timerange.Range, now time.Time, delay time.Duration, closed time.Time) ([]boundCase, error) {
	type spec struct {
		name   string
		params map[string]string
	}
	var specs []spec
	// The whole range as the range params read it: a Date range keeps to the whole days
	// inside it (the last day is included).
	from, to := timerange.Format(whole.Start), timerange.Format(whole.End)
	if p := ep.Param(ep.From); p != nil && paramType(p) == "Date" {
		first := whole.Start.Truncate(24 * time.Hour)
		if first.Before(whole.Start) {
			first = first.AddDate(0, 0, 1)
		}
		last := whole.End.Truncate(24*time.Hour).AddDate(0, 0, -1)
		if last.Before(first) {
			return nil, fmt.Errorf("endpoint %s reads whole days (%s is a Date), and %s holds no whole day: backfill at least one whole day", ep.Name, ep.From, whole)
		}
		from, to = first.Format(time.DateOnly), last.Format(time.DateOnly)
	}
	wholeRange := func(p map[string]string) map[string]string {
		out := maps.Clone(p)
		out[ep.From], out[ep.To] = from, to
		return out
	}
	for i, tc := range ep.Tests {
		name := fmt.Sprintf("tests[%d]", i+1)
		p := maps.Clone(tc.Params)
		_, hasStart := p[ep.From]
		_, hasEnd := p[ep.To]
		if !hasStart && !hasEnd {
			specs = append(specs, spec{name, wholeRange(p)})
			continue
		}
		if !hasStart {
			p[ep.From] = from
		}
		if !hasEnd {
			p[ep.To] = to
		}
		specs = append(specs, spec{name, p}, spec{name + " over the whole range", wholeRange(tc.Params)})
	}
	if len(specs) == 0 {
		specs = append(specs, spec{"the whole range", wholeRange(map[string]string{})})
	}
	var out []boundCase
	for _, s := range specs {
		call, err := bindClosed(ep, s.params, now, delay, closed)
		if err != nil {
			return nil, fmt.Errorf("endpoint %s %s: %w", ep.Name, s.name, err)
		}
		text := map[string]string{}
		for _, p := range ep.Params {
			switch x := call.Params[p.Name].(type) {
			case time.Time:
				text[p.Name] = timerange.Format(x)
			case []any:
				var items []string
				for _, it := range x {
					items = append(items, fmt.Sprint(it))
				}
				text[p.Name] = strings.Join(items, ",")
			default:
				if call.Given[p.Name] || p.Name == ep.From || p.Name == ep.To {
					text[p.Name] = fmt.Sprint(x)
				}
			}
		}
		out = append(out, boundCase{Case: &Case{Name: s.name, Params: text}, call: call, bound: call.Params})
	}
	return out, nil
}

// bindClosed binds a case's parameters with its range clipped to closed hours: a DateTime end
// after closed ends at closed; a Date range ends with the last whole day before closed.
func bindClosed(ep *datasources.Endpoint, params map[string]string, now time.Time, delay time.Duration, closed time.Time) (*Call, error) {
	call, err := Bind(ep, params, now, delay)
	if err != nil {
		return nil, err
	}
	if call.Range.End.After(closed) {
		p := maps.Clone(params)
		if to := ep.Param(ep.To); to != nil && paramType(to) == "Date" {
			p[ep.To] = closed.Truncate(24*time.Hour).AddDate(0, 0, -1).Format(time.DateOnly)
		} else {
			p[ep.To] = timerange.Format(closed)
		}
		if call, err = Bind(ep, p, now, delay); err != nil {
			return nil, err
		}
	}
	if !call.Range.Start.Before(call.Range.End) {
		return nil, fmt.Errorf("%s %s is not before the end of the last closed hour, %s: give a range of closed hours",
			ep.From, timerange.Format(call.Range.Start), timerange.Format(closed))
	}
	return call, nil
}

// CheckCurrent checks, without reading rows, that endpoint's current query (if it has one)
// runs on the rollup version ra and returns every column of the endpoint: bad input is found
// before anything else is done. now reads the parameters' defaults.
func CheckCurrent(ctx context.Context, e engine.Engine, a *pipes.Artifacts, ea *pipes.EndpointArtifacts, ra *pipes.RollupArtifacts, now time.Time) error {
	ep := ea.Endpoint
	if ep.CurrentSQL == "" {
		return nil
	}
	candidate, err := ra.EndpointRollupSQL(ep)
	if err != nil {
		return err
	}
	closed := validate.ClosedEnd(ra, now)
	bare := *ep
	bare.Tests = nil
	window := timerange.Range{Start: closed.Add(-time.Hour), End: closed}
	if p := ep.Param(ep.From); p != nil && paramType(p) == "Date" {
		window.Start = closed.Truncate(24*time.Hour).AddDate(0, 0, -1)
		window.End = closed.Truncate(24 * time.Hour)
	}
	cases, err := verifyCases(&bare, window, now, ra.Rollup.Delay, closed)
	if err != nil {
		return err
	}
	return checkCurrentColumns(ctx, e, ep, pipes.CurrentQuery(a.Project, ep.CurrentSQL), candidate, cases[0].bound)
}

// checkCurrentColumns runs the endpoint's current query without rows and checks that it runs
// and returns every column of the endpoint (the candidate's), by name.
func checkCurrentColumns(ctx context.Context, e engine.Engine, ep *datasources.Endpoint, current, candidate string, params engine.Params) error {
	where := "current_sql"
	if ep.CurrentSQLFile != "" {
		where = ep.CurrentSQLFile
	}
	if ep.Pos.File != "" {
		where = fmt.Sprintf("%s (endpoint at %s)", where, ep.Pos)
	}
	cur, err := e.Query(ctx, "SELECT * FROM (\n"+current+"\n) LIMIT 0", params)
	if err != nil {
		return fmt.Errorf("endpoint %s: its current query does not run: %w: fix %s", ep.Name, err, where)
	}
	want, err := e.Query(ctx, "SELECT * FROM (\n"+candidate+"\n) LIMIT 0", params)
	if err != nil {
		return fmt.Errorf("endpoint %s: %w", ep.Name, err)
	}
	have := map[string]bool{}
	var got []string
	for _, c := range cur.Columns {
		have[c.Name] = true
		got = append(got, c.Name)
	}
	var lack []string
	for _, c := range want.Columns {
		if !have[c.Name] {
			lack = append(lack, c.Name)
		}
	}
	if len(lack) > 0 {
		return fmt.Errorf("endpoint %s: its current query returns %s but not %s: name its columns like the endpoint's (… AS %s) in %s",
			ep.Name, strings.Join(got, ", "), strings.Join(lack, ", "), lack[0], where)
	}
	return nil
}

// endpointValues are the columns of an endpoint compared with its reference, each with its
// rule (see validate): the metrics, and with compare their previous values and changes. A
// metric compared by membership (any) is compared with the raw version's set of values, and
// left out against the user's current query, which returns one value; a derived metric over
// one is never compared; a change is compared for exact metrics only (a toleranced value's
// change may move by more than its tolerance).
func endpointValues(ra *pipes.RollupArtifacts, ep *datasources.Endpoint, reference string) []pipes.DiffValue {
	var values []pipes.DiffValue
	for _, m := range ep.Metrics {
		mv, _ := ra.MetricValue(m)
		if mv.Skip || mv.Member && reference != ReferenceRaw {
			continue
		}
		if mv.Float && mv.Tolerance < validate.DefaultTolerance {
			mv.Tolerance = validate.DefaultTolerance
		}
		values = append(values, mv)
		if ep.Compare == "" {
			continue
		}
		prev := mv
		prev.Name = m + "_previous"
		values = append(values, prev)
		if mv.Numeric && !mv.Array && !mv.Member && mv.Tolerance <= validate.DefaultTolerance {
			values = append(values, pipes.DiffValue{Name: m + "_change", Numeric: true, Float: true, Tolerance: validate.DefaultTolerance})
		}
	}
	return values
}
