package pipes

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/ident"
	"github.com/hourglass-dev/hourglass/timerange"
)

// The read planner. A call of an endpoint over [start, end) is planned per call (PlanRead):
//
//   - the hours from the rollup version's watermark W on — the hours no populate has stored
//     yet, the still-open hour included — are read from raw rows turned into states with the
//     rollup's state exprs (the raw tail; an endpoint opts out with fresh: false, and then the
//     range ends at W); so is a partial hour at either end of the range;
//   - the whole hours before W are covered by the coarsest stored grain that fits whole periods
//     (weeks, then days), never coarser than the endpoint's bucket, and hours at the edges;
//   - every segment yields the same columns (hour, the group-by dimensions, the metrics' state
//     columns), the segments are joined by UNION ALL, and the endpoint's finalising select
//     merges them once, as states;
//   - a time series whose finals hold the call's filter combination reads the finished rows of
//     its whole buckets before W instead, and plans only the rest.
//
// Each segment applies the call's filter conditions itself (filterConditions), so the
// finalising select is the one every read uses (read).

// Segment kinds, coarsest first.
const (
	SegmentFinal = "final"
	SegmentWeek  = "week"
	SegmentDay   = "day"
	SegmentHour  = "hour"
	SegmentRaw   = "raw"
)

// ReadCall is what a call of an endpoint asks of the planner.
type ReadCall struct {
	// Range is the call's [start, end), any times.
	Range timerange.Range
	// Watermark is the rollup version's watermark: every hour before it is stored (zero: none
	// is).
	Watermark time.Time
	// Given are the filter dimensions the call restricts (a String filter whose parameter is
	// empty restricts nothing): a finals table serves only the combinations it stores.
	Given []string
}

// Segment is one part of a plan: the table it reads and the ranges it reads from it.
type Segment struct {
	// Kind is SegmentFinal, SegmentWeek, SegmentDay, SegmentHour or SegmentRaw.
	Kind  string `json:"kind"`
	Table string `json:"table"`
	// Ranges are the ranges read from Table (several for the two edges of a range).
	Ranges []timerange.Range `json:"ranges"`
	// Previous says the segment reads the previous period (compare: previous_period).
	Previous bool `json:"previous,omitempty"`
	// SQL is the segment's SELECT alone (bound with ReadPlan.Params), for --explain.
	SQL string `json:"sql"`
}

// ReadPlan is a planned read of an endpoint.
type ReadPlan struct {
	Endpoint string          `json:"endpoint"`
	Table    string          `json:"table"`
	Range    timerange.Range `json:"range"`
	// Previous is the previous period an endpoint with compare: previous_period reads too.
	Previous timerange.Range `json:"previous,omitzero"`
	// Watermark is the version's watermark the plan was made with (zero: none).
	Watermark time.Time `json:"watermark,omitzero"`
	// Fresh says the hours from the watermark on are read from raw rows.
	Fresh    bool      `json:"fresh"`
	Segments []Segment `json:"segments"`
	// Notes say what the plan could not use and why (finals the call's filters do not fit,
	// grains coarser than the bucket), for --explain.
	Notes []string `json:"notes,omitempty"`
	// SQL is the whole read; Params the values of the segments' range parameters, to bind
	// beside the call's own.
	SQL    string         `json:"sql"`
	Params map[string]any `json:"-"`
}

// Summary describes the plan in one line, e.g. "week×12 + day×3 + hour×17 + raw h×1", with
// the previous period's segments after "; previous: " when the endpoint compares.
func (p *ReadPlan) Summary() string {
	var cur, prev []string
	for _, s := range p.Segments {
		n := 0
		for _, r := range s.Ranges {
			switch s.Kind {
			case SegmentWeek:
				n += int(r.End.Sub(r.Start) / (7 * 24 * time.Hour))
			case SegmentDay:
				n += int(r.End.Sub(r.Start) / (24 * time.Hour))
			default:
				n += int((r.End.Sub(r.Start) + time.Hour - 1) / time.Hour)
			}
		}
		unit := s.Kind
		switch s.Kind {
		case SegmentRaw:
			unit = "raw h"
		case SegmentFinal:
			unit = "final h"
		}
		part := fmt.Sprintf("%s×%d", unit, n)
		if s.Previous {
			prev = append(prev, part)
		} else {
			cur = append(cur, part)
		}
	}
	out := strings.Join(cur, " + ")
	if out == "" {
		out = "empty"
	}
	if len(prev) > 0 {
		out += "; previous: " + strings.Join(prev, " + ")
	}
	return out
}

// PlanRead plans a call of endpoint e (which reads this rollup version) and writes its
// statement. The statement binds the call's parameters (start, end, filters and their given
// flags, paging) and the plan's Params. With compare: previous_period the previous period —
// the call's length, ending where the call starts — is planned the same way.
func (ra *RollupArtifacts) PlanRead(e *datasources.Endpoint, call ReadCall) (*ReadPlan, error) {
	rp := ra.plan
	if e.Rollup != ra.Rollup.Name {
		return nil, fmt.Errorf("endpoint %q reads rollup %q, not %q", e.Name, e.Rollup, ra.Rollup.Name)
	}
	rg := call.Range
	if rg.End.Before(rg.Start) {
		rg.End = rg.Start
	}
	w := call.Watermark
	plan := &ReadPlan{Endpoint: e.Name, Table: ra.Table, Range: rg, Watermark: w, Fresh: !e.NoFresh, Params: map[string]any{}}
	var grains []datasources.Grain
	for _, g := range []datasources.Grain{datasources.GrainWeek, datasources.GrainDay} {
		if ra.Grain(g) == nil {
			continue
		}
		if !GrainServes(g, e.Bucket) {
			plan.Notes = append(plan.Notes, fmt.Sprintf("grain %s not used: it is coarser than the endpoint's bucket, %s", g, e.Bucket))
			continue
		}
		grains = append(grains, g)
	}
	fa := ra.FinalsOf(e.Name)
	var mask uint8
	useFinals := false
	switch {
	case fa == nil:
	case w.IsZero():
		plan.Notes = append(plan.Notes, "finals not used: the version holds no closed hour yet")
	default:
		if mask, useFinals = fa.Serves(call.Given); !useFinals {
			plan.Notes = append(plan.Notes, fmt.Sprintf("finals not used: they store no row for the filters this call gives (%s)", describeGiven(call.Given)))
		}
	}
	if e.NoFresh {
		plan.Notes = append(plan.Notes, "fresh: false: the range ends at the watermark")
	}

	// planRange covers one window with segments, one per table, its ranges in order.
	planRange := func(rg timerange.Range, previous bool) []Segment {
		if e.NoFresh && rg.End.After(w) {
			rg.End = maxTime(w, rg.Start) // the range ends at the watermark
		}
		var parts []planned
		rest := []timerange.Range{rg}
		if useFinals {
			fr := timerange.Range{Start: ceilBucket(e.Bucket, rg.Start), End: floorBucket(e.Bucket, minTime(rg.End, w))}
			if fr.Start.Before(fr.End) {
				parts = append(parts, planned{kind: SegmentFinal, rg: fr})
				rest = []timerange.Range{{Start: rg.Start, End: fr.Start}, {Start: fr.End, End: rg.End}}
			}
		}
		for _, r := range rest {
			parts = append(parts, planStates(r, w, grains)...)
		}
		var segs []Segment
		for _, kind := range []string{SegmentFinal, SegmentWeek, SegmentDay, SegmentHour, SegmentRaw} {
			var ranges []timerange.Range
			for _, p := range parts {
				if p.kind == kind && !p.rg.Empty() {
					ranges = append(ranges, p.rg)
				}
			}
			if len(ranges) == 0 {
				continue
			}
			seg := Segment{Kind: kind, Ranges: joinRanges(ranges), Previous: previous}
			switch kind {
			case SegmentFinal:
				seg.Table = fa.Table
			case SegmentWeek, SegmentDay:
				seg.Table = ra.Grain(datasources.Grain(kind)).Table
			case SegmentHour:
				seg.Table = ra.Table
			case SegmentRaw:
				seg.Table = rp.r.Source
			}
			segs = append(segs, seg)
		}
		return segs
	}
	plan.Segments = planRange(rg, false)
	if e.Compare == datasources.ComparePreviousPeriod {
		plan.Previous = timerange.Range{Start: rg.Start.Add(-rg.End.Sub(rg.Start)), End: rg.Start}
		plan.Segments = append(plan.Segments, planRange(plan.Previous, true)...)
	}

	t := clickhouseTarget(rp.p.Database)
	q := endpointSpec(e, SideRollup)
	// The states of each window, joined by UNION ALL; finished rows beside them.
	states := map[bool][]string{}
	finals := map[bool]int{}
	for i := range plan.Segments {
		seg := &plan.Segments[i]
		var err error
		switch seg.Kind {
		case SegmentFinal:
			finals[seg.Previous] = i + 1
			continue
		case SegmentRaw:
			seg.SQL, err = ra.rawSegment(t, q, seg.Ranges, i, plan.Params)
		default:
			seg.SQL, err = ra.storedSegment(t, q, seg.Table, seg.Ranges, i, plan.Params)
		}
		if err != nil {
			return nil, fmt.Errorf("endpoint %q: %v", e.Name, err)
		}
		states[seg.Previous] = append(states[seg.Previous], seg.SQL)
	}
	windows := []bool{false}
	if e.Compare != "" {
		windows = append(windows, true)
	}
	for _, previous := range windows {
		if len(states[previous]) == 0 {
			// Nothing to merge: an empty source keeps the statement's shape.
			sql, err := ra.storedSegment(t, q, ra.Table, nil, 0, plan.Params)
			if err != nil {
				return nil, fmt.Errorf("endpoint %q: %v", e.Name, err)
			}
			states[previous] = append(states[previous], sql)
		}
	}
	src := func(w readWindow) (string, []string, error) {
		var b strings.Builder
		b.WriteString("(\n")
		for i, s := range states[w.previous] {
			if i > 0 {
				b.WriteString("\n        UNION ALL\n")
			}
			b.WriteString(indentBy(s, "        "))
		}
		b.WriteString("\n    )")
		return b.String(), nil, nil
	}
	if len(finals) > 0 {
		q.finished = func(w readWindow, shift string, keys, metrics []outColumn) (string, error) {
			i := finals[w.previous] - 1
			if i < 0 {
				return "", nil
			}
			seg := &plan.Segments[i]
			sql, err := fa.finishedRows(t, q, seg.Ranges, mask, i, plan.Params, shift, keys, metrics)
			seg.SQL = sql
			return sql, err
		}
	}
	sql, err := rp.read(t, q, src)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %v", e.Name, err)
	}
	plan.SQL = sql
	return plan, nil
}

// describeGiven lists the filter dimensions a call gives, "none" when it gives none.
func describeGiven(given []string) string {
	if len(given) == 0 {
		return "none"
	}
	return strings.Join(given, ", ")
}

// planned is one range of a plan and what reads it.
type planned struct {
	kind string
	rg   timerange.Range
}

// planStates covers rg with state segments: partial hours at either end and the hours from
// the watermark on from raw rows, the whole hours before it with the coarsest grains that fit
// (grains coarsest first), the rest with hours.
func planStates(rg timerange.Range, w time.Time, grains []datasources.Grain) []planned {
	if rg.Empty() {
		return nil
	}
	a, b := rg.Start.Truncate(time.Hour), rg.End.Truncate(time.Hour)
	if a.Before(rg.Start) {
		a = a.Add(time.Hour)
	}
	stored := timerange.Range{Start: a, End: minTime(b, w)}
	if w.IsZero() || !stored.Start.Before(stored.End) {
		return []planned{{kind: SegmentRaw, rg: rg}}
	}
	out := []planned{
		{kind: SegmentRaw, rg: timerange.Range{Start: rg.Start, End: stored.Start}},
		{kind: SegmentRaw, rg: timerange.Range{Start: stored.End, End: rg.End}},
	}
	return append(out, cover(stored, grains)...)
}

// cover covers an hour-aligned range with whole periods of the first grain that fits, and its
// edges with the finer grains, then hours.
func cover(rg timerange.Range, grains []datasources.Grain) []planned {
	if rg.Empty() {
		return nil
	}
	if len(grains) == 0 {
		return []planned{{kind: SegmentHour, rg: rg}}
	}
	g := grains[0]
	first := periodStart(g, rg.Start)
	if first.Before(rg.Start) {
		first = periodEnd(g, first)
	}
	last := first
	for !periodEnd(g, last).After(rg.End) {
		last = periodEnd(g, last)
	}
	if !first.Before(last) {
		return cover(rg, grains[1:])
	}
	out := cover(timerange.Range{Start: rg.Start, End: first}, grains[1:])
	out = append(out, planned{kind: string(g), rg: timerange.Range{Start: first, End: last}})
	return append(out, cover(timerange.Range{Start: last, End: rg.End}, grains[1:])...)
}

// GrainServes reports whether a grain may serve an endpoint with bucket: never a grain coarser
// than the bucket.
func GrainServes(g datasources.Grain, bucket string) bool {
	switch bucket {
	case "":
		return true
	case "day":
		return g == datasources.GrainDay
	}
	return false
}

func ceilBucket(bucket string, t time.Time) time.Time {
	f := floorBucket(bucket, t)
	if f.Before(t) {
		if bucket == "day" {
			return f.AddDate(0, 0, 1)
		}
		return f.Add(time.Hour)
	}
	return f
}

func floorBucket(bucket string, t time.Time) time.Time {
	if bucket == "day" {
		return periodStart(datasources.GrainDay, t)
	}
	return t.UTC().Truncate(time.Hour)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// joinRanges sorts ranges and merges those that touch.
func joinRanges(rs []timerange.Range) []timerange.Range {
	slices.SortFunc(rs, func(a, b timerange.Range) int { return a.Start.Compare(b.Start) })
	var out []timerange.Range
	for _, r := range rs {
		if n := len(out); n > 0 && !r.Start.After(out[n-1].End) {
			out[n-1].End = maxTime(out[n-1].End, r.End)
			continue
		}
		out = append(out, r)
	}
	return out
}

// rangeCondition writes "(col >= {s} AND col < {e} OR …)" for ranges, adding their bounds to
// params under names of segment i; "0" when there are none.
func rangeCondition(col string, ranges []timerange.Range, i int, params map[string]any) string {
	if len(ranges) == 0 {
		return "0"
	}
	var or []string
	for j, r := range ranges {
		s, e := fmt.Sprintf("__hg_s%d_%d", i, j), fmt.Sprintf("__hg_e%d_%d", i, j)
		params[s], params[e] = r.Start, r.End
		or = append(or, col+" >= "+param(s, TimeParamType)+" AND "+col+" < "+param(e, TimeParamType))
	}
	if len(or) == 1 {
		return or[0]
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

// segmentColumns are the state columns a read needs: the hour, the group-by dimensions and
// the state columns of the stored metrics asked for and of the inputs of the derived ones.
func (ra *RollupArtifacts) segmentColumns(q querySpec) ([]Column, error) {
	rp := ra.plan
	cols := []Column{{Name: HourColumn, Type: HourType, Role: RoleHour, Expr: rp.hour}}
	for _, g := range q.groupBy {
		d := rp.dimension(g)
		if d == nil {
			return nil, fmt.Errorf("rollup %q has no dimension %q", rp.r.Name, g)
		}
		cols = append(cols, Column{Name: d.d.Name, Type: d.typ.String(), Role: RoleDimension, Expr: d.src})
	}
	names := q.metrics
	if names == nil {
		for _, m := range rp.metrics {
			names = append(names, m.name)
		}
	}
	stored, err := rp.storedMetrics(names)
	if err != nil {
		return nil, err
	}
	for _, m := range stored {
		cols = append(cols, m.cols...)
	}
	return cols, nil
}

// storedSegment reads state rows of a rollup-shaped table (the version, or a grain) over
// ranges, with the call's conditions.
func (ra *RollupArtifacts) storedSegment(t target, q querySpec, table string, ranges []timerange.Range, i int, params map[string]any) (string, error) {
	rp := ra.plan
	cols, err := ra.segmentColumns(q)
	if err != nil {
		return "", err
	}
	conds, err := rp.filterConditions(t, q, func(d *dimPlan) string { return rp.dimExpr(d, SideRollup) })
	if err != nil {
		return "", err
	}
	var names []string
	for _, c := range cols {
		names = append(names, ident.Quote(c.Name))
	}
	where := append([]string{rangeCondition(ident.Quote(HourColumn), ranges, i, params)}, conds...)
	return "SELECT " + strings.Join(names, ", ") + "\nFROM " + t.table(table) + "\nWHERE " + strings.Join(where, "\n    AND "), nil
}

// rawSegment turns the source rows of ranges into states per hour and group-by dimensions,
// with the rollup's state exprs, filter and the call's conditions: one aggregate per range
// (each reads the rows rowSource gives for it: a datasource's, or for a rollup over a rollup
// its entities computed from raw rows), joined by UNION ALL.
func (ra *RollupArtifacts) rawSegment(t target, q querySpec, ranges []timerange.Range, i int, params map[string]any) (string, error) {
	rp := ra.plan
	cols, err := ra.segmentColumns(q)
	if err != nil {
		return "", err
	}
	conds, err := rp.filterConditions(t, q, func(d *dimPlan) string { return rp.dimExpr(d, SideRaw) })
	if err != nil {
		return "", err
	}
	var parts []string
	for j, r := range ranges {
		s, e := fmt.Sprintf("__hg_s%d_%d", i, j), fmt.Sprintf("__hg_e%d_%d", i, j)
		params[s], params[e] = r.Start, r.End
		from, where := rp.rowSource(t.table, SideRaw, param(s, TimeParamType), param(e, TimeParamType))
		parts = append(parts, stateSelect(cols, from, append(where, conds...)))
	}
	return strings.Join(parts, "\nUNION ALL\n"), nil
}

// finishedRows reads the finals' rows of combination mask over ranges, under the aliases of
// the finalising select (keys, metrics; a derived metric computed from the finished values of
// its inputs), their bucket moved by shift (the previous period's, or ""), with the
// conditions of the filters the combination holds.
func (fa *FinalsArtifacts) finishedRows(t target, q querySpec, ranges []timerange.Range, mask uint8, i int, params map[string]any, shift string, keys, metrics []outColumn) (string, error) {
	rp := fa.rp
	var sel []string
	for _, k := range keys {
		expr := ident.Quote(k.name)
		if k.alias == "__hg_b" {
			expr = rp.bucketExpr(q.bucket, SideRollup)
			if shift != "" {
				expr += " + " + shift
			}
		}
		sel = append(sel, expr+" AS "+ident.Quote(k.alias))
	}
	for _, m := range metrics {
		sel = append(sel, rp.finishedFace(m.metric)+" AS "+ident.Quote(m.alias))
	}
	fq := q
	fq.filters = nil
	for _, f := range q.filters {
		for j, d := range fa.FilterDims {
			if d == f.Dimension && mask&(1<<j) != 0 {
				fq.filters = append(fq.filters, f)
			}
		}
	}
	conds, err := rp.filterConditions(t, fq, func(d *dimPlan) string { return ident.Quote(d.d.Name) })
	if err != nil {
		return "", err
	}
	setName := fmt.Sprintf("__hg_set%d", i)
	params[setName] = mask
	where := []string{ident.Quote(SetColumn) + " = " + param(setName, "UInt8"), rangeCondition(ident.Quote(HourColumn), ranges, i, params)}
	where = append(where, conds...)
	return "    SELECT\n        " + strings.Join(sel, ",\n        ") + "\n    FROM " + t.table(fa.Table) + "\n    WHERE " + joinConditions(where) + "\n", nil
}
