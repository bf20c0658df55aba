package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/versions"
)

func newPruneCmd(g *globals) *cobra.Command {
	var version int
	var yes bool
	c := &cobra.Command{
		Use:   "prune [ROLLUP] [--version N] [--yes]",
		Short: "Drop the rollup versions no endpoint reads any more",
		Long: `prune drops the tables of older rollup versions (<rollup>_vN, beside the newest) that no
endpoint reads any more — once hourglass switch has moved every endpoint to the newest version
(or to raw), populate stops keeping the old one fresh and plan lists it. Without --yes it only
says what it would drop (a dry run); with --yes it drops each version's table, its staging
tables and its insert-trigger view, and records it pruned. The run log stays.

It never drops the newest version, nor one an endpoint reads: asked to (--version), it says so
in one line, exits 2 and drops nothing.`,
		Example: `  hourglass prune
  hourglass prune --yes
  hourglass prune events_hourly --version 1 --yes`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := versions.PruneOptions{Version: version, Yes: yes, Actor: endpoints.DefaultActor(), Now: g.now()}
			if len(args) == 1 {
				opts.Rollup = args[0]
			}
			if version < 0 {
				return fmt.Errorf("--version %d: versions count from 1", version)
			}
			ctx := cmd.Context()
			s, err := g.openLiveSession(ctx, g.now)
			if err != nil {
				return err
			}
			defer s.close()
			res, err := versions.Prune(ctx, s.engine, s.store, s.artifacts, opts)
			if err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(g.io.Out, res)
			}
			return writePrune(g, res)
		},
	}
	c.Flags().IntVar(&version, "version", 0, "drop this version of ROLLUP only (refused when an endpoint reads it, or it is the newest)")
	c.Flags().BoolVar(&yes, "yes", false, "drop them (without it: a dry run)")
	return c
}

func writePrune(g *globals, res *versions.PruneResult) error {
	w := g.io.Out
	for _, v := range res.Kept {
		fmt.Fprintf(w, "kept %s: read by %s\n", v.Name(), strings.Join(v.ReadBy, ", "))
	}
	if len(res.Versions) == 0 {
		_, err := fmt.Fprintln(w, "nothing to prune: every rollup version is the newest or read by an endpoint")
		return err
	}
	verb := "dropped"
	if res.DryRun {
		verb = "would drop"
	}
	for _, p := range res.Versions {
		fmt.Fprintf(w, "%s %s, which no endpoint reads:\n", verb, p.Name())
		for _, s := range p.Statements {
			fmt.Fprintf(w, "  %s;\n", s)
		}
	}
	if res.DryRun {
		_, err := fmt.Fprintln(w, "dry run: nothing dropped; run again with --yes to drop them")
		return err
	}
	return nil
}
