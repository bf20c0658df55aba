package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hourglass-dev/hourglass/estimate"
	"github.com/hourglass-dev/hourglass/generate"
	"github.com/hourglass-dev/hourglass/timerange"
)

func newGenerateCmd(g *globals) *cobra.Command {
	var (
		opts generate.Options
		end  string
	)
	c := &cobra.Command{
		Use:   "generate",
		Short: "Fill the default project's raw events and sessions with realistic synthetic data",
		Long: `generate fills the raw events and sessions tables of the default project (hourglass init)
with realistic, deterministic synthetic web analytics inside the engine: Zipf-distributed pages,
sources, countries and cities, a daily and weekly traffic curve, sessions of 1–32 events that
cross hour and day boundaries, returning visitors, and a small share of late events (inserted
last, after everything else). The same --seed always gives the same rows.

The data covers the --days days before --end (default: the current hour). The tables must
exist (hourglass deploy) and be empty, unless --replace truncates them first.`,
		Example: `  hourglass generate
  hourglass generate --events 20000000 --days 90 --seed 42
  hourglass generate --events 1000000 --days 7 --end 2026-03-01 --replace --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			now := g.now()
			if opts.Events <= 0 || opts.Days <= 0 || opts.Tenants <= 0 {
				return fmt.Errorf("--events, --days and --tenants must be positive")
			}
			if end != "" {
				t, err := timerange.ParseTime(end, now)
				if err != nil {
					return fmt.Errorf("--end: %w", err)
				}
				if !t.Equal(t.Truncate(time.Hour)) {
					return fmt.Errorf("--end %s is not on the hour: the data ends at a whole hour, e.g. %s", timerange.Format(t), timerange.Format(t.Truncate(time.Hour)))
				}
				opts.End = t
			} else {
				opts.End = now.UTC().Truncate(time.Hour)
			}
			s, err := g.openSession(ctx, g.now)
			if err != nil {
				return err
			}
			defer s.close()
			opts.Progress = func(p generate.Progress) {
				fmt.Fprintf(g.io.Err, "generate: %s, %s/%s event numbers (%.0f%%) after %s\n", p.Phase,
					estimate.Count(uint64(p.Done)), estimate.Count(uint64(p.Total)), 100*float64(p.Done)/float64(max(p.Total, 1)), p.Elapsed.Round(time.Millisecond))
			}
			st, err := generate.Generate(ctx, s.engine, s.def, opts)
			if err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(g.io.Out, st)
			}
			_, err = fmt.Fprintf(g.io.Out, "generated %d events (%d inserted last as late events) and %d sessions over %s in %s: %s events/s\n",
				st.Events, st.LateEvents, st.Sessions, timerange.Range{Start: st.Start, End: st.End}, st.Duration.Round(time.Millisecond),
				estimate.Count(uint64(st.EventsPerSecond)))
			return err
		},
	}
	f := c.Flags()
	f.Int64Var(&opts.Events, "events", generate.DefaultEvents, "number of events (exact)")
	f.IntVar(&opts.Days, "days", generate.DefaultDays, "days of data, ending at --end")
	f.IntVar(&opts.Tenants, "tenants", generate.DefaultTenants, "number of workspaces")
	f.Uint64Var(&opts.Seed, "seed", 1, "data set seed: the same seed gives the same rows")
	f.StringVar(&end, "end", "", "exclusive end of the data, on the hour (default: the current hour)")
	f.Float64Var(&opts.LatePercent, "late-percent", generate.DefaultLatePercent, "share of events inserted last as late events (negative for none)")
	f.BoolVar(&opts.Replace, "replace", false, "truncate events and sessions first")
	return c
}
