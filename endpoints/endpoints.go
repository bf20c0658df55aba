// Package endpoints publishes analytics endpoints as ClickHouse parameterised views in front of
// either their raw or their rollup version, switches them between the two — to the rollup only
// through the gate, back to raw at any time — and runs them, alone or both versions side by
// side.
//
// The gate proves a rollup version over the whole history the endpoint serves: the version
// must hold every closed hour from the source's first hour on (read from the run log and
// watermark of its table), equal raw over all of them per value of every dimension the
// endpoint groups or filters by, and — when the endpoint carries the query it replaces
// (current_sql) or tests — return the same rows as that query on each of them (Verify).
// --window narrows it on purpose, and the switch says so in the endpoint's history.
//
// A switch is one statement, CREATE OR REPLACE VIEW, so readers see either the old or the new
// version, never a missing view. Every switch is recorded with its actor, validation result and
// whether validation was forced (package meta), which is what status and the history show.
package endpoints

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
	"github.com/hourglass-dev/hourglass/validate"
	"github.com/hourglass-dev/hourglass/versions"
)

// Targets of an endpoint.
const (
	TargetRaw    = "raw"
	TargetRollup = "rollup"
)

// MinViewVersion is the first ClickHouse release with parameterised views.
var MinViewVersion = [2]int{23, 1}

// ErrRefused is returned (wrapped) when a switch to the rollup is refused: the rollup version
// does not hold the hours the endpoint serves, or validation found a difference; the
// SwitchResult says which.
var ErrRefused = errors.New("switch refused")

// ErrUnsupported is returned (wrapped) when the server is too old for parameterised views.
var ErrUnsupported = errors.New("parameterised views are not supported by this server")

// SwitchOptions configure a switch.
type SwitchOptions struct {
	// Window narrows the gate on purpose to the last Window of closed hours (0: the whole
	// history the endpoint serves). A narrowed switch says so in the endpoint's history.
	Window time.Duration
	// Force skips the gate; the switch is recorded as forced.
	Force bool
	// Actor is who switches (user@host when empty).
	Actor string
	// Now is the clock (time.Now when zero).
	Now time.Time
	// MaxMismatches is how many mismatches each report lists (see validate.Options).
	MaxMismatches int
}

// SwitchResult is what a switch did or why it did not.
type SwitchResult struct {
	Endpoint string `json:"endpoint"`
	// To is the target asked for; Previous the recorded target before ("" when none).
	To       string `json:"to"`
	Previous string `json:"previous,omitempty"`
	// PreviousTable is the table the endpoint read before (a rollup version's, or raw's).
	PreviousTable string `json:"previous_table,omitempty"`
	// Rollup is the rollup the endpoint reads; Table the table it reads after the switch.
	Rollup string `json:"rollup"`
	Table  string `json:"table"`
	// History is what the rollup version holds (switches to the rollup).
	History *validate.History `json:"history,omitempty"`
	// Serves is the range the endpoint serves on raw: from the source's first hour to the last
	// closed hour (zero when the source is empty).
	Serves *timerange.Range `json:"serves,omitempty"`
	// Window is the range the gate proved: the whole of Serves, or the last --window of it
	// when Narrowed.
	Window   *timerange.Range `json:"window,omitempty"`
	Narrowed bool             `json:"narrowed,omitempty"`
	// Missing says which hours the version lacks and what to run, when that refused the switch.
	Missing string `json:"missing,omitempty"`
	// Reports are the validation reports of the rollup against raw.
	Reports []*validate.Report `json:"reports,omitempty"`
	// Verification compares the endpoint with its current query (or its raw version) on its
	// test cases, when it declares a current query or tests.
	Verification *Verification `json:"verification,omitempty"`
	// Forced is true when validation was skipped; Skipped says what was skipped.
	Forced  bool   `json:"forced"`
	Skipped string `json:"skipped,omitempty"`
	// Switched is true when the view was replaced; Refused when the gate stopped it.
	Switched bool `json:"switched"`
	Refused  bool `json:"refused"`
	// Validation is the summary recorded in the metadata table.
	Validation string `json:"validation"`
	// Statement is the CREATE OR REPLACE VIEW that was run (or would have been).
	Statement string `json:"statement"`
	// NoView says why no view was replaced: the server has no parameterised views, so the
	// switch is recorded only, and the endpoint is served on the recorded version by
	// hourglass serve (HTTP) and hourglass endpoint run. Empty when the view was replaced.
	NoView  string        `json:"no_view,omitempty"`
	Actor   string        `json:"actor"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// DefaultActor is user@host of the running process.
func DefaultActor() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return name + "@" + host
}

// CheckViews returns an error wrapping ErrUnsupported, naming the version needed, when the
// engine's ClickHouse is older than MinViewVersion.
func CheckViews(ctx context.Context, e engine.Engine) error {
	info, err := e.Info(ctx)
	if err != nil {
		return err
	}
	major, minor, ok := parseVersion(info.Version)
	if !ok {
		return nil // unknown format: let the server decide
	}
	if major < MinViewVersion[0] || major == MinViewVersion[0] && minor < MinViewVersion[1] {
		return fmt.Errorf("%w: endpoints are parameterised views, which need ClickHouse %d.%d or newer; this %s engine runs %s",
			ErrUnsupported, MinViewVersion[0], MinViewVersion[1], info.Kind, info.Version)
	}
	return nil
}

func parseVersion(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(strings.TrimSpace(v), ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	var err1, err2 error
	major, err1 = strconv.Atoi(parts[0])
	minor, err2 = strconv.Atoi(parts[1])
	return major, minor, err1 == nil && err2 == nil
}

// lookupRollup returns the compiled rollup an endpoint reads.
func lookupRollup(a *pipes.Artifacts, ea *pipes.EndpointArtifacts) (*pipes.RollupArtifacts, error) {
	ra := a.Rollup(ea.Endpoint.Rollup)
	if ra == nil {
		return nil, fmt.Errorf("endpoint %s reads rollup %q, which the project does not declare", ea.Endpoint.Name, ea.Endpoint.Rollup)
	}
	return ra, nil
}

func lookup(a *pipes.Artifacts, name string) (*pipes.EndpointArtifacts, error) {
	ea := a.Endpoint(name)
	if ea == nil {
		var names []string
		for _, e := range a.Endpoints {
			names = append(names, e.Endpoint.Name)
		}
		return nil, fmt.Errorf("unknown endpoint %q: the project has %s", name, strings.Join(names, ", "))
	}
	return ea, nil
}

// Switch points endpoint at its rollup or raw version. To the rollup it first runs the gate
// (see gate) and refuses (ErrRefused, the reasons in the result) unless Force. To raw it is
// the rollback and never validates. The view is replaced with one CREATE OR REPLACE VIEW and
// the new state is recorded in store.
func Switch(ctx context.Context, e engine.Engine, store *meta.Store, a *pipes.Artifacts, endpoint, to string, opts SwitchOptions) (*SwitchResult, error) {
	started := time.Now()
	ea, err := lookup(a, endpoint)
	if err != nil {
		return nil, err
	}
	if to != TargetRaw && to != TargetRollup {
		return nil, fmt.Errorf("--to %q: use rollup or raw", to)
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Window != 0 && (opts.Window < time.Hour || opts.Window%time.Hour != 0) {
		return nil, fmt.Errorf("--window %s: use whole hours or days, at least 1h (e.g. 7d)", opts.Window)
	}
	actor := opts.Actor
	if actor == "" {
		actor = DefaultActor()
	}
	// Without parameterised views (ClickHouse < 23.1) there is no view to replace: the switch
	// is gated and recorded as usual, and the recorded version is what hourglass serves.
	noView := ""
	if err := CheckViews(ctx, e); errors.Is(err, ErrUnsupported) {
		noView = err.Error()
	} else if err != nil {
		return nil, err
	}
	ra, err := lookupRollup(a, ea)
	if err != nil {
		return nil, err
	}
	res := &SwitchResult{Endpoint: endpoint, To: to, Rollup: ra.Rollup.Name, Actor: actor, Forced: opts.Force && to == TargetRollup}
	if store != nil {
		states, err := store.Endpoints(ctx)
		if err != nil {
			return nil, err
		}
		res.Previous, res.PreviousTable = states[endpoint].Target, states[endpoint].Table
	}
	switch to {
	case TargetRaw:
		res.Table, res.Statement = ra.Rollup.Source, ea.RawView
		res.Validation = "not needed (rollback to raw)"
		res.Forced = false
	case TargetRollup:
		view, err := ra.EndpointRollupView(ea.Endpoint)
		if err != nil {
			return nil, err
		}
		res.Table, res.Statement = ra.Table, view
		if opts.Force {
			res.Skipped = fmt.Sprintf("validation of %s (table %s) against %s: the gate did not run (--force)", ra.Rollup.Name, ra.Table, ra.Rollup.Source)
			res.Validation = "skipped (--force): " + res.Skipped
		} else {
			if store == nil {
				return nil, fmt.Errorf("switch %s to the rollup: the gate reads the rollup's history from hourglass's metadata, and there is none: run hourglass deploy", endpoint)
			}
			if err := gate(ctx, e, store, a, ea, ra, opts, res); err != nil {
				res.Elapsed = time.Since(started)
				if errors.Is(err, ErrRefused) {
					res.Refused = true
					return res, fmt.Errorf("%w (%s keeps reading %s)", err, endpoint, res.Reads())
				}
				return nil, err
			}
		}
	}
	if noView != "" && store == nil {
		return nil, fmt.Errorf("switch %s: %v, and without hourglass's metadata there is nowhere to record the switch: run hourglass deploy", endpoint, noView)
	}
	if noView != "" {
		res.NoView = noView
	} else if err := e.Exec(ctx, res.Statement, nil); err != nil {
		return nil, fmt.Errorf("switch %s to %s: %w", endpoint, to, err)
	}
	res.Switched = true
	if store != nil {
		if err := store.RecordEndpoint(ctx, meta.EndpointState{
			Endpoint: endpoint, Target: to, Table: res.Table, Actor: actor, Validation: res.Validation, Forced: res.Forced,
		}); err != nil {
			return res, fmt.Errorf("%s now reads its %s version, but recording the switch failed: %w", endpoint, to, err)
		}
	}
	res.Elapsed = time.Since(started)
	return res, nil
}

// Reads says what the endpoint reads when the switch did not happen: "its rollup version,
// table events_hourly", "its raw version, table events", or "its current version".
func (r *SwitchResult) Reads() string {
	switch {
	case r.Previous == "":
		return "its current version"
	case r.PreviousTable == "":
		return "its " + r.Previous + " version"
	}
	return "its " + r.Previous + " version, table " + r.PreviousTable
}

// Sides an endpoint runs on.
const (
	// SideView runs the published view, whichever version it currently reads.
	SideView = ""
	// SideRaw runs the raw version's SQL; SideRollup the planned read of the rollup version
	// (see pipes.PlanRead): grains, the hourly rollup and the raw tail after its watermark.
	SideRaw    = string(pipes.SideRaw)
	SideRollup = string(pipes.SideRollup)
	// SideServed runs the version the endpoint is switched to (as the metadata records it):
	// the planned read of its rollup version, or raw when it serves raw or was never switched.
	SideServed = "served"
)

// RunResult is one run of an endpoint.
type RunResult struct {
	Endpoint string `json:"endpoint"`
	// Side is "view", "raw" or "rollup" (what a served run ran).
	Side    string          `json:"side"`
	Columns []engine.Column `json:"columns"`
	Rows    [][]any         `json:"rows"`
	// Stats are what the engine reports it read, and its own elapsed time.
	Stats engine.Stats `json:"statistics"`
	// Wall is the round trip as measured by hourglass: for a rollup run, reading the
	// watermark, planning and the query.
	Wall time.Duration `json:"wall_ns"`
	// Table is the rollup version's table a rollup run read.
	Table string `json:"table,omitempty"`
	// Plan is a rollup run's planned read; Segments, with RunOptions.Explain, what each of its
	// segments read alone.
	Plan     *pipes.ReadPlan `json:"plan,omitempty"`
	Segments []SegmentStats  `json:"segments,omitempty"`
}

// RunOptions configure RunWith.
type RunOptions struct {
	// Side is SideView, SideRaw, SideRollup or SideServed.
	Side string
	// Now is the clock (time.Now when zero).
	Now time.Time
	// Store is hourglass's metadata: the version an endpoint serves and its watermark are read
	// from it (nil: the metadata in the engine's project database). A rollup run reads the
	// version the endpoint serves, or the deployed one while it serves raw.
	Store *meta.Store
	// Explain runs each segment of a rollup run's plan alone too (RunResult.Segments).
	Explain bool
	// Served is what the metadata says about the endpoint, when the caller read it already
	// (see Resolve); nil reads it.
	Served *Served
}

// Run runs endpoint with params (values as text; start and end are required and read like
// --from/--to, relative ones from now; filter parameters left out take their default, ""
// meaning no filter). side is SideView for the published view, SideRaw/SideRollup for one
// version, SideServed for the version the endpoint serves. now is the clock (time.Now when
// zero).
func Run(ctx context.Context, e engine.Engine, a *pipes.Artifacts, endpoint string, params map[string]string, side string, now time.Time) (*RunResult, error) {
	return RunWith(ctx, e, a, endpoint, params, RunOptions{Side: side, Now: now})
}

// RunWith is Run with options.
func RunWith(ctx context.Context, e engine.Engine, a *pipes.Artifacts, endpoint string, params map[string]string, opts RunOptions) (*RunResult, error) {
	started := time.Now()
	ea, err := lookup(a, endpoint)
	if err != nil {
		return nil, err
	}
	ra, err := lookupRollup(a, ea)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	call, err := Bind(ea.Endpoint, params, now, ra.Rollup.Delay)
	if err != nil {
		return nil, err
	}
	side := opts.Side
	var w *time.Time
	if side == SideServed || side == SideRollup {
		sv := opts.Served
		if sv == nil {
			if sv, err = Resolve(ctx, e, opts.Store, a, endpoint); err != nil {
				return nil, err
			}
		}
		if side == SideServed {
			side = SideRaw
			if sv.Target == TargetRollup {
				side = SideRollup
			}
		}
		if side == SideRollup && sv.Table != ra.Table {
			store := opts.Store
			if store == nil {
				store = meta.New(e, a.Project.Database, nil)
			}
			if ra, err = servedVersion(ctx, store, a, ra, sv.Table); err != nil {
				return nil, fmt.Errorf("endpoint %s serves %s: %w", endpoint, sv.Table, err)
			}
		}
		w = &sv.Watermark
	}
	out, err := run(ctx, e, opts.Store, a, ea, ra, call, side, opts.Explain, w)
	if err != nil {
		return nil, err
	}
	out.Wall = time.Since(started)
	return out, nil
}

// Served is what a served read of an endpoint needs from hourglass's metadata: the version it
// is switched to, the rollup version its rollup side reads, and that version's watermark.
// Resolve reads it with two queries; a server may keep it a moment (ServedCache): a watermark
// read earlier is never wrong, only older — more hours are read from raw rows.
type Served struct {
	// Target is what the endpoint serves: TargetRaw, TargetRollup, or "" when never switched.
	Target string `json:"target"`
	// Table is the rollup version's table: the one the endpoint was switched to, else the
	// deployed one; Watermark its watermark (zero: none, every hour is read from raw rows).
	Table     string    `json:"table"`
	Watermark time.Time `json:"watermark,omitzero"`
}

// Resolve reads what a served read of endpoint needs from store (nil: the metadata in the
// engine's project database; none at all: an endpoint never switched, without watermark).
func Resolve(ctx context.Context, e engine.Engine, store *meta.Store, a *pipes.Artifacts, endpoint string) (*Served, error) {
	ea, err := lookup(a, endpoint)
	if err != nil {
		return nil, err
	}
	ra, err := lookupRollup(a, ea)
	if err != nil {
		return nil, err
	}
	st, err := servedState(ctx, e, store, a, endpoint)
	if err != nil {
		return nil, err
	}
	sv := &Served{Target: st.Target, Table: ra.Table}
	if st.Target == TargetRollup && st.Table != "" {
		sv.Table = st.Table
	}
	if sv.Watermark, err = watermark(ctx, e, store, a.Project.Database, sv.Table); err != nil {
		return nil, err
	}
	return sv, nil
}

// servedState returns the recorded state of an endpoint (zero when never switched or without
// metadata).
func servedState(ctx context.Context, e engine.Engine, store *meta.Store, a *pipes.Artifacts, endpoint string) (meta.EndpointState, error) {
	if store == nil {
		store = meta.New(e, a.Project.Database, nil)
	}
	ok, err := store.Exists(ctx)
	if err != nil || !ok {
		return meta.EndpointState{}, err
	}
	states, err := store.Endpoints(ctx)
	if err != nil {
		return meta.EndpointState{}, err
	}
	return states[endpoint], nil
}

// run runs one side of an endpoint with bound parameters; ra is the rollup version the
// rollup side reads, through its planned read.
//
// w is the version's watermark when the caller knows it (nil: read from store).
func run(ctx context.Context, e engine.Engine, store *meta.Store, a *pipes.Artifacts, ea *pipes.EndpointArtifacts, ra *pipes.RollupArtifacts, call *Call, side string, explainIt bool, w *time.Time) (*RunResult, error) {
	endpoint := ea.Endpoint.Name
	bound := call.Params
	var q string
	out := &RunResult{Endpoint: endpoint, Side: side}
	switch side {
	case SideView, "view":
		out.Side = "view"
		if err := CheckViews(ctx, e); err != nil {
			return nil, err
		}
		q = viewQuery(a.Project.Database, ea.Endpoint, ea.RawSQL)
	case SideRaw:
		q = ea.RawSQL
	case SideRollup:
		var plan *pipes.ReadPlan
		var params engine.Params
		var err error
		if w != nil {
			plan, params, err = planWith(ra, call, *w)
		} else {
			plan, params, err = planCall(ctx, e, store, a, ra, call)
		}
		if err != nil {
			return nil, err
		}
		q, bound, out.Plan, out.Table = plan.SQL, params, plan, ra.Table
	default:
		return nil, fmt.Errorf("side %q: use raw, rollup, served or the view", side)
	}
	started := time.Now()
	r, err := e.Query(ctx, q, bound)
	if err != nil {
		if side == SideView || side == "view" {
			return nil, fmt.Errorf("run endpoint %s: %w (is it deployed? hourglass switch %s --to raw publishes it)", endpoint, err, endpoint)
		}
		return nil, fmt.Errorf("run endpoint %s (%s): %w", endpoint, side, err)
	}
	out.Wall = time.Since(started)
	out.Columns, out.Rows, out.Stats = r.Columns, r.Rows, r.Stats
	if out.Rows == nil {
		out.Rows = [][]any{}
	}
	if explainIt && out.Plan != nil {
		if out.Segments, err = explain(ctx, e, out.Plan, bound); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Sketches returns, by column index, the sketch rule of the uniq_combined columns of a result
// of an endpoint over rollup ra (see pipes.Sketch).
func Sketches(ra *pipes.RollupArtifacts, cols []engine.Column) map[int]*pipes.Sketch {
	out := map[int]*pipes.Sketch{}
	for i, c := range cols {
		if m := ra.Rollup.Metric(c.Name); m != nil {
			if sk := pipes.SketchOf(m); sk != nil {
				out[i] = sk
			}
		}
	}
	return out
}

// SketchedDerived returns, by column index, the uniq_combined columns (by index) each derived
// metric column of a result of an endpoint over rollup ra is computed from (see
// pipes.DiffValue.SketchInputs).
func SketchedDerived(ra *pipes.RollupArtifacts, cols []engine.Column) map[int][]int {
	idx := map[string]int{}
	for i, c := range cols {
		idx[c.Name] = i
	}
	out := map[int][]int{}
	for i, c := range cols {
		v, ok := ra.MetricValue(c.Name)
		if !ok {
			continue
		}
		for _, in := range v.SketchInputs {
			if j, ok := idx[in]; ok {
				out[i] = append(out[i], j)
			}
		}
	}
	return out
}

// AcceptSketched returns a copy of want in which, in each row where a uniq_combined column
// differs from got's as its sketch's rule allows, the derived columns computed from it take
// got's values: computed from a count at the sketch's set size, they may differ with it (see
// pipes.Sketch). Rows are matched by position.
func AcceptSketched(want, got [][]any, sketches map[int]*pipes.Sketch, derived map[int][]int) [][]any {
	if len(derived) == 0 || len(want) != len(got) {
		return want
	}
	out := make([][]any, len(want))
	for r, row := range want {
		out[r] = row
		copied := false
		for col, inputs := range derived {
			for _, in := range inputs {
				a, ok1 := row[in].(uint64)
				b, ok2 := got[r][in].(uint64)
				if !ok1 || !ok2 || a == b || !sketches[in].Equal(a, b) || col >= len(got[r]) {
					continue
				}
				if !copied {
					out[r], copied = append([]any{}, row...), true
				}
				out[r][col] = got[r][col]
			}
		}
	}
	return out
}

// viewQuery selects from the parameterised view, passing every parameter its statement
// takes (sql, either version: both take the same) through as a bound query parameter.
func viewQuery(db string, ep *datasources.Endpoint, sql string) string {
	var args []string
	seen := map[string]bool{}
	for _, m := range placeholderRe.FindAllStringSubmatch(sql, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			args = append(args, m[1]+" = {"+m[1]+":"+m[2]+"}")
		}
	}
	return "SELECT * FROM " + qualified(db, ep.Name) + "(" + strings.Join(args, ", ") + ")"
}

// placeholderRe matches a query parameter placeholder, {name:Type}.
var placeholderRe = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*):([^{}]+)\}`)

func paramType(p *datasources.Param) string {
	if p.Type == "" {
		return "String"
	}
	return p.Type
}

// Comparison is an endpoint run on its raw version and on the rollup version it serves (or
// would serve) with the same parameters.
type Comparison struct {
	Endpoint string            `json:"endpoint"`
	Params   map[string]string `json:"params"`
	// Serving is what the endpoint serves now ("raw", "rollup", or "" when never switched);
	// Table the rollup version's table compared: the one it serves, or the deployed version
	// when it serves raw.
	Serving string `json:"serving"`
	Table   string `json:"table"`
	// Range is the range compared: the parameters' start and end, the end clipped to the last
	// closed hour; Note says when it was clipped.
	Range timerange.Range `json:"range"`
	Note  string          `json:"note,omitempty"`
	Raw   *RunResult      `json:"raw"`
	// Rollup is the rollup version's result.
	Rollup *RunResult `json:"rollup"`
	// Equal is true when both versions return the same rows (floats within Tolerance).
	Equal bool `json:"equal"`
	// Tolerance is the relative tolerance applied to float values.
	Tolerance float64 `json:"tolerance"`
	// Difference describes the differences when not Equal (a go-cmp diff, -raw +rollup).
	Difference string `json:"difference,omitempty"`
	// OrderDiffers is true when both return the same rows but tied rows come in another order.
	OrderDiffers bool `json:"order_differs,omitempty"`
	// RowsReadReduction is raw rows read / rollup rows read (0 when the rollup read nothing).
	RowsReadReduction  float64 `json:"rows_read_reduction"`
	BytesReadReduction float64 `json:"bytes_read_reduction"`
}

// CompareOptions configure Compare.
type CompareOptions struct {
	// Store is hourglass's metadata: with it, the rollup side reads the version the endpoint
	// serves (its recorded table). Nil: the artifacts' (deployed) version.
	Store *meta.Store
	// Now is the clock (time.Now when zero): it reads relative times and decides which hours
	// are closed.
	Now time.Time
	// Explain runs each segment of the rollup side's plan alone too.
	Explain bool
}

// Compare runs endpoint's raw version and the rollup version it serves — its planned read,
// the way it is served (see pipes.PlanRead) — with the same params, over closed hours only (an end in an hour not closed yet is clipped to the last closed
// hour: the rollup cannot hold it yet), and compares their rows, floats within
// validate.DefaultTolerance relative.
func Compare(ctx context.Context, e engine.Engine, a *pipes.Artifacts, endpoint string, params map[string]string, opts CompareOptions) (*Comparison, error) {
	ea, err := lookup(a, endpoint)
	if err != nil {
		return nil, err
	}
	ra, err := lookupRollup(a, ea)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	c := &Comparison{Endpoint: endpoint, Params: map[string]string{}, Tolerance: validate.DefaultTolerance, Table: ra.Table}
	if opts.Store != nil {
		if ok, err := opts.Store.Exists(ctx); err != nil {
			return nil, err
		} else if ok {
			states, err := opts.Store.Endpoints(ctx)
			if err != nil {
				return nil, err
			}
			st := states[endpoint]
			c.Serving = st.Target
			if st.Target == TargetRollup && st.Table != "" && st.Table != ra.Table {
				if ra, err = servedVersion(ctx, opts.Store, a, ra, st.Table); err != nil {
					return nil, fmt.Errorf("endpoint %s serves %s: %w", endpoint, st.Table, err)
				}
				c.Table = ra.Table
			}
		}
	}
	call, err := Bind(ea.Endpoint, params, now, ra.Rollup.Delay)
	if err != nil {
		return nil, err
	}
	bound := call.Params
	for _, name := range []string{pipes.StartParam, pipes.EndParam} {
		if t, ok := bound[name].(time.Time); ok && !t.Equal(t.Truncate(time.Hour)) {
			return nil, fmt.Errorf("--param %s=%s is not on the hour: rollups hold whole hours, so only hour-aligned ranges can compare (e.g. %s=%s)",
				name, timerange.Format(t), name, timerange.Format(t.Truncate(time.Hour)))
		}
	}
	start, _ := bound[pipes.StartParam].(time.Time)
	end, _ := bound[pipes.EndParam].(time.Time)
	if closed := validate.ClosedEnd(ra, now); end.After(closed) {
		c.Note = fmt.Sprintf("end %s is in hours not closed yet (now %s, delay %s): compared up to %s", timerange.Format(end), timerange.Format(now), ra.Rollup.Delay, timerange.Format(closed))
		end = closed
		bound[pipes.EndParam] = end
		call.Range.End = end
	}
	if !start.Before(end) {
		return nil, fmt.Errorf("nothing to compare: start %s is not before the end of the last closed hour, %s", timerange.Format(start), timerange.Format(end))
	}
	c.Range = timerange.Range{Start: start, End: end}
	for k, v := range params {
		c.Params[k] = v
	}
	c.Params[pipes.StartParam], c.Params[pipes.EndParam] = timerange.Format(start), timerange.Format(end)
	if c.Raw, err = run(ctx, e, opts.Store, a, ea, ra, call, SideRaw, false, nil); err != nil {
		return nil, err
	}
	if c.Rollup, err = run(ctx, e, opts.Store, a, ea, ra, call, SideRollup, opts.Explain, nil); err != nil {
		return nil, err
	}
	sketches := Sketches(ra, c.Rollup.Columns)
	want := AcceptSketched(c.Raw.Rows, c.Rollup.Rows, sketches, SketchedDerived(ra, c.Rollup.Columns))
	c.Difference = RowsDiff(want, c.Rollup.Rows, c.Tolerance, sketches)
	c.Equal = c.Difference == ""
	if !c.Equal && sameRowsAnyOrder(c.Raw.Rows, c.Rollup.Rows, c.Tolerance, sketches) {
		c.Equal, c.OrderDiffers, c.Difference = true, true, ""
	}
	if c.Rollup.Stats.RowsRead > 0 {
		c.RowsReadReduction = float64(c.Raw.Stats.RowsRead) / float64(c.Rollup.Stats.RowsRead)
	}
	if c.Rollup.Stats.BytesRead > 0 {
		c.BytesReadReduction = float64(c.Raw.Stats.BytesRead) / float64(c.Rollup.Stats.BytesRead)
	}
	return c, nil
}

// servedVersion returns the compiled version of rollup ra whose table an endpoint reads: from
// the definition deploy recorded for it when the project's YAML has moved on (its states may
// not read as the new definition's do), else the project's definition on that table.
func servedVersion(ctx context.Context, store *meta.Store, a *pipes.Artifacts, ra *pipes.RollupArtifacts, table string) (*pipes.RollupArtifacts, error) {
	vs, err := versions.List(ctx, store, ra.Rollup.Name)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		if v.Table == table {
			return v.Artifacts(a)
		}
	}
	return ra.Versioned(table)
}
