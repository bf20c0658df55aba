package datasources

import (
	"fmt"
	"sort"
	"strings"
)

// Diagnostic codes. Errors (HG…) make Load fail; warnings (HGW…) come from Lint. Codes are
// stable: tools and tests may match on them.
const (
	// Reading and YAML shape.
	CodeYAML       = "HG001" // malformed or truncated YAML
	CodeUnknownKey = "HG002" // a key hourglass does not know (with "did you mean")
	CodeType       = "HG003" // a value of the wrong type (list for a string, "yes" for a duration…)
	CodeDupKey     = "HG004" // the same key twice in one mapping
	CodeRequired   = "HG005" // a required key is missing
	CodeRead       = "HG006" // a file cannot be read, or hourglass.yaml is missing

	// Names and free SQL.
	CodeIdent    = "HG101" // a name that is not a plain identifier
	CodeDupName  = "HG102" // two things with the same name
	CodeReserved = "HG103" // a name reserved by hourglass ("hour")
	CodeSQL      = "HG104" // a SQL expression holding ; -- /* or a backtick

	// Datasources.
	CodeColumnType = "HG110" // unknown ClickHouse type
	CodeJSON       = "HG111" // bad json: extraction
	CodeEngine     = "HG112" // engine not of the MergeTree family
	CodeOrderBy    = "HG113" // a datasource without a sorting key
	CodeShardBy    = "HG114" // a managed datasource of a cluster project without shard_by

	// Rollups.
	CodeUnknownSource  = "HG120" // rollup source is not a declared datasource
	CodeRollupOfRollup = "HG121" // rollup source is a rollup it cannot read (itself, a derived one)
	CodeTimeColumn     = "HG122" // time column missing, unknown or not DateTime
	CodeGranularity    = "HG123" // granularity other than hour
	CodePartition      = "HG124" // partition other than day/month
	CodeUnknownColumn  = "HG125" // a reference to a column the source does not have
	CodeMetricType     = "HG126" // a metric kind that does not fit its column
	CodeMetricKind     = "HG127" // unknown metric kind
	CodeMetricArgs     = "HG128" // column/if/by missing or not allowed for the kind
	CodePrecision      = "HG129" // precision on a kind other than uniq_combined, or out of range
	CodeCron           = "HG130" // invalid cron expression
	CodeSchedule       = "HG131" // schedule firing more often than hourly
	CodeDuration       = "HG132" // negative lookback/delay, delay ≥ 1h
	CodeMode           = "HG133" // mode other than scheduled/trigger
	CodeRollupOrderBy  = "HG134" // rollup order_by not made of hour and every dimension
	CodeGrains         = "HG135" // grains other than day/week, twice, or week without day

	// Endpoints.
	CodeUnknownRollup    = "HG140" // endpoint rollup is not a declared rollup
	CodeUnknownMetric    = "HG141" // endpoint metric is not a metric of its rollup
	CodeUnknownDimension = "HG142" // group_by/filter dimension is not a dimension of the rollup
	CodeBucket           = "HG143" // bucket other than hour/day
	CodeUnknownParam     = "HG144" // filter param not declared in params
	CodeLimit            = "HG145" // negative limit
	CodeParamType        = "HG146" // bad param type (start/end must be DateTime)
	CodeEndpointOrderBy  = "HG147" // order_by naming something that is not an output column
	CodeCurrentSQL       = "HG148" // current_sql empty, unreadable, several statements, or a param the endpoint lacks
	CodeEndpointTest     = "HG149" // a tests entry naming a param the endpoint lacks, or not a mapping of values
	CodeFilterOp         = "HG150" // an unknown filter op, or a param whose type does not fit it
	CodeCompare          = "HG151" // compare other than previous_period, or an output column it would repeat
	CodeUnusedParam      = "HG152" // a declared param no filter, range, limit or offset uses
	CodeFill             = "HG153" // fill without a bucket, or with an order_by it cannot keep
	CodeDerived          = "HG154" // a derived metric naming what is not a metric, or in a cycle
	CodeDerivedSource    = "HG155" // a rollup over a rollup without span, or over one it cannot read
	CodeFinals           = "HG160" // finals without a bucket, or naming a dimension the endpoint does not filter by

	// Lint warnings.
	WarnSortingKey      = "HGW001" // rollup sorting key not tenant dimensions then hour
	WarnPartitions      = "HGW002" // more than ~1000 partitions a year
	WarnNoTimePartition = "HGW003" // datasource without a time-based partition key
	WarnShardBy         = "HGW004" // shard_by where nothing uses it (no cluster, or unmanaged)
)

// Diagnostic is one problem found in the definitions, at a position.
type Diagnostic struct {
	Pos     Pos
	Code    string
	Message string
}

// IsWarning reports whether the diagnostic is a lint warning (code HGW…) rather than an error.
func (d Diagnostic) IsWarning() bool { return strings.HasPrefix(d.Code, "HGW") }

// String renders the diagnostic as "file:line:col: message".
func (d Diagnostic) String() string { return d.Pos.String() + ": " + d.Message }

// String renders the position as "file:line:col" (line and column from 1).
func (p Pos) String() string {
	file := p.File
	if file == "" {
		file = "-"
	}
	line, col := p.Line, p.Col
	if line < 1 {
		line = 1
	}
	if col < 1 {
		col = 1
	}
	return fmt.Sprintf("%s:%d:%d", file, line, col)
}

// Errors is the error Load returns when definitions are invalid: every diagnostic found,
// across all files, in source order.
type Errors []Diagnostic

// Error prints one line per diagnostic, "file:line:col: message".
func (e *Errors) Error() string {
	if e == nil || len(*e) == 0 {
		return "no errors"
	}
	lines := make([]string, len(*e))
	for i, d := range *e {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// sortDiagnostics orders diagnostics by file, line, column, then code.
func sortDiagnostics(ds []Diagnostic) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i].Pos, ds[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return ds[i].Code < ds[j].Code
	})
}
