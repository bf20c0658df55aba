// Package generate fills the default project's raw events and sessions tables with realistic,
// deterministic synthetic web-analytics data, entirely inside the engine: every row comes from
// an INSERT … SELECT over numbers_mt(), each value a hash of the row number and the seed, so
// nothing travels row by row through Go and the same seed always gives the same tables.
//
// Shapes: Zipf-like pages, landing pages, sources, utm campaigns, countries and cities; a
// daily and weekly traffic curve with a slow growth trend; sessions of 1–32 events with a
// long-tailed duration (some under 3 s, some exactly 3 s, some crossing hour and day
// boundaries); returning visitors whose user id and tenant come back from an earlier session;
// and a small share of late events.
//
// Late events: the events table has no ingestion time, so "late" is modelled by insertion
// order. Late events (Options.LatePercent of them, drawn by hash) are left out of the regular
// inserts and written by one last INSERT after everything else. Their timestamps are spread
// over the whole range, so they matter only when a populate runs between the two: a rollup
// built before the last INSERT misses them, which is what reconcile and the lookback window
// are for.
package generate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/ident"
)

// Defaults applied to zero Options fields.
const (
	DefaultEvents      = 10_000_000
	DefaultDays        = 90
	DefaultTenants     = 3
	DefaultLatePercent = 0.5
	// DefaultChunkEvents is how many event numbers one INSERT covers.
	DefaultChunkEvents = 4 << 20
)

// Table names the generator fills.
const (
	EventsTable   = "events"
	SessionsTable = "sessions"
)

// ErrNotDeployed is returned (wrapped) when the raw tables do not exist yet.
var ErrNotDeployed = errors.New("run hourglass deploy first")

// Options say what to generate. Zero fields take the defaults.
type Options struct {
	// Events is the exact number of events (default 10 M).
	Events int64
	// Days is how many days the data covers, ending at End (default 90).
	Days int
	// Tenants is the number of workspaces (default 3); campaigns are max(6, 2×Tenants).
	Tenants int
	// Seed selects the data set: the same seed gives identical tables.
	Seed uint64
	// End is the exclusive, hour-aligned end of the data: rows cover [End-Days, End).
	// Zero means the current hour (time.Now truncated to the hour).
	End time.Time
	// LatePercent is the share of events inserted last, after everything else (default 0.5;
	// negative for none).
	LatePercent float64
	// Replace truncates events and sessions first; without it, generating into non-empty
	// tables is refused.
	Replace bool
	// ChunkEvents is how many event numbers one INSERT covers (default 4 Mi); memory stays
	// bounded by it.
	ChunkEvents int64
	// Threads is the engine's max_threads / max_insert_threads (default: the number of CPUs).
	Threads int
	// Progress, when set, is called after every INSERT.
	Progress func(Progress)
}

// Progress reports how far generation is.
type Progress struct {
	// Phase is "events", "sessions" or "late events".
	Phase string `json:"phase"`
	// Done and Total count event numbers covered so far, over all phases (late events are
	// counted in the last step).
	Done  int64 `json:"done"`
	Total int64 `json:"total"`
	// Elapsed is the time since Generate started.
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Stats is what Generate did.
type Stats struct {
	Events     int64     `json:"events"`
	Sessions   int64     `json:"sessions"`
	LateEvents int64     `json:"late_events"`
	Tenants    int       `json:"tenants"`
	Seed       uint64    `json:"seed"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	// Duration is the wall time of the whole generation (events, sessions, late events).
	Duration time.Duration `json:"duration_ns"`
	// EventsPerSecond is Events / Duration.
	EventsPerSecond float64 `json:"events_per_second"`
}

// withDefaults returns the options with zero fields defaulted, or an error for bad ones.
func (o Options) withDefaults(now time.Time) (Options, error) {
	if o.Events == 0 {
		o.Events = DefaultEvents
	}
	if o.Days == 0 {
		o.Days = DefaultDays
	}
	if o.Tenants == 0 {
		o.Tenants = DefaultTenants
	}
	if o.LatePercent == 0 {
		o.LatePercent = DefaultLatePercent
	}
	if o.LatePercent < 0 {
		o.LatePercent = 0
	}
	if o.ChunkEvents <= 0 {
		o.ChunkEvents = DefaultChunkEvents
	}
	o.ChunkEvents = (o.ChunkEvents + blockSize - 1) / blockSize * blockSize
	if o.Threads <= 0 {
		o.Threads = runtime.NumCPU()
	}
	if o.End.IsZero() {
		o.End = now.UTC().Truncate(time.Hour)
	}
	o.End = o.End.UTC()
	switch {
	case o.Events < 0 || o.Events > 1<<40:
		return o, fmt.Errorf("events %d: want between 1 and %d", o.Events, int64(1)<<40)
	case o.Days < 0 || o.Days > 3650:
		return o, fmt.Errorf("days %d: want between 1 and 3650", o.Days)
	case o.Tenants < 0 || o.Tenants > 1000:
		return o, fmt.Errorf("tenants %d: want between 1 and 1000", o.Tenants)
	case o.LatePercent > 50:
		return o, fmt.Errorf("late percent %g: want at most 50", o.LatePercent)
	case !o.End.Equal(o.End.Truncate(time.Hour)):
		return o, fmt.Errorf("end %s is not on the hour", o.End.Format(time.DateTime))
	}
	return o, nil
}

// Generate fills the raw events and sessions tables of project p (the default project's
// schema; the tables must exist) and returns what it wrote.
func Generate(ctx context.Context, e engine.Engine, p *datasources.Project, opts Options) (*Stats, error) {
	began := time.Now()
	o, err := opts.withDefaults(began)
	if err != nil {
		return nil, err
	}
	if err := checkSchema(p); err != nil {
		return nil, err
	}
	events := ident.Qualified(p.Database, EventsTable)
	sessions := ident.Qualified(p.Database, SessionsTable)
	for _, t := range []string{events, sessions} {
		n, err := count(ctx, e, t)
		if err != nil {
			return nil, err
		}
		if n > 0 && !o.Replace {
			return nil, fmt.Errorf("%s already holds %d rows: generate into empty tables, or pass --replace to truncate them first", t, n)
		}
		if n > 0 {
			if err := e.Exec(ctx, "TRUNCATE TABLE "+t, nil); err != nil {
				return nil, fmt.Errorf("truncate %s: %w", t, err)
			}
		}
	}

	start := o.End.Add(-time.Duration(o.Days) * 24 * time.Hour)
	span := uint32(o.Days) * 86400
	blocks := (o.Events + blockSize - 1) / blockSize
	params := engine.Params{
		"days":     dayTable(o.Days, start, o.Seed),
		"dm":       uint32(dayTableSize(o.Days)),
		"hours":    hourTable(),
		"span":     span,
		"start":    start,
		"total":    uint64(o.Events),
		"blocks":   uint64(blocks),
		"window":   uint64(max(1, blocks*int64(min(o.Days, 30))/int64(o.Days))),
		"late_ppm": uint32(math.Round(o.LatePercent * 10000)),
	}
	for i, s := range salts {
		params[s] = splitmix64(o.Seed ^ uint64(i+1)*0x9E3779B97F4A7C15)
	}
	v := newVocabulary(o.Tenants)
	evSQL, sesSQL := eventsSQL(events, v, o.Threads), sessionsSQL(sessions, v, o.Threads)
	with := func(extra engine.Params) engine.Params {
		out := make(engine.Params, len(params)+len(extra))
		for k, x := range params {
			out[k] = x
		}
		for k, x := range extra {
			out[k] = x
		}
		return out
	}
	report := func(phase string, done int64) {
		if o.Progress != nil {
			o.Progress(Progress{Phase: phase, Done: done, Total: o.Events, Elapsed: time.Since(began)})
		}
	}
	for lo := int64(0); lo < o.Events; lo += o.ChunkEvents {
		n := min(o.ChunkEvents, o.Events-lo)
		if err := e.Exec(ctx, evSQL, with(engine.Params{"lo": uint64(lo), "cnt": uint64(n), "late": uint8(0)})); err != nil {
			return nil, fmt.Errorf("insert events %d–%d: %w", lo, lo+n, err)
		}
		report("events", lo+n/2)
		blo, bhi := lo/blockSize, (lo+n+blockSize-1)/blockSize
		if err := e.Exec(ctx, sesSQL, with(engine.Params{"lo": uint64(blo), "cnt": uint64(bhi - blo)})); err != nil {
			return nil, fmt.Errorf("insert sessions of events %d–%d: %w", lo, lo+n, err)
		}
		report("sessions", lo+n)
	}
	st := &Stats{Events: o.Events, Tenants: o.Tenants, Seed: o.Seed, Start: start, End: o.End}
	if params["late_ppm"].(uint32) > 0 {
		// Late events go last: one pass over every event number keeps only the late ones.
		for lo := int64(0); lo < o.Events; lo += 8 * o.ChunkEvents {
			n := min(8*o.ChunkEvents, o.Events-lo)
			if err := e.Exec(ctx, evSQL, with(engine.Params{"lo": uint64(lo), "cnt": uint64(n), "late": uint8(1)})); err != nil {
				return nil, fmt.Errorf("insert late events: %w", err)
			}
		}
		report("late events", o.Events)
		if st.LateEvents, err = countLate(ctx, e, params, o.Events); err != nil {
			return nil, err
		}
	}
	if st.Sessions, err = count(ctx, e, sessions); err != nil {
		return nil, err
	}
	st.Duration = time.Since(began)
	st.EventsPerSecond = float64(st.Events) / st.Duration.Seconds()
	return st, nil
}

// checkSchema verifies that the project has the default events and sessions datasources with
// every column the generator fills.
func checkSchema(p *datasources.Project) error {
	for _, t := range []struct {
		name string
		cols []string
	}{{EventsTable, EventColumns}, {SessionsTable, SessionColumns}} {
		d := p.Datasource(t.name)
		if d == nil {
			return fmt.Errorf("project has no datasource %q: generate fills the default project's events and sessions (hourglass init)", t.name)
		}
		for _, c := range t.cols {
			if d.Column(c) == nil {
				return fmt.Errorf("datasource %q has no column %q: generate fills the default project's schema (hourglass init)", t.name, c)
			}
		}
	}
	return nil
}

// count returns a table's row count, or ErrNotDeployed when it does not exist.
func count(ctx context.Context, e engine.Engine, table string) (int64, error) {
	r, err := e.Query(ctx, "SELECT count() FROM "+table, nil)
	if err != nil {
		var ce *engine.Error
		if errors.As(err, &ce) && (ce.Code == engine.CodeUnknownTable || ce.Code == engine.CodeUnknownDatabase) {
			return 0, fmt.Errorf("table %s does not exist: %w", table, ErrNotDeployed)
		}
		return 0, err
	}
	return int64(r.Row()[0].(uint64)), nil
}

// countLate counts the late events with the same hash the inserts use.
func countLate(ctx context.Context, e engine.Engine, params engine.Params, n int64) (int64, error) {
	r, err := e.Query(ctx, "SELECT countIf("+lateExpr("number")+") FROM numbers_mt({n:UInt64})",
		engine.Params{"s_late": params["s_late"], "late_ppm": params["late_ppm"], "n": uint64(n)})
	if err != nil {
		return 0, err
	}
	return int64(r.Row()[0].(uint64)), nil
}

// splitmix64 is a 64-bit mixer for deriving salts and noise from the seed.
func splitmix64(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ x>>30) * 0xBF58476D1CE4E5B9
	x = (x ^ x>>27) * 0x94D049BB133111EB
	return x ^ x>>31
}
