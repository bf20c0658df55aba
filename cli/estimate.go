package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hourglass-dev/hourglass/estimate"
	"github.com/hourglass-dev/hourglass/timerange"
)

func newEstimateCmd(g *globals) *cobra.Command {
	var from, to string
	var reads bool
	c := &cobra.Command{
		Use:   "estimate ROLLUP",
		Short: "Measure on the raw data how many rows a rollup would hold and which dimension inflates it",
		Long: `estimate counts, on the raw rows of a range, the rows a rollup would hold (one per hour and
distinct dimension tuple), the reduction from raw rows to rollup rows, and for each dimension
how many times larger it makes the rollup. A rollup under ` + fmt.Sprint(estimate.MinReduction) + `× smaller than its raw data is worse
than none: estimate then warns and names the dimension to drop or move to a breakdown rollup.

With --reads it also measures what reads of the rollup cost: for each distinct-count metric,
the worst and median error of uniq and of uniqCombined at precisions 12, 14, 16 and 17 against
uniqExact on the raw rows (per day, per day and value of the rollup's first dimension, and over
the whole range), the size of a day's state and what merging the day states of the range costs;
and for each endpoint that groups and filters by fewer dimensions than the rollup has, how many
rows a rollup of only those would hold. It recommends the precision that errs no more than uniq
with the smallest states, and a narrower rollup where it holds at least 2× fewer rows.

The default range is all the raw data of the rollup's source, on whole hours.`,
		Example: `  hourglass estimate events_hourly
  hourglass estimate events_overview_hourly --from -30d --to now --output json
  hourglass estimate events_overview_hourly --from -7d --to now --reads`,
		Args: exactArgs(1, "name the rollup, e.g. events_hourly"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := g.openSession(ctx, time.Now)
			if err != nil {
				return err
			}
			defer s.close()
			rollup := args[0]
			var r timerange.Range
			if from == "" || to == "" {
				data, ok, err := estimate.DataRange(ctx, s.engine, s.artifacts, rollup)
				if err != nil {
					return err
				}
				if !ok && (from == "" || to == "") {
					return fmt.Errorf("the source of %s holds no rows: load data (hourglass generate) or pass --from and --to", rollup)
				}
				if from == "" {
					from = timerange.Format(data.Start)
				}
				if to == "" {
					to = timerange.Format(data.End)
				}
			}
			now := time.Now()
			r, err = timerange.Parse(from, to, timerange.Options{Now: now, AllowFuture: true})
			if err != nil {
				return err
			}
			rep, err := estimate.Estimate(ctx, s.engine, s.artifacts, rollup, r)
			if err != nil {
				return err
			}
			warning := estimate.Warn(rep)
			var prec *estimate.PrecisionReport
			var narrow []estimate.Narrowing
			var advice []string
			if reads {
				if prec, err = estimate.Precisions(ctx, s.engine, s.artifacts, rollup, r); err != nil {
					return err
				}
				if narrow, err = estimate.Narrower(ctx, s.engine, s.artifacts, rollup, r); err != nil {
					return err
				}
				advice = estimate.Recommend(prec, narrow)
			}
			if g.output == "json" {
				return writeJSON(g.io.Out, struct {
					*estimate.Report
					Warning    string                    `json:"warning,omitempty"`
					Precisions *estimate.PrecisionReport `json:"precisions,omitempty"`
					Narrower   []estimate.Narrowing      `json:"narrower,omitempty"`
					Advice     []string                  `json:"advice,omitempty"`
				}{rep, warning, prec, narrow, advice})
			}
			if err := writeEstimate(g, rep, warning); err != nil {
				return err
			}
			if reads {
				return writeReads(g, prec, narrow, advice)
			}
			return nil
		},
	}
	c.Flags().StringVar(&from, "from", "", "range start, on the hour (default: the first hour of raw data)")
	c.Flags().StringVar(&to, "to", "", "range end, exclusive, on the hour (default: the hour after the last raw row)")
	c.Flags().BoolVar(&reads, "reads", false, "also measure the error and merge cost of each distinct-count precision, and narrower rollups for the endpoints")
	return c
}

func writeEstimate(g *globals, rep *estimate.Report, warning string) error {
	w := g.io.Out
	fmt.Fprintf(w, "rollup %s over %s (%d hours) of %s\n", rep.Rollup, rep.Range, rep.Hours, rep.Source)
	red := "-"
	if rep.Reduction > 0 {
		red = fmt.Sprintf("%.1f×", rep.Reduction)
	}
	if err := writeTable(w, []string{"measure", "value"}, [][]string{
		{"raw rows", fmt.Sprint(rep.RawRows)},
		{"rollup rows", fmt.Sprint(rep.RollupRows)},
		{"rollup rows per hour", fmt.Sprintf("%.1f", rep.RowsPerHour)},
		{"reduction", red},
	}); err != nil {
		return err
	}
	if len(rep.Dimensions) > 0 {
		fmt.Fprintln(w)
		rows := make([][]string, len(rep.Dimensions))
		for i, d := range rep.Dimensions {
			rows[i] = []string{d.Name, fmt.Sprint(d.Values), fmt.Sprint(d.RowsWithout), fmt.Sprintf("×%.2f", d.Inflation)}
		}
		if err := writeTable(w, []string{"dimension", "values", "rollup rows without it", "inflation"}, rows); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "%d counting queries in %s\n", rep.Queries, rep.Elapsed.Round(time.Millisecond))
	if warning != "" {
		fmt.Fprintln(w, "warning: "+warning)
	}
	return nil
}

func writeReads(g *globals, p *estimate.PrecisionReport, ns []estimate.Narrowing, advice []string) error {
	w := g.io.Out
	for _, c := range p.Columns {
		fmt.Fprintf(w, "\ndistinct counts of %s (%s, declared %s) over %d groups of at least %d values (each day, each day and %s, the whole range):\n",
			c.Metric, c.Column, c.Declared, c.Groups, estimate.MinGroup, p.Tenant)
		var rows [][]string
		for _, x := range c.Candidates {
			rows = append(rows, []string{x.Function, fmt.Sprintf("%.2f %%", 100*x.WorstError), fmt.Sprintf("%.2f %%", 100*x.MedianError),
				fmt.Sprintf("%.0f B", x.StateBytes), x.Merge.Round(time.Millisecond).String()})
		}
		if err := writeTable(w, []string{"function", "worst error", "median error", "day state", "merge of the range"}, rows); err != nil {
			return err
		}
	}
	if len(ns) > 0 {
		fmt.Fprintln(w)
		var rows [][]string
		for _, n := range ns {
			rows = append(rows, []string{n.Endpoint, strings.Join(n.Dimensions, ", "), fmt.Sprint(n.Rows), fmt.Sprint(n.RollupRows), fmt.Sprintf("%.1f×", n.Factor)})
		}
		if err := writeTable(w, []string{"endpoint", "needs", "rows of a rollup of those", "rollup rows", "fewer"}, rows); err != nil {
			return err
		}
	}
	for _, a := range advice {
		fmt.Fprintln(w, "advice: "+a)
	}
	return nil
}
