package httpapi

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

// ProjectRunner runs a compiled project's endpoints on the version each one is switched to (as
// the metadata records it), with the artifacts of the deployed rollup versions.
type ProjectRunner struct {
	E         engine.Engine
	Store     *meta.Store
	Artifacts *pipes.Artifacts
	// Now is the clock relative parameters (-7d, now) are read with (time.Now when nil).
	Now func() time.Time
	// Cache, when set, keeps answers about closed hours of rollup-served endpoints (see
	// Cache); nil runs every call whole.
	Cache *Cache
	// Reuse is how long what the metadata says about an endpoint — the version it serves and
	// that version's watermark — is reused between calls (0: DefaultReuse; negative: never).
	// Reading it costs two queries per call. A watermark read earlier is never wrong (the hours
	// after it are read from raw rows, and the cache keeps less); a switch is seen Reuse later
	// at most.
	Reuse time.Duration

	mu   sync.Mutex
	seen map[string]servedAt
}

// DefaultReuse is ProjectRunner.Reuse when unset.
const DefaultReuse = time.Second

type servedAt struct {
	s  *endpoints.Served
	at time.Time
}

// resolve returns what the metadata says about endpoint, reused for Reuse.
func (p *ProjectRunner) resolve(ctx context.Context, name string) (*endpoints.Served, error) {
	reuse := p.Reuse
	if reuse == 0 {
		reuse = DefaultReuse
	}
	p.mu.Lock()
	c, ok := p.seen[name]
	p.mu.Unlock()
	if ok && reuse > 0 && time.Since(c.at) < reuse {
		return c.s, nil
	}
	s, err := endpoints.Resolve(ctx, p.E, p.Store, p.Artifacts, name)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.seen == nil {
		p.seen = map[string]servedAt{}
	}
	p.seen[name] = servedAt{s: s, at: time.Now()}
	p.mu.Unlock()
	return s, nil
}

// Endpoints lists the project's endpoints.
func (p *ProjectRunner) Endpoints() []string {
	var names []string
	for _, ea := range p.Artifacts.Endpoints {
		names = append(names, ea.Endpoint.Name)
	}
	return names
}

// served is what the metadata says about an endpoint: whether it serves its rollup, the
// version table it reads, and that table's watermark (zero: never populated).
type served struct {
	rollup    bool
	table     string
	watermark time.Time
	s         *endpoints.Served
}

func (p *ProjectRunner) served(ctx context.Context, name string) (*served, error) {
	s, err := p.resolve(ctx, name)
	if err != nil {
		return nil, err
	}
	return &served{rollup: s.Target == endpoints.TargetRollup, table: s.Table, watermark: s.Watermark, s: s}, nil
}

// Run runs one endpoint on its served version, through the cache when there is one.
func (p *ProjectRunner) Run(ctx context.Context, name string, params map[string]string) (*Result, error) {
	ea := p.Artifacts.Endpoint(name)
	if ea == nil {
		return nil, fmt.Errorf("unknown endpoint %q", name)
	}
	ra := p.Artifacts.Rollup(ea.Endpoint.Rollup)
	if ra == nil {
		return nil, fmt.Errorf("endpoint %s reads rollup %q, which the project does not have", name, ea.Endpoint.Rollup)
	}
	t := now(p.Now)
	call, err := endpoints.Bind(ea.Endpoint, params, t, ra.Rollup.Delay)
	if err != nil {
		return nil, &ParamError{Err: err}
	}
	sv, err := p.served(ctx, name)
	if err != nil {
		return nil, err
	}
	if !sv.rollup {
		return p.run(ctx, name, params, endpoints.SideRaw, sv, t, CacheOff)
	}
	if p.Cache == nil || ra.Rollup.Mode != datasources.ModeScheduled {
		// A trigger rollup's view writes it on every insert, without a unit in the run log.
		return p.run(ctx, name, params, endpoints.SideRollup, sv, t, CacheOff)
	}
	return p.cached(ctx, ea.Endpoint, ra.Rollup, call, sv, params, t)
}

// run runs one side of an endpoint whole: raw, or the planned read of the rollup version the
// endpoint serves (grains, the hourly rollup, and the hours after its watermark from raw).
func (p *ProjectRunner) run(ctx context.Context, name string, params map[string]string, side string, sv *served, t time.Time, cache string) (*Result, error) {
	r, err := endpoints.RunWith(ctx, p.E, p.Artifacts, name, params, endpoints.RunOptions{Side: side, Now: t, Store: p.Store, Served: sv.s})
	if err != nil {
		return nil, err
	}
	return &Result{Columns: r.Columns, Rows: r.Rows, Stats: r.Stats, Cache: cache}, nil
}

// cached answers a rollup-served call through p.Cache (see Cache for the rules).
func (p *ProjectRunner) cached(ctx context.Context, ep *datasources.Endpoint, r *datasources.Rollup, call *endpoints.Call, sv *served, params map[string]string, t time.Time) (*Result, error) {
	from, to := ep.From, ep.To
	if from == "" {
		from, to = pipes.StartParam, pipes.EndParam
	}
	fromType := "DateTime"
	for _, pr := range ep.Params {
		if pr.Name == from && pr.Type != "" {
			fromType = pr.Type
		}
	}
	shape := shapeOf(ep, fromType)
	c := p.Cache
	if !shape.series {
		if sv.watermark.IsZero() || call.Range.End.After(sv.watermark) {
			return p.run(ctx, ep.Name, params, endpoints.SideRollup, sv, t, CacheOff)
		}
		key := cacheKey(ep.Name, sv.table, params, from, to, &call.Range)
		ch, err := p.changes(ctx, key, sv.table)
		if err != nil {
			return nil, err
		}
		if e := c.lookup(key, ch, time.Hour, false); e != nil {
			return &Result{Columns: e.columns, Rows: e.rows, Cache: CacheHit}, nil
		}
		res, err := p.run(ctx, ep.Name, params, endpoints.SideRollup, sv, t, CacheMiss)
		if err != nil {
			return nil, err
		}
		c.store(key, &cacheEntry{seen: ch, cover: call.Range, columns: res.Columns, rows: res.Rows})
		return res, nil
	}

	key := cacheKey(ep.Name, sv.table, params, from, to, nil)
	ch, err := p.changes(ctx, key, sv.table)
	if err != nil {
		return nil, err
	}
	// The kept rows answer [Start, qstart); the engine is asked for [qstart, End).
	qstart, state := call.Range.Start, CacheMiss
	var kept [][]any
	var prev *cacheEntry
	if e := c.lookup(key, ch, shape.step, true); e != nil && !e.cover.Start.After(call.Range.Start) && call.Range.Start.Before(e.cover.End) {
		upto := floor(minTime(e.cover.End, call.Range.End), shape.rangeStep)
		if upto.After(call.Range.Start) {
			kept, _ = rowsIn(e.rows, e.columns, e.bucket, timerange.Range{Start: call.Range.Start, End: upto})
			qstart, prev = upto, e
		}
	}
	if !qstart.Before(call.Range.End) {
		return &Result{Columns: prev.columns, Rows: kept, Cache: CacheHit}, nil
	}
	ask := params
	if qstart.After(call.Range.Start) {
		state = CachePartial
		ask = make(map[string]string, len(params)+1)
		for k, v := range params {
			ask[k] = v
		}
		ask[from] = timerange.Format(qstart)
		if fromType == "Date" {
			ask[from] = qstart.Format(time.DateOnly)
		}
	}
	fresh, err := p.run(ctx, ep.Name, ask, endpoints.SideRollup, sv, t, state)
	if err != nil {
		return nil, err
	}
	res := fresh
	if prev != nil {
		rows := make([][]any, 0, len(kept)+len(fresh.Rows))
		res = &Result{Columns: fresh.Columns, Rows: append(append(rows, kept...), fresh.Rows...), Stats: fresh.Stats, Cache: state}
	}
	// Keep the closed buckets: the rows kept before qstart and the fresh ones up to the
	// boundary.
	boundary := minTime(closedBoundary(sv.watermark, r.Lookback, shape.step), call.Range.End)
	keep := timerange.Range{Start: call.Range.Start, End: boundary}
	var before [][]any
	if prev != nil {
		if !boundary.After(prev.cover.End) {
			return res, nil // what is kept already reaches as far
		}
		keep.Start = prev.cover.Start
		before, _ = rowsIn(prev.rows, prev.columns, prev.bucket, timerange.Range{Start: prev.cover.Start, End: qstart})
	}
	if !keep.Start.Before(keep.End) {
		return res, nil
	}
	after, ok := rowsIn(fresh.Rows, fresh.Columns, shape.bucket, timerange.Range{Start: qstart, End: boundary})
	if !ok {
		return res, nil
	}
	rows := make([][]any, 0, len(before)+len(after))
	c.store(key, &cacheEntry{seen: ch, cover: keep, columns: fresh.Columns, rows: append(append(rows, before...), after...), bucket: shape.bucket})
	return res, nil
}

// changes reads what the run log of table recorded since the answer kept under key was read
// (everything, when none is kept): it is read before any data, so a unit recorded while the
// data is read is seen by the next call.
func (p *ProjectRunner) changes(ctx context.Context, key, table string) (meta.Changes, error) {
	ch, err := p.Store.ChangesSince(ctx, table, p.Cache.seen(key))
	if err != nil {
		return meta.Changes{}, fmt.Errorf("cache: %w", err)
	}
	return ch, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func now(clock func() time.Time) time.Time {
	if clock == nil {
		return time.Now()
	}
	return clock()
}
