package pipes

import "github.com/hourglass-dev/hourglass/chtype"

// Target is what the ClickHouse server the statements are compiled for can run. The compiler
// takes it as an input (CompileFor) so that every command working on one server — plan,
// deploy, backfill, populate, validate, status — compiles the same DDL and the same hash for
// it: derive it once from the engine's version (TargetFor) and compile with it everywhere.
//
// The zero value is a current server (the embedded engine, any ClickHouse ≥ 23.1): Compile
// uses it, and so does everything that targets no server (the Tinybird datafiles, build).
type Target struct {
	// Version is the server's version as it reports it ("18.16.1"); "" for a current server.
	// It only appears in messages.
	Version string
	// NoSimpleAggregateFunction is set for servers older than 19.8, which lack the
	// SimpleAggregateFunction type: counts, sums, min and max are stored as
	// AggregateFunction(fn, T) states (written with arrayReduce('fnState', [value]) and read
	// with fnMerge) instead of SimpleAggregateFunction(fn, T) values read with fn. Both hold
	// the same numbers; the DDL, and so the rollup's hash, differ.
	NoSimpleAggregateFunction bool
	// NoTriggerViews is set for servers older than 20.1, where an insert-trigger view whose
	// SELECT reads a subquery — every view hourglass writes — makes each INSERT into its
	// source fail ("Unknown identifier: __hg_c… while pushing to view", seen on 18.16): a
	// deploy would break ingestion. Trigger rollups are refused for such servers.
	NoTriggerViews bool
	// NoDDSketch is set for servers older than 24.1, which lack quantilesDD: quantiles
	// metrics (stored as DDSketch states) are refused for them.
	NoDDSketch bool
}

// The releases that brought what Target describes. TriggerViewsSince is conservative: the
// failure is reproduced on 18.16 and reports of it run through 2019; 20.1 is the first release
// after them.
const (
	SimpleAggregateFunctionSince = "19.8"
	TriggerViewsSince            = "20.1"
	DDSketchSince                = "24.1"
)

// TargetFor returns the target of a server of the given version ("18.16.1", "26.5.1.1"); an
// empty or unparseable version is a current server.
func TargetFor(version string) Target {
	if _, _, ok := chtype.ParseVersion(version); !ok {
		return Target{Version: version}
	}
	return Target{
		Version:                   version,
		NoSimpleAggregateFunction: !atLeast(version, SimpleAggregateFunctionSince),
		NoTriggerViews:            !atLeast(version, TriggerViewsSince),
		NoDDSketch:                !atLeast(version, DDSketchSince),
	}
}

// server names the target in messages: "ClickHouse 18.16.1" or "the server".
func (t Target) server() string {
	if t.Version == "" {
		return "the server"
	}
	return "ClickHouse " + t.Version
}

// atLeast reports whether version v is at least release ("19.8").
func atLeast(v, release string) bool {
	major, minor, _ := chtype.ParseVersion(release)
	return chtype.VersionAtLeast(v, major, minor)
}

// Equal reports whether t and u compile the same statements (Version only appears in
// messages).
func (t Target) Equal(u Target) bool {
	return t.NoSimpleAggregateFunction == u.NoSimpleAggregateFunction && t.NoTriggerViews == u.NoTriggerViews && t.NoDDSketch == u.NoDDSketch
}
