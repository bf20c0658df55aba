package estimate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/ident"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

// What a rollup's reads cost, measured on the raw data: how wrong each distinct-count function
// is against uniqExact and how much merging its states costs (Precisions), and which endpoints
// read more dimensions than they need (Narrower).

// Candidates are the distinct-count functions Precisions measures.
var Candidates = []string{"uniq", "uniqCombined(12)", "uniqCombined(14)", "uniqCombined(16)", "uniqCombined(17)"}

// MinGroup is the fewest distinct values a group needs for its error to count: below it every
// function counts exactly (they hold small sets as they are).
const MinGroup = 100

// Precision is one distinct-count function measured on one column.
type Precision struct {
	// Function is the ClickHouse function, e.g. "uniqCombined(14)"; Kind and Precision what a
	// metric declares to use it.
	Function  string `json:"function"`
	Kind      string `json:"kind"`
	Precision int    `json:"precision,omitempty"`
	// WorstError and MedianError are the largest and the median relative error against
	// uniqExact over the groups (each day, each day and value of the tenant dimension, the
	// whole range) with at least MinGroup distinct values.
	WorstError  float64 `json:"worst_error"`
	MedianError float64 `json:"median_error"`
	// StateBytes is the average size of a day's state per value of the tenant dimension.
	StateBytes float64 `json:"state_bytes"`
	// Merge is what merging those day states into one per tenant value cost over the range
	// (the time of building and merging them less the time of building them, the fastest of
	// three runs each).
	Merge time.Duration `json:"merge_ns"`
}

// ColumnPrecisions are the candidates measured on one distinct-count metric's column.
type ColumnPrecisions struct {
	Metric string `json:"metric"`
	Column string `json:"column"`
	// Declared is the function the metric uses now.
	Declared string `json:"declared"`
	// Groups is how many groups the errors were measured over.
	Groups     int         `json:"groups"`
	Candidates []Precision `json:"candidates"`
}

// PrecisionReport is Precisions' result.
type PrecisionReport struct {
	Rollup string          `json:"rollup"`
	Range  timerange.Range `json:"range"`
	// Tenant is the dimension errors and merges are measured per value of ("" when the rollup
	// has no dimension).
	Tenant  string             `json:"tenant"`
	Columns []ColumnPrecisions `json:"columns"`
	Elapsed time.Duration      `json:"elapsed_ns"`
}

// Precisions measures every distinct-count metric of rollup on the raw rows of r: for each
// candidate function, its error against uniqExact and the cost of merging its day states.
func Precisions(ctx context.Context, e engine.Engine, a *pipes.Artifacts, rollup string, r timerange.Range) (*PrecisionReport, error) {
	began := time.Now()
	ra := a.Rollup(rollup)
	if ra == nil {
		return nil, fmt.Errorf("no rollup %q: the project has %s", rollup, rollupNames(a))
	}
	rep := &PrecisionReport{Rollup: rollup, Range: r}
	src := ident.Qualified(a.Project.Database, ra.Rollup.Source)
	where := whereClause(ra)
	var hour, tenant string
	for _, c := range ra.Columns {
		switch {
		case c.Role == pipes.RoleHour:
			hour = c.Expr
		case c.Role == pipes.RoleDimension && tenant == "":
			tenant, rep.Tenant = c.Expr, c.Name
		}
	}
	if tenant == "" {
		tenant = "0"
	}
	day := "toStartOfDay(" + hour + ")"
	params := engine.Params{pipes.StartParam: r.Start, pipes.EndParam: r.End}
	for _, m := range ra.Rollup.Metrics {
		fn := pipes.DistinctFunction(m)
		if fn == "" || m.Column == "" || m.If != "" {
			continue // measured over every row of a column: not an expr, nor uniq_if's subset
		}
		col := ident.Quote(m.Column)
		cp := ColumnPrecisions{Metric: m.Name, Column: m.Column, Declared: fn}
		// One scan: every candidate and the exact count per day, per day and tenant, and over
		// the whole range; then each candidate's errors over the groups large enough to count.
		items := []string{"uniqExact(" + col + ") AS __hg_x"}
		for i, c := range Candidates {
			items = append(items, fmt.Sprintf("%s(%s) AS __hg_c%d", c, col, i))
		}
		var errs []string
		for i := range Candidates {
			rel := fmt.Sprintf("abs(toFloat64(__hg_c%d) - __hg_x) / __hg_x", i)
			errs = append(errs, "max("+rel+")", "quantileExact(0.5)("+rel+")")
		}
		q := "SELECT count(), " + strings.Join(errs, ", ") + "\nFROM\n(\n    SELECT " + strings.Join(items, ", ") +
			"\n    FROM " + src + "\n    WHERE " + where +
			"\n    GROUP BY GROUPING SETS ((), (" + day + "), (" + day + ", " + tenant + "))\n)\nWHERE __hg_x >= " + fmt.Sprint(MinGroup) +
			"\nSETTINGS force_grouping_standard_compatibility = 1"
		res, err := e.Query(ctx, q, params)
		if err != nil {
			return nil, fmt.Errorf("measure the distinct counts of %s: %w", m.Name, err)
		}
		row := res.Row()
		cp.Groups = int(row[0].(uint64))
		bytes, merges, err := mergeCosts(ctx, e, a.Project.Database, col, day, tenant, src, where, params)
		if err != nil {
			return nil, fmt.Errorf("measure the states of %s: %w", m.Name, err)
		}
		for i, c := range Candidates {
			p := Precision{Function: c, Kind: string(datasources.MetricUniq), StateBytes: bytes[i], Merge: merges[i]}
			if strings.HasPrefix(c, "uniqCombined(") {
				p.Kind = string(datasources.MetricUniqCombined)
				fmt.Sscanf(c, "uniqCombined(%d)", &p.Precision)
			}
			p.WorstError, _ = row[1+2*i].(float64)
			p.MedianError, _ = row[2+2*i].(float64)
			cp.Candidates = append(cp.Candidates, p)
		}
		rep.Columns = append(rep.Columns, cp)
	}
	rep.Elapsed = time.Since(began)
	return rep, nil
}

// mergeCosts measures the day states of each candidate per tenant value: their average size,
// and what merging them into one per tenant value costs (the fastest of three runs). The
// states are built once into a scratch table in memory (ENGINE = Memory, dropped at the end),
// so the merges are timed alone.
func mergeCosts(ctx context.Context, e engine.Engine, db, col, day, tenant, src, where string, params engine.Params) ([]float64, []time.Duration, error) {
	scratch := ident.Qualified(db, fmt.Sprintf("__hg_estimate_%d", time.Now().UnixNano()))
	cols := []string{day + " AS __hg_d", tenant + " AS __hg_t"}
	var sizes []string
	for i, c := range Candidates {
		cols = append(cols, fmt.Sprintf("%s(%s) AS __hg_s%d", pipes.Combinator(c, "State"), col, i))
		sizes = append(sizes, fmt.Sprintf("avg(length(toString(__hg_s%d)))", i))
	}
	if err := e.Exec(ctx, "CREATE TABLE "+scratch+" ENGINE = Memory AS SELECT "+strings.Join(cols, ", ")+" FROM "+src+" WHERE "+where+" GROUP BY __hg_d, __hg_t", params); err != nil {
		return nil, nil, err
	}
	defer func() { _ = e.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+scratch, nil) }()
	res, err := e.Query(ctx, "SELECT "+strings.Join(sizes, ", ")+" FROM "+scratch, nil)
	if err != nil {
		return nil, nil, err
	}
	bytes := make([]float64, len(Candidates))
	merges := make([]time.Duration, len(Candidates))
	for i := range Candidates {
		bytes[i], _ = res.Row()[i].(float64)
	}
	for range 3 {
		for i, c := range Candidates {
			r, err := e.Query(ctx, fmt.Sprintf("SELECT __hg_t, %s(__hg_s%d) FROM %s GROUP BY __hg_t", pipes.Combinator(c, "Merge"), i, scratch), nil)
			if err != nil {
				return nil, nil, err
			}
			if merges[i] == 0 || r.Stats.Elapsed < merges[i] {
				merges[i] = r.Stats.Elapsed
			}
		}
	}
	return bytes, merges, nil
}

// Narrowing is one endpoint that reads fewer dimensions than its rollup has, and what a rollup
// of just those would hold.
type Narrowing struct {
	Endpoint string `json:"endpoint"`
	// Dimensions are the ones it groups or filters by.
	Dimensions []string `json:"dimensions"`
	// Rows is how many rows a rollup of those dimensions would hold over the range, against
	// the rollup's RollupRows; Factor the ratio.
	Rows       uint64  `json:"rows"`
	RollupRows uint64  `json:"rollup_rows"`
	Factor     float64 `json:"factor"`
}

// MinNarrowing is the row factor from which Narrower recommends a narrower rollup.
const MinNarrowing = 2

// Narrower measures, for each endpoint reading rollup whose group-by and filter dimensions are
// fewer than the rollup's, how many rows a rollup of only those would hold over r: it reads
// and merges that many times fewer states.
func Narrower(ctx context.Context, e engine.Engine, a *pipes.Artifacts, rollup string, r timerange.Range) ([]Narrowing, error) {
	ra := a.Rollup(rollup)
	if ra == nil {
		return nil, fmt.Errorf("no rollup %q: the project has %s", rollup, rollupNames(a))
	}
	exprs := map[string]string{}
	var hour string
	for _, c := range ra.Columns {
		switch c.Role {
		case pipes.RoleHour:
			hour = c.Expr
		case pipes.RoleDimension:
			exprs[c.Name] = c.Expr
		}
	}
	src := ident.Qualified(a.Project.Database, ra.Rollup.Source)
	params := engine.Params{pipes.StartParam: r.Start, pipes.EndParam: r.End}
	var all []string
	for _, d := range ra.Rollup.Dimensions {
		all = append(all, exprs[d.Name])
	}
	full, err := distinctKeys(ctx, e, hour, all, src, whereClause(ra), params)
	if err != nil {
		return nil, err
	}
	var out []Narrowing
	for _, ea := range a.Endpoints {
		ep := ea.Endpoint
		if ep.Rollup != rollup {
			continue
		}
		var need []string
		for _, d := range append(append([]string{}, ep.GroupBy...), filterDims(ep)...) {
			if !slices.Contains(need, d) {
				need = append(need, d)
			}
		}
		if len(need) >= len(ra.Rollup.Dimensions) {
			continue
		}
		var keys []string
		for _, d := range need {
			keys = append(keys, exprs[d])
		}
		n, err := distinctKeys(ctx, e, hour, keys, src, whereClause(ra), params)
		if err != nil {
			return nil, err
		}
		nw := Narrowing{Endpoint: ep.Name, Dimensions: need, Rows: n, RollupRows: full}
		if n > 0 {
			nw.Factor = float64(full) / float64(n)
		}
		out = append(out, nw)
	}
	return out, nil
}

func filterDims(ep *datasources.Endpoint) []string {
	var out []string
	for _, f := range ep.Filters {
		out = append(out, f.Dimension)
	}
	return out
}

// distinctKeys counts the distinct (hour, keys…) of the source rows.
func distinctKeys(ctx context.Context, e engine.Engine, hour string, keys []string, src, where string, params engine.Params) (uint64, error) {
	res, err := e.Query(ctx, "SELECT uniqExact("+strings.Join(append([]string{hour}, keys...), ", ")+") FROM "+src+" WHERE "+where, params)
	if err != nil {
		return 0, fmt.Errorf("count rollup rows: %w", err)
	}
	n, _ := res.Row()[0].(uint64)
	return n, nil
}

// Recommend returns the advice of a precision report and narrowings, one line each: the
// precision that errs no more than uniq and merges fastest, and the endpoints worth a
// narrower rollup.
func Recommend(p *PrecisionReport, ns []Narrowing) []string {
	var out []string
	if p != nil {
		for _, c := range p.Columns {
			var uniq *Precision
			for i := range c.Candidates {
				if c.Candidates[i].Function == "uniq" {
					uniq = &c.Candidates[i]
				}
			}
			var best *Precision
			for i := range c.Candidates {
				x := &c.Candidates[i]
				if x.Function == "uniq" || uniq == nil || x.WorstError > uniq.WorstError*1.25 {
					continue
				}
				if best == nil || x.StateBytes < best.StateBytes {
					best = x
				}
			}
			if best == nil || best.Function == c.Declared {
				continue
			}
			out = append(out, fmt.Sprintf("%s (%s): %s errs at most %.2f %% here (uniq %.2f %%) with %.0f-byte day states: write kind: %s, precision: %d",
				c.Metric, c.Declared, best.Function, 100*best.WorstError, 100*uniq.WorstError, best.StateBytes, best.Kind, best.Precision))
		}
	}
	for _, n := range ns {
		if n.Factor >= MinNarrowing {
			out = append(out, fmt.Sprintf("endpoint %s needs only %s: a rollup of those dimensions would hold %s rows instead of %s (%.1f× fewer states to read and merge); declare one and point the endpoint at it",
				n.Endpoint, strings.Join(n.Dimensions, ", "), Count(n.Rows), Count(n.RollupRows), n.Factor))
		}
	}
	return out
}
