// Package datasources holds the hourglass definition model: a project's raw datasources, its
// hourly rollups and its endpoints, as read from YAML, validated and linted.
//
// The model is plain data. The compiler (package pipes) turns it into statements; nothing in
// this package talks to ClickHouse.
package datasources

import "time"

// Pos is a position in a definition file, used in error messages as file:line:col.
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// Project is a whole hourglass project: everything declared under one hourglass.yaml.
type Project struct {
	// Name is the project's name.
	Name string
	// Database is the ClickHouse database every table of the project lives in.
	Database string
	// DSN is the default engine DSN (overridden by --dsn and HOURGLASS_DSN).
	DSN string
	// Cluster, when set, is the ClickHouse cluster (a name of the servers' remote_servers) the
	// project lives on: the compiler emits ON CLUSTER DDL, Replicated* local tables and a
	// Distributed table over each (see package pipes and docs/cluster.md).
	Cluster string
	// Dir is the project folder (where hourglass.yaml is).
	Dir string

	Datasources []*Datasource
	Rollups     []*Rollup
	Endpoints   []*Endpoint
	// Tokens are the read-only secrets HTTP clients call endpoints with.
	Tokens []*Token
}

// Datasource is a raw table: events, sessions, …
type Datasource struct {
	Name string
	// Managed tables are created by hourglass; unmanaged ones are only read.
	Managed bool
	Columns []*Column
	// Engine is a MergeTree-family engine, e.g. "MergeTree" or "ReplacingMergeTree(_timestamp)".
	Engine string
	// PartitionBy is the partition key expression, e.g. "toYYYYMM(timestamp)".
	PartitionBy string
	// OrderBy is the sorting key, one expression per element.
	OrderBy []string
	// SampleBy is the optional sampling expression.
	SampleBy string
	// TTL is the optional TTL expression, e.g. "timestamp + INTERVAL 1 YEAR".
	TTL string
	// ShardBy is the sharding key of the datasource's Distributed table when the project
	// declares a cluster, e.g. "cityHash64(user_id)": rows inserted through the Distributed
	// table go to the shard it picks. Required for managed datasources on a cluster; unused
	// otherwise.
	ShardBy string
	Pos     Pos
}

// Column is one column of a raw datasource.
type Column struct {
	Name string
	// Type is the ClickHouse type, e.g. "LowCardinality(String)" or "DateTime64(3, 'UTC')".
	Type string
	// Codec is an optional compression codec, e.g. "ZSTD(3)".
	Codec string
	// Default is an optional DEFAULT expression.
	Default string
	// JSONSource and JSONPath describe a column extracted from JSON: JSONSource is the String
	// column holding the JSON text, JSONPath the keys inside it. The json key declares which
	// of two shapes the ingested events have (see JSONObject).
	JSONSource string
	JSONPath   []string
	// JSONObject is false for `json: properties.$.utm.source` — properties is a string whose
	// text is JSON — and true for `json: $.payload.pathname` — payload is a JSON object in the
	// ingested event. Both give JSONSource "payload"/"properties" and the keys after it, and
	// the same values on every target: ClickHouse stores an object as its JSON text in a
	// String column and extracts the column from it (MATERIALIZED JSONExtract…); Tinybird
	// reads an object path at ingestion (`json:$.payload.pathname`) and extracts from a
	// string in the pipes that read the datasource (Tinybird JSON paths cannot look inside a
	// string).
	JSONObject bool
	Pos        Pos
}

// Granularity is the bucket size of a rollup. Only GranularityHour exists today.
type Granularity string

// GranularityHour buckets rows by hour.
const GranularityHour Granularity = "hour"

// PartitionGranularity is the size of one rollup partition, the unit of populate work.
type PartitionGranularity string

// Partition sizes.
const (
	PartitionDay   PartitionGranularity = "day"
	PartitionMonth PartitionGranularity = "month"
)

// PopulateMode says how a rollup is kept fresh.
type PopulateMode string

// Populate modes.
const (
	// ModeScheduled rollups are filled by the populate query (backfill and the :05 cron).
	ModeScheduled PopulateMode = "scheduled"
	// ModeTrigger rollups get an insert-trigger materialized view for rows at or after a
	// cut-over watermark; the backfill covers rows before it.
	ModeTrigger PopulateMode = "trigger"
)

// Rollup is an hourly aggregate of one datasource: a materialized view in Tinybird's words.
type Rollup struct {
	Name string
	// Source is the name of the datasource the rollup reads.
	Source string
	// TimeColumn is the source's DateTime/DateTime64 column the hour is taken from.
	TimeColumn  string
	Granularity Granularity
	Dimensions  []*Dimension
	Metrics     []*Metric
	// Partition is the partition size (default day).
	Partition PartitionGranularity
	// OrderBy is the sorting key as dimension names plus "hour"; empty means the default
	// (tenant-like dimensions, then hour, then the rest).
	OrderBy []string
	Mode    PopulateMode
	// Schedule is a five-field cron expression in UTC (default "5 * * * *").
	Schedule string
	// Lookback is how far back each populate recomputes for late data (default 2h).
	Lookback time.Duration
	// Delay is how long after its end an hour counts as closed (default 5m).
	Delay time.Duration
	// Filter is an optional WHERE condition on source rows.
	Filter string
	// Grains are the coarser grains the rollup also stores (GrainDay, GrainWeek): tables
	// "<table>_day" and "<table>_week" merged from the hourly states, never from raw rows,
	// which reads of long ranges use for their whole periods (see package pipes, ReadPlan).
	Grains []Grain
	// Derived are metrics computed from the stored ones after the merge (never stored).
	Derived []*DerivedMetric
	// Span is, for a rollup whose source is another rollup (a derived table, e.g. sessions
	// built from events), the longest an entity of the source lasts: a populate of hours
	// [a, b) reads the source's hours [a − Span, b + Span), and a recomputed source hour
	// re-opens every hour of this rollup within Span before it. Zero for raw sources.
	Span time.Duration
	Pos  Pos
}

// DerivedMetric is a metric computed from a rollup's metrics after they are merged, e.g.
// bounce_rate = bounced_sessions / session_count. It has no state: every read computes it
// from its inputs' finalised values, and validate proves its inputs.
type DerivedMetric struct {
	Name string
	// Expr is a SQL expression over the rollup's metric names (and earlier derived ones).
	Expr string
	Pos  Pos
}

// Grain is a bucket coarser than the hour that a rollup stores beside its hourly table.
type Grain string

// Grains.
const (
	// GrainDay buckets by UTC day.
	GrainDay Grain = "day"
	// GrainWeek buckets by ISO week, Monday 00:00 UTC; it is merged from the day grain.
	GrainWeek Grain = "week"
)

// HasGrain reports whether the rollup stores grain g.
func (r *Rollup) HasGrain(g Grain) bool {
	for _, x := range r.Grains {
		if x == g {
			return true
		}
	}
	return false
}

// Dimension is a GROUP BY key of a rollup: a source column, or an expression with an alias.
type Dimension struct {
	// Name is the column name in the rollup.
	Name string
	// Column is the source column, when the dimension is a plain column.
	Column string
	// Expr is the SQL expression over source columns, when the dimension is computed.
	Expr string
	Pos  Pos
}

// MetricKind is the aggregate a metric computes.
type MetricKind string

// Metric kinds.
const (
	MetricCount     MetricKind = "count"
	MetricCountIf   MetricKind = "count_if"
	MetricSum       MetricKind = "sum"
	MetricSumIf     MetricKind = "sum_if"
	MetricMin       MetricKind = "min"
	MetricMax       MetricKind = "max"
	MetricUniq      MetricKind = "uniq"
	MetricUniqExact MetricKind = "uniq_exact"
	// MetricUniqCombined counts distinct values with uniqCombined(Precision): a fixed-size
	// sketch whose merges cost the same whatever the count.
	MetricUniqCombined MetricKind = "uniq_combined"
	MetricAvg          MetricKind = "avg"
	MetricArgMin       MetricKind = "arg_min"
	MetricArgMax       MetricKind = "arg_max"
	// MetricAny and MetricAnyLast keep one value of the column per group (any, anyLast):
	// which one is unspecified, so validate checks it is one of the group's values.
	MetricAny     MetricKind = "any"
	MetricAnyLast MetricKind = "any_last"
	// MetricQuantiles estimates quantiles at Levels with a mergeable DDSketch of relative
	// accuracy Accuracy; its value is an Array(Float64), one element per level.
	MetricQuantiles MetricKind = "quantiles"
	// MetricUniqIf counts distinct values of rows meeting If (uniqIf, approximate like uniq);
	// MetricCountDistinctIf does it exactly (uniqExactIf).
	MetricUniqIf          MetricKind = "uniq_if"
	MetricCountDistinctIf MetricKind = "count_distinct_if"
)

// DefaultQuantileAccuracy is the relative accuracy of a quantiles metric that states none.
const DefaultQuantileAccuracy = 0.01

// Metric is one aggregate of a rollup, stored as mergeable state.
type Metric struct {
	Name string
	Kind MetricKind
	// Column is the argument column (all kinds but count and count_if).
	Column string
	// Expr replaces Column with an expression over source columns; Type is its ClickHouse
	// type, which the stored state is declared with (the expression is cast to it).
	Expr string
	Type string
	// If is the condition of count_if, sum_if, uniq_if and count_distinct_if.
	If string
	// By is the ordering column of arg_min and arg_max.
	By string
	// Precision is the precision of uniq_combined, MinPrecision…MaxPrecision (0: the
	// default, DefaultPrecision): its sketch holds 2^Precision cells.
	Precision int
	// Levels are the quantile levels of a quantiles metric, each in (0, 1); Accuracy its
	// relative accuracy (DefaultQuantileAccuracy when zero).
	Levels   []float64
	Accuracy float64
	Pos      Pos
}

// The precisions uniq_combined accepts (ClickHouse's uniqCombined(K)).
const (
	MinPrecision     = 12
	MaxPrecision     = 20
	DefaultPrecision = 17
)

// Param is a parameter of an endpoint.
type Param struct {
	Name string
	// Type is the ClickHouse type of the parameter, e.g. "DateTime" or "String".
	Type string
	// Default is the value used when the caller gives none (a filter then applies with it);
	// empty means required for the range params, and "not given" (no filter) for the others.
	Default string
	Pos     Pos
}

// Filter restricts an endpoint by a parameter: dimension <op> {param}. It applies when the
// parameter is given — in the call or by its default — and is skipped when it is not; an
// empty string is a value like any other.
type Filter struct {
	Dimension string
	Param     string
	// Op is the comparison: FilterEq (the default), FilterNe, FilterIn, FilterNotIn (the
	// parameter is an Array), FilterGe, FilterGt, FilterLe, FilterLt.
	Op  string
	Pos Pos
}

// Filter operators.
const (
	FilterEq    = "="
	FilterNe    = "!="
	FilterIn    = "in"
	FilterNotIn = "not in"
	FilterGe    = ">="
	FilterGt    = ">"
	FilterLe    = "<="
	FilterLt    = "<"
)

// FilterOps are the filter operators, in the order the manual lists them.
var FilterOps = []string{FilterEq, FilterNe, FilterIn, FilterNotIn, FilterGe, FilterGt, FilterLe, FilterLt}

// Paging is a limit or offset an endpoint takes from a parameter.
type Paging struct {
	// Param is the parameter holding it (an unsigned integer).
	Param string
	// Default applies when the call does not give Param; Max caps what a call may ask for
	// (0: no cap). A call above Max is an error.
	Default int
	Max     int
	Pos     Pos
}

// ComparePreviousPeriod adds, for every metric m of an endpoint, m_previous — its value over
// the period of the same length just before the call's range — and m_change, the relative
// change (m − m_previous) / m_previous (NULL when m_previous is 0).
const ComparePreviousPeriod = "previous_period"

// Endpoint is a named, parameterised analytics query written against a rollup's metric names,
// so hourglass can compile both a raw and a rollup version of it.
type Endpoint struct {
	Name string
	// Rollup is the rollup whose metrics and dimensions the endpoint uses.
	Rollup string
	// Metrics are metric names of the rollup.
	Metrics []string
	// GroupBy are dimension names of the rollup.
	GroupBy []string
	// Bucket adds a time bucket column ("hour", a DateTime, or "day", a Date); empty for
	// totals.
	Bucket string
	// Fill returns every bucket of the range, those without rows with zero metrics (WITH
	// FILL); only with a bucket.
	Fill bool
	// Params are the endpoint's parameters; the range parameters (From and To) always exist.
	Params  []*Param
	Filters []*Filter
	// From and To name the parameters holding the time range: "start" and "end" (DateTime,
	// the half-open [start, end)) unless the endpoint declares range. A Date To includes its
	// whole day.
	From, To string
	// OrderBy is an optional ORDER BY over output columns; Limit 0 means no limit.
	OrderBy []string
	Limit   int
	// LimitParam and OffsetParam, when set, take the limit and the offset from a parameter.
	LimitParam, OffsetParam *Paging
	// Compare is ComparePreviousPeriod or "".
	Compare string
	// CurrentSQL is the SQL of the query the endpoint replaces (current_sql, or the file
	// current_sql_file names), written with the endpoint's parameters as {name:Type} and
	// returning the endpoint's columns by name. validate --endpoint and the switch gate run it
	// and the endpoint with the same parameters and compare them row by row. Empty: none.
	CurrentSQL string
	// CurrentSQLFile is the project-relative file CurrentSQL was read from ("" when inline).
	CurrentSQLFile string
	// Tests are parameter sets validate --endpoint and the switch gate run the endpoint with.
	Tests []*EndpointTest
	// NoFresh is set by `fresh: false`: served reads stop at the rollup's watermark instead of
	// reading the hours after it (the still-open hour included) from raw rows.
	NoFresh bool
	// Finals are the filter combinations (each a list of filter dimensions, in the order the
	// endpoint declares its filters) for which a time-series endpoint stores finished numbers
	// per bucket (`finals: true` is every combination). Empty: no finals table.
	Finals [][]string
	Pos    Pos
}

// EndpointTest is one parameter set an endpoint is checked with: parameter name → value as
// text, read like --param (start and end left out: the whole history the rollup holds).
type EndpointTest struct {
	Params map[string]string
	Pos    Pos
}

// Datasource returns the datasource with the given name, or nil.
func (p *Project) Datasource(name string) *Datasource {
	for _, d := range p.Datasources {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// Rollup returns the rollup with the given name, or nil.
func (p *Project) Rollup(name string) *Rollup {
	for _, r := range p.Rollups {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// Endpoint returns the endpoint with the given name, or nil.
func (p *Project) Endpoint(name string) *Endpoint {
	for _, e := range p.Endpoints {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// Column returns the column with the given name, or nil.
func (d *Datasource) Column(name string) *Column {
	for _, c := range d.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// DerivedMetric returns the derived metric with the given name, or nil.
func (r *Rollup) DerivedMetric(name string) *DerivedMetric {
	for _, d := range r.Derived {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// HasMetric reports whether name is a stored or derived metric of the rollup.
func (r *Rollup) HasMetric(name string) bool {
	return r.Metric(name) != nil || r.DerivedMetric(name) != nil
}

// SourceRollup returns the rollup r reads when its source is another rollup (a derived
// table), or nil when it reads a datasource.
func (p *Project) SourceRollup(r *Rollup) *Rollup {
	if p.Datasource(r.Source) != nil {
		return nil
	}
	if s := p.Rollup(r.Source); s != r {
		return s
	}
	return nil
}

// Metric returns the metric with the given name, or nil.
func (r *Rollup) Metric(name string) *Metric {
	for _, m := range r.Metrics {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// Dimension returns the dimension with the given name, or nil.
func (r *Rollup) Dimension(name string) *Dimension {
	for _, d := range r.Dimensions {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// Param returns the endpoint parameter with the given name, or nil.
func (e *Endpoint) Param(name string) *Param {
	for _, p := range e.Params {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// MaxPrimaryKey is the longest primary key PrimaryKey returns.
const MaxPrimaryKey = 8

// PrimaryKey returns the prefix of the rollup's sorting key worth indexing: OrderBy up to and
// including "hour", extended to at most MaxPrimaryKey elements. The sorting key itself must
// hold every dimension (AggregatingMergeTree merges rows with equal sorting keys), but a
// ClickHouse PRIMARY KEY may be a shorter prefix of it, keeping the index small for wide
// rollups.
func (r *Rollup) PrimaryKey() []string {
	n := len(r.OrderBy)
	if n <= MaxPrimaryKey {
		return r.OrderBy
	}
	for i, k := range r.OrderBy {
		if k == "hour" && i+1 > MaxPrimaryKey {
			return r.OrderBy[:i+1]
		}
	}
	return r.OrderBy[:MaxPrimaryKey]
}
