package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
	"github.com/hourglass-dev/hourglass/validate"
)

func newValidateCmd(g *globals) *cobra.Command {
	var from, to, by, junit, endpoint, grain string
	var dims, tolerance []string
	var maxMismatches int
	var now clockFlag
	c := &cobra.Command{
		Use:   "validate (ROLLUP... | --endpoint NAME) [--from T --to T]",
		Short: "Prove a rollup returns the same numbers as its raw table, per bucket and dimension",
		Long: `validate computes every metric of a rollup twice over [--from, --to) — from the raw table with the
rollup's own definitions, and from the rollup with its read queries — per hour (or day) and, with
--dimensions, per dimension value, and compares them. Counts, integer sums, min/max and distinct
counts must match exactly; float sums and averages within a relative tolerance (1e-9 unless
--tolerance says otherwise). A bucket present on one side only is a mismatch (a coverage gap).
Hours that are not closed yet are left out, and the report says so. Without --from and --to it
validates the whole history the rollup's deployed version holds (its first backfilled hour to its
watermark). Both sides are computed and compared inside the engine, in one query: only the
differing values come back. A partition a crashed run may have doubled is never reported EXACT.

With --grain day or --grain week it validates the rollup's day or week table instead (grains:
[day, week]): every metric per day or ISO week and dimension value, over the whole periods of the
range, against the same metric computed from raw rows.

With --endpoint NAME it validates an endpoint instead: the endpoint as it is served (its planned
read of the rollup) and the query it replaces (its current_sql; its raw version when it has none)
run with the same parameters — each of its tests, and the whole history — and are compared row by
row inside the engine. The report names the parameters, the row and the column that differ. An
endpoint with finals also has its finals table compared with raw, per combination of filters.

Exit code: 0 when everything agrees, 1 when anything differs, 2 on errors. With several rollups,
--output json prints a list of reports.`,
		Example: `  hourglass validate events_hourly
  hourglass validate events_hourly --from 2026-10-23 --to 2026-11-22
  hourglass validate sessions_hourly --from -7d --to now --by day --dimensions campaign_id,country
  hourglass validate events_hourly --from -30d --to now --tolerance total_value_usd=1e-6 --junit accuracy.xml
  hourglass validate events_hourly events_overview_hourly --from -7d --to now --output json
  hourglass validate events_overview_hourly --grain week --dimensions campaign_id
  hourglass validate --endpoint sum_primitives`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case endpoint != "" && len(args) > 0:
				return fmt.Errorf("validate either rollups or --endpoint NAME, not both")
			case endpoint == "" && len(args) == 0:
				return fmt.Errorf("%s needs at least one rollup name, or --endpoint NAME (see %s --help)", cmd.CommandPath(), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			clock, err := now.clock(g)
			if err != nil {
				return err
			}
			t := clock()
			if (from == "") != (to == "") {
				return fmt.Errorf("validate needs both --from and --to (e.g. --from -7d --to now), or neither for the whole history")
			}
			opts := timerange.Options{Now: t, AllowFuture: true}
			if from != "" {
				if _, err := timerange.Parse(from, to, opts); err != nil {
					return err
				}
			}
			tol, err := parseTolerances(tolerance)
			if err != nil {
				return err
			}
			switch datasources.Grain(grain) {
			case "", datasources.GrainDay, datasources.GrainWeek:
			default:
				return fmt.Errorf("--grain %q: use day or week (a grain the rollup declares), or leave it out for the hourly table", grain)
			}
			ctx := cmd.Context()
			s, err := g.openLiveSession(ctx, clock)
			if err != nil {
				return err
			}
			defer s.close()
			if endpoint != "" {
				return validateEndpoint(ctx, g, s, endpoint, from, to, opts, maxMismatches)
			}
			var reports []*validate.Report
			for _, name := range args {
				rg, err := validateRange(ctx, s, name, from, to, opts)
				if err != nil {
					return err
				}
				rep, err := validate.Run(ctx, s.engine, s.artifacts, name, validate.Options{
					Range: rg, By: by, Dimensions: dims, Tolerance: tol, Now: t, MaxMismatches: maxMismatches, Store: s.store,
					Grain: datasources.Grain(grain),
				})
				if err != nil {
					return fmt.Errorf("validate %s: %w", name, err)
				}
				reports = append(reports, rep)
			}
			if junit != "" {
				if err := writeJUnitFile(g.path(junit), reports); err != nil {
					return err
				}
			}
			if g.output == "json" {
				var v any = reports
				if len(reports) == 1 {
					v = reports[0]
				}
				if err := writeJSON(g.io.Out, v); err != nil {
					return err
				}
			} else {
				for i, rep := range reports {
					if i > 0 {
						fmt.Fprintln(g.io.Out)
					}
					if err := writeValidation(g.io.Out, rep); err != nil {
						return err
					}
				}
			}
			var bad []string
			for _, rep := range reports {
				if !rep.Exact {
					bad = append(bad, fmt.Sprintf("%s (%d of %d values, %d suspect partitions)", rep.Rollup, rep.MismatchCount, rep.Values, len(rep.Suspect)))
				}
			}
			if len(bad) > 0 {
				return fmt.Errorf("%w: rollup differs from raw: %s", ErrCheckFailed, strings.Join(bad, ", "))
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&from, "from", "", "start of the range (inclusive, UTC): 2026-11-01, \"2026-11-01 10:00\", -7d (floored to the hour); default: the whole history")
	f.StringVar(&to, "to", "", "end of the range (exclusive, UTC): 2026-11-22, now (the end of the last closed hour)")
	f.StringVar(&by, "by", "hour", "bucket to compare per: hour or day")
	f.StringVar(&grain, "grain", "", "validate the rollup's day or week table instead of its hourly one: day or week")
	f.StringSliceVar(&dims, "dimensions", nil, "dimensions to compare per value, comma-separated: campaign_id,country")
	f.StringSliceVar(&tolerance, "tolerance", nil, "relative tolerance of a metric, METRIC=REL (repeatable): total_value_usd=1e-6")
	f.StringVar(&endpoint, "endpoint", "", "validate an endpoint instead: run it and its current query (or raw version) on its tests and the whole history, row by row")
	f.StringVar(&junit, "junit", "", "also write a JUnit XML report to FILE (one test case per metric)")
	f.IntVar(&maxMismatches, "max-mismatches", validate.DefaultMaxMismatches, "how many mismatches to list (all are counted)")
	now.add(c)
	return c
}

// validateRange is the range validate compares for one rollup: --from/--to read by timerange's
// rule with the rollup's delay, or without them the whole history its deployed version holds
// (from its first backfilled hour to its watermark).
func validateRange(ctx context.Context, s *session, rollup, from, to string, opts timerange.Options) (timerange.Range, error) {
	if from != "" {
		return rollupRange(from, to, opts, s.artifacts, rollup)
	}
	ra := s.artifacts.Rollup(rollup)
	if ra == nil {
		return timerange.Range{}, fmt.Errorf("validate %s: unknown rollup: the project has %s", rollup, strings.Join(rollupNames(s.artifacts), ", "))
	}
	h, err := validate.ReadHistory(ctx, s.store, ra, opts.Now)
	if err != nil {
		return timerange.Range{}, err
	}
	if h.Covered.Empty() {
		return timerange.Range{}, fmt.Errorf("validate %s: %s, so there is no history to validate: run hourglass backfill %s --from -30d --to now, or pass --from and --to",
			rollup, h.Describe(), rollup)
	}
	return h.Covered, nil
}

// validateEndpoint runs hourglass validate --endpoint NAME: the endpoint on its rollup's
// deployed version against its current query (or its raw version), on each test case and
// over --from/--to or the whole history the version holds.
func validateEndpoint(ctx context.Context, g *globals, s *session, name, from, to string, opts timerange.Options, maxMismatches int) error {
	ea := s.artifacts.Endpoint(name)
	if ea == nil {
		var names []string
		for _, e := range s.artifacts.Endpoints {
			names = append(names, e.Endpoint.Name)
		}
		return fmt.Errorf("--endpoint %s: unknown endpoint: the project has %s", name, strings.Join(names, ", "))
	}
	vo := endpoints.VerifyOptions{Now: opts.Now, MaxMismatches: maxMismatches}
	if from != "" {
		rg, err := rollupRange(from, to, opts, s.artifacts, ea.Endpoint.Rollup)
		if err != nil {
			return err
		}
		vo.Range = rg
	}
	v, err := endpoints.Verify(ctx, s.engine, s.store, s.artifacts, name, vo)
	if err != nil {
		return err
	}
	// An endpoint with finals has its finals table compared with raw too.
	var finals *validate.Report
	if ra := s.artifacts.Rollup(ea.Endpoint.Rollup); ra != nil && ra.FinalsOf(name) != nil {
		rg := vo.Range
		if rg.Empty() {
			h, err := validate.ReadHistory(ctx, s.store, ra, opts.Now)
			if err != nil {
				return err
			}
			rg = h.Covered
		}
		if finals, err = validate.Finals(ctx, s.engine, ra, name, validate.Options{Range: rg, Now: opts.Now, MaxMismatches: maxMismatches, Store: s.store}); err != nil {
			return err
		}
	}
	switch {
	case g.output == "json" && finals != nil:
		err = writeJSON(g.io.Out, map[string]any{"verification": v, "finals": finals})
	case g.output == "json":
		err = writeJSON(g.io.Out, v)
	default:
		if err = writeVerification(g.io.Out, v); err == nil && finals != nil {
			fmt.Fprintln(g.io.Out)
			err = writeValidation(g.io.Out, finals)
		}
	}
	if err != nil {
		return err
	}
	if !v.Exact {
		return fmt.Errorf("%w: %s", ErrCheckFailed, v.Summary())
	}
	if finals != nil && !finals.Exact {
		return fmt.Errorf("%w: %s", ErrCheckFailed, finals.Summary())
	}
	return nil
}

func parseTolerances(specs []string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, s := range specs {
		name, val, ok := strings.Cut(s, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("--tolerance %q: write METRIC=REL, e.g. total_value_usd=1e-6", s)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			return nil, fmt.Errorf("--tolerance %q: %q is not a number (write e.g. 1e-6)", s, val)
		}
		out[name] = v
	}
	return out, nil
}

func writeJUnitFile(path string, reports []*validate.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	if err := validate.WriteJUnit(f, reports...); err != nil {
		f.Close()
		return fmt.Errorf("--junit %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--junit %s: %w", path, err)
	}
	return nil
}

// writeValidation prints a report: the verdict on one line, the note on the open hour, then a
// table of the first mismatches.
func writeValidation(w io.Writer, rep *validate.Report) error {
	if _, err := fmt.Fprintln(w, rep.Summary()); err != nil {
		return err
	}
	if rep.Note != "" {
		fmt.Fprintln(w, "note: "+rep.Note)
	}
	if rep.Exact {
		return nil
	}
	header := append([]string{rep.By}, rep.Dimensions...)
	header = append(header, "metric", "raw", "rollup", "difference", "rel. error")
	var rows [][]string
	for _, m := range rep.Mismatches {
		row := []string{formatValue(m.Bucket)}
		for _, d := range rep.Dimensions {
			row = append(row, m.Dimensions[d])
		}
		raw, rollup := "—", "—"
		if m.Kind != validate.KindMissingInRaw {
			raw = validate.FormatValue(m.Raw)
		}
		if m.Kind != validate.KindMissingInRollup {
			rollup = validate.FormatValue(m.Rollup)
		}
		diff := strconv.FormatFloat(m.Difference, 'g', 6, 64)
		switch m.Kind {
		case validate.KindMissingInRollup:
			diff = "no rollup row"
		case validate.KindMissingInRaw:
			diff = "no raw row"
		}
		row = append(row, m.Metric, raw, rollup, diff, strconv.FormatFloat(m.RelativeError, 'g', 3, 64))
		rows = append(rows, row)
	}
	if err := writeTable(w, header, rows); err != nil {
		return err
	}
	if rep.Truncated {
		fmt.Fprintf(w, "… %d more mismatches not listed (--max-mismatches %d)\n", rep.MismatchCount-len(rep.Mismatches), len(rep.Mismatches))
	}
	var per []string
	for _, m := range rep.Metrics {
		if n := rep.MismatchesByMetric[m]; n > 0 {
			per = append(per, fmt.Sprintf("%s %d", m, n))
		}
	}
	_, err := fmt.Fprintln(w, "mismatches by metric: "+strings.Join(per, ", "))
	return err
}

func rollupNames(a *pipes.Artifacts) []string {
	var out []string
	for _, ra := range a.Rollups {
		out = append(out, ra.Rollup.Name)
	}
	return out
}

// writeVerification prints an endpoint compared with its reference: the verdict, then per
// case that differs its parameters and a table of the first differences.
func writeVerification(w io.Writer, v *endpoints.Verification) error {
	if _, err := fmt.Fprintln(w, v.Summary()); err != nil {
		return err
	}
	ref := "raw"
	if v.Reference == endpoints.ReferenceCurrent {
		ref = "current"
	}
	for _, c := range v.Cases {
		if c.Exact {
			continue
		}
		fmt.Fprintf(w, "%s: %d of %d values differ\n", c.Describe(), c.MismatchCount, c.Values)
		var rows [][]string
		for _, m := range c.Mismatches {
			row := ""
			if !m.Bucket.IsZero() {
				row = formatValue(m.Bucket)
			}
			for _, k := range slices.Sorted(maps.Keys(m.Dimensions)) {
				row = strings.TrimSpace(row + " " + k + "=" + m.Dimensions[k])
			}
			a, b := "—", "—"
			if m.Kind != validate.KindMissingInRaw {
				a = validate.FormatValue(m.Raw)
			}
			if m.Kind != validate.KindMissingInRollup {
				b = validate.FormatValue(m.Rollup)
			}
			rows = append(rows, []string{orText(row, "(totals)"), m.Metric, a, b})
		}
		if err := writeTable(w, []string{"row", "column", ref, "served"}, rows); err != nil {
			return err
		}
	}
	return nil
}
