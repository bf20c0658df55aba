package versions

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
)

// ErrRefused is returned (wrapped) when Prune is asked for a version it must keep: the newest,
// or one an endpoint reads. Nothing is dropped.
var ErrRefused = errors.New("prune refused")

// PruneOptions say what Prune drops.
type PruneOptions struct {
	// Rollup limits pruning to one rollup ("" for every rollup of the project).
	Rollup string
	// Version names one version of Rollup to drop (0: every prunable version). A version an
	// endpoint reads, or the newest, is refused.
	Version int
	// Yes drops; without it Prune only says what it would drop (a dry run).
	Yes bool
	// Actor is who prunes (recorded with the prune).
	Actor string
	// Now is the clock the prune is recorded at (time.Now when zero).
	Now time.Time
}

// Pruned is one version Prune dropped, or would drop.
type Pruned struct {
	*Version
	// Statements are what drops it (run, or to run).
	Statements []string `json:"statements"`
}

// PruneResult is what Prune did.
type PruneResult struct {
	// DryRun is set when nothing was dropped (PruneOptions.Yes not given).
	DryRun   bool     `json:"dry_run"`
	Versions []Pruned `json:"versions"`
	// Kept are the older versions left because an endpoint reads them.
	Kept []*Version `json:"kept"`
}

// Prune drops the tables of the rollup versions no endpoint reads any more (see
// Version.Prunable) — or, with PruneOptions.Version, of that one version — and records them
// pruned, so no command lists or populates them again. The run log and watermarks stay. It
// never drops the newest version or one an endpoint reads: asked to, it returns an error
// wrapping ErrRefused and drops nothing. Without PruneOptions.Yes it drops nothing and returns
// what it would drop.
func Prune(ctx context.Context, e engine.Engine, store *meta.Store, a *pipes.Artifacts, opts PruneOptions) (*PruneResult, error) {
	names := Names(a)
	if opts.Rollup != "" {
		if a.Rollup(opts.Rollup) == nil {
			return nil, fmt.Errorf("unknown rollup %q: the project declares %s", opts.Rollup, strings.Join(names, ", "))
		}
		names = []string{opts.Rollup}
	} else if opts.Version != 0 {
		return nil, fmt.Errorf("--version %d: name the rollup it is a version of", opts.Version)
	}
	all, err := List(ctx, store, names...)
	if err != nil {
		return nil, err
	}
	res := &PruneResult{DryRun: !opts.Yes, Versions: []Pruned{}, Kept: []*Version{}}
	var pick []*Version
	if opts.Version != 0 {
		v, err := one(all, opts.Rollup, opts.Version)
		if err != nil {
			return nil, err
		}
		pick = []*Version{v}
	} else {
		for _, v := range all {
			switch {
			case v.Prunable():
				pick = append(pick, v)
			case !v.Newest:
				res.Kept = append(res.Kept, v)
			}
		}
	}
	for _, v := range pick {
		ra := a.Rollup(v.Rollup)
		vt, err := ra.Versioned(v.Table)
		if err != nil {
			return nil, err
		}
		stmts := vt.DropVersion()
		// Staging tables a killed run left behind.
		left, err := e.Query(ctx, vt.StagingTables(), engine.Params{"db": a.Project.Database, "prefix": vt.StagingPrefix()})
		if err != nil {
			return nil, fmt.Errorf("list the staging tables of %s: %w", v.Table, err)
		}
		for _, row := range left.Rows {
			stmts = append(stmts, vt.DropTableNamed(row[0].(string)))
		}
		res.Versions = append(res.Versions, Pruned{Version: v, Statements: stmts})
	}
	if !opts.Yes || len(res.Versions) == 0 {
		return res, nil
	}
	// Read the endpoints again just before dropping: a switch may have moved one meanwhile.
	again, err := List(ctx, store, names...)
	if err != nil {
		return nil, err
	}
	for _, p := range res.Versions {
		if v, err := one(again, p.Rollup, p.Version.Version); err != nil {
			return nil, err
		} else if !v.Prunable() {
			return nil, refuse(v)
		}
	}
	for _, p := range res.Versions {
		for _, s := range p.Statements {
			if err := e.Exec(ctx, s, nil); err != nil {
				return res, fmt.Errorf("prune %s: %w", p.Name(), err)
			}
		}
		if err := store.Set(ctx, p.Table, meta.KeyPruned, fmt.Sprintf("dropped by hourglass prune (%s) at %s", opts.Actor, orNow(opts.Now).UTC().Format(time.RFC3339))); err != nil {
			return res, err
		}
	}
	return res, nil
}

// one returns version n of rollup from vs, or why Prune must not drop it.
func one(vs []*Version, rollup string, n int) (*Version, error) {
	var have []string
	for _, v := range vs {
		if v.Rollup != rollup {
			continue
		}
		if v.Version == n {
			if !v.Prunable() {
				return nil, refuse(v)
			}
			return v, nil
		}
		have = append(have, fmt.Sprint(v.Version))
	}
	if len(have) == 0 {
		return nil, fmt.Errorf("%w: %s has no deployed version %d (run hourglass deploy first); nothing dropped", ErrRefused, rollup, n)
	}
	return nil, fmt.Errorf("%w: %s has no version %d (its versions are %s; see hourglass status); nothing dropped", ErrRefused, rollup, n, strings.Join(have, ", "))
}

// refuse says why v must stay.
func refuse(v *Version) error {
	if len(v.ReadBy) > 0 {
		return fmt.Errorf("%w: %s is read by %s: switch %s to the newest version (hourglass switch ENDPOINT --to rollup) or to raw first; nothing dropped",
			ErrRefused, v.Name(), plural(len(v.ReadBy), "endpoint", "endpoints")+" "+strings.Join(v.ReadBy, ", "), plural(len(v.ReadBy), "it", "them"))
	}
	return fmt.Errorf("%w: %s is the newest version, the one backfill, populate and switch work on; nothing dropped", ErrRefused, v.Name())
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}
