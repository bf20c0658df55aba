package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hourglass-dev/hourglass/estimate"
	"github.com/hourglass-dev/hourglass/timerange"
)

func newEstimateCmd(g *globals) *cobra.Command {
	var from, to string
	c := &cobra.Command{
		Use:   "estimate ROLLUP",
		Short: "Measure on the raw data how many rows a rollup would hold and which dimension inflates it",
		Long: `estimate counts, on the raw rows of a range, the rows a rollup would hold (one per hour and
distinct dimension tuple), the reduction from raw rows to rollup rows, and for each dimension
how many times larger it makes the rollup. A rollup under ` + fmt.Sprint(estimate.MinReduction) + `× smaller than its raw data is worse
than none: estimate then warns and names the dimension to drop or move to a breakdown rollup.

The default range is all the raw data of the rollup's source, on whole hours.`,
		Example: `  hourglass estimate events_hourly
  hourglass estimate events_overview_hourly --from -30d --to now --output json`,
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
			if g.output == "json" {
				return writeJSON(g.io.Out, struct {
					*estimate.Report
					Warning string `json:"warning,omitempty"`
				}{rep, warning})
			}
			return writeEstimate(g, rep, warning)
		},
	}
	c.Flags().StringVar(&from, "from", "", "range start, on the hour (default: the first hour of raw data)")
	c.Flags().StringVar(&to, "to", "", "range end, exclusive, on the hour (default: the hour after the last raw row)")
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
