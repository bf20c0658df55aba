package datasources

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hourglass-dev/hourglass/chtype"
)

// MaxPartitionsPerYear is the partition count a year above which Lint warns: ClickHouse
// handles a few hundred to a thousand partitions well; many more slow down merges, inserts
// and startup.
const MaxPartitionsPerYear = 1000

// Lint returns warnings (codes HGW…) about definitions that are valid but likely to perform
// badly, in source order. It expects a project returned by Load.
func Lint(p *Project) []Diagnostic {
	var out []Diagnostic
	warn := func(pos Pos, code, format string, args ...any) {
		out = append(out, Diagnostic{Pos: pos, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	for _, r := range p.Rollups {
		if want, ok := sortingKeyAdvice(r); !ok {
			warn(r.Pos, WarnSortingKey, "rollup %q sorting key (%s) does not start with its tenant dimensions then hour: queries filter by tenant and time range, so write order_by: [%s, …]", r.Name, strings.Join(r.OrderBy, ", "), strings.Join(want, ", "))
		}
	}
	for _, d := range p.Datasources {
		if strings.TrimSpace(d.ShardBy) != "" && (p.Cluster == "" || !d.Managed) {
			why := "the project declares no cluster"
			if p.Cluster != "" {
				why = "hourglass does not create unmanaged datasources"
			}
			warn(d.Pos, WarnShardBy, "datasource %q shard_by %q is not used: %s (shard_by is the sharding key of the Distributed table hourglass creates on a cluster)", d.Name, d.ShardBy, why)
		}
		if !d.Managed {
			continue // hourglass does not create it: its layout is not ours to advise on
		}
		if strings.TrimSpace(d.PartitionBy) == "" {
			warn(d.Pos, WarnNoTimePartition, "datasource %q has no partition_by: without a time-based partition key old data cannot be dropped or re-read by range; write e.g. partition_by: toYYYYMM(%s)", d.Name, timeColumnHint(d))
			continue
		}
		n, timeBased := partitionsPerYear(d)
		if !timeBased {
			warn(d.Pos, WarnNoTimePartition, "datasource %q partition_by %q does not use a Date or DateTime column: partition by time, e.g. partition_by: toYYYYMM(%s)", d.Name, d.PartitionBy, timeColumnHint(d))
			continue
		}
		if n > MaxPartitionsPerYear {
			warn(d.Pos, WarnPartitions, "datasource %q partition_by %q makes about %d partitions a year (over %d): partition by day or month instead, e.g. toYYYYMM(%s) or toYYYYMMDD(%s)", d.Name, d.PartitionBy, n, MaxPartitionsPerYear, timeColumnHint(d), timeColumnHint(d))
		}
	}
	sortDiagnostics(out)
	return out
}

// sortingKeyAdvice returns the key prefix a rollup should start with (its tenant dimensions
// then hour) and whether OrderBy already does.
func sortingKeyAdvice(r *Rollup) ([]string, bool) {
	var tenant []string
	for _, d := range r.Dimensions {
		if contains(TenantDimensions, d.Name) {
			tenant = append(tenant, d.Name)
		}
	}
	want := append(append([]string{}, tenant...), ReservedColumn)
	if len(r.OrderBy) < len(want) {
		return want, false
	}
	for _, k := range r.OrderBy[:len(tenant)] {
		if !contains(tenant, k) {
			return want, false
		}
	}
	return want, r.OrderBy[len(tenant)] == ReservedColumn
}

func timeColumnHint(d *Datasource) string {
	for _, c := range d.Columns {
		if t, err := chtype.Parse(c.Type); err == nil && (t.IsDateTime() || t.IsDate()) {
			return c.Name
		}
	}
	return "timestamp"
}

var wordRe = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// partitionRates maps time-truncating functions (lower case) to partitions a year.
var partitionRates = map[string]int{
	"toyear": 1, "tostartofyear": 1, "tostartofisoyear": 1,
	"tostartofquarter": 4, "toquarter": 4,
	"toyyyymm": 12, "tostartofmonth": 12, "tomonth": 12,
	"tomonday": 53, "tostartofweek": 53, "toyearweek": 53, "toisoweek": 53,
	"toyyyymmdd": 366, "todate": 366, "todate32": 366, "tostartofday": 366, "todayofyear": 366,
	"tostartofhour": 8784, "toyyyymmddhh": 8784,
	"tostartoffifteenminutes": 35136, "tostartoftenminutes": 52704, "tostartoffiveminutes": 105408,
	"tostartofminute": 527040, "toyyyymmddhhmmss": 31622400, "tostartofsecond": 31622400,
	"tostartofinterval": 8784, // unknown interval: assume hourly, the common case of concern
}

// partitionsPerYear estimates the partitions a year a datasource's partition key makes, and
// whether it is time-based at all. A bare DateTime column partitions by second; a bare Date
// column by day; a time function by its unit (the finest one wins).
func partitionsPerYear(d *Datasource) (int, bool) {
	expr := strings.TrimSpace(d.PartitionBy)
	timeCol := map[string]*chtype.Type{}
	for _, c := range d.Columns {
		if t, err := chtype.Parse(c.Type); err == nil && (t.IsDateTime() || t.IsDate()) {
			timeCol[c.Name] = t
		}
	}
	timeBased := false
	for _, w := range wordRe.FindAllString(expr, -1) {
		if timeCol[w] != nil {
			timeBased = true
		}
	}
	if !timeBased {
		return 0, false
	}
	bare := strings.Trim(expr, "() ")
	if t := timeCol[bare]; t != nil {
		if t.IsDate() {
			return 366, true
		}
		return 31622400, true
	}
	rate := 0
	for _, loc := range wordRe.FindAllStringIndex(expr, -1) {
		w := strings.ToLower(expr[loc[0]:loc[1]])
		rest := strings.TrimLeft(expr[loc[1]:], " ")
		if r, ok := partitionRates[w]; ok && strings.HasPrefix(rest, "(") && r > rate {
			rate = r
		}
	}
	if rate == 0 {
		rate = 366 // an expression we cannot size: assume daily, do not warn
	}
	return rate, true
}
