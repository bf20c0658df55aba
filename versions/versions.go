// Package versions makes a rollup's versions first-class. A changed rollup is deployed as a
// new version in a table of its own ("<rollup>_vN") beside the old ones (package deploy);
// this package says, for each version, what it is and who depends on it:
//
//   - the newest version is the one deploy created last: backfill, populate, validate and the
//     switch gate work on it under the rollup's name; it starts never backfilled;
//   - an older version stays as long as an endpoint reads it (its recorded table), and is kept
//     fresh by populate and the scheduler from the definition deploy recorded for it
//     (meta.KeyDefinition), since the project's YAML has moved on;
//   - an older version no endpoint reads is prunable: Prune drops its tables, never a version
//     an endpoint reads, never the newest.
package versions

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

// Version is one version of a rollup that was not pruned.
type Version struct {
	Rollup  string `json:"rollup"`
	Version int    `json:"version"`
	// Table is where the version's data lives, and what its runtime records are keyed by.
	Table string `json:"table"`
	// Newest is the version deploy created last.
	Newest bool `json:"newest"`
	// ReadBy are the endpoints switched to this version (recorded reading its table).
	ReadBy []string `json:"read_by"`
	// Deployment is the latest deployment record of the version's table.
	Deployment meta.Deployment `json:"-"`
	// definition is the recorded definition (JSON of datasources.Rollup), "" when none.
	definition string
}

// Name names the version in messages: "events_hourly version 2 (table events_hourly_v2)".
func (v *Version) Name() string {
	return fmt.Sprintf("%s version %d (table %s)", v.Rollup, v.Version, v.Table)
}

// HasDefinition reports whether deploy recorded the definition the version was deployed with.
func (v *Version) HasDefinition() bool { return v.definition != "" }

// Kept reports whether the version must be kept fresh: it is the newest, or an endpoint reads
// it.
func (v *Version) Kept() bool { return v.Newest || len(v.ReadBy) > 0 }

// Prunable reports whether Prune may drop the version: an older one no endpoint reads.
func (v *Version) Prunable() bool { return !v.Kept() }

// List returns the versions of each named rollup that were not pruned, rollup by rollup in
// the order given, oldest version first, with the endpoints that read each. A rollup never
// deployed has none.
func List(ctx context.Context, store *meta.Store, rollups ...string) ([]*Version, error) {
	ok, err := store.Exists(ctx)
	if err != nil || !ok {
		return nil, err
	}
	states, err := store.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	readers := map[string][]string{}
	for _, st := range states {
		if st.Target == string(pipes.SideRollup) && st.Table != "" {
			readers[st.Table] = append(readers[st.Table], st.Endpoint)
		}
	}
	var out []*Version
	for _, name := range rollups {
		recs, err := store.RollupVersions(ctx, name)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			if rec.Pruned != "" {
				continue
			}
			v := &Version{Rollup: name, Version: max(rec.Version, 1), Table: rec.Table, Newest: rec.Newest,
				ReadBy: readers[rec.Table], Deployment: rec.Deployment, definition: rec.Definition}
			if v.ReadBy == nil {
				v.ReadBy = []string{}
			}
			slices.Sort(v.ReadBy)
			out = append(out, v)
		}
	}
	return out, nil
}

// Names returns the names of the rollups of a compiled project, in declaration order.
func Names(a *pipes.Artifacts) []string {
	names := make([]string, len(a.Rollups))
	for i, ra := range a.Rollups {
		names[i] = ra.Rollup.Name
	}
	return names
}

// Artifacts returns the compiled statements of the version, reading and writing its table:
// from the project's definition when it is the one the version was deployed with (same
// hash), else from the definition deploy recorded for the version. It fails, saying what to
// do, when neither gives the version's hash: its data could not be recomputed as it is.
func (v *Version) Artifacts(a *pipes.Artifacts) (*pipes.RollupArtifacts, error) {
	if ra := a.Rollup(v.Rollup); ra != nil && ra.Hash == v.Deployment.Hash {
		return ra.Versioned(v.Table)
	}
	readers := "its endpoints"
	if len(v.ReadBy) > 0 {
		readers = strings.Join(v.ReadBy, ", ")
	}
	if v.definition == "" {
		return nil, fmt.Errorf("%s: its definition was not recorded (it was deployed before hourglass kept definitions), so it cannot be recomputed: backfill the newest version and switch %s to it, or to raw", v.Name(), readers)
	}
	var r datasources.Rollup
	if err := json.Unmarshal([]byte(v.definition), &r); err != nil {
		return nil, fmt.Errorf("%s: its recorded definition does not read: %w", v.Name(), err)
	}
	ra, err := a.CompileVersion(&r, v.Table)
	if err != nil {
		return nil, fmt.Errorf("%s no longer compiles against the project (%w): switch %s to the newest version, or to raw", v.Name(), err, readers)
	}
	if ra.Hash != v.Deployment.Hash {
		return nil, fmt.Errorf("%s: this hourglass compiles its recorded definition differently from the deployed one (hash %.12s, deployed %.12s): switch %s to the newest version, or to raw",
			v.Name(), ra.Hash, v.Deployment.Hash, readers)
	}
	return ra, nil
}

// RecordDefinition records the definition a rollup version was deployed with, under its
// table: what Artifacts compiles the version from once the project's YAML has changed.
func RecordDefinition(ctx context.Context, store *meta.Store, table string, r *datasources.Rollup) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("record the definition of %s: %w", table, err)
	}
	return store.Set(ctx, table, meta.KeyDefinition, string(b))
}

// Backfill is the backfill a version needs before an endpoint can read it.
type Backfill struct {
	Rollup  string `json:"rollup"`
	Version int    `json:"version"`
	Table   string `json:"table"`
	// Range is what to backfill: from the start of the partition holding the source's first
	// row to the last closed hour.
	Range timerange.Range `json:"range"`
	// Command is the hourglass command that runs it.
	Command string `json:"command"`
}

// NeededBackfill returns the backfill the version ra needs, when it was never backfilled (no
// unit of its table ever finished), to hold every hour an endpoint reading its source
// serves; nil when it was backfilled or its source holds no closed hour yet.
func NeededBackfill(ctx context.Context, e engine.Engine, store *meta.Store, ra *pipes.RollupArtifacts, version int, now time.Time) (*Backfill, error) {
	if c, err := store.Coverage(ctx, ra.Table, ""); err != nil || len(c.Done) > 0 {
		return nil, err
	}
	r, err := e.Query(ctx, ra.SourceFirstHour(), nil)
	if err != nil {
		return nil, fmt.Errorf("find the first hour of %s: %w", ra.Rollup.Source, err)
	}
	first, _ := r.Row()[0].(time.Time)
	closed := timerange.ClosedEnd(now, ra.Rollup.Delay)
	if n, _ := r.Row()[1].(uint64); n == 0 || !first.Before(closed) {
		return nil, nil
	}
	from := timerange.PartitionStart(timerange.Partition(ra.Rollup.Partition), first)
	return &Backfill{Rollup: ra.Rollup.Name, Version: version, Table: ra.Table, Range: timerange.Range{Start: from, End: closed},
		Command: fmt.Sprintf("hourglass backfill %s --from %q --to now", ra.Rollup.Name, timerange.Format(from))}, nil
}
