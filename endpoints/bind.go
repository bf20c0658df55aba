package endpoints

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/chtype"
	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

// Call is one call of an endpoint with its parameters bound: what the compiled statements and
// the endpoint's current query read.
type Call struct {
	Endpoint *datasources.Endpoint
	// Range is the time range the call reads, [Start, End): its range params, a Date `to`
	// including its whole day.
	Range timerange.Range
	// Previous is the period compare: previous_period compares with — Range's length, ending
	// where Range starts — or zero.
	Previous timerange.Range
	// Given says which parameters the call gives, by the call or by a default: a filter
	// applies only then.
	Given map[string]bool
	// Params are the engine parameters: every declared parameter by its name, typed (a Date
	// as its day, a DateTime as a time, a list as an array, a limit or offset as a number),
	// the given flag of every filter parameter (pipes.GivenParam), and the range as the
	// DateTimes pipes.StartParam and pipes.EndParam.
	Params engine.Params
}

// Bind binds a call of endpoint ep: text parameters (as --param or an HTTP query string gives
// them) become typed values, read by one rule:
//
//   - a parameter the endpoint does not declare is an error naming the ones it does;
//   - a parameter left out takes its default; a range parameter without one is required;
//   - a DateTime range end is read like --from/--to (now: the end of the last hour closed at
//     now with the rollup's delay; -7d: floored to the hour; absolute times as written); a
//     Date is a day (2026-11-01, today, -7d), and a Date `to` includes its whole day;
//   - a list (Array) parameter is comma-separated: a,b,c (an empty value is the list of
//     one empty string);
//   - a limit or offset is a whole number within its cap;
//   - a filter applies when its parameter is given, even as an empty string.
//
// Every error is the caller's (a bad or missing parameter).
func Bind(ep *datasources.Endpoint, params map[string]string, now time.Time, delay time.Duration) (*Call, error) {
	known := map[string]*datasources.Param{}
	var names []string
	for _, p := range ep.Params {
		known[p.Name] = p
		names = append(names, p.Name)
	}
	var unknown []string
	for k := range params {
		if known[k] == nil {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("endpoint %s has no parameter %q: it takes %s", ep.Name, unknown[0], strings.Join(names, ", "))
	}
	from, to := ep.From, ep.To
	if from == "" {
		from, to = pipes.StartParam, pipes.EndParam
	}
	filterParam := map[string]bool{}
	for _, f := range ep.Filters {
		filterParam[f.Param] = true
	}
	c := &Call{Endpoint: ep, Given: map[string]bool{}, Params: engine.Params{}}
	for _, p := range ep.Params {
		v, given := params[p.Name]
		if !given && p.Default != "" {
			v, given = p.Default, true
		}
		typ := paramType(p)
		switch {
		case p.Name == from || p.Name == to:
			if !given || strings.TrimSpace(v) == "" {
				return nil, fmt.Errorf("endpoint %s needs --param %s=TIME (e.g. %s=2026-11-01 or %s=-7d)", ep.Name, p.Name, p.Name, p.Name)
			}
			t, user, err := bindTime(typ, v, now, delay)
			if err != nil {
				return nil, fmt.Errorf("--param %s: %w", p.Name, err)
			}
			c.Params[p.Name] = user
			if p.Name == from {
				c.Range.Start = t
			} else {
				if typ == "Date" {
					t = t.AddDate(0, 0, 1) // the last day is included
				}
				c.Range.End = t
			}
		case isPaging(ep.LimitParam, p.Name) || isPaging(ep.OffsetParam, p.Name):
			pg, what := ep.LimitParam, "limit"
			if !isPaging(pg, p.Name) {
				pg, what = ep.OffsetParam, "offset"
			}
			n := uint64(pg.Default)
			if given {
				var err error
				if n, err = strconv.ParseUint(strings.TrimSpace(v), 10, 64); err != nil {
					return nil, fmt.Errorf("--param %s=%s: the %s is a whole number ≥ 0, e.g. %s=%d", p.Name, v, what, p.Name, max(pg.Default, 10))
				}
			}
			if pg.Max > 0 && n > uint64(pg.Max) {
				return nil, fmt.Errorf("--param %s=%d: endpoint %s returns at most %d for its %s: ask for %d or less", p.Name, n, ep.Name, pg.Max, what, pg.Max)
			}
			if what == "limit" && n == 0 {
				return nil, fmt.Errorf("--param %s=0: a limit of 0 returns no rows: ask for 1 or more", p.Name)
			}
			c.Params[p.Name], c.Given[p.Name] = n, given
		default:
			val, err := bindValue(typ, v, given)
			if err != nil {
				return nil, fmt.Errorf("--param %s=%s: %w", p.Name, v, err)
			}
			c.Params[p.Name], c.Given[p.Name] = val, given
		}
		if filterParam[p.Name] {
			flag := uint8(0)
			if given {
				flag = 1
			}
			c.Params[pipes.GivenParam(p.Name)] = flag
		}
	}
	if !c.Range.Start.Before(c.Range.End) {
		return nil, fmt.Errorf("endpoint %s: %s (%s) is not before %s (%s): give a range that starts before it ends",
			ep.Name, from, timerange.Format(c.Range.Start), to, timerange.Format(c.Range.End))
	}
	c.Params[pipes.StartParam], c.Params[pipes.EndParam] = c.Range.Start, c.Range.End
	if ep.Compare == datasources.ComparePreviousPeriod {
		length := c.Range.End.Sub(c.Range.Start)
		c.Previous = timerange.Range{Start: c.Range.Start.Add(-length), End: c.Range.Start}
		if step := bucketLength(ep.Bucket); step > 0 && length%step != 0 {
			return nil, fmt.Errorf("endpoint %s compares each %s with the same %s of the previous period, so its range is whole %ss: %s is not",
				ep.Name, ep.Bucket, ep.Bucket, ep.Bucket, c.Range)
		}
	}
	return c, nil
}

func isPaging(pg *datasources.Paging, name string) bool { return pg != nil && pg.Param == name }

func bucketLength(bucket string) time.Duration {
	switch bucket {
	case "hour":
		return time.Hour
	case "day":
		return 24 * time.Hour
	}
	return 0
}

// bindTime reads one end of the range: for a Date param the start of its day and the day as
// the engine reads a Date; for a DateTime the time (see timerange.ParseBound), twice.
func bindTime(typ, v string, now time.Time, delay time.Duration) (time.Time, any, error) {
	if typ != "Date" {
		t, err := timerange.ParseBound(v, now, delay)
		return t, t, err
	}
	t, err := timerange.ParseDay(v, now)
	return t, t.Format(time.DateOnly), err
}

// bindValue turns a filter parameter's text into the value its type reads: a list for an
// Array (comma-separated), the text otherwise (the engine converts it). A parameter not given
// gets its type's zero value, which no statement reads: its given flag is 0.
func bindValue(typ, v string, given bool) (any, error) {
	t, err := chtype.Parse(typ)
	if err != nil {
		return nil, fmt.Errorf("type %s: %v", typ, err)
	}
	if b := t.Base(); b.Name == "Array" && len(b.Args) == 1 {
		if !given {
			return []any{}, nil
		}
		el := b.Args[0]
		var out []any
		for _, s := range strings.Split(v, ",") {
			x, err := element(el, s)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		return out, nil
	}
	if !given {
		return zeroText(t), nil
	}
	return v, nil
}

// element reads one item of a list parameter as its element type takes it.
func element(t *chtype.Type, s string) (any, error) {
	s = strings.TrimSpace(s)
	switch {
	case t.IsSignedInt():
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number (the list holds %s)", s, t)
		}
		return n, nil
	case t.IsUnsignedInt():
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number ≥ 0 (the list holds %s)", s, t)
		}
		return n, nil
	case t.IsFloat():
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number (the list holds %s)", s, t)
		}
		return f, nil
	}
	return s, nil
}

// zeroText is a value of type t as text, for a parameter no statement reads.
func zeroText(t *chtype.Type) any {
	b := t.Base()
	switch {
	case t.IsNullable():
		return nil
	case t.IsNumeric():
		return "0"
	case b.Name == "Bool":
		return "false"
	case b.Name == "Date" || b.Name == "Date32":
		return "1970-01-01"
	case t.IsDateTime():
		return "1970-01-01 00:00:00"
	case b.Name == "UUID":
		return "00000000-0000-0000-0000-000000000000"
	}
	return ""
}
