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
	"github.com/hourglass-dev/hourglass/validate"
	"github.com/hourglass-dev/hourglass/versions"
)

// rollupStatus is one rollup version's line in hourglass status.
type rollupStatus struct {
	Rollup   string `json:"rollup"`
	Mode     string `json:"mode"`
	Deployed bool   `json:"deployed"`
	// Version is the version's number; Newest marks the one deploy created last (the one
	// backfill, populate, validate and switch work on).
	Version int    `json:"version,omitempty"`
	Newest  bool   `json:"newest"`
	Table   string `json:"table,omitempty"`
	// Covered are the closed hours the version holds without a gap, from its run log and
	// watermark (see validate.History); nil when it was never backfilled.
	Covered   *timerange.Range `json:"covered,omitempty"`
	Watermark time.Time        `json:"watermark,omitzero"`
	// LagSeconds is how far the watermark is behind the last closed hour; null when the
	// version was never backfilled (it holds nothing: it is not "0 s behind").
	LagSeconds *float64 `json:"lag_seconds"`
	// ReadBy are the endpoints reading this version. Populated says whether populate and the
	// scheduler keep it fresh (the newest, and every version an endpoint reads); Prunable
	// whether hourglass prune may drop it.
	ReadBy      []string   `json:"read_by"`
	Populated   bool       `json:"populated"`
	Prunable    bool       `json:"prunable"`
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
	// Note says what the version waits for (its backfill), or why it cannot be kept fresh.
	Note string `json:"note,omitempty"`
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
		Short: "Show each rollup version's coverage, watermark, lag, failures, readers and reduction, and each endpoint's state",
		Long: `status shows, per rollup version (<rollup> for version 1, <rollup>_vN after a change), the closed
hours it holds, the watermark, the lag behind the last closed hour (none for a version never
backfilled, with the backfill to run), the last run, the failed units, the endpoints that read
it and the reduction; and per endpoint what it reads. The newest version and every version an
endpoint reads are populated; an older one nobody reads is prunable (hourglass prune).

A partition that a crash may have left counted twice (a run died during its swap) is listed as
suspect with the command that redoes it, and status exits 1 until it is redone.`,
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
	for _, ra := range s.artifacts.Rollups {
		vs, err := versions.List(ctx, s.store, ra.Rollup.Name)
		if err != nil {
			return nil, err
		}
		if len(vs) == 0 {
			rep.Rollups = append(rep.Rollups, rollupStatus{Rollup: ra.Rollup.Name, Mode: string(ra.Rollup.Mode), ReadBy: []string{}})
			continue
		}
		for _, v := range vs {
			st := rollupStatus{Rollup: ra.Rollup.Name, Mode: string(ra.Rollup.Mode), Deployed: true, Version: v.Version, Newest: v.Newest,
				Table: v.Table, ReadBy: v.ReadBy, Populated: v.Kept(), Prunable: v.Prunable(), Suspect: []populate.Suspect{}}
			vra, err := v.Artifacts(s.artifacts)
			if err != nil {
				if v.Kept() && !v.Newest {
					st.Note = err.Error() // populate cannot keep it fresh: say why
				}
				// Its run log, watermark and rows are read all the same, by table.
				if vra, err = ra.Versioned(v.Table); err != nil {
					return nil, err
				}
			}
			st.Mode = string(vra.Rollup.Mode)
			if err := rollupHealth(ctx, s, vra, v, now, &st); err != nil {
				return nil, fmt.Errorf("status of %s: %w", v.Name(), err)
			}
			rep.Rollups = append(rep.Rollups, st)
		}
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

func rollupHealth(ctx context.Context, s *session, ra *pipes.RollupArtifacts, v *versions.Version, now time.Time, st *rollupStatus) error {
	sus, err := populate.Suspects(ctx, s.store, ra.Rollup, ra.Table)
	if err != nil {
		return err
	}
	st.Suspect = sus
	if len(sus) > 0 {
		st.Fix = fixCommand(ra, v, sus)
	}
	h, err := validate.ReadHistory(ctx, s.store, ra, now)
	if err != nil {
		return err
	}
	if !h.Covered.Empty() {
		st.Covered = &h.Covered
	}
	w, ok, err := s.store.Watermark(ctx, ra.Table)
	if err != nil {
		return err
	}
	if ra.Rollup.Mode == datasources.ModeTrigger { // its view keeps it from the cut-over on
		w, ok = h.Covered.End, !h.Covered.Empty()
	}
	closed := timerange.ClosedEnd(now, ra.Rollup.Delay)
	if ok {
		lag := closed.Sub(w).Seconds()
		st.Watermark, st.LagSeconds = w, &lag
	} else if v.Newest && st.Note == "" {
		b, err := versions.NeededBackfill(ctx, s.engine, s.store, ra, v.Version, now)
		if err != nil {
			return err
		}
		if b != nil {
			st.Note = "never backfilled: run " + b.Command
		}
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

// fixCommand is the command that redoes a rollup version's suspect partitions: every command
// that writes to the version does it first. For a scheduled rollup that is the next populate
// (which keeps the newest version and every version an endpoint reads); backfill and
// reconcile write only the newest; a version nothing writes to any more is pruned.
func fixCommand(ra *pipes.RollupArtifacts, v *versions.Version, sus []populate.Suspect) string {
	switch {
	case ra.Rollup.Mode == datasources.ModeScheduled && v.Kept():
		return "hourglass populate " + ra.Rollup.Name
	case v.Newest:
		return fmt.Sprintf("hourglass backfill %s --from %q --to %q", ra.Rollup.Name,
			timerange.Format(sus[0].Partition.Start), timerange.Format(sus[len(sus)-1].Partition.End))
	case v.Prunable():
		return fmt.Sprintf("hourglass prune %s --version %d --yes (no endpoint reads it)", ra.Rollup.Name, v.Version)
	}
	return fmt.Sprintf("hourglass switch %s --to rollup (the newest version) or --to raw, then hourglass prune %s --version %d --yes",
		strings.Join(v.ReadBy, ", "), ra.Rollup.Name, v.Version)
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
	several := map[string]bool{}
	for _, r := range rep.Rollups {
		several[r.Rollup] = several[r.Rollup] || r.Deployed && !r.Newest
	}
	for _, r := range rep.Rollups {
		if !r.Deployed {
			rows = append(rows, []string{r.Rollup, "", "not deployed", "", "", "", "", "", "", "", ""})
			continue
		}
		version := fmt.Sprintf("v%d", r.Version)
		if r.Newest && several[r.Rollup] {
			version += " (newest)"
		}
		covered, w, lag := "-", "never backfilled", "-"
		if r.Covered != nil {
			covered = r.Covered.String()
		}
		if r.LagSeconds != nil {
			w = timerange.Format(r.Watermark)
			lag = (time.Duration(*r.LagSeconds) * time.Second).String()
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
		readBy := strings.Join(r.ReadBy, ", ")
		switch {
		case r.Prunable:
			readBy = "nobody (prunable)"
		case readBy == "":
			readBy = "-"
		}
		rows = append(rows, []string{r.Rollup, version, r.Table, covered, w, lag, last, fmt.Sprint(r.FailedUnits), suspect, readBy, red})
	}
	if err := writeTable(g.io.Out, []string{"rollup", "version", "table", "covered", "watermark", "lag", "last run", "failed", "suspect", "read by", "reduction"}, rows); err != nil {
		return err
	}
	for _, r := range rep.Rollups {
		if r.Note != "" {
			fmt.Fprintf(g.io.Out, "%s v%d (table %s): %s\n", r.Rollup, r.Version, r.Table, r.Note)
		}
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
