package estimate_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/estimate"
	"github.com/hourglass-dev/hourglass/generate"
	"github.com/hourglass-dev/hourglass/generate/generatetest"
	"github.com/hourglass-dev/hourglass/ident"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

var shared enginetest.Shared

func TestMain(m *testing.M) {
	os.Exit(enginetest.Main(m, &shared, enginetest.Options{}))
}

func count(t *testing.T, e engine.Engine, sql string, params engine.Params) uint64 {
	t.Helper()
	return enginetest.MustQuery(t, e, sql, params).Row()[0].(uint64)
}

// distinct counts distinct (hour, dims…) tuples with hand-written SQL.
func distinct(t *testing.T, e engine.Engine, db, table, timeCol string, dims []string, r timerange.Range) uint64 {
	t.Helper()
	cols := append([]string{"toStartOfHour(" + timeCol + ")"}, dims...)
	return count(t, e, "SELECT count() FROM (SELECT DISTINCT "+strings.Join(cols, ", ")+" FROM "+ident.Qualified(db, table)+
		" WHERE "+timeCol+" >= {s:DateTime} AND "+timeCol+" < {e:DateTime})", engine.Params{"s": r.Start, "e": r.End})
}

func without(dims []string, d string) []string {
	var out []string
	for _, x := range dims {
		if x != d {
			out = append(out, x)
		}
	}
	return out
}

func TestEstimateMatchesRawSQL(t *testing.T) {
	e := shared.NeedEmbedded(t)
	a, _ := generatetest.Generate(t, e, generate.Options{Events: 150_000, Days: 3, Seed: 5})
	db := a.Project.Database
	ctx := context.Background()

	full, ok, err := estimate.DataRange(ctx, e, a, "events_hourly")
	if err != nil || !ok {
		t.Fatalf("DataRange = %v, %v, %v", full, ok, err)
	}
	if want := (timerange.Range{Start: generatetest.End.AddDate(0, 0, -3), End: generatetest.End}); full != want {
		t.Errorf("DataRange = %v, want %v", full, want)
	}
	// A range cut inside the data, to check the bounds are applied.
	part := timerange.Range{Start: full.Start.Add(5 * time.Hour), End: full.End.Add(-7 * time.Hour)}

	for _, c := range []struct {
		rollup, table, timeCol string
		r                      timerange.Range
	}{
		{"events_hourly", "events", "timestamp", full},
		{"events_overview_hourly", "events", "timestamp", part},
		{"sessions_hourly", "sessions", "session_start", full},
		{"audience_hourly", "sessions", "session_start", part},
	} {
		t.Run(c.rollup, func(t *testing.T) {
			rep, err := estimate.Estimate(ctx, e, a, c.rollup, c.r)
			if err != nil {
				t.Fatal(err)
			}
			var dims []string
			for _, d := range a.Rollup(c.rollup).Rollup.Dimensions {
				dims = append(dims, d.Column)
			}
			raw := count(t, e, "SELECT count() FROM "+ident.Qualified(db, c.table)+" WHERE "+c.timeCol+" >= {s:DateTime} AND "+c.timeCol+" < {e:DateTime}",
				engine.Params{"s": c.r.Start, "e": c.r.End})
			if rep.RawRows != raw || raw == 0 {
				t.Errorf("raw rows %d, want %d", rep.RawRows, raw)
			}
			want := distinct(t, e, db, c.table, c.timeCol, dims, c.r)
			if rep.RollupRows != want {
				t.Errorf("rollup rows %d, hand-written DISTINCT says %d", rep.RollupRows, want)
			}
			// The compiler's own populate query agrees.
			pop := count(t, e, "SELECT count() FROM ("+a.Rollup(c.rollup).PopulateSelect+")",
				engine.Params{pipes.StartParam: c.r.Start, pipes.EndParam: c.r.End})
			if rep.RollupRows != pop {
				t.Errorf("rollup rows %d, populate query gives %d", rep.RollupRows, pop)
			}
			if len(rep.Dimensions) != len(dims) {
				t.Fatalf("%d dimensions reported, want %d", len(rep.Dimensions), len(dims))
			}
			for i, d := range rep.Dimensions {
				if i > 0 && d.Inflation > rep.Dimensions[i-1].Inflation {
					t.Errorf("dimensions not sorted by inflation: %+v", rep.Dimensions)
				}
			}
			// Check the top two dimensions' "without" counts by hand.
			for _, d := range rep.Dimensions[:2] {
				w := distinct(t, e, db, c.table, c.timeCol, without(dims, d.Name), c.r)
				vals := count(t, e, "SELECT uniqExact("+d.Name+") FROM "+ident.Qualified(db, c.table)+" WHERE "+c.timeCol+" >= {s:DateTime} AND "+c.timeCol+" < {e:DateTime}",
					engine.Params{"s": c.r.Start, "e": c.r.End})
				if d.RowsWithout != w || d.Values != vals {
					t.Errorf("without %s: %d rows, %d values; hand-written SQL says %d rows, %d values", d.Name, d.RowsWithout, d.Values, w, vals)
				}
			}
			if rep.Hours != c.r.Hours() || rep.Reduction != float64(raw)/float64(want) {
				t.Errorf("hours %d reduction %g", rep.Hours, rep.Reduction)
			}
			t.Logf("%s: %d raw, %d rollup (%.1f×), top %+v, warn %q", c.rollup, rep.RawRows, rep.RollupRows, rep.Reduction, rep.Dimensions[0], estimate.Warn(rep))
		})
	}
}

func TestChunkedCountsAddUp(t *testing.T) {
	// Small chunks force several counting queries; the totals must not change.
	e := shared.NeedEmbedded(t)
	a, _ := generatetest.Generate(t, e, generate.Options{Events: 40_000, Days: 6, Seed: 9})
	ctx := context.Background()
	r, _, err := estimate.DataRange(ctx, e, a, "audience_hourly")
	if err != nil {
		t.Fatal(err)
	}
	restore := estimate.SetChunkRows(2_000)
	got, err := estimate.Estimate(ctx, e, a, "audience_hourly", r)
	restore()
	if err != nil {
		t.Fatal(err)
	}
	want, err := estimate.Estimate(ctx, e, a, "audience_hourly", r)
	if err != nil {
		t.Fatal(err)
	}
	if got.Queries < 3 || want.Queries != 1 {
		t.Fatalf("queries %d and %d: want several chunks, then one", got.Queries, want.Queries)
	}
	if got.RawRows != want.RawRows || got.RollupRows != want.RollupRows {
		t.Errorf("chunked %d/%d, whole %d/%d", got.RawRows, got.RollupRows, want.RawRows, want.RollupRows)
	}
	for i := range got.Dimensions {
		if got.Dimensions[i] != want.Dimensions[i] {
			t.Errorf("dimension %d: chunked %+v, whole %+v", i, got.Dimensions[i], want.Dimensions[i])
		}
	}
}

func TestWarnFiresForTheWideRollupOnly(t *testing.T) {
	e := shared.NeedEmbedded(t)
	a, _ := generatetest.Generate(t, e, generate.Options{Events: 150_000, Days: 3, Seed: 11})
	ctx := context.Background()
	r, _, err := estimate.DataRange(ctx, e, a, "events_hourly")
	if err != nil {
		t.Fatal(err)
	}
	wide, err := estimate.Estimate(ctx, e, a, "events_hourly", r)
	if err != nil {
		t.Fatal(err)
	}
	w := estimate.Warn(wide)
	for _, want := range []string{"rollup events_hourly would hold", "raw rows", "inflates it", wide.Dimensions[0].Name, "breakdown"} {
		if !strings.Contains(w, want) {
			t.Errorf("warning %q lacks %q", w, want)
		}
	}
	narrow, err := estimate.Estimate(ctx, e, a, "events_overview_hourly", r)
	if err != nil {
		t.Fatal(err)
	}
	if w := estimate.Warn(narrow); w != "" || narrow.Reduction < estimate.MinReduction {
		t.Errorf("events_overview_hourly: reduction %.1f×, warning %q; want ≥ %d× and none", narrow.Reduction, w, estimate.MinReduction)
	}
}

func TestWarnMessage(t *testing.T) {
	r := &estimate.Report{Rollup: "events_hourly", RawRows: 20_000_000, RollupRows: 17_600_000, Reduction: 20.0 / 17.6,
		Dimensions: []estimate.Dimension{{Name: "city", Inflation: 8.3}, {Name: "country", Inflation: 1.2}}}
	want := "rollup events_hourly would hold 17.6 M rows for 20.0 M raw rows (1.1×): dimension city inflates it most (×8.3); drop it or move it to a breakdown rollup"
	if got := estimate.Warn(r); got != want {
		t.Errorf("Warn = %q\nwant   %q", got, want)
	}
	r.Dimensions[0].Inflation = 1.1
	if got := estimate.Warn(r); !strings.Contains(got, "no single dimension inflates it much (at most ×1.1, city)") {
		t.Errorf("Warn without a dominant dimension = %q", got)
	}
	r.Reduction, r.RollupRows = 50, 400_000
	if got := estimate.Warn(r); got != "" {
		t.Errorf("Warn at 50× = %q, want none", got)
	}
}

func TestErrors(t *testing.T) {
	e := shared.NeedEmbedded(t)
	a := generatetest.Project(t, e)
	ctx := context.Background()
	r := timerange.Range{Start: generatetest.End.Add(-time.Hour), End: generatetest.End}
	if _, err := estimate.Estimate(ctx, e, a, "nope", r); err == nil || !strings.Contains(err.Error(), "events_hourly") {
		t.Errorf("unknown rollup: %v, want the list of rollups", err)
	}
	if _, err := estimate.Estimate(ctx, e, a, "events_hourly", timerange.Range{Start: r.Start.Add(time.Minute), End: r.End}); err == nil {
		t.Error("unaligned range accepted")
	}
	rep, err := estimate.Estimate(ctx, e, a, "events_hourly", r)
	if err != nil || rep.RawRows != 0 || rep.RollupRows != 0 || estimate.Warn(rep) != "" {
		t.Errorf("empty table: %+v, %v", rep, err)
	}
	if _, ok, err := estimate.DataRange(ctx, e, a, "events_hourly"); ok || err != nil {
		t.Errorf("DataRange on empty table = %v, %v", ok, err)
	}
	enginetest.MustExec(t, e, "DROP TABLE "+ident.Qualified(a.Project.Database, "events"))
	if _, err := estimate.Estimate(ctx, e, a, "events_hourly", r); !errors.Is(err, estimate.ErrNotDeployed) {
		t.Errorf("missing table: %v, want ErrNotDeployed", err)
	}
}
