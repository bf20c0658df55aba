package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
)

// rollupStatus is one rollup's line in hourglass status.
type rollupStatus struct {
	Rollup    string    `json:"rollup"`
	Mode      string    `json:"mode"`
	Deployed  bool      `json:"deployed"`
	Table     string    `json:"table,omitempty"`
	Watermark time.Time `json:"watermark,omitzero"`
	// LagSeconds is how far the watermark is behind the last closed hour.
	LagSeconds  float64    `json:"lag_seconds"`
	LastRun     *meta.Unit `json:"last_run,omitempty"`
	FailedUnits int        `json:"failed_units"`
	// RawRows and RollupRows count both tables over [first rollup hour, watermark).
	RawRows    uint64  `json:"raw_rows"`
	RollupRows uint64  `json:"rollup_rows"`
	Reduction  float64 `json:"reduction"`
	// Suspect lists the partitions of the table that may be counted twice after a crash;
	// Fix is the command that redoes them.
	Suspect []populate.Suspect `json:"suspect_partitions"`
	Fix     string             `json:"fix,omitempty"`
}

type statusReport struct {
	Now       time.Time            `json:"now"`
	Rollups   []rollupStatus       `json:"rollups"`
	Endpoints []meta.EndpointState `json:"endpoints"`
}

func newStatusCmd(g *globals) *cobra.Command {
	var now clockFlag
	c := &cobra.Command{
		Use:   "status",
		Short: "Show each rollup's watermark, lag, last run, failures and reduction, and each endpoint's state",
		Long: `status shows, per rollup (the table of its deployed version), the watermark, the lag behind the
last closed hour, the last run, the failed units and the reduction, and per endpoint what it
reads. A partition that a crash may have left counted twice (a run died during its swap) is
listed as suspect with the command that redoes it, and status exits 1 until it is redone.`,
		Example: `  hourglass status
  hourglass status --output json`,
		Args: cobra.NoArgs,
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
			rep, err := collectStatus(ctx, s, clock())
			if err != nil {
				return err
			}
			if g.output == "json" {
				err = writeJSON(g.io.Out, rep)
			} else {
				err = writeStatus(g, rep)
			}
			if err != nil {
				return err
			}
			return suspectError(rep)
		},
	}
	now.add(c)
	return c
}

func collectStatus(ctx context.Context, s *session, now time.Time) (*statusReport, error) {
	rep := &statusReport{Now: now.UTC(), Rollups: []rollupStatus{}, Endpoints: []meta.EndpointState{}}
	ok, err := s.store.Exists(ctx)
	if err != nil {
		return nil, err
	}
	deps := map[string]meta.Deployment{}
	if ok {
		if deps, err = s.store.Deployments(ctx); err != nil {
			return nil, err
		}
	}
	for _, ra := range s.artifacts.Rollups {
		st := rollupStatus{Rollup: ra.Rollup.Name, Mode: string(ra.Rollup.Mode)}
		d, deployed := deps[ra.Rollup.Name]
		st.Deployed = deployed
		if !deployed {
			rep.Rollups = append(rep.Rollups, st)
			continue
		}
		st.Suspect = []populate.Suspect{}
		st.Table = d.Table
		if err := rollupHealth(ctx, s, ra, now, &st); err != nil {
			return nil, fmt.Errorf("status of %s: %w", ra.Rollup.Name, err)
		}
		rep.Rollups = append(rep.Rollups, st)
	}
	if ok {
		eps, err := s.store.Endpoints(ctx)
		if err != nil {
			return nil, err
		}
		for _, e := range s.artifacts.Endpoints {
			if st, ok := eps[e.Endpoint.Name]; ok {
				rep.Endpoints = append(rep.Endpoints, st)
			} else {
				rep.Endpoints = append(rep.Endpoints, meta.EndpointState{Endpoint: e.Endpoint.Name, Target: "not deployed"})
			}
		}
	}
	return rep, nil
}

func rollupHealth(ctx context.Context, s *session, ra *pipes.RollupArtifacts, now time.Time, st *rollupStatus) error {
	sus, err := populate.Suspects(ctx, s.store, ra.Rollup, ra.Table)
	if err != nil {
		return err
	}
	st.Suspect = sus
	if len(sus) > 0 {
		st.Fix = fixCommand(ra, sus)
	}
	w, ok, err := s.store.Watermark(ctx, ra.Table)
	if err != nil {
		return err
	}
	closed := timerange.ClosedEnd(now, ra.Rollup.Delay)
	if ok {
		st.Watermark = w
		st.LagSeconds = closed.Sub(w).Seconds()
	}
	units, err := s.store.RecentUnits(ctx, ra.Table, 200)
	if err != nil {
		return err
	}
	if len(units) > 0 {
		st.LastRun = &units[0]
	}
	latest := map[time.Time]bool{}
	for _, u := range units { // newest first: the first record of a unit is its latest state
		if _, seen := latest[u.Start]; !seen {
			failed := u.Status == meta.StatusFailed || u.Status == meta.StatusSwapFailed
			latest[u.Start] = failed
			if failed {
				st.FailedUnits++
			}
		}
	}
	if !ok {
		return nil
	}
	r, err := s.engine.Query(ctx, ra.HourBounds(ra.Table), nil)
	if err != nil {
		return err
	}
	first, _ := r.Row()[0].(time.Time)
	if first.IsZero() || !first.Before(w) {
		return nil
	}
	p := engine.Params{pipes.StartParam: first, pipes.EndParam: w}
	raw, err := s.engine.Query(ctx, ra.CountSource(), p)
	if err != nil {
		return err
	}
	rolled, err := s.engine.Query(ctx, ra.CountRows(ra.Table), p)
	if err != nil {
		return err
	}
	st.RawRows, st.RollupRows = raw.Row()[0].(uint64), rolled.Row()[0].(uint64)
	if st.RollupRows > 0 {
		st.Reduction = float64(st.RawRows) / float64(st.RollupRows)
	}
	return nil
}

// fixCommand is the command that redoes a rollup's suspect partitions: every command that
// writes to the rollup version does it first; for a scheduled rollup that is the next populate.
func fixCommand(ra *pipes.RollupArtifacts, sus []populate.Suspect) string {
	if ra.Rollup.Mode == datasources.ModeScheduled {
		return "hourglass populate " + ra.Rollup.Name
	}
	return fmt.Sprintf("hourglass backfill %s --from %q --to %q", ra.Rollup.Name,
		timerange.Format(sus[0].Partition.Start), timerange.Format(sus[len(sus)-1].Partition.End))
}

// suspectError is status's failure when partitions may be counted twice: one line naming each
// rollup, its partitions and the command to run.
func suspectError(rep *statusReport) error {
	var parts []string
	for _, r := range rep.Rollups {
		if len(r.Suspect) > 0 {
			parts = append(parts, fmt.Sprintf("%s partitions %s may be counted twice after a crash: run %s", r.Table,
				strings.Join(populate.SuspectIDs(r.Suspect), ", "), r.Fix))
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrCheckFailed, strings.Join(parts, "; "))
}

func writeStatus(g *globals, rep *statusReport) error {
	rows := [][]string{}
	for _, r := range rep.Rollups {
		if !r.Deployed {
			rows = append(rows, []string{r.Rollup, r.Mode, "not deployed", "", "", "", "", "", ""})
			continue
		}
		w, lag := "never populated", ""
		if !r.Watermark.IsZero() {
			w = timerange.Format(r.Watermark)
			lag = (time.Duration(r.LagSeconds) * time.Second).String()
		}
		last := ""
		if r.LastRun != nil {
			last = fmt.Sprintf("%s %s %s", r.LastRun.Kind, r.LastRun.Status, timerange.Format(r.LastRun.At))
		}
		red := ""
		if r.Reduction > 0 {
			red = fmt.Sprintf("%.1f× (%d → %d)", r.Reduction, r.RawRows, r.RollupRows)
		}
		suspect := "0"
		if len(r.Suspect) > 0 {
			suspect = fmt.Sprintf("%d SUSPECT", len(r.Suspect))
		}
		rows = append(rows, []string{r.Rollup, r.Mode, r.Table, w, lag, last, fmt.Sprint(r.FailedUnits), suspect, red})
	}
	if err := writeTable(g.io.Out, []string{"rollup", "mode", "table", "watermark", "lag", "last run", "failed", "suspect", "reduction"}, rows); err != nil {
		return err
	}
	for _, r := range rep.Rollups {
		if len(r.Suspect) == 0 {
			continue
		}
		fmt.Fprintf(g.io.Out, "\nSUSPECT %s (table %s): %d partition(s) may be counted twice after a crash until redone:\n", r.Rollup, r.Table, len(r.Suspect))
		for _, s := range r.Suspect {
			fmt.Fprintf(g.io.Out, "  %s %s: %s\n", s.PartitionID, s.Partition, s.Units[0].Reason)
		}
		fmt.Fprintf(g.io.Out, "redo them with: %s\n", r.Fix)
	}
	if len(rep.Endpoints) == 0 {
		return nil
	}
	fmt.Fprintln(g.io.Out)
	rows = [][]string{}
	for _, e := range rep.Endpoints {
		at := ""
		if !e.At.IsZero() {
			at = timerange.Format(e.At)
		}
		forced := ""
		if e.Forced {
			forced = "forced"
		}
		rows = append(rows, []string{e.Endpoint, e.Target, e.Table, at, e.Actor, forced})
	}
	return writeTable(g.io.Out, []string{"endpoint", "reads", "table", "since", "by", ""}, rows)
}
