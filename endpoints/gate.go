package endpoints

import (
	"context"
	"fmt"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
	"github.com/hourglass-dev/hourglass/validate"
)

// gate proves that the rollup version ra may serve endpoint ea, filling res as it goes:
//
//  1. the version holds every closed hour the endpoint serves — from the source's first hour
//     to the last closed hour, or the last opts.Window of them when narrowed on purpose —
//     read from the run log and watermark of the version's table; otherwise it refuses and
//     says what to backfill or populate;
//  2. over those hours, every metric of the version equals raw per hour and per value of the
//     dimensions the endpoint groups and filters by, and no partition is suspect; so does
//     every table the endpoint's planned read may use: the grains its bucket allows (per day,
//     per week) and its finals (per bucket and combination of filters);
//  3. when the endpoint declares its current query or tests, the endpoint's rows equal the
//     reference's on each of them (see Verify).
//
// A refusal is an error wrapping ErrRefused.
func gate(ctx context.Context, e engine.Engine, store *meta.Store, a *pipes.Artifacts, ea *pipes.EndpointArtifacts, ra *pipes.RollupArtifacts, opts SwitchOptions, res *SwitchResult) error {
	now, rollup := opts.Now, ra.Rollup.Name
	if err := CheckCurrent(ctx, e, a, ea, ra, now); err != nil {
		return err
	}
	closed := validate.ClosedEnd(ra, now)
	h, err := validate.ReadHistory(ctx, store, ra, now)
	if err != nil {
		return err
	}
	res.History = h
	serves, err := served(ctx, e, ra, closed)
	if err != nil {
		return err
	}
	need := serves
	if !serves.Empty() {
		res.Serves = &serves
	}
	if opts.Window > 0 {
		need, res.Narrowed = timerange.Range{Start: closed.Add(-opts.Window), End: closed}, true
	} else if need.Empty() {
		need = h.Covered // an empty source serves nothing: prove what the version holds
	}
	if res.Missing = missing(h, need, ra); res.Missing != "" {
		res.Validation = "refused: " + res.Missing
		return fmt.Errorf("%w: %s", ErrRefused, res.Missing)
	}
	res.Window = &need
	rep, err := validate.Run(ctx, e, a, rollup, validate.Options{
		Range: need, Now: now, Dimensions: gateDimensions(ea.Endpoint), MaxMismatches: opts.MaxMismatches, Store: store,
	})
	if err != nil {
		return fmt.Errorf("validate %s before switching %s: %w", rollup, ea.Endpoint.Name, err)
	}
	res.Reports = append(res.Reports, rep)
	res.Validation = rep.Summary()
	if res.Narrowed {
		res.Validation = fmt.Sprintf("narrowed by --window %s to %s, older hours not proven: %s", formatWindow(opts.Window), need, res.Validation)
	}
	if !rep.Exact {
		return fmt.Errorf("%w: %s", ErrRefused, rep.Summary())
	}
	// Every table the endpoint's plan may read: the grains its bucket allows, its finals.
	for _, g := range ra.Grains {
		if !pipes.GrainServes(g.Grain, ea.Endpoint.Bucket) || g.WholePeriods(need).Empty() {
			continue
		}
		grep, err := validate.Run(ctx, e, a, rollup, validate.Options{
			Range: need, Now: now, Dimensions: gateDimensions(ea.Endpoint), MaxMismatches: opts.MaxMismatches, Store: store, Grain: g.Grain,
		})
		if err != nil {
			return fmt.Errorf("validate %s before switching %s: %w", g.Table, ea.Endpoint.Name, err)
		}
		res.Reports = append(res.Reports, grep)
		res.Validation += "; " + grep.Summary()
		if !grep.Exact {
			return fmt.Errorf("%w: %s", ErrRefused, grep.Summary())
		}
	}
	if fa := ra.FinalsOf(ea.Endpoint.Name); fa != nil && !fa.WholeBuckets(need).Empty() {
		frep, err := validate.Finals(ctx, e, ra, ea.Endpoint.Name, validate.Options{Range: need, Now: now, MaxMismatches: opts.MaxMismatches, Store: store})
		if err != nil {
			return fmt.Errorf("validate %s before switching %s: %w", fa.Table, ea.Endpoint.Name, err)
		}
		res.Reports = append(res.Reports, frep)
		res.Validation += "; " + frep.Summary()
		if !frep.Exact {
			return fmt.Errorf("%w: %s", ErrRefused, frep.Summary())
		}
	}
	if ea.Endpoint.CurrentSQL == "" && len(ea.Endpoint.Tests) == 0 {
		return nil
	}
	v, err := Verify(ctx, e, store, a, ea.Endpoint.Name, VerifyOptions{Now: now, Range: need, Version: ra, MaxMismatches: opts.MaxMismatches})
	if err != nil {
		return err
	}
	res.Verification = v
	res.Validation += "; " + v.Summary()
	if !v.Exact {
		return fmt.Errorf("%w: %s", ErrRefused, v.Summary())
	}
	return nil
}

// served is the range an endpoint reading ra's source serves: from the first hour of its
// rows to closed (empty when the source has none).
func served(ctx context.Context, e engine.Engine, ra *pipes.RollupArtifacts, closed time.Time) (timerange.Range, error) {
	r, err := e.Query(ctx, ra.SourceFirstHour(), nil)
	if err != nil {
		return timerange.Range{}, fmt.Errorf("find the first hour of %s: %w", ra.Rollup.Source, err)
	}
	first, _ := r.Row()[0].(time.Time)
	if n, _ := r.Row()[1].(uint64); n == 0 || !first.Before(closed) {
		return timerange.Range{}, nil
	}
	return timerange.Range{Start: first, End: closed}, nil
}

// missing says which hours of need the version lacks and what to run, or "".
func missing(h *validate.History, need timerange.Range, ra *pipes.RollupArtifacts) string {
	name := ra.Rollup.Name
	day := func(t time.Time) string {
		return timerange.Format(timerange.PartitionStart(timerange.Partition(ra.Rollup.Partition), t))
	}
	switch {
	case h.Covered.Empty() && need.Empty():
		return fmt.Sprintf("%s, and %s has no rows to serve: load data, then run hourglass backfill %s --from <first day> --to now", h.Describe(), ra.Rollup.Source, name)
	case h.Covered.Empty():
		return fmt.Sprintf("%s: run hourglass backfill %s --from %q --to now", h.Describe(), name, day(need.Start))
	case h.Covered.Start.After(need.Start):
		return fmt.Sprintf("%s, but the endpoint serves hours from %s: run hourglass backfill %s --from %q --to %q",
			h.Describe(), timerange.Format(need.Start), name, day(need.Start), timerange.Format(h.Covered.Start))
	case h.Covered.End.Before(need.End):
		if ra.Rollup.Mode == datasources.ModeTrigger {
			return fmt.Sprintf("%s, but the last closed hour ends at %s: run hourglass backfill %s --from %q --to now",
				h.Describe(), timerange.Format(need.End), name, timerange.Format(h.Covered.End))
		}
		return fmt.Sprintf("%s, but the last closed hour ends at %s: run hourglass populate %s", h.Describe(), timerange.Format(need.End), name)
	}
	return ""
}

// gateDimensions are the dimensions an endpoint's numbers depend on: those it groups by and
// those it filters by. The gate validates per value of each, so every answer the endpoint can
// give is proven, not only the totals.
func gateDimensions(ep *datasources.Endpoint) []string {
	out := append([]string{}, ep.GroupBy...)
	for _, f := range ep.Filters {
		if !contains(out, f.Dimension) {
			out = append(out, f.Dimension)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// formatWindow writes a window the way --window takes it: 7d, 36h.
func formatWindow(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return fmt.Sprintf("%dh", d/time.Hour)
}
