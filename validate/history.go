package validate

import (
	"context"
	"fmt"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

// History is what a rollup version holds, read from the run log and watermark of its table:
// the hours a full-history validation and the switch gate prove.
type History struct {
	Rollup string `json:"rollup"`
	// Table is the version's table.
	Table string `json:"table"`
	// Covered are the closed hours the table holds without a gap, from the first hour of that
	// stretch to the watermark (a trigger rollup's view keeps it to the last closed hour from
	// its cut-over on). Empty when the version was never backfilled.
	Covered timerange.Range `json:"covered"`
	// First is the first hour any unit filled (before Covered.Start when there are Gaps).
	First time.Time `json:"first,omitzero"`
	// Gaps are the hours between First and Covered.Start that no unit filled.
	Gaps []timerange.Range `json:"gaps"`
	// Pending are the unit ranges a run started and never finished (see meta.Coverage).
	Pending []timerange.Range `json:"pending"`
	// Watermark is the version's watermark (zero when none).
	Watermark time.Time `json:"watermark,omitzero"`
}

// ReadHistory returns what the deployed version ra holds at now, from store.
func ReadHistory(ctx context.Context, store *meta.Store, ra *pipes.RollupArtifacts, now time.Time) (*History, error) {
	// Every unit recorded for the version's table counts: the table is the version.
	c, err := store.Coverage(ctx, ra.Table, "")
	if err != nil {
		return nil, err
	}
	h := &History{Rollup: ra.Rollup.Name, Table: ra.Table, First: c.First(), Pending: c.Pending, Gaps: []timerange.Range{}}
	end, ok := c.Watermark, c.HasWatermark
	trigger := ra.Rollup.Mode == datasources.ModeTrigger
	if trigger {
		// The cut-over of this version: each version's view was created at its own.
		vs, err := store.RollupVersions(ctx, ra.Rollup.Name)
		if err != nil {
			return nil, err
		}
		end, ok = time.Time{}, false
		for _, v := range vs {
			if v.Table == ra.Table {
				end, ok = v.Watermark, !v.Watermark.IsZero()
			}
		}
	}
	if !ok {
		return h, nil
	}
	h.Watermark = end
	h.Covered = c.Through(end)
	if h.Covered.Empty() {
		h.Covered = timerange.Range{}
		return h, nil
	}
	if closed := timerange.ClosedEnd(now, ra.Rollup.Delay); trigger && h.Covered.End.Equal(end) && closed.After(end) {
		h.Covered.End = closed // the insert-trigger view holds every hour from the cut-over on
	}
	h.Gaps = c.Gaps(h.Covered.Start)
	return h, nil
}

// Describe says in words what the version holds, for messages.
func (h *History) Describe() string {
	if h.Covered.Empty() {
		return fmt.Sprintf("%s (table %s) holds no backfilled hours", h.Rollup, h.Table)
	}
	return fmt.Sprintf("%s (table %s) holds %s (%d hours)", h.Rollup, h.Table, h.Covered, h.Covered.Hours())
}

// checkSuspect fills r.Suspect with the partitions of the compared range that a crashed unit
// may have doubled: the suspect partitions of the version's table (meta.Store.Suspect — units
// a run that is no longer alive left in doubt; a run still alive is swapping atomically for
// readers, and is not suspect).
func (r *Report) checkSuspect(ctx context.Context, store *meta.Store, ra *pipes.RollupArtifacts) error {
	if store == nil {
		return nil
	}
	if ok, err := store.Exists(ctx); err != nil || !ok {
		return err
	}
	units, err := store.Suspect(ctx, ra.Table)
	if err != nil {
		return err
	}
	p := timerange.Partition(ra.Rollup.Partition)
	seen := map[time.Time]bool{}
	for _, u := range units {
		start := timerange.PartitionStart(p, u.Start)
		part := timerange.Range{Start: start, End: timerange.PartitionEnd(p, start)}
		if !seen[start] && !part.Intersect(r.Range).Empty() {
			seen[start] = true
			r.Suspect = append(r.Suspect, part)
		}
	}
	return nil
}
