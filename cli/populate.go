package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
)

// maxBackfill is the longest range one backfill accepts: longer ones are almost always a typo.
const maxBackfill = 5 * 366 * 24 * time.Hour

// clockFlag is a --now flag: a fixed clock for tests and replays.
type clockFlag struct{ value string }

func (c *clockFlag) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.value, "now", "", "fix the clock (UTC), for tests and replays: 2026-11-02T12:05:00Z")
}

// clock returns the fixed clock --now gives, or the command line's clock (g.now).
func (c *clockFlag) clock(g *globals) (func() time.Time, error) {
	if c.value == "" {
		return g.now, nil
	}
	t, err := timerange.ParseTime(c.value, g.now())
	if err != nil {
		return nil, fmt.Errorf("--now: %w", err)
	}
	return func() time.Time { return t }, nil
}

func newBackfillCmd(g *globals) *cobra.Command {
	var from, to string
	var parallel int
	var resume, dryRun bool
	var now clockFlag
	c := &cobra.Command{
		Use:   "backfill ROLLUP... --from T --to T",
		Short: "Recompute rollups over a range of history, partition by partition, exactly once",
		Long: `backfill recomputes every partition (a day by default) that [--from, --to) touches from the raw
table, and swaps each into the rollup whole: running it twice, or after a crash, leaves the same
rollup. Hours that are not closed yet are left to the hourly populate. Several rollups are
backfilled one after the other. First it redoes any partition a crashed run may have left
counted twice. Consecutive partitions are swapped in together, in groups of about 10 s of work
that keep the engine's memory bounded whatever the range. Ctrl-C stops after the groups in
progress; run the same command with --resume to skip what was finished.

--from -30d is 30 days ago floored to the hour, --to now the end of the rollup's last closed
hour, whatever the minute; absolute times must be on the hour.`,
		Example: `  hourglass backfill events_hourly --from 2026-08-24 --to 2026-11-22
  hourglass backfill events_hourly --from 2026-08-24 --to 2026-11-22 --parallel 2 --resume
  hourglass backfill events_hourly sessions_hourly --from -30d --to now
  hourglass backfill sessions_hourly --from -30d --to now --dry-run`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return fmt.Errorf("%s needs at least one rollup name (see %s --help)", cmd.CommandPath(), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			clock, err := now.clock(g)
			if err != nil {
				return err
			}
			if from == "" || to == "" {
				return fmt.Errorf("backfill needs --from and --to, e.g. --from 2026-08-24 --to 2026-11-22")
			}
			if parallel < 1 || parallel > 64 {
				return fmt.Errorf("--parallel %d: use 1 to 64", parallel)
			}
			opts := timerange.Options{Now: clock(), MaxLength: maxBackfill}
			if _, err := timerange.Parse(from, to, opts); err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := g.openLiveSession(ctx, clock)
			if err != nil {
				return err
			}
			defer s.close()
			var reports []*populate.Report
			// A rollup over a rollup after its source.
			for _, name := range populate.SourcesFirst(s.artifacts, args) {
				rg, err := rollupRange(from, to, opts, s.artifacts, name)
				if err != nil {
					return err
				}
				bar := newProgress(g.io.Err, "backfill")
				runner := populate.New(s.engine, s.store, s.artifacts, populate.Options{Now: clock, Events: bar.event})
				if dryRun {
					dr, err := runner.PlanBackfill(ctx, name, rg)
					if err != nil {
						return err
					}
					if err := writeDryRun(g, dr); err != nil {
						return err
					}
					continue
				}
				rep, err := runner.Backfill(ctx, name, rg, populate.BackfillOptions{Parallel: parallel, Resume: resume})
				bar.finish()
				resumeWith := fmt.Sprintf("hourglass backfill %s --from %q --to %q --resume", name, timerange.Format(rg.Start), timerange.Format(rg.End))
				var ie *populate.InterruptedError
				if errors.As(err, &ie) {
					return fmt.Errorf("%v; resume with: %s", err, resumeWith)
				}
				var se *populate.ShardError
				if errors.As(err, &se) {
					// Some shards are done: say what each did, then what failed.
					if g.output != "json" {
						if werr := writeReport(g, se.Report); werr != nil {
							return werr
						}
					}
					return fmt.Errorf("%v; once every shard answers, resume with: %s", err, resumeWith)
				}
				if err != nil {
					return fmt.Errorf("backfill %s: %w", name, err)
				}
				if g.output != "json" {
					if err := writeReport(g, rep); err != nil {
						return err
					}
				}
				reports = append(reports, rep)
			}
			switch {
			case g.output != "json" || dryRun:
				return nil
			case len(reports) == 1:
				return writeJSON(g.io.Out, reports[0])
			}
			return writeJSON(g.io.Out, reports)
		},
	}
	c.Flags().StringVar(&from, "from", "", "start of the range (inclusive, UTC, on the hour): 2026-11-01, \"2026-11-01 10:00\", -30d")
	c.Flags().StringVar(&to, "to", "", "end of the range (exclusive, UTC, on the hour): 2026-11-22, now")
	c.Flags().IntVar(&parallel, "parallel", 1, "groups of units to run at once; they share the engine's threads")
	c.Flags().BoolVar(&resume, "resume", false, "skip the units the latest interrupted backfill of this rollup finished")
	c.Flags().BoolVar(&dryRun, "dry-run", false, "print the units and the statements of the first one, run nothing")
	now.add(c)
	return c
}

func writeDryRun(g *globals, dr *populate.DryRun) error {
	if g.output == "json" {
		return writeJSON(g.io.Out, dr)
	}
	fmt.Fprintf(g.io.Out, "backfill %s over %s: %d unit(s)\n", dr.Rollup, dr.Range, len(dr.Units))
	if dr.Cluster != "" {
		fmt.Fprintf(g.io.Out, "each unit runs on one replica of every shard of cluster %s, on the shard's local tables\n", dr.Cluster)
	}
	rows := make([][]string, 0, len(dr.Units))
	for _, u := range dr.Units {
		rows = append(rows, []string{u.PartitionID, u.Range.String()})
	}
	if err := writeTable(g.io.Out, []string{"partition", "recomputes"}, rows); err != nil {
		return err
	}
	if len(dr.Statements) > 0 {
		fmt.Fprintln(g.io.Out, "\nstatements of the first unit:")
		for _, s := range dr.Statements {
			fmt.Fprintf(g.io.Out, "%s;\n\n", s)
		}
	}
	return nil
}

func writeReport(g *globals, rep *populate.Report) error {
	if g.output == "json" {
		return writeJSON(g.io.Out, rep)
	}
	w := "none"
	if !rep.Watermark.IsZero() {
		w = timerange.Format(rep.Watermark)
	}
	recovered := ""
	if len(rep.Recovered) > 0 {
		recovered = fmt.Sprintf("; first redid %d suspect partition(s) a crash may have doubled: %s", len(rep.Recovered), strings.Join(rep.Recovered, ", "))
	}
	name := rep.Rollup
	if rep.Version > 0 { // the rollup has several versions: say which one
		name = fmt.Sprintf("%s v%d (table %s)", rep.Rollup, rep.Version, rep.Table)
	}
	if rep.Note != "" {
		_, err := fmt.Fprintf(g.io.Out, "%s %s: %s\n", rep.Kind, name, rep.Note)
		return err
	}
	failed := ""
	if rep.Failed > 0 {
		failed = fmt.Sprintf(", %d failed", rep.Failed)
	}
	if _, err := fmt.Fprintf(g.io.Out, "%s %s %s: %d unit(s) done, %d skipped%s, %d raw rows read → %d rollup rows in %s; watermark %s%s\n",
		rep.Kind, name, rep.Range, rep.Done, rep.Skipped, failed, rep.RowsRead, rep.RowsWritten, rep.Duration.Round(time.Millisecond), w, recovered); err != nil {
		return err
	}
	return writeShards(g.io.Out, rep.Shards)
}

// writeShards prints what a run did on each shard of a cluster, nothing on one server.
func writeShards(w io.Writer, shards []populate.ShardReport) error {
	if len(shards) == 0 {
		return nil
	}
	rows := make([][]string, 0, len(shards))
	for _, sh := range shards {
		rows = append(rows, []string{sh.Shard, orText(sh.Host, "no replica answers"), fmt.Sprintf("%d/%d", sh.Done+sh.Skipped, sh.Units), fmt.Sprint(sh.Failed),
			fmt.Sprint(sh.RowsRead), fmt.Sprint(sh.RowsWritten)})
	}
	return writeTable(w, []string{"shard", "ran on", "done", "failed", "raw rows read", "rollup rows"}, rows)
}

func newPopulateCmd(g *globals) *cobra.Command {
	var now clockFlag
	c := &cobra.Command{
		Use:   "populate [ROLLUP…]",
		Short: "Run the hourly populate: recompute from watermark − lookback to the last closed hour",
		Long: `populate is what the :05 cron (or hourglass schedule) runs. For each scheduled rollup (all of them
when none is named) it recomputes the hours from the watermark minus the lookback up to the
last closed hour (an hour closes its delay after it ends) from the raw table, keeps the other
hours of their partitions as the rollup holds them, and swaps each partition in whole, catching
up every hour missed while the job was down; then it advances the watermark. First it redoes
any partition a crashed run may have left counted twice (see hourglass status). Run it as
often as you like.

After a changed rollup was deployed as a new version, every older version an endpoint still
reads is populated too (from the definition it was deployed with), before the new one, until
hourglass switch moves its endpoints; a new version never backfilled is left for its backfill
while an older one serves.`,
		Example: `  hourglass populate
  hourglass populate events_hourly --now 2026-11-22T10:05:00Z`,
		RunE: func(cmd *cobra.Command, args []string) error {
			clock, err := now.clock(g)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := g.openLiveSession(ctx, clock)
			if err != nil {
				return err
			}
			defer s.close()
			bar := newProgress(g.io.Err, "populate")
			bar.tty = false
			runner := populate.New(s.engine, s.store, s.artifacts, populate.Options{Now: clock, Events: bar.event})
			reps, err := runner.Populate(ctx, args)
			if g.output == "json" && err == nil {
				return writeJSON(g.io.Out, reps)
			}
			for _, rep := range reps {
				if werr := writeReport(g, rep); werr != nil {
					return werr
				}
			}
			if err != nil {
				return fmt.Errorf("populate: %w", err)
			}
			return nil
		},
	}
	now.add(c)
	return c
}

func newReconcileCmd(g *globals) *cobra.Command {
	var since, from, to string
	var repair bool
	var now clockFlag
	c := &cobra.Command{
		Use:   "reconcile ROLLUP (--since 30d | --from T --to T) [--repair]",
		Short: "Find partitions whose rollup drifted from the raw table, and repair them",
		Long: `reconcile compares, per partition, a fingerprint of the raw rows with the same fingerprint of
the rollup, inside the engine: every metric over the partition, and every count and sum
weighted by each row's hour and dimensions, so a value changed in place or moved between keys
shows, not only missing rows. Partitions differ when raw data arrived later than the lookback,
was back-filled or deleted, or the rollup was changed. With --repair the drifted partitions are
recomputed and checked again.

Exit code: 0 when every partition matches (after --repair: when it matches again), 1 when a
partition drifted, 2 on errors.`,
		Example: `  hourglass reconcile events_hourly --since 30d
  hourglass reconcile events_hourly --from 2026-10-01 --to 2026-11-01 --repair`,
		Args: exactArgs(1, "name the rollup to reconcile"),
		RunE: func(cmd *cobra.Command, args []string) error {
			clock, err := now.clock(g)
			if err != nil {
				return err
			}
			opts := timerange.Options{Now: clock(), MaxLength: maxBackfill}
			lo, hi := from, to
			switch {
			case since != "" && (from != "" || to != ""):
				return fmt.Errorf("use either --since or --from/--to, not both")
			case since != "":
				if _, err := timerange.ParseDuration(since); err != nil {
					return fmt.Errorf("--since: %w", err)
				}
				lo, hi = "-"+strings.TrimSpace(since), "now"
			case from != "" && to != "":
			default:
				return fmt.Errorf("reconcile needs --since 30d or --from and --to")
			}
			bad := func(err error) error {
				if since != "" {
					return fmt.Errorf("--since %s: %w", since, err)
				}
				return err
			}
			if _, err := timerange.Parse(lo, hi, opts); err != nil {
				return bad(err)
			}
			ctx := cmd.Context()
			s, err := g.openLiveSession(ctx, clock)
			if err != nil {
				return err
			}
			defer s.close()
			rg, err := rollupRange(lo, hi, opts, s.artifacts, args[0])
			if err != nil {
				return bad(err)
			}
			runner := populate.New(s.engine, s.store, s.artifacts, populate.Options{Now: clock, Events: newProgress(g.io.Err, "repair").event})
			rep, err := runner.Reconcile(ctx, args[0], rg, repair)
			var se *populate.ShardError
			if errors.As(err, &se) && rep != nil && g.output != "json" {
				// The other shards are repaired: say what each did, then what failed.
				if werr := writeReconcile(g, rep, nil, args[0], rangeFlags(since, from, to)); werr != nil {
					return werr
				}
				return fmt.Errorf("reconcile %s: %w; once every shard answers, run the same command again", args[0], err)
			}
			if err != nil {
				return fmt.Errorf("reconcile %s: %w", args[0], err)
			}
			// With --repair, check again: the exit code says whether the rollup is clean now.
			var after *populate.ReconcileReport
			if rep.Repaired != nil {
				if after, err = runner.Reconcile(ctx, args[0], rg, false); err != nil {
					return fmt.Errorf("reconcile %s after the repair: %w", args[0], err)
				}
			}
			if g.output == "json" {
				if err := writeJSON(g.io.Out, rep); err != nil {
					return err
				}
			} else if err := writeReconcile(g, rep, after, args[0], rangeFlags(since, from, to)); err != nil {
				return err
			}
			switch {
			case after != nil && len(after.Drifted) > 0:
				return fmt.Errorf("%w: %s still differs from raw in %d partition(s) after the repair", ErrCheckFailed, args[0], len(after.Drifted))
			case after == nil && len(rep.Drifted) > 0:
				return fmt.Errorf("%w: %s drifted from raw in %d partition(s)", ErrCheckFailed, args[0], len(rep.Drifted))
			}
			return nil
		},
	}
	c.Flags().StringVar(&since, "since", "", "check the last DURATION up to now: 30d, 12h")
	c.Flags().StringVar(&from, "from", "", "start of the range (UTC, on the hour)")
	c.Flags().StringVar(&to, "to", "", "end of the range (exclusive)")
	c.Flags().BoolVar(&repair, "repair", false, "recompute the partitions that drifted")
	now.add(c)
	return c
}

// writeReconcile prints what reconcile found (and repaired), one row per drifted partition.
func writeReconcile(g *globals, rep, after *populate.ReconcileReport, rollup string, flags []string) error {
	w := g.io.Out
	fmt.Fprintf(w, "reconcile %s %s: %d partition(s) checked (every metric, and counts and sums per key), %d drifted\n", rep.Rollup, rep.Range, rep.Partitions, len(rep.Drifted))
	if len(rep.Drifted) == 0 {
		return nil
	}
	rows := [][]string{}
	for _, d := range rep.Drifted {
		row := []string{d.PartitionID}
		if rep.Metric != "" {
			row = append(row, fmt.Sprint(d.RawRows), fmt.Sprint(d.RollupRows), fmt.Sprintf("%+d", int64(d.RawRows)-int64(d.RollupRows)))
		}
		rows = append(rows, append(row, strings.Join(d.Differ, ", ")))
	}
	head := []string{"partition", "raw rows", "rollup rows", "difference", "values that differ"}
	if rep.Metric == "" { // no count metric: rows are not counted
		head = []string{"partition", "values that differ"}
	}
	if err := writeTable(w, head, rows); err != nil {
		return err
	}
	if rep.Repaired == nil {
		_, err := fmt.Fprintf(w, "repair with: hourglass reconcile %s %s --repair\n", rollup, strings.Join(flags, " "))
		return err
	}
	if n := len(rep.Repaired.Shards); n > 0 { // a unit is a partition on a shard
		fmt.Fprintf(w, "repaired %d partition(s) on each of %d shards (%d of %d units)", len(rep.Drifted), n, rep.Repaired.Done, rep.Repaired.Units)
	} else {
		fmt.Fprintf(w, "repaired %d partition(s)", rep.Repaired.Done)
	}
	if after == nil { // a shard failed: the error says which, the table what each did
		fmt.Fprintln(w)
		return writeShards(w, rep.Repaired.Shards)
	}
	if _, err := fmt.Fprintf(w, "; checked again: %d drifted\n", len(after.Drifted)); err != nil {
		return err
	}
	return writeShards(w, rep.Repaired.Shards)
}

func rangeFlags(since, from, to string) []string {
	if since != "" {
		return []string{"--since", since}
	}
	return []string{"--from", fmt.Sprintf("%q", from), "--to", fmt.Sprintf("%q", to)}
}
