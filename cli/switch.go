package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/timerange"
)

func newSwitchCmd(g *globals) *cobra.Command {
	var to, window string
	var force bool
	var maxMismatches int
	var now clockFlag
	c := &cobra.Command{
		Use:   "switch ENDPOINT --to rollup|raw",
		Short: "Point an endpoint at its rollup (after validating it) or back at its raw table",
		Long: `switch replaces the endpoint's parameterised view in one statement (CREATE OR REPLACE VIEW), so
readers see the old or the new version, never a missing one.

--to rollup first runs the gate on the rollup's deployed version. The version must hold every
closed hour the endpoint serves — from the raw table's first hour to the last closed hour — or
the switch is refused with the backfill or populate to run. Over all those hours, every metric
must equal raw per hour and per value of the dimensions the endpoint groups and filters by,
with no partition left suspect by a crashed run. An endpoint that carries the query it replaces
(current_sql) or tests is also run against that query (or its raw version) on each test case
and over the whole range, row by row. Any difference refuses the switch, prints the report and
exits 1. --window 7d narrows the gate on purpose to the last 7 days; the switch is recorded as
narrowed. --force skips the gate, says what it skipped and records the switch as forced.
--to raw is the rollback and never validates. Every switch is recorded (who, when, what was
proven) and shows in hourglass status and hourglass endpoint history. Parameterised views need
ClickHouse 23.1+.`,
		Example: `  hourglass switch sum_primitives --to rollup
  hourglass switch audience_breakdown --to rollup --window 30d
  hourglass switch conversions_breakdown --to rollup --force
  hourglass switch sum_primitives --to raw`,
		Args: exactArgs(1, "name the endpoint to switch"),
		RunE: func(cmd *cobra.Command, args []string) error {
			clock, err := now.clock(g)
			if err != nil {
				return err
			}
			if to == "" {
				return fmt.Errorf("switch needs --to rollup or --to raw")
			}
			var w time.Duration
			if window != "" {
				if w, err = timerange.ParseDuration(window); err != nil {
					return fmt.Errorf("--window: %w", err)
				}
				if w == 0 {
					return fmt.Errorf("--window 0: leave --window out to prove the whole history, or give a duration such as 7d")
				}
			}
			ctx := cmd.Context()
			s, err := g.openLiveSession(ctx, clock)
			if err != nil {
				return err
			}
			defer s.close()
			if err := s.store.Ensure(ctx); err != nil {
				return err
			}
			res, err := endpoints.Switch(ctx, s.engine, s.store, s.artifacts, args[0], to, endpoints.SwitchOptions{
				Window: w, Force: force, Now: clock(), MaxMismatches: maxMismatches,
			})
			if res == nil {
				return err
			}
			if g.output == "json" {
				if werr := writeJSON(g.io.Out, res); werr != nil {
					return werr
				}
			} else if werr := writeSwitch(g, res); werr != nil {
				return werr
			}
			if errors.Is(err, endpoints.ErrRefused) {
				return fmt.Errorf("%w: %v", ErrCheckFailed, err)
			}
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&to, "to", "", "target: rollup (validated first) or raw (the rollback)")
	f.StringVar(&window, "window", "", "narrow the gate on purpose to the last DURATION of closed hours (7d, 48h); default: the whole history the endpoint serves")
	f.BoolVar(&force, "force", false, "switch to the rollup without validating it (recorded as forced)")
	f.IntVar(&maxMismatches, "max-mismatches", 20, "how many mismatches to list when the switch is refused")
	now.add(c)
	return c
}

func writeSwitch(g *globals, res *endpoints.SwitchResult) error {
	w := g.io.Out
	if h := res.History; h != nil {
		fmt.Fprintln(w, h.Describe())
	}
	if res.Missing != "" {
		fmt.Fprintln(w, "missing: "+res.Missing)
	}
	for _, rep := range res.Reports {
		if err := writeValidation(w, rep); err != nil {
			return err
		}
	}
	if v := res.Verification; v != nil {
		if err := writeVerification(w, v); err != nil {
			return err
		}
	}
	if res.Narrowed {
		fmt.Fprintf(w, "WARNING: the gate was narrowed to %s: hours before it were not proven\n", res.Window)
	}
	if res.Skipped != "" {
		fmt.Fprintf(w, "WARNING: skipped %s\n", res.Skipped)
	}
	switch {
	case res.Refused:
		_, err := fmt.Fprintf(w, "REFUSED: %s keeps reading %s\n", res.Endpoint, res.Reads())
		return err
	case res.Switched:
		how := ""
		if res.Forced {
			how = " (forced)"
		}
		_, err := fmt.Fprintf(w, "%s now reads its %s version (%s)%s: one CREATE OR REPLACE VIEW, recorded for %s\n",
			res.Endpoint, res.To, res.Table, how, res.Actor)
		return err
	}
	return nil
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
