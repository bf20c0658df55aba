package httpapi

import (
	"context"
	"fmt"
	"time"

	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
)

// ProjectRunner runs a compiled project's endpoints on the version each one is switched to (as
// the metadata records it), with the artifacts of the deployed rollup versions.
type ProjectRunner struct {
	E         engine.Engine
	Store     *meta.Store
	Artifacts *pipes.Artifacts
	// Now is the clock relative parameters (-7d, now) are read with (time.Now when nil).
	Now func() time.Time
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
	r, err := endpoints.RunWith(ctx, p.E, p.Artifacts, name, params, endpoints.RunOptions{Side: endpoints.SideServed, Now: t, Store: p.Store})
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
