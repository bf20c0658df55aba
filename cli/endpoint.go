package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

func newEndpointCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "endpoint",
		Short: "Run endpoints and compare their raw and rollup versions",
	}
	c.AddCommand(newEndpointRunCmd(g), newEndpointHistoryCmd(g))
	return c
}

func newEndpointRunCmd(g *globals) *cobra.Command {
	var params []string
	var compare, explainIt bool
	var side string
	c := &cobra.Command{
		Use:   "run NAME [--param k=v …]",
		Short: "Run an endpoint and print its rows; --compare runs its raw and rollup versions side by side",
		Long: `run runs an endpoint with the given parameters and prints its rows. By default it runs the
version the endpoint serves: raw, or — once switched — the planned read of its rollup version:
the coarsest stored grain that covers whole periods (weeks, days), hours at the edges, and the
hours after the rollup's watermark (the still-open hour included) from raw rows turned into
states, all merged once. --side rollup runs that planned read even while the endpoint serves
raw; --side raw the raw version; --side view the published view (one statement over the
hourly rollup; on a server without parameterised views, before ClickHouse 23.1, there is no
view and it runs the served version).

The range params (start and end, or the ones the endpoint's range names) are required unless
they have a default. A DateTime reads like every range: now is the end of the last closed hour,
-7d floors to the hour, absolute times as written (an end in the future reads the open hour
too). A Date is a day (2026-11-01, today, -7d), and a Date end includes its whole day. A filter
applies when its parameter is given — campaign_id= keeps the rows whose campaign is the empty
string — and a list is comma-separated (countries=DE,FR). A parameter the endpoint does not
take is an error.

--explain prints the plan of a rollup read: each segment with its grain, table, ranges and the
rows it reads alone, the previous period's too for an endpoint that compares, and what the plan
could not use (finals that do not fit the call's filters) and why.

--compare runs the raw version and the rollup version the endpoint serves (the one it was
switched to; the deployed version while it serves raw) with the same parameters, over closed
hours only, and prints the rows read, bytes read and time of each, the reduction, and whether
both return the same rows (floats within a relative 1e-9). Distinct counts use the rollup's
function on both sides. It exits 1 when they differ.`,
		Example: `  hourglass endpoint run sum_primitives --param start=2026-11-15 --param end=2026-11-22 --param campaign_id=c1
  hourglass endpoint run sum_primitives --param start=-30d --param end=now --explain
  hourglass endpoint run timeseries_primitives --param start=-7d --param end=now --param campaign_id=c1 --side raw
  hourglass endpoint run audience_breakdown --param start=2026-11-15 --param end=2026-11-22 --param countries=DE,FR --param limit=10
  hourglass endpoint run kpis --param date_from=2026-11-01 --param date_to=2026-11-07
  hourglass endpoint run audience_breakdown --param start=2026-11-15 --param end=2026-11-22 --param campaign_id=c1 --compare`,
		Args: exactArgs(1, "name the endpoint to run"),
		RunE: func(cmd *cobra.Command, args []string) error {
			kv, err := parseParams(params)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := g.openLiveSession(ctx, g.now)
			if err != nil {
				return err
			}
			defer s.close()
			if compare {
				cmp, err := endpoints.Compare(ctx, s.engine, s.artifacts, args[0], kv, endpoints.CompareOptions{Store: s.store, Now: g.now(), Explain: explainIt})
				if err != nil {
					return err
				}
				if g.output == "json" {
					err = writeJSON(g.io.Out, cmp)
				} else {
					if explainIt {
						if err := writeReadPlan(g, cmp.Rollup.Plan, cmp.Rollup.Segments); err != nil {
							return err
						}
					}
					err = writeComparison(g, cmp)
				}
				if err != nil {
					return err
				}
				if !cmp.Equal {
					return fmt.Errorf("%w: %s returns different rows from its raw and rollup versions", ErrCheckFailed, args[0])
				}
				return nil
			}
			switch side {
			case "view":
				side = endpoints.SideView
				// Without parameterised views (ClickHouse < 23.1) there is no view: run the
				// version the endpoint is switched to, as hourglass serve does.
				if err := endpoints.CheckViews(ctx, s.engine); errors.Is(err, endpoints.ErrUnsupported) {
					side = endpoints.SideServed
				}
			case endpoints.SideServed, endpoints.SideRaw, endpoints.SideRollup:
			default:
				return fmt.Errorf("--side %q: use served, rollup, raw or view", side)
			}
			res, err := endpoints.RunWith(ctx, s.engine, s.artifacts, args[0], kv, endpoints.RunOptions{Side: side, Now: g.now(), Store: s.store, Explain: explainIt})
			if err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(g.io.Out, res)
			}
			if explainIt {
				if err := writeReadPlan(g, res.Plan, res.Segments); err != nil {
					return err
				}
			}
			return writeResult(g.io.Out, "text", &engine.Result{Columns: res.Columns, Rows: res.Rows, Stats: res.Stats})
		},
	}
	c.Flags().StringArrayVar(&params, "param", nil, "parameter k=v (repeatable): start=2026-11-15, end=now, campaign_id=c1, countries=DE,FR")
	c.Flags().BoolVar(&compare, "compare", false, "run the raw and rollup versions and compare rows read, bytes read, time and results")
	c.Flags().StringVar(&side, "side", endpoints.SideServed, "what to run: served (the version the endpoint serves), rollup (its planned rollup read), raw, or view (the published view)")
	c.Flags().BoolVar(&explainIt, "explain", false, "print the plan of a rollup read: each segment's grain, table, ranges and rows read")
	return c
}

func parseParams(specs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range specs {
		k, v, ok := strings.Cut(s, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("--param %q: write NAME=VALUE, e.g. campaign_id=c1", s)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("--param %s is given twice", k)
		}
		out[k] = v
	}
	return out, nil
}

func writeComparison(g *globals, c *endpoints.Comparison) error {
	w := g.io.Out
	serving := "serves " + orText(c.Serving, "nothing yet")
	fmt.Fprintf(w, "%s — raw vs rollup %s (%s) over %s\n", c.Endpoint, c.Table, serving, c.Range)
	if c.Note != "" {
		fmt.Fprintln(w, "note: "+c.Note)
	}
	ratio := func(x float64) string {
		if x == 0 {
			return "—"
		}
		return strconv.FormatFloat(x, 'f', 1, 64) + "×"
	}
	timeRatio := "—"
	if c.Rollup.Stats.Elapsed > 0 {
		timeRatio = ratio(float64(c.Raw.Stats.Elapsed) / float64(c.Rollup.Stats.Elapsed))
	}
	rows := [][]string{
		{"rows returned", strconv.Itoa(len(c.Raw.Rows)), strconv.Itoa(len(c.Rollup.Rows)), ""},
		{"rows read", strconv.FormatUint(c.Raw.Stats.RowsRead, 10), strconv.FormatUint(c.Rollup.Stats.RowsRead, 10), ratio(c.RowsReadReduction)},
		{"bytes read", humanBytes(c.Raw.Stats.BytesRead), humanBytes(c.Rollup.Stats.BytesRead), ratio(c.BytesReadReduction)},
		{"time", c.Raw.Stats.Elapsed.Round(time.Microsecond).String(), c.Rollup.Stats.Elapsed.Round(time.Microsecond).String(), timeRatio},
	}
	if err := writeTable(w, []string{"", "raw", "rollup", "reduction"}, rows); err != nil {
		return err
	}
	if c.Equal {
		_, err := fmt.Fprintf(w, "results: EQUAL (%d rows; floats within %g relative)\n", len(c.Raw.Rows), c.Tolerance)
		return err
	}
	_, err := fmt.Fprintf(w, "results: DIFFERENT (-raw +rollup):\n%s", c.Difference)
	return err
}

// writeReadPlan prints a planned read: one line per segment with what it read alone.
func writeReadPlan(g *globals, plan *pipes.ReadPlan, segs []endpoints.SegmentStats) error {
	w := g.io.Out
	if plan == nil {
		_, err := fmt.Fprintln(w, "plan: none (this run reads the raw table or the published view)")
		return err
	}
	wm := "none"
	if !plan.Watermark.IsZero() {
		wm = timerange.Format(plan.Watermark)
	}
	fresh := "hours from the watermark on read from raw"
	if !plan.Fresh {
		fresh = "fresh: false, the range ends at the watermark"
	}
	fmt.Fprintf(w, "plan of %s over %s on %s (watermark %s; %s): %s\n", plan.Endpoint, plan.Range, plan.Table, wm, fresh, plan.Summary())
	if !plan.Previous.Empty() {
		fmt.Fprintf(w, "previous period (compare): %s\n", plan.Previous)
	}
	for _, n := range plan.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	var rows [][]string
	for _, s := range segs {
		var rs []string
		for _, r := range s.Ranges {
			rs = append(rs, r.String())
		}
		period := "call"
		if s.Previous {
			period = "previous"
		}
		rows = append(rows, []string{period, s.Kind, s.Table, strings.Join(rs, " "), strconv.FormatUint(s.Stats.RowsRead, 10), humanBytes(s.Stats.BytesRead), s.Stats.Elapsed.Round(time.Microsecond).String()})
	}
	if err := writeTable(w, []string{"period", "grain", "table", "ranges", "rows read", "bytes read", "time alone"}, rows); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w)
	return err
}

func newEndpointHistoryCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "history [NAME]",
		Short: "Show every switch of an endpoint (all endpoints without NAME), newest first",
		Example: `  hourglass endpoint history
  hourglass endpoint history sum_primitives --output json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := g.openLiveSession(ctx, g.now)
			if err != nil {
				return err
			}
			defer s.close()
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			hist := []meta.EndpointState{}
			ok, err := s.store.Exists(ctx)
			if err != nil {
				return err
			}
			if ok {
				if hist, err = s.store.EndpointHistory(ctx, name); err != nil {
					return err
				}
			}
			if g.output == "json" {
				return writeJSON(g.io.Out, hist)
			}
			var rows [][]string
			for _, h := range hist {
				forced := ""
				if h.Forced {
					forced = "yes"
				}
				rows = append(rows, []string{formatValue(h.At), h.Endpoint, h.Target, h.Table, h.Actor, forced, h.Validation})
			}
			return writeTable(g.io.Out, []string{"at", "endpoint", "target", "table", "actor", "forced", "validation"}, rows)
		},
	}
}
