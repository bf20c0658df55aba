package httpapi

import (
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/timerange"
)

// TestShapeOf pins which endpoint shapes keep buckets (their rows concatenate in order when
// kept and fresh buckets follow each other) and which are kept whole only.
func TestShapeOf(t *testing.T) {
	for _, c := range []struct {
		name   string
		ep     datasources.Endpoint
		from   string
		series bool
		step   time.Duration
	}{
		{"totals", datasources.Endpoint{}, "DateTime", false, time.Hour},
		{"hourly series", datasources.Endpoint{Bucket: "hour", Fill: true}, "DateTime", true, time.Hour},
		{"daily series over Dates", datasources.Endpoint{Bucket: "day"}, "Date", true, 24 * time.Hour},
		{"series grouped, unfilled", datasources.Endpoint{Bucket: "hour", GroupBy: []string{"country"}}, "DateTime", true, time.Hour},
		{"series grouped and filled: ordered by group first", datasources.Endpoint{Bucket: "hour", Fill: true, GroupBy: []string{"country"}}, "DateTime", false, time.Hour},
		{"series with compare", datasources.Endpoint{Bucket: "day", Compare: datasources.ComparePreviousPeriod}, "Date", false, 24 * time.Hour},
		{"series with a limit", datasources.Endpoint{Bucket: "hour", Limit: 10}, "DateTime", false, time.Hour},
		{"series with a limit parameter", datasources.Endpoint{Bucket: "hour", LimitParam: &datasources.Paging{Param: "limit"}}, "DateTime", false, time.Hour},
		{"series ordered by bucket", datasources.Endpoint{Bucket: "hour", OrderBy: []string{"hour ASC", "country"}}, "DateTime", true, time.Hour},
		{"series ordered by bucket descending", datasources.Endpoint{Bucket: "hour", OrderBy: []string{"hour DESC"}}, "DateTime", false, time.Hour},
		{"series ordered by a metric", datasources.Endpoint{Bucket: "hour", OrderBy: []string{"visits DESC"}}, "DateTime", false, time.Hour},
	} {
		s := shapeOf(&c.ep, c.from)
		if s.series != c.series {
			t.Errorf("%s: series %v, want %v", c.name, s.series, c.series)
		}
		if want := map[string]time.Duration{"Date": 24 * time.Hour, "DateTime": time.Hour}[c.from]; s.rangeStep != want {
			t.Errorf("%s: range step %s, want %s", c.name, s.rangeStep, want)
		}
		if c.series && s.step != c.step {
			t.Errorf("%s: bucket step %s, want %s", c.name, s.step, c.step)
		}
	}
}

// TestCacheKeyAndBoundary: the range parameters are not part of a series' key (a later range
// reuses it), every other parameter is; the boundary is the watermark less the lookback,
// floored to the bucket.
func TestCacheKeyAndBoundary(t *testing.T) {
	a := cacheKey("ts", "t_v2", map[string]string{"start": "-3d", "end": "now", "campaign_id": "c1"}, "start", "end", nil)
	b := cacheKey("ts", "t_v2", map[string]string{"start": "-4d", "end": "2026-11-20 00:00:00", "campaign_id": "c1"}, "start", "end", nil)
	if a != b {
		t.Errorf("the range is part of a series key: %q vs %q", a, b)
	}
	for _, other := range []string{
		cacheKey("ts", "t_v2", map[string]string{"campaign_id": "c2"}, "start", "end", nil),
		cacheKey("ts", "t_v2", map[string]string{"campaign_id": ""}, "start", "end", nil),
		cacheKey("ts", "t", map[string]string{"campaign_id": "c1"}, "start", "end", nil),
		cacheKey("ts2", "t_v2", map[string]string{"campaign_id": "c1"}, "start", "end", nil),
	} {
		if other == a {
			t.Errorf("different calls share the key %q", a)
		}
	}
	rg := timerange.Range{Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}
	if cacheKey("s", "t", nil, "start", "end", &rg) == cacheKey("s", "t", nil, "start", "end", nil) {
		t.Error("a whole answer's key lacks its range")
	}
	w := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
	if got := closedBoundary(w, 2*time.Hour, time.Hour); !got.Equal(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("hourly boundary %s", got)
	}
	if got := closedBoundary(w, 2*time.Hour, 24*time.Hour); !got.Equal(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("daily boundary %s", got)
	}
	if got := closedBoundary(w, 3*time.Hour, 24*time.Hour); !got.Equal(time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("daily boundary with a longer lookback %s", got)
	}
	if !closedBoundary(time.Time{}, time.Hour, time.Hour).IsZero() {
		t.Error("a version never populated keeps nothing")
	}
}
