// Package endpoints publishes analytics endpoints as ClickHouse parameterised views in front of
// either their raw or their rollup version, switches them between the two — to the rollup only
// after validate proved the rollup exact over a recent window, back to raw at any time — and
// runs them, alone or both versions side by side.
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
	"strconv"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
	"github.com/hourglass-dev/hourglass/validate"
)

// Targets of an endpoint.
const (
	TargetRaw    = "raw"
	TargetRollup = "rollup"
)

// DefaultWindow is the window a switch to the rollup validates.
const DefaultWindow = 7 * 24 * time.Hour

// MinViewVersion is the first ClickHouse release with parameterised views.
var MinViewVersion = [2]int{23, 1}

// ErrRefused is returned (wrapped) when a switch to the rollup is refused because validation
// found mismatches; the SwitchResult carries the reports.
var ErrRefused = errors.New("switch refused: the rollup does not match the raw table")

// ErrUnsupported is returned (wrapped) when the server is too old for parameterised views.
var ErrUnsupported = errors.New("parameterised views are not supported by this server")

// SwitchOptions configure a switch.
type SwitchOptions struct {
	// Window is how far back from the last closed hour validation looks (DefaultWindow when 0).
	Window time.Duration
	// Force skips validation; the switch is recorded as forced.
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
	// Rollup is the rollup the endpoint reads; Table the table it reads after the switch.
	Rollup string `json:"rollup"`
	Table  string `json:"table"`
	// Window is the range validated (switches to the rollup without --force).
	Window *timerange.Range `json:"window,omitempty"`
	// Reports are the validation reports, one per rollup the endpoint reads.
	Reports []*validate.Report `json:"reports,omitempty"`
	// Forced is true when validation was skipped; Skipped says what was skipped.
	Forced  bool   `json:"forced"`
	Skipped string `json:"skipped,omitempty"`
	// Switched is true when the view was replaced; Refused when validation stopped it.
	Switched bool `json:"switched"`
	Refused  bool `json:"refused"`
	// Validation is the summary recorded in the metadata table.
	Validation string `json:"validation"`
	// Statement is the CREATE OR REPLACE VIEW that was run (or would have been).
	Statement string        `json:"statement"`
	Actor     string        `json:"actor"`
	Elapsed   time.Duration `json:"elapsed_ns"`
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

// Switch points endpoint at its rollup or raw version. To the rollup, it first validates the
// rollup the endpoint reads over [last closed hour − Window, last closed hour) and refuses
// (ErrRefused, with the reports in the result) on any mismatch, unless Force. To raw it is the
// rollback and never validates. The view is replaced with one CREATE OR REPLACE VIEW and the new
// state is recorded in store.
func Switch(ctx context.Context, e engine.Engine, store *meta.Store, a *pipes.Artifacts, endpoint, to string, opts SwitchOptions) (*SwitchResult, error) {
	started := time.Now()
	ea, err := lookup(a, endpoint)
	if err != nil {
		return nil, err
	}
	if to != TargetRaw && to != TargetRollup {
		return nil, fmt.Errorf("--to %q: use rollup or raw", to)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	window := opts.Window
	if window == 0 {
		window = DefaultWindow
	}
	if window < time.Hour || window%time.Hour != 0 {
		return nil, fmt.Errorf("--window %s: use whole hours or days, at least 1h (e.g. 7d)", window)
	}
	actor := opts.Actor
	if actor == "" {
		actor = DefaultActor()
	}
	if err := CheckViews(ctx, e); err != nil {
		return nil, err
	}
	ra := a.Rollup(ea.Endpoint.Rollup)
	if ra == nil {
		return nil, fmt.Errorf("endpoint %s reads rollup %q, which the project does not declare", endpoint, ea.Endpoint.Rollup)
	}
	res := &SwitchResult{Endpoint: endpoint, To: to, Rollup: ra.Rollup.Name, Actor: actor, Forced: opts.Force && to == TargetRollup}
	if store != nil {
		states, err := store.Endpoints(ctx)
		if err != nil {
			return nil, err
		}
		res.Previous = states[endpoint].Target
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
		end := timerange.ClosedEnd(now, ra.Rollup.Delay)
		rg := timerange.Range{Start: end.Add(-window), End: end}
		res.Window = &rg
		if opts.Force {
			res.Skipped = fmt.Sprintf("validation of %s against %s over %s (--force)", ra.Rollup.Name, ra.Rollup.Source, rg)
			res.Validation = "skipped (--force): " + res.Skipped
		} else {
			rep, err := validate.Run(ctx, e, a, ra.Rollup.Name, validate.Options{Range: rg, Now: now, MaxMismatches: opts.MaxMismatches})
			if err != nil {
				return nil, fmt.Errorf("validate %s before switching %s: %w", ra.Rollup.Name, endpoint, err)
			}
			res.Reports = append(res.Reports, rep)
			res.Validation = rep.Summary()
			if !rep.Exact {
				res.Refused = true
				res.Elapsed = time.Since(started)
				return res, fmt.Errorf("%w: %s (the endpoint keeps reading %s)", ErrRefused, rep.Summary(), orRaw(res.Previous))
			}
		}
	}
	if err := e.Exec(ctx, res.Statement, nil); err != nil {
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

func orRaw(t string) string {
	if t == "" {
		return "its current version"
	}
	return "its " + t + " version"
}

// Sides an endpoint runs on.
const (
	// SideView runs the published view, whichever version it currently reads.
	SideView = ""
	// SideRaw and SideRollup run the raw and rollup versions' SQL directly.
	SideRaw    = string(pipes.SideRaw)
	SideRollup = string(pipes.SideRollup)
)

// RunResult is one run of an endpoint.
type RunResult struct {
	Endpoint string `json:"endpoint"`
	// Side is "view", "raw" or "rollup".
	Side    string          `json:"side"`
	Columns []engine.Column `json:"columns"`
	Rows    [][]any         `json:"rows"`
	// Stats are what the engine reports it read, and its own elapsed time.
	Stats engine.Stats `json:"statistics"`
	// Wall is the round trip as measured by hourglass.
	Wall time.Duration `json:"wall_ns"`
}

// Run runs endpoint with params (values as text; start and end are required and read like
// --from/--to; filter parameters left out take their default, "" meaning no filter). side is
// SideView for the published view, or SideRaw/SideRollup for one version's SQL.
func Run(ctx context.Context, e engine.Engine, a *pipes.Artifacts, endpoint string, params map[string]string, side string) (*RunResult, error) {
	ea, err := lookup(a, endpoint)
	if err != nil {
		return nil, err
	}
	bound, err := Bind(ea.Endpoint, params, time.Now())
	if err != nil {
		return nil, err
	}
	var q string
	out := &RunResult{Endpoint: endpoint, Side: side}
	switch side {
	case SideView, "view":
		out.Side = "view"
		if err := CheckViews(ctx, e); err != nil {
			return nil, err
		}
		q = viewQuery(a.Project.Database, ea.Endpoint)
	case SideRaw:
		q = ea.RawSQL
	case SideRollup:
		ra := a.Rollup(ea.Endpoint.Rollup)
		if ra == nil {
			return nil, fmt.Errorf("endpoint %s reads rollup %q, which the project does not declare", endpoint, ea.Endpoint.Rollup)
		}
		if q, err = ra.EndpointRollupSQL(ea.Endpoint); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("side %q: use raw, rollup or the view", side)
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
	return out, nil
}

// viewQuery selects from the parameterised view, passing every parameter through as a bound
// query parameter.
func viewQuery(db string, ep *datasources.Endpoint) string {
	var args []string
	for _, p := range ep.Params {
		args = append(args, p.Name+" = {"+p.Name+":"+paramType(p)+"}")
	}
	return "SELECT * FROM " + qualified(db, ep.Name) + "(" + strings.Join(args, ", ") + ")"
}

func paramType(p *datasources.Param) string {
	if p.Type == "" {
		return "String"
	}
	return p.Type
}

// Bind turns text parameters into engine parameters for endpoint ep: start and end read as
// times (relative forms like -7d are taken from now), the others passed as text for the engine
// to convert to their declared type; missing filter parameters take their default. Unknown
// parameters are an error naming the known ones.
func Bind(ep *datasources.Endpoint, params map[string]string, now time.Time) (engine.Params, error) {
	out := engine.Params{}
	known := map[string]*datasources.Param{}
	var names []string
	for _, p := range ep.Params {
		known[p.Name] = p
		names = append(names, p.Name)
	}
	for k := range params {
		if known[k] == nil {
			return nil, fmt.Errorf("endpoint %s has no parameter %q: it takes %s", ep.Name, k, strings.Join(names, ", "))
		}
	}
	for _, p := range ep.Params {
		v, given := params[p.Name]
		if !given {
			v = p.Default
		}
		typ := paramType(p)
		isTime := strings.HasPrefix(typ, "DateTime") || typ == "Date"
		if isTime {
			if strings.TrimSpace(v) == "" {
				return nil, fmt.Errorf("endpoint %s needs --param %s=TIME (e.g. %s=2026-11-01 or %s=-7d)", ep.Name, p.Name, p.Name, p.Name)
			}
			t, err := timerange.ParseTime(v, now)
			if err != nil {
				return nil, fmt.Errorf("--param %s: %w", p.Name, err)
			}
			if tv := strings.TrimSpace(v); tv == "now" || strings.HasPrefix(tv, "-") {
				t = t.Truncate(time.Hour) // relative times mean whole hours, like every range
			}
			out[p.Name] = t
			continue
		}
		out[p.Name] = v
	}
	return out, nil
}

// Comparison is an endpoint run on its raw and rollup versions with the same parameters.
type Comparison struct {
	Endpoint string            `json:"endpoint"`
	Params   map[string]string `json:"params"`
	Raw      *RunResult        `json:"raw"`
	Rollup   *RunResult        `json:"rollup"`
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

// Compare runs endpoint's raw and rollup versions with the same params and compares their rows,
// floats within validate.DefaultTolerance relative.
func Compare(ctx context.Context, e engine.Engine, a *pipes.Artifacts, endpoint string, params map[string]string) (*Comparison, error) {
	ea, err := lookup(a, endpoint)
	if err != nil {
		return nil, err
	}
	bound, err := Bind(ea.Endpoint, params, time.Now())
	if err != nil {
		return nil, err
	}
	for _, name := range []string{pipes.StartParam, pipes.EndParam} {
		if t, ok := bound[name].(time.Time); ok && !t.Equal(t.Truncate(time.Hour)) {
			return nil, fmt.Errorf("--param %s=%s is not on the hour: rollups hold whole hours, so only hour-aligned ranges can compare (e.g. %s=%s)",
				name, timerange.Format(t), name, timerange.Format(t.Truncate(time.Hour)))
		}
	}
	raw, err := Run(ctx, e, a, endpoint, params, SideRaw)
	if err != nil {
		return nil, err
	}
	rolled, err := Run(ctx, e, a, endpoint, params, SideRollup)
	if err != nil {
		return nil, err
	}
	c := &Comparison{Endpoint: endpoint, Params: params, Raw: raw, Rollup: rolled, Tolerance: validate.DefaultTolerance}
	if c.Params == nil {
		c.Params = map[string]string{}
	}
	c.Difference = RowsDiff(raw.Rows, rolled.Rows, c.Tolerance)
	c.Equal = c.Difference == ""
	if !c.Equal && sameRowsAnyOrder(raw.Rows, rolled.Rows, c.Tolerance) {
		c.Equal, c.OrderDiffers, c.Difference = true, true, ""
	}
	if rolled.Stats.RowsRead > 0 {
		c.RowsReadReduction = float64(raw.Stats.RowsRead) / float64(rolled.Stats.RowsRead)
	}
	if rolled.Stats.BytesRead > 0 {
		c.BytesReadReduction = float64(raw.Stats.BytesRead) / float64(rolled.Stats.BytesRead)
	}
	return c, nil
}
