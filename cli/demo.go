package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hourglass-dev/hourglass/demo"
	"github.com/hourglass-dev/hourglass/populate"
)

func newDemoCmd(g *globals) *cobra.Command {
	var opts demo.Options
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole product on a fresh project and measure it against the raw tables",
		Long: `demo creates a fresh project folder (default ./hourglass-demo) and runs everything in it on
the embedded engine: init, generate (10 M events over 90 days by default), deploy, backfill
every rollup, validate every rollup (it must be exact: exit 1 otherwise), switch the four
endpoints to their rollups, and then prints the Tinybird plan's "Expected QPS Reduction" table
measured in this run: for 7 days, 30 days and all the data, each endpoint's rows read and
median latency on raw and on its rollup, the reduction and the speed-up. The full result is
also written to DIR/demo-results.json.`,
		Example: `  hourglass demo
  hourglass demo --events 1000000 --days 30 --dir /tmp/hg-demo --force-new
  hourglass demo --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DSN = g.dsn
			opts.Log = g.io.Err
			bar := newProgress(g.io.Err, "backfill")
			opts.Backfill = func(ev populate.Event) { bar.event(ev) }
			opts.BackfillDone = func() { bar.finish(); bar = newProgress(g.io.Err, "backfill") }
			res, err := demo.Run(cmd.Context(), opts)
			if res != nil && res.Table != nil {
				if g.output == "json" {
					if werr := writeJSON(g.io.Out, res); werr != nil {
						return werr
					}
				} else if werr := res.WriteText(g.io.Out); werr != nil {
					return werr
				}
			}
			if errors.Is(err, demo.ErrNotExact) {
				return fmt.Errorf("%w: %v", ErrCheckFailed, err)
			}
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Dir, "dir", demo.DefaultDir, "project folder to create (must be missing or empty)")
	f.BoolVar(&opts.ForceNew, "force-new", false, "delete the contents of a non-empty --dir first")
	f.Int64Var(&opts.Events, "events", demo.DefaultEvents, "number of events to generate")
	f.IntVar(&opts.Days, "days", demo.DefaultDays, "days of data, ending at the last closed hour")
	f.Uint64Var(&opts.Seed, "seed", 1, "data set seed")
	f.IntVar(&opts.Runs, "runs", demo.DefaultRuns, "timed runs per endpoint measurement (the median is shown)")
	return c
}
