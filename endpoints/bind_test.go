package endpoints_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/pipes"
)

// TestBind: "not given" and "empty string" differ, lists split on commas, a Date range
// includes its last day, limits keep to their caps, compare needs whole buckets.
func TestBind(t *testing.T) {
	a, err := pipes.Compile(loadWebAnalytics(t, "analytics"))
	if err != nil {
		t.Fatal(err)
	}
	bind := func(name string, params map[string]string) (*endpoints.Call, error) {
		return endpoints.Bind(a.Endpoint(name).Endpoint, params, waNow, 5*time.Minute)
	}
	c, err := bind("top_sources", map[string]string{"referrer": "", "locations": "DE,,FR"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"referrer": "", "__hg_has_referrer": uint8(1), "locations": []any{"DE", "", "FR"}, "__hg_has_locations": uint8(1),
		"date_from": "2026-10-29", "date_to": "2026-11-05", "limit": uint64(50), "skip": uint64(0),
		"start": time.Date(2026, 10, 29, 0, 0, 0, 0, time.UTC), "end": time.Date(2026, 11, 6, 0, 0, 0, 0, time.UTC),
	}
	if d := cmp.Diff(want, map[string]any(c.Params)); d != "" {
		t.Errorf("top_sources params (-want +got):\n%s", d)
	}
	if !c.Given["referrer"] || !c.Given["locations"] {
		t.Errorf("given %v", c.Given)
	}
	c, err = bind("top_sources", map[string]string{"date_from": "2026-11-01", "date_to": "2026-11-01"})
	if err != nil || c.Params["__hg_has_referrer"] != uint8(0) || c.Params["referrer"] != "" || c.Range.End.Sub(c.Range.Start) != 24*time.Hour {
		t.Errorf("not given / one day: %+v %v", c, err)
	}
	c, err = bind("kpis_summary", map[string]string{"date_from": "2026-11-01", "date_to": "2026-11-03"})
	if err != nil || c.Previous.Start != time.Date(2026, 10, 29, 0, 0, 0, 0, time.UTC) || c.Previous.End != c.Range.Start {
		t.Errorf("previous period: %+v %v", c, err)
	}
	c, err = bind("trend", map[string]string{})
	if err != nil || c.Range.End != time.Date(2026, 11, 5, 3, 0, 0, 0, time.UTC) || c.Range.Start != time.Date(2026, 11, 4, 3, 0, 0, 0, time.UTC) {
		t.Errorf("trend defaults: %+v %v", c, err)
	}
	for _, bad := range []struct {
		name   string
		params map[string]string
		want   string
	}{
		{"top_sources", map[string]string{"limit": "101"}, "at most 100"},
		{"top_sources", map[string]string{"limit": "-1"}, "whole number"},
		{"top_sources", map[string]string{"nope": "1"}, `has no parameter "nope": it takes limit, skip, date_from, date_to, referrer, locations`},
		{"kpis", map[string]string{"date_to": "tomorrow"}, "is not a day"},
		{"trend", map[string]string{"start": "2026-11-01 10:30:00", "end": "2026-11-01 10:00:00"}, "is not before"},
		{"web_vitals", map[string]string{"end": "2026-11-01"}, "needs --param start=TIME"},
	} {
		if _, err := bind(bad.name, bad.params); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s %v: %v, want %q", bad.name, bad.params, err, bad.want)
		}
	}
}
