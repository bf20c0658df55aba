package timerange

import (
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 22, 7, 30, 0, 0, time.UTC)

func TestParseTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2026-11-02":                time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC),
		"2026-11-02 10:00":          time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC),
		"2026-11-02T10:00:00Z":      time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC),
		"2026-11-02T12:00:00+02:00": time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC),
		"now":                       now,
		"-30d":                      now.Add(-30 * 24 * time.Hour),
		"-6h":                       now.Add(-6 * time.Hour),
	} {
		got, err := ParseTime(in, now)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "yesterday", "1900-01-01", "9999-12-31", "2026-13-01", "-x", "2026-11-02'; DROP TABLE x"} {
		if _, err := ParseTime(in, now); err == nil {
			t.Errorf("ParseTime(%q): want error", in)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 720 * time.Hour, "2h": 2 * time.Hour, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute, "0s": 0} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-2h", "xd", "3w"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q): want error", in)
		}
	}
}

func TestParseRangeErrors(t *testing.T) {
	opts := Options{Now: now, MaxLength: 400 * 24 * time.Hour}
	for _, c := range []struct{ from, to, want string }{
		{"2026-11-03", "2026-11-02", "not before"},
		{"2026-11-02", "2026-11-02", "not before"},
		{"2026-11-02 10:30", "2026-11-03", "not on the hour"},
		{"2026-11-02", "2026-11-23", "in the future"},
		{"2024-01-01", "2026-11-01", "longer than"},
		{"garbage", "2026-11-01", "--from"},
	} {
		_, err := Parse(c.from, c.to, opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q, %q) = %v, want %q", c.from, c.to, err, c.want)
		}
	}
	r, err := Parse("2026-11-01", "2026-11-22 07:00", opts)
	if err != nil || r.Hours() != 21*24+7 {
		t.Errorf("Parse = %v (%d h), %v", r, r.Hours(), err)
	}
}

func TestPartitions(t *testing.T) {
	r := Range{Start: time.Date(2026, 10, 31, 22, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC)}
	days := Partitions("day", r)
	if len(days) != 3 || !days[0].Start.Equal(time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC)) || !days[2].End.Equal(time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("day partitions = %v", days)
	}
	months := Partitions("month", r)
	if len(months) != 2 || PartitionID("month", months[1].Start) != "202611" || PartitionID("day", days[1].Start) != "20261101" {
		t.Errorf("month partitions = %v", months)
	}
	if got := r.Intersect(days[0]); got.Hours() != 2 {
		t.Errorf("intersect = %v", got)
	}
}

// FuzzParse: any accepted range is hour-aligned, half-open, UTC, ordered and within bounds,
// and nothing panics.
func FuzzParse(f *testing.F) {
	for _, s := range [][2]string{{"2026-11-01", "2026-11-02"}, {"-30d", "now"}, {"2026-11-02 10:00", "2026-11-02 11:00"}, {"1900-01-01", "9999-01-01"}, {"x", "-"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, from, to string) {
		r, err := Parse(from, to, Options{Now: now, MaxLength: 400 * 24 * time.Hour})
		if err != nil {
			return
		}
		if !r.Start.Before(r.End) || r.Start.Location() != time.UTC || !r.Start.Equal(r.Start.Truncate(time.Hour)) ||
			!r.End.Equal(r.End.Truncate(time.Hour)) || r.End.After(now) || r.Start.Before(Earliest) {
			t.Fatalf("Parse(%q, %q) accepted %v", from, to, r)
		}
		for _, p := range Partitions("day", r) {
			if p.Empty() {
				t.Fatalf("empty partition %v", p)
			}
		}
	})
}

func TestClosedEnd(t *testing.T) {
	for _, c := range []struct{ now, want string }{
		{"2026-11-22 10:04:59", "2026-11-22 09:00:00"},
		{"2026-11-22 10:05:00", "2026-11-22 10:00:00"},
		{"2026-11-22 10:59:00", "2026-11-22 10:00:00"},
	} {
		now, _ := time.Parse(time.DateTime, c.now)
		if got := Format(ClosedEnd(now, 5*time.Minute)); got != c.want {
			t.Errorf("ClosedEnd(%s) = %s, want %s", c.now, got, c.want)
		}
	}
}

// TestParseAtAnyMinute: the README's relative ranges work whatever the minute: -30d floors to
// the hour, now is the end of the last closed hour (the delay decides), and absolute times
// must still be on the hour.
func TestParseAtAnyMinute(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.DateTime, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		now, from, to string
		delay         time.Duration
		want          string
	}{
		{"2026-11-22 10:37:21", "-30d", "now", 5 * time.Minute, "[2026-10-23 10:00:00, 2026-11-22 10:00:00)"},
		{"2026-11-22 10:03:00", "-30d", "now", 5 * time.Minute, "[2026-10-23 10:00:00, 2026-11-22 09:00:00)"},
		{"2026-11-22 10:03:00", "-7d", "now", 0, "[2026-11-15 10:00:00, 2026-11-22 10:00:00)"},
		{"2026-11-22 10:37:00", "-90m", "-1m", 5 * time.Minute, "[2026-11-22 09:00:00, 2026-11-22 10:00:00)"},
		{"2026-11-22 10:37:00", "2026-11-20", "now", 5 * time.Minute, "[2026-11-20 00:00:00, 2026-11-22 10:00:00)"},
	} {
		r, err := Parse(c.from, c.to, Options{Now: at(c.now), Delay: c.delay})
		if err != nil || r.String() != c.want {
			t.Errorf("at %s Parse(%q, %q) = %v, %v; want %s", c.now, c.from, c.to, r, err, c.want)
		}
	}
	// Absolute times are taken as written: off the hour is still an error.
	if _, err := Parse("2026-11-20 10:37", "now", Options{Now: at("2026-11-22 10:37:00")}); err == nil || !strings.Contains(err.Error(), "not on the hour") {
		t.Errorf("absolute off-hour: %v", err)
	}
	// now as a start is the closed end too: nothing to do is an error, not an empty range.
	if _, err := Parse("now", "now", Options{Now: at("2026-11-22 10:37:00")}); err == nil || !strings.Contains(err.Error(), "not before") {
		t.Errorf("now..now: %v", err)
	}
}

func TestParseDay(t *testing.T) {
	now := time.Date(2026, 11, 5, 3, 30, 0, 0, time.UTC)
	for in, want := range map[string]string{"today": "2026-11-05", "now": "2026-11-05", "-7d": "2026-10-29", "2026-11-01": "2026-11-01"} {
		got, err := ParseDay(in, now)
		if err != nil || got.Format(time.DateOnly) != want || got.Hour() != 0 {
			t.Errorf("ParseDay(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-7h", "2026-11-01 10:00", "yesterday", "1900-01-01"} {
		if _, err := ParseDay(bad, now); err == nil {
			t.Errorf("ParseDay(%q) accepted", bad)
		}
	}
}
