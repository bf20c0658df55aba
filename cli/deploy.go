package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/deploy"
	"github.com/hourglass-dev/hourglass/estimate"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
	"github.com/hourglass-dev/hourglass/versions"
)

// openPlan opens the project, prints its warnings (lint, rollups that barely shrink their
// data) and plans the deploy. The caller must close the session.
func (g *globals) openPlan(ctx context.Context) (*session, *deploy.ChangePlan, error) {
	s, err := g.openSession(ctx, g.now)
	if err != nil {
		return nil, nil, err
	}
	printLint(g, s.project)
	printReductionWarnings(ctx, g, s)
	p, err := deploy.Plan(ctx, s.engine, s.store, s.artifacts)
	if err != nil {
		s.close()
		return nil, nil, err
	}
	return s, p, nil
}

// reductionSample is how much of the newest raw data plan and deploy measure each rollup's
// reduction on: enough to see the shape, cheap enough to run on every plan.
const reductionSample = 24 * time.Hour

// printReductionWarnings warns, for each rollup whose source already holds data, when the
// rollup would not be at least estimate.MinReduction times smaller than its raw rows over the
// newest reductionSample of data. Rollups whose source is missing or empty are skipped.
func printReductionWarnings(ctx context.Context, g *globals, s *session) {
	for _, ra := range s.artifacts.Rollups {
		dr, ok, err := estimate.DataRange(ctx, s.engine, s.artifacts, ra.Rollup.Name)
		if err != nil || !ok {
			continue
		}
		rg := timerange.Range{Start: dr.End.Add(-reductionSample), End: dr.End}
		if rg.Start.Before(dr.Start) {
			rg.Start = dr.Start
		}
		rep, err := estimate.Estimate(ctx, s.engine, s.artifacts, ra.Rollup.Name, rg)
		if err != nil {
			continue
		}
		if w := estimate.Warn(rep); w != "" {
			fmt.Fprintf(g.io.Err, "warning: %s (measured on %s; hourglass estimate %s shows every dimension)\n", w, rg, ra.Rollup.Name)
		}
	}
}

// printLint writes the project's lint warnings to stderr, one "warning: file:line:col: …" line
// each.
func printLint(g *globals, p *project) {
	for _, d := range datasources.Lint(p.def) {
		fmt.Fprintln(g.io.Err, "warning: "+d.String())
	}
}

func newPlanCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "plan",
		Short: "Show what deploy would change in the database",
		Long: `plan compares the compiled definitions with the live database (system.tables,
system.columns) and hourglass's metadata, and prints each change: create, unchanged, alter
(a compatible change such as an added raw column), destructive (a type change, a dropped
column, a sorting or partition key change, a changed rollup — deployed as a new version), or
skip (the server cannot run it). It writes nothing.`,
		Example: `  hourglass plan
  hourglass plan --project demo --output json
  hourglass plan --dsn clickhouse://default:@127.0.0.1:9000/default`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, p, err := g.openPlan(ctx)
			if err != nil {
				return err
			}
			defer s.close()
			if g.output == "json" {
				return writeJSON(g.io.Out, p)
			}
			return writePlan(g, p, false)
		},
	}
}

// writePlan prints a plan as a table and a summary line; withSQL adds the statements of the
// pending changes.
func writePlan(g *globals, p *deploy.ChangePlan, withSQL bool) error {
	rows := make([][]string, 0, len(p.Changes))
	for _, c := range p.Changes {
		object := c.Object
		if c.Kind == deploy.KindRollup && c.Table != "" && c.Table != c.Object {
			object += " → " + c.Table
		}
		rows = append(rows, []string{string(c.Action), string(c.Kind), object, c.Detail})
	}
	if err := writeTable(g.io.Out, []string{"action", "kind", "object", "detail"}, rows); err != nil {
		return err
	}
	if withSQL {
		for _, c := range p.Changes {
			if !c.Pending() || len(c.Statements)+len(c.OnHosts) == 0 {
				continue
			}
			fmt.Fprintf(g.io.Out, "\n-- %s %s %s\n", c.Action, c.Kind, c.Object)
			for _, st := range c.Statements {
				fmt.Fprintln(g.io.Out, st+";")
			}
			for _, hs := range c.OnHosts {
				fmt.Fprintf(g.io.Out, "-- on host %s alone:\n%s;\n", hs.Host, hs.Statement)
			}
		}
	}
	if len(p.Prunable) > 0 {
		fmt.Fprintln(g.io.Out, "\nrollup versions no endpoint reads any more (hourglass prune drops them):")
		for _, v := range p.Prunable {
			fmt.Fprintf(g.io.Out, "  %s\n", v.Name())
		}
	}
	msg := "plan for " + p.Database + " on ClickHouse " + p.Server + ": " + p.Summary()
	if p.Cluster != "" {
		msg = "plan for " + p.Database + " on cluster " + p.Cluster + " (ClickHouse " + p.Server + "): " + p.Summary()
	}
	if p.NothingToDo() {
		msg += " — nothing to do"
	} else if n := len(p.Destructive()); n > 0 {
		msg += fmt.Sprintf(" — deploy needs --allow-destructive for the %d destructive change(s)", n)
	}
	_, err := fmt.Fprintln(g.io.Out, msg)
	return err
}

func newDeployCmd(g *globals) *cobra.Command {
	var allowDestructive, dryRun, backfill bool
	var parallel int
	c := &cobra.Command{
		Use:   "deploy",
		Short: "Create or update the project's tables, rollups and endpoint views",
		Long: `deploy validates the definitions, plans (see hourglass plan) and applies the plan in
dependency order: database, metadata tables, raw datasources, rollups with their staging
tables, endpoint views (published on their raw version). It records every deployed object's
definition hash, so a second deploy with nothing changed does nothing and says so.

Destructive changes are refused — nothing is written — unless --allow-destructive: a changed
rollup is then deployed as a new version (<rollup>_v2, …) beside the old one, which keeps
serving; a raw column type change or drop is applied in place. Trigger rollups are cut over
at the next hour boundary; nothing is created with POPULATE.

A new rollup version starts never backfilled: deploy names each version it creates and the
backfill it needs (from the partition of the source's first row to now), and --backfill runs
it right away, rollup by rollup. The older version keeps serving its endpoints, and populate
keeps it fresh, until hourglass switch moves them to the new one; hourglass prune then drops
it.`,
		Example: `  hourglass deploy
  hourglass deploy --dry-run
  hourglass deploy --allow-destructive
  hourglass deploy --allow-destructive --backfill --parallel 2
  hourglass deploy --project demo --dsn chdb://demo/.hourglass/data --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, p, err := g.openPlan(ctx)
			if err != nil {
				return err
			}
			defer s.close()
			if dryRun {
				if g.output == "json" {
					if err := writeJSON(g.io.Out, p); err != nil {
						return err
					}
				} else {
					if err := writePlan(g, p, true); err != nil {
						return err
					}
					fmt.Fprintln(g.io.Out, "dry run: nothing applied")
				}
				if n := len(p.Destructive()); n > 0 && !allowDestructive {
					return fmt.Errorf("deploy would refuse %d destructive change(s): re-run with --allow-destructive", n)
				}
				return nil
			}
			if parallel < 1 || parallel > 64 {
				return fmt.Errorf("--parallel %d: use 1 to 64", parallel)
			}
			res, err := deploy.Apply(ctx, s.engine, s.store, p, deploy.ApplyOptions{AllowDestructive: allowDestructive, Now: g.now()})
			if err != nil {
				return err
			}
			needs, err := newVersionBackfills(ctx, g, s, res)
			if err != nil {
				return err
			}
			if g.output != "json" {
				if err := writeDeployResult(g, p, res, needs, backfill); err != nil {
					return err
				}
			}
			var reps []*populate.Report
			if backfill && len(needs) > 0 {
				if reps, err = runBackfills(ctx, g, s, needs, parallel); err != nil {
					return err
				}
			}
			if g.output == "json" {
				return writeJSON(g.io.Out, deployReport{Result: res, Backfills: needs, Backfilled: reps})
			}
			return nil
		},
	}
	c.Flags().BoolVar(&allowDestructive, "allow-destructive", false, "apply destructive changes (new rollup versions, raw column type changes and drops)")
	c.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and its statements without applying them")
	c.Flags().BoolVar(&backfill, "backfill", false, "backfill every rollup version the deploy creates, from its source's first day to now")
	c.Flags().IntVar(&parallel, "parallel", 1, "with --backfill: groups of units to run at once; they share the engine's threads")
	return c
}

// deployReport is deploy's JSON output: what was applied, and the backfills the new rollup
// versions need (and, with --backfill, what they did).
type deployReport struct {
	*deploy.Result
	Backfills  []*versions.Backfill `json:"backfills"`
	Backfilled []*populate.Report   `json:"backfilled,omitempty"`
}

// newVersionBackfills returns the backfill each rollup version the deploy created needs (none
// for a rollup whose source holds no closed hour yet).
func newVersionBackfills(ctx context.Context, g *globals, s *session, res *deploy.Result) ([]*versions.Backfill, error) {
	needs := []*versions.Backfill{}
	for _, c := range res.Applied {
		if c.Kind != deploy.KindRollup || (c.Action != deploy.ActionCreate && c.Action != deploy.ActionDestructive) {
			continue
		}
		ra := s.artifacts.Rollup(c.Object)
		if ra == nil {
			continue
		}
		v, err := ra.Versioned(c.Table)
		if err != nil {
			return nil, err
		}
		b, err := versions.NeededBackfill(ctx, s.engine, s.store, v, c.Version, g.now())
		if err != nil {
			return nil, err
		}
		if b != nil {
			needs = append(needs, b)
		}
	}
	return needs, nil
}

// runBackfills runs the backfills deploy --backfill was asked for, on the versions just
// deployed.
func runBackfills(ctx context.Context, g *globals, s *session, needs []*versions.Backfill, parallel int) ([]*populate.Report, error) {
	if err := s.useLiveVersions(ctx); err != nil {
		return nil, err
	}
	var reps []*populate.Report
	for _, b := range needs {
		bar := newProgress(g.io.Err, "backfill")
		runner := populate.New(s.engine, s.store, s.artifacts, populate.Options{Now: g.now, Events: bar.event})
		rep, err := runner.Backfill(ctx, b.Rollup, b.Range, populate.BackfillOptions{Parallel: parallel})
		bar.finish()
		var ie *populate.InterruptedError
		if errors.As(err, &ie) {
			return reps, fmt.Errorf("%v; resume with: hourglass backfill %s --from %q --to %q --resume", err, b.Rollup, timerange.Format(b.Range.Start), timerange.Format(b.Range.End))
		}
		if err != nil {
			return reps, fmt.Errorf("backfill %s: %w (the deploy itself is done; run the backfill again: %s)", b.Rollup, err, b.Command)
		}
		if g.output != "json" {
			if err := writeReport(g, rep); err != nil {
				return reps, err
			}
		}
		reps = append(reps, rep)
	}
	return reps, nil
}

var pastTense = map[deploy.Action]string{
	deploy.ActionCreate:      "created",
	deploy.ActionAlter:       "altered",
	deploy.ActionDestructive: "deployed",
	deploy.ActionUnchanged:   "recorded",
}

// writeDeployResult prints what a deploy did, and the backfills its new rollup versions need
// (running is set when deploy --backfill runs them next).
func writeDeployResult(g *globals, p *deploy.ChangePlan, res *deploy.Result, needs []*versions.Backfill, running bool) error {
	w := g.io.Out
	for _, c := range res.Applied {
		line := pastTense[c.Action] + " " + string(c.Kind) + " " + c.Object
		if c.Kind == deploy.KindRollup && c.Table != "" {
			line += fmt.Sprintf(" (version %d, table %s)", c.Version, c.Table)
		}
		if c.Detail != "" {
			line += ": " + c.Detail
		}
		fmt.Fprintln(w, line)
	}
	for _, c := range res.Skipped {
		fmt.Fprintf(w, "skipped %s %s: %s\n", c.Kind, c.Object, c.Detail)
	}
	if !res.Watermark.IsZero() {
		fmt.Fprintf(w, "trigger rollups cut over at %s UTC: backfill the hours before it\n", res.Watermark.UTC().Format(time.DateTime))
	}
	if res.NothingToDo {
		msg := "nothing to do: " + p.Database + " is up to date"
		if len(res.Skipped) > 0 {
			msg += fmt.Sprintf(" (%d skipped)", len(res.Skipped))
		}
		_, err := fmt.Fprintln(w, msg)
		return err
	}
	var kinds []string
	n := map[deploy.Kind]int{}
	for _, c := range res.Applied {
		if n[c.Kind] == 0 {
			kinds = append(kinds, string(c.Kind))
		}
		n[c.Kind]++
	}
	if _, err := fmt.Fprintf(w, "deployed %s: %d change(s), %d statement(s) (%s)\n", p.Database, len(res.Applied), res.Statements, strings.Join(kinds, ", ")); err != nil {
		return err
	}
	for _, b := range needs {
		what := fmt.Sprintf("new version %d of %s (table %s) starts never backfilled: it needs %s", b.Version, b.Rollup, b.Table, b.Range)
		if running {
			fmt.Fprintf(w, "%s: backfilling it now\n", what)
			continue
		}
		fmt.Fprintf(w, "%s: run %s (or deploy with --backfill)\n", what, b.Command)
	}
	return nil
}
