package httpapi

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
)

// ProjectRunner runs a compiled project's endpoints on the version each one is switched to (as
// the metadata records it), with the artifacts of the deployed rollup versions. A rollup
// version is read through its plan (grains, hours, and the hours after its watermark from raw
// rows).
type ProjectRunner struct {
	E         engine.Engine
	Store     *meta.Store
	Artifacts *pipes.Artifacts
	// Now is the clock relative parameters (-7d, now) are read with (time.Now when nil).
	Now func() time.Time
	// Reuse is how long what the metadata says about an endpoint — the version it serves and
	// that version's watermark — is reused between calls (0: DefaultReuse; negative: never).
	// Reading it costs two queries per call. A watermark read earlier is never wrong (the hours
	// after it are read from raw rows); a switch is seen Reuse later at most.
	Reuse time.Duration

	mu     sync.Mutex
	served map[string]servedAt
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
	c, ok := p.served[name]
	p.mu.Unlock()
	if ok && reuse > 0 && time.Since(c.at) < reuse {
		return c.s, nil
	}
	s, err := endpoints.Resolve(ctx, p.E, p.Store, p.Artifacts, name)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.served == nil {
		p.served = map[string]servedAt{}
	}
	p.served[name] = servedAt{s: s, at: time.Now()}
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

// Run runs one endpoint on its served version.
func (p *ProjectRunner) Run(ctx context.Context, name string, params map[string]string) (*Result, error) {
	ea := p.Artifacts.Endpoint(name)
	if ea == nil {
		return nil, fmt.Errorf("unknown endpoint %q", name)
	}
	t := now(p.Now)
	var delay time.Duration
	if ra := p.Artifacts.Rollup(ea.Endpoint.Rollup); ra != nil {
		delay = ra.Rollup.Delay
	}
	if _, err := endpoints.Bind(ea.Endpoint, params, t, delay); err != nil {
		return nil, &ParamError{Err: err}
	}
	// The served version: the planned read of the rollup version it is switched to (grains,
	// the hourly rollup, and the hours after its watermark from raw), or raw.
	served, err := p.resolve(ctx, name)
	if err != nil {
		return nil, err
	}
	r, err := endpoints.RunWith(ctx, p.E, p.Artifacts, name, params, endpoints.RunOptions{Side: endpoints.SideServed, Now: t, Store: p.Store, Served: served})
	if err != nil {
		return nil, err
	}
	return &Result{Columns: r.Columns, Rows: r.Rows, Stats: r.Stats}, nil
}

func now(clock func() time.Time) time.Time {
	if clock == nil {
		return time.Now()
	}
	return clock()
}
