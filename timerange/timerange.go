// Package timerange parses and checks the UTC, hour-aligned, half-open time ranges [Start, End)
// every hourglass command works on, and splits them into partition units.
package timerange

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Range is a half-open UTC interval [Start, End).
type Range struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// String renders the range as "[start, end)".
func (r Range) String() string {
	return "[" + Format(r.Start) + ", " + Format(r.End) + ")"
}

// Hours is the number of whole hours in the range.
func (r Range) Hours() int { return int(r.End.Sub(r.Start) / time.Hour) }

// Empty reports whether the range holds no time.
func (r Range) Empty() bool { return !r.Start.Before(r.End) }

// Intersect returns the overlap of two ranges (possibly empty).
func (r Range) Intersect(o Range) Range {
	out := r
	if o.Start.After(out.Start) {
		out.Start = o.Start
	}
	if o.End.Before(out.End) {
		out.End = o.End
	}
	if out.End.Before(out.Start) {
		out.End = out.Start
	}
	return out
}

// Format renders a time the way hourglass prints times: UTC, "2006-01-02 15:04:05".
func Format(t time.Time) string { return t.UTC().Format(time.DateTime) }

// Earliest and Latest bound the times hourglass accepts; anything outside is a typo.
var (
	Earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	Latest   = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// layouts are the accepted absolute time forms, all read as UTC unless they carry an offset.
var layouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02T15",
	"2006-01-02 15",
	"2006-01-02",
}

// ParseTime reads a time: "2026-11-02", "2026-11-02 10:00", "2026-11-02T10:00:00Z",
// "now", or now minus a duration ("-30d", "-6h", "-90m"). Times without an offset are UTC.
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return time.Time{}, fmt.Errorf("empty time: write e.g. 2026-11-02 or \"2026-11-02 10:00\"")
	case s == "now":
		return now.UTC(), nil
	case strings.HasPrefix(s, "-"):
		d, err := ParseDuration(s[1:])
		if err != nil {
			return time.Time{}, fmt.Errorf("time %q: %v", s, err)
		}
		return now.UTC().Add(-d), nil
	}
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			t = t.UTC()
			if t.Before(Earliest) || !t.Before(Latest) {
				return time.Time{}, fmt.Errorf("time %q is outside %d–%d: check the year", s, Earliest.Year(), Latest.Year()-1)
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read time %q: write 2026-11-02, \"2026-11-02 10:00\" or 2026-11-02T10:00:00Z (UTC)", s)
}

// ParseDay reads a day: 2026-11-01, today (or now: the day of now), or a number of days
// before it (-7d). It returns the day's start, UTC.
func ParseDay(v string, now time.Time) (time.Time, error) {
	s := strings.TrimSpace(v)
	day := func(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }
	switch {
	case s == "today" || s == "now":
		return day(now), nil
	case strings.HasPrefix(s, "-"):
		d, err := ParseDuration(s[1:])
		if err != nil || d%(24*time.Hour) != 0 {
			return time.Time{}, fmt.Errorf("%q is not a number of days before today: write e.g. -7d", s)
		}
		return day(now).Add(-d), nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, time.UTC)
	if err != nil || t.Before(Earliest) || !t.Before(Latest) {
		return time.Time{}, fmt.Errorf("%q is not a day: write 2026-11-01, today or -7d", s)
	}
	return t, nil
}

// ParseDuration reads a duration that may use days: "30d", "2h", "90m", "1d12h".
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration: write e.g. 30d, 6h or 90m")
	}
	var days int64
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n < 0 || n > 36500 {
			return 0, fmt.Errorf("cannot read duration %q: write e.g. 30d, 6h or 90m", s)
		}
		days = n
		s = s[i+1:]
		if s == "" {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("cannot read duration %q: write e.g. 30d, 6h or 90m", s)
	}
	return time.Duration(days)*24*time.Hour + d, nil
}

// Options say which ranges a command accepts.
type Options struct {
	// Now is the clock.
	Now time.Time
	// Delay is the delay of the rollup the range is for: "now" means the end of the last hour
	// closed at Now (ClosedEnd(Now, Delay)). Zero: the current hour's start.
	Delay time.Duration
	// AllowFuture accepts an End after Now (validate and reconcile clip it instead).
	AllowFuture bool
	// MaxLength refuses longer ranges (0: no limit).
	MaxLength time.Duration
}

// ParseBound reads one end of a range by the rule every command shares, whatever the minute
// it runs at:
//
//   - "now" is the end of the last closed hour: ClosedEnd(now, delay);
//   - now minus a duration ("-30d", "-6h", "-90m") is floored to the hour;
//   - an absolute time is taken as written (Check requires it on the hour).
func ParseBound(s string, now time.Time, delay time.Duration) (time.Time, error) {
	t, err := ParseTime(s, now)
	if err != nil {
		return time.Time{}, err
	}
	switch s = strings.TrimSpace(s); {
	case s == "now":
		return ClosedEnd(now, delay), nil
	case strings.HasPrefix(s, "-"):
		return t.Truncate(time.Hour), nil
	}
	return t, nil
}

// Parse reads and checks a range from its two ends (see ParseBound for how each is read):
// both hour-aligned, start before end, end not in the future (unless allowed), and not longer
// than the limit.
func Parse(from, to string, opts Options) (Range, error) {
	start, err := ParseBound(from, opts.Now, opts.Delay)
	if err != nil {
		return Range{}, fmt.Errorf("--from: %w", err)
	}
	end, err := ParseBound(to, opts.Now, opts.Delay)
	if err != nil {
		return Range{}, fmt.Errorf("--to: %w", err)
	}
	r := Range{Start: start, End: end}
	return r, Check(r, opts)
}

// Check verifies a range against the rules Parse applies.
func Check(r Range, opts Options) error {
	for _, e := range []struct {
		name string
		t    time.Time
	}{{"--from", r.Start}, {"--to", r.End}} {
		if !e.t.Equal(e.t.Truncate(time.Hour)) {
			return fmt.Errorf("%s %s is not on the hour: ranges are whole hours, e.g. %s", e.name, Format(e.t), Format(e.t.Truncate(time.Hour)))
		}
	}
	if !r.Start.Before(r.End) {
		return fmt.Errorf("--from %s is not before --to %s: ranges are [from, to)", Format(r.Start), Format(r.End))
	}
	if !opts.AllowFuture && !opts.Now.IsZero() && r.End.After(opts.Now.UTC().Truncate(time.Hour)) {
		return fmt.Errorf("--to %s is in the future (now %s): the last closed hour ends at %s", Format(r.End), Format(opts.Now), Format(opts.Now.UTC().Truncate(time.Hour)))
	}
	if opts.MaxLength > 0 && r.End.Sub(r.Start) > opts.MaxLength {
		return fmt.Errorf("range %s is longer than %s: split it into several runs", r, opts.MaxLength)
	}
	return nil
}

// Partition is the granularity of a rollup partition: "day" or "month".
type Partition string

// PartitionStart returns the start of the partition holding t.
func PartitionStart(p Partition, t time.Time) time.Time {
	t = t.UTC()
	if p == "month" {
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// PartitionEnd returns the end (exclusive) of the partition starting at start.
func PartitionEnd(p Partition, start time.Time) time.Time {
	if p == "month" {
		return start.AddDate(0, 1, 0)
	}
	return start.AddDate(0, 0, 1)
}

// PartitionID returns ClickHouse's partition id of the partition holding t for the rollup
// partition keys hourglass emits: toYYYYMMDD(hour) or toYYYYMM(hour).
func PartitionID(p Partition, t time.Time) string {
	if p == "month" {
		return t.UTC().Format("200601")
	}
	return t.UTC().Format("20060102")
}

// Partitions returns the partitions a range touches, each as its full [start, end), in order.
func Partitions(p Partition, r Range) []Range {
	var out []Range
	for s := PartitionStart(p, r.Start); s.Before(r.End); s = PartitionEnd(p, s) {
		out = append(out, Range{Start: s, End: PartitionEnd(p, s)})
	}
	return out
}

// ClosedEnd is the end of the last closed hour at now: an hour closes delay after it ends
// (the :05 of the next hour with the default delay of 5 minutes).
func ClosedEnd(now time.Time, delay time.Duration) time.Time {
	return now.UTC().Add(-delay).Truncate(time.Hour)
}
