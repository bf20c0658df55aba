package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/hourglass-dev/hourglass/cluster"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/versions"
)

// ApplyOptions say how far Apply may go.
type ApplyOptions struct {
	// AllowDestructive lets Apply carry out destructive changes (new rollup versions, raw
	// column type changes and drops).
	AllowDestructive bool
	// Now is the clock trigger watermarks are chosen from (time.Now when zero).
	Now time.Time
	// DDLTimeout bounds how long Apply waits for an ON CLUSTER statement to finish on every
	// host (DefaultDDLTimeout when zero; ClickHouse itself waits distributed_ddl_task_timeout,
	// 180 s by default). A host that has not run it by then runs it later from its DDL queue;
	// Apply fails naming the hosts that are down, and the next plan shows what each host
	// lacks.
	DDLTimeout time.Duration
}

// DefaultDDLTimeout is ApplyOptions.DDLTimeout's default, well under ClickHouse's 180 s.
const DefaultDDLTimeout = 60 * time.Second

// Result is what Apply did.
type Result struct {
	Database string `json:"database"`
	// NothingToDo is set when the database was already up to date: nothing ran.
	NothingToDo bool `json:"nothing_to_do"`
	// Applied are the changes carried out, with the statements that ran.
	Applied []Change `json:"applied"`
	// Skipped are the changes the server cannot run, with why.
	Skipped []Change `json:"skipped,omitempty"`
	// Statements counts the statements run.
	Statements int `json:"statements"`
	// Watermark is the cut-over hour of the trigger rollups created by this deploy.
	Watermark time.Time `json:"watermark,omitzero"`
}

// ApplyError is a failure part-way through Apply: the changes before Change were applied and
// recorded; running deploy again plans and applies the rest.
type ApplyError struct {
	Change    Change
	Statement string
	Applied   []Change
	Err       error
}

func (e *ApplyError) Error() string {
	return fmt.Sprintf("deploy %s %s failed: %v (%d change(s) applied before it; fix the cause and run deploy again to apply the rest)",
		e.Change.Kind, e.Change.Object, e.Err, len(e.Applied))
}

func (e *ApplyError) Unwrap() error { return e.Err }

// Apply carries out a plan in order and records every deployed object in the metadata
// tables. Before running anything it refuses the plan — returning a *RefusedError and leaving
// the database untouched — when it holds a change that cannot be applied in place, or
// destructive changes without opts.AllowDestructive. A plan with nothing to do runs nothing.
func Apply(ctx context.Context, e engine.Engine, store *meta.Store, p *ChangePlan, opts ApplyOptions) (*Result, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	var manual, destructive []Change
	for _, c := range p.Changes {
		if c.Manual && c.Pending() {
			manual = append(manual, c)
		}
		if c.Action == ActionDestructive {
			destructive = append(destructive, c)
		}
	}
	if len(manual) > 0 {
		return nil, &RefusedError{Changes: manual, Manual: true}
	}
	if len(destructive) > 0 && !opts.AllowDestructive {
		return nil, &RefusedError{Changes: destructive}
	}
	res := &Result{Database: p.Database, Applied: []Change{}}
	for _, c := range p.Changes {
		if c.Action == ActionSkip {
			res.Skipped = append(res.Skipped, c)
		}
	}
	if p.NothingToDo() {
		res.NothingToDo = true
		return res, nil
	}
	var nodes cluster.Nodes
	if p.Cluster != "" {
		// Every host must answer before anything runs: an ON CLUSTER statement would wait for
		// a host that is down, then leave the change half-applied.
		var err error
		if nodes, err = cluster.Connect(ctx, e, p.Cluster); err != nil {
			return nil, err
		}
		defer nodes.Close()
		if opts.DDLTimeout <= 0 {
			opts.DDLTimeout = DefaultDDLTimeout
		}
	}
	// run runs a statement through the node deploy is connected to: on a cluster, waiting at
	// most DDLTimeout, and saying which hosts went down when it fails. (The setting
	// distributed_ddl_task_timeout cannot be sent instead: 18.16 misreads the Int64 settings
	// the driver sends, 3 arriving as -2.)
	run := func(exec func(ctx context.Context) error) error {
		if p.Cluster == "" {
			return exec(ctx)
		}
		deadline := time.Now().Add(opts.DDLTimeout)
		sctx, cancel := context.WithDeadline(ctx, deadline)
		defer cancel()
		err := exec(sctx)
		if err == nil {
			return nil
		}
		// The driver's read deadline may fire a moment before the context's.
		if ctx.Err() == nil && !time.Now().Before(deadline) {
			err = fmt.Errorf("not finished on every host of cluster %s within %s (the hosts that have not run it will, from their DDL queue)", p.Cluster, opts.DDLTimeout)
		}
		ns, cerr := cluster.Connect(context.WithoutCancel(ctx), e, p.Cluster)
		if cerr == nil {
			ns.Close()
		} else if cluster.IsDown(cerr) {
			return fmt.Errorf("%w; %w", err, cerr)
		}
		return err
	}
	cut := NextWatermark(opts.Now)
	for _, c := range p.Changes {
		if !c.Pending() {
			continue
		}
		if c.newCut {
			s, err := cutStatements(c, cut)
			if err != nil {
				return res, &ApplyError{Change: c, Applied: res.Applied, Err: err}
			}
			c.Statements = s
			res.Watermark = cut
		}
		if c.Kind == KindMetadata {
			if err := run(store.Ensure); err != nil {
				return res, &ApplyError{Change: c, Applied: res.Applied, Err: err}
			}
		}
		for _, s := range c.Statements {
			if err := run(func(ctx context.Context) error { return e.Exec(ctx, s, nil) }); err != nil {
				return res, &ApplyError{Change: c, Statement: s, Applied: res.Applied, Err: err}
			}
			res.Statements++
		}
		for _, hs := range c.OnHosts {
			n := nodes.Node(hs.Host)
			if n == nil {
				return res, &ApplyError{Change: c, Statement: hs.Statement, Applied: res.Applied, Err: fmt.Errorf("host %s is not a host of cluster %s", hs.Host, p.Cluster)}
			}
			if err := n.Exec(ctx, hs.Statement, nil); err != nil {
				return res, &ApplyError{Change: c, Statement: hs.Statement, Applied: res.Applied, Err: fmt.Errorf("on host %s: %w", n.Host, err)}
			}
			res.Statements++
		}
		if c.dep != nil {
			d := *c.dep
			if c.newCut && c.Kind == KindRollup {
				d.Watermark, d.Definition = cut, c.Statements[0]
			} else if c.Kind == KindRollup {
				d.Watermark = c.watermark
			}
			if err := store.RecordDeployment(ctx, d); err != nil {
				return res, &ApplyError{Change: c, Applied: res.Applied, Err: err}
			}
		}
		if c.Kind == KindRollup && c.ra != nil && (c.dep != nil || c.recordDef) {
			if err := versions.RecordDefinition(ctx, store, c.Table, c.ra.Rollup); err != nil {
				return res, &ApplyError{Change: c, Applied: res.Applied, Err: err}
			}
		}
		if c.endpoint != nil {
			if err := store.RecordEndpoint(ctx, *c.endpoint); err != nil {
				return res, &ApplyError{Change: c, Applied: res.Applied, Err: err}
			}
		}
		res.Applied = append(res.Applied, c)
	}
	return res, nil
}
