package pipes

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// comparisonFiles are the comparison queries the compiler emits for the web project: the
// in-engine diffs validate runs (rollup against raw, per hour and dimension, and totals with
// no key) and, per rollup, reconcile's fingerprint.
func comparisonFiles(t *testing.T) map[string][]byte {
	t.Helper()
	a, err := Compile(webProject(""))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, ra := range a.Rollups {
		var values []DiffValue
		var names []string
		for _, m := range ra.Rollup.Metrics {
			v, ok := ra.MetricValue(m.Name)
			if !ok {
				t.Fatalf("%s: no value kind for %s", ra.Rollup.Name, m.Name)
			}
			if v.Float {
				v.Tolerance = 1e-9
			}
			values, names = append(values, v), append(names, m.Name)
		}
		dims := []string{ra.Rollup.Dimensions[0].Name, ra.Rollup.Dimensions[1].Name}
		raw, err := ra.MetricsQuery(SideRaw, "hour", dims, names)
		if err != nil {
			t.Fatal(err)
		}
		rolled, err := ra.MetricsQuery(SideRollup, "hour", dims, names)
		if err != nil {
			t.Fatal(err)
		}
		q, err := DiffQuery(Diff{Reference: raw, Candidate: rolled, Keys: append([]string{"hour"}, dims...), Values: values, Sample: 20})
		if err != nil {
			t.Fatal(err)
		}
		files[ra.Rollup.Name+".diff.sql"] = []byte(q + "\n")
		rawFP, rollFP, fpValues, err := ra.Fingerprint()
		if err != nil {
			t.Fatal(err)
		}
		var desc []string
		for _, v := range fpValues {
			desc = append(desc, fmt.Sprintf("-- %s numeric=%v float=%v", v.Name, v.Numeric, v.Float))
		}
		files[ra.Rollup.Name+".fingerprint.sql"] = []byte(strings.Join(desc, "\n") + "\n\n" + rawFP + ";\n\n" + rollFP + ";\n")
	}
	q, err := DiffQuery(Diff{Reference: "SELECT 1 AS n", Candidate: "SELECT 2 AS n", Values: []DiffValue{{Name: "n", Numeric: true}}, Sample: -1})
	if err != nil {
		t.Fatal(err)
	}
	files["totals.diff.sql"] = []byte(q + "\n")
	return files
}

func TestComparisonGolden(t *testing.T) {
	checkGolden(t, filepath.Join("testdata", "golden", "comparison"), comparisonFiles(t))
}

func TestMetricValue(t *testing.T) {
	a, err := Compile(webProject(""))
	if err != nil {
		t.Fatal(err)
	}
	ra := a.Rollup("sessions_hourly")
	var got []string
	for _, m := range ra.Rollup.Metrics {
		v, _ := ra.MetricValue(m.Name)
		got = append(got, fmt.Sprintf("%s:%v:%v", m.Name, v.Numeric, v.Float))
	}
	want := "session_count:true:false unique_users:true:false new_sessions:true:false bounced_sessions:true:false total_duration:true:false " +
		"avg_duration:true:true min_duration:true:false max_duration:true:false last_landing_page:false:false total_revenue:true:false " +
		"max_revenue:true:false returning_revenue:true:false avg_price:true:true"
	if strings.Join(got, " ") != want {
		t.Errorf("value kinds\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if v, _ := a.Rollup("events_hourly").MetricValue("total_value_usd"); !v.Float {
		t.Error("a sum of Float64 is not a float")
	}
	if _, ok := ra.MetricValue("nope"); ok {
		t.Error("unknown metric has a value kind")
	}
	for _, d := range []Diff{
		{Reference: "SELECT 1", Candidate: "", Values: []DiffValue{{Name: "n"}}},
		{Reference: "SELECT 1", Candidate: "SELECT 1"},
		{Reference: "SELECT 1", Candidate: "SELECT 1", Keys: []string{"n"}, Values: []DiffValue{{Name: "n"}}},
		{Reference: "SELECT 1", Candidate: "SELECT 1", Values: []DiffValue{{Name: "n", Tolerance: -1}}},
	} {
		if _, err := DiffQuery(d); err == nil {
			t.Errorf("DiffQuery(%+v): want an error", d)
		}
	}
}

func TestCurrentQuery(t *testing.T) {
	p := webProject("")
	for in, want := range map[string]string{
		"SELECT count() FROM events WHERE x":                          "SELECT count() FROM `analytics`.`events` WHERE x",
		"select * from events e join sessions s using (session_id)":   "select * from `analytics`.`events` e join `analytics`.`sessions` s using (session_id)",
		"SELECT 1 FROM other.events, SELECT 2 FROM events_hourly":     "SELECT 1 FROM other.events, SELECT 2 FROM `analytics`.`events_hourly`",
		"SELECT 1 FROM unknown_table":                                 "SELECT 1 FROM unknown_table",
		"WITH events AS (SELECT 1) SELECT * FROM events":              "WITH events AS (SELECT 1) SELECT * FROM events",
		"SELECT 1 FROM eventsx JOIN (SELECT 1 FROM sessions) USING x": "SELECT 1 FROM eventsx JOIN (SELECT 1 FROM `analytics`.`sessions`) USING x",
	} {
		if got := CurrentQuery(p, in); got != want {
			t.Errorf("CurrentQuery(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}
