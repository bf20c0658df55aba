package endpoints

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
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

// given returns the filter dimensions a call restricts: those whose parameter is bound to a
// value, a String parameter left empty restricting nothing.
func given(ep *datasources.Endpoint, bound engine.Params) []string {
	var out []string
	for _, f := range ep.Filters {
		v, ok := bound[f.Param]
		if !ok {
			continue
		}
		if s, isString := v.(string); isString && s == "" && paramType(ep.Param(f.Param)) == "String" {
			continue
		}
		out = append(out, f.Dimension)
	}
	return out
}

// planCall plans a call of ep on rollup version ra with bound parameters: the watermark of
// ra's table from store (read from the engine's metadata when store is nil), the call's range
// from start and end. It returns the plan and the parameters its statement binds.
func planCall(ctx context.Context, e engine.Engine, store *meta.Store, a *pipes.Artifacts, ra *pipes.RollupArtifacts, ep *datasources.Endpoint, bound engine.Params) (*pipes.ReadPlan, engine.Params, error) {
	w, err := watermark(ctx, e, store, a.Project.Database, ra.Table)
	if err != nil {
		return nil, nil, fmt.Errorf("plan %s: %w", ep.Name, err)
	}
	return planWith(ra, ep, bound, w)
}

// planWith plans a call of ep on rollup version ra whose watermark is w.
func planWith(ra *pipes.RollupArtifacts, ep *datasources.Endpoint, bound engine.Params, w time.Time) (*pipes.ReadPlan, engine.Params, error) {
	start, _ := bound[pipes.StartParam].(time.Time)
	end, _ := bound[pipes.EndParam].(time.Time)
	plan, err := ra.PlanRead(ep, pipes.ReadCall{Range: timerange.Range{Start: start, End: end}, Watermark: w, Given: given(ep, bound)})
	if err != nil {
		return nil, nil, err
	}
	params := maps.Clone(bound)
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
