package endpoints

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
)

// SegmentStats is one segment of a planned read, as --explain shows it: its grain, table and
// ranges, and what reading it alone cost.
type SegmentStats struct {
	pipes.Segment
	Stats engine.Stats `json:"statistics"`
}

// watermark reads the watermark of a rollup version's table: zero when none was recorded, or
// when the project's metadata does not exist (nothing was ever populated).
func watermark(ctx context.Context, e engine.Engine, store *meta.Store, db, table string) (time.Time, error) {
	if store == nil {
		store = meta.New(e, db, nil)
	}
	w, _, err := store.Watermark(ctx, table)
	if err == nil {
		return w, nil
	}
	if ok, xerr := store.Exists(ctx); xerr == nil && !ok {
		return time.Time{}, nil
	}
	return time.Time{}, err
}

// given returns the filter dimensions a call restricts: those whose parameter it gives (by
// the call or by a default; an empty string is a value like any other).
func given(call *Call) []string {
	var out []string
	for _, f := range call.Endpoint.Filters {
		if call.Given[f.Param] {
			out = append(out, f.Dimension)
		}
	}
	return out
}

// planCall plans call on rollup version ra: the watermark of ra's table from store (read from
// the engine's metadata when store is nil). It returns the plan and the parameters its
// statement binds.
func planCall(ctx context.Context, e engine.Engine, store *meta.Store, a *pipes.Artifacts, ra *pipes.RollupArtifacts, call *Call) (*pipes.ReadPlan, engine.Params, error) {
	w, err := watermark(ctx, e, store, a.Project.Database, ra.Table)
	if err != nil {
		return nil, nil, fmt.Errorf("plan %s: %w", call.Endpoint.Name, err)
	}
	return planWith(ra, call, w)
}

// planWith plans call on rollup version ra whose watermark is w.
func planWith(ra *pipes.RollupArtifacts, call *Call, w time.Time) (*pipes.ReadPlan, engine.Params, error) {
	plan, err := ra.PlanRead(call.Endpoint, pipes.ReadCall{Range: call.Range, Watermark: w, Given: given(call)})
	if err != nil {
		return nil, nil, err
	}
	params := maps.Clone(call.Params)
	maps.Copy(params, plan.Params)
	return plan, params, nil
}

// explain runs each segment of a plan alone and returns what each read.
func explain(ctx context.Context, e engine.Engine, plan *pipes.ReadPlan, params engine.Params) ([]SegmentStats, error) {
	var out []SegmentStats
	for _, s := range plan.Segments {
		r, err := e.Query(ctx, "SELECT count() FROM (\n"+s.SQL+"\n)", params)
		if err != nil {
			return nil, fmt.Errorf("explain %s segment %s: %w", plan.Endpoint, s.Kind, err)
		}
		out = append(out, SegmentStats{Segment: s, Stats: r.Stats})
	}
	return out, nil
}
