package pipes

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/timerange"
)

// readsYAML is a project with the read features: distinct counts of every precision, a
// rollup with day and week grains, a time series with finals per hour and one per day, and an
// endpoint that opts out of the raw tail.
const readsYAML = `name: reads
datasources:
  - name: events
    partition_by: toYYYYMM(ts)
    order_by: [campaign_id, ts]
    columns:
      - {name: ts, type: DateTime}
      - {name: campaign_id, type: LowCardinality(String)}
      - {name: event_type, type: LowCardinality(String)}
      - {name: user_id, type: String}
      - {name: value, type: Float64}
rollups:
  - name: events_hourly
    source: events
    time_column: ts
    dimensions: [campaign_id, event_type]
    grains: [day, week]
    metrics:
      - {name: events, kind: count}
      - {name: users, kind: uniq_combined, precision: 14, column: user_id}
      - {name: users_default, kind: uniq_combined, column: user_id}
      - {name: users_uniq, kind: uniq, column: user_id}
      - {name: users_exact, kind: uniq_exact, column: user_id}
      - {name: value, kind: sum, column: value}
    derived:
      - {name: value_per_event, expr: "if(events = 0, 0, value / events)"}
endpoints:
  - name: totals
    rollup: events_hourly
    metrics: [events, users, value]
    params: [{name: campaign_id, type: String}]
    filters: [{dimension: campaign_id, param: campaign_id}]
  - name: hourly
    rollup: events_hourly
    metrics: [events, users]
    bucket: hour
    params: [{name: campaign_id, type: String}]
    filters: [{dimension: campaign_id, param: campaign_id}]
    finals: true
  - name: daily
    rollup: events_hourly
    metrics: [events, users]
    group_by: [event_type]
    bucket: day
    params: [{name: campaign_id, type: String}, {name: event_type, type: String}]
    filters: [{dimension: campaign_id, param: campaign_id}, {dimension: event_type, param: event_type}]
    finals: [[], [campaign_id]]
  - name: closed_only
    rollup: events_hourly
    metrics: [events]
    fresh: false
  - name: trend
    rollup: events_hourly
    metrics: [events, users, value_per_event]
    bucket: day
    fill: true
    compare: previous_period
    params: [{name: campaign_id, type: String}, {name: types, type: Array(String)}]
    filters: [{dimension: campaign_id, param: campaign_id}, {dimension: event_type, param: types, op: in}]
    finals: true
`

func readsProject(t *testing.T) *datasources.Project {
	t.Helper()
	p, err := datasources.Load(fstest.MapFS{datasources.ProjectFile: &fstest.MapFile{Data: []byte(readsYAML)}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func at(s string) time.Time {
	t, err := time.Parse(time.DateTime, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestGoldenReads pins what the compiler writes for grains, finals and planned reads.
func TestGoldenReads(t *testing.T) {
	a := mustCompile(t, readsProject(t))
	ra := a.Rollup("events_hourly")
	files := map[string][]byte{}
	for name, b := range ClickHouseFiles(a) {
		files["clickhouse/"+name] = b
	}
	for _, g := range ra.Grains {
		stg := g.Table + "__stg_1"
		files["grain_"+string(g.Grain)+".sql"] = []byte(strings.Join(append(g.CreateFilled(), g.CreateStagingNamed(stg), g.RebuildFrom(stg, g.From), g.ReplacePartitionFrom("20261123", stg), g.CountPartition(stg)), ";\n") + ";\n-- laid out again (deploy, when the table has another partition key)\n" + strings.Join(g.ReplaceFilled(), ";\n") + ";\n" +
			"-- merged from the staging table of the finer table's swaps\n" + g.RebuildFrom(stg, g.From+"__stg_1") + ";\n")
	}
	for _, f := range ra.Finals {
		stg := f.Table + "__stg_1"
		files["finals_"+f.Endpoint.Name+".sql"] = []byte(strings.Join(append(f.CreateFilled(), f.RebuildFrom(stg, f.From()), f.ReplacePartitionFrom("202611", stg)), ";\n") + ";\n" +
			"-- finished from the staging table of the version's swaps\n" + f.RebuildFrom(stg, f.From()+"__stg_1") + ";\n")
	}
	w := at("2026-11-20 10:00:00")
	for _, c := range []struct {
		name     string
		endpoint string
		rg       timerange.Range
		w        time.Time
		given    []string
	}{
		{"totals_90d", "totals", timerange.Range{Start: at("2026-08-22 07:00:00"), End: at("2026-11-20 12:30:00")}, w, nil},
		{"totals_tenant_unaligned", "totals", timerange.Range{Start: at("2026-11-02 07:20:00"), End: at("2026-11-20 09:00:00")}, w, []string{"campaign_id"}},
		{"totals_no_watermark", "totals", timerange.Range{Start: at("2026-11-02 00:00:00"), End: at("2026-11-03 00:00:00")}, time.Time{}, nil},
		{"hourly_finals", "hourly", timerange.Range{Start: at("2026-11-01 00:00:00"), End: at("2026-11-20 12:00:00")}, w, []string{"campaign_id"}},
		{"daily_finals", "daily", timerange.Range{Start: at("2026-11-01 05:00:00"), End: at("2026-11-20 12:00:00")}, w, nil},
		{"daily_no_finals_for_event_type", "daily", timerange.Range{Start: at("2026-11-01 05:00:00"), End: at("2026-11-20 12:00:00")}, w, []string{"event_type"}},
		{"closed_only", "closed_only", timerange.Range{Start: at("2026-11-01 00:00:00"), End: at("2026-11-20 12:00:00")}, w, nil},
		{"trend_compare_finals", "trend", timerange.Range{Start: at("2026-11-06 00:00:00"), End: at("2026-11-21 00:00:00")}, w, []string{"campaign_id"}},
		{"trend_compare_list_filter", "trend", timerange.Range{Start: at("2026-11-06 00:00:00"), End: at("2026-11-21 00:00:00")}, w, []string{"campaign_id", "event_type"}},
	} {
		plan, err := ra.PlanRead(a.Endpoint(c.endpoint).Endpoint, ReadCall{Range: c.rg, Watermark: c.w, Given: c.given})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "-- %s over %s, watermark %s: %s\n", c.endpoint, c.rg, timerange.Format(c.w), plan.Summary())
		for _, s := range plan.Segments {
			fmt.Fprintf(&b, "-- %s %s %v previous=%v\n", s.Kind, s.Table, s.Ranges, s.Previous)
		}
		for _, n := range plan.Notes {
			fmt.Fprintf(&b, "-- note: %s\n", n)
		}
		files["plan_"+c.name+".sql"] = []byte(b.String() + plan.SQL + ";\n")
	}
	// A version's statements to drop it take its grain and finals tables with it.
	files["drop_version.sql"] = []byte(strings.Join(ra.DropVersion(), ";\n") + ";\n")
	checkGolden(t, filepath.Join("testdata", "golden", "reads"), files)
}

// TestPlanCoversTheRange checks, for many ranges and watermarks, that a plan's segments cover
// the call's range exactly once, every grain segment is made of whole periods before the
// watermark, and nothing after the watermark is read from a stored table.
func TestPlanCoversTheRange(t *testing.T) {
	a := mustCompile(t, readsProject(t))
	ra := a.Rollup("events_hourly")
	base := at("2026-10-01 00:00:00")
	for _, ep := range []string{"totals", "hourly", "daily", "closed_only"} {
		e := a.Endpoint(ep).Endpoint
		for i := 0; i < 400; i++ {
			// Deterministic, varied: starts and ends off the hour, watermarks before, inside
			// and after the range.
			s := base.Add(time.Duration(i*7919%(60*24*40)) * time.Minute)
			end := s.Add(time.Duration(i*104729%(60*24*60)) * time.Minute)
			w := base.Add(time.Duration(i*15485863%(24*70)) * time.Hour)
			if i%17 == 0 {
				w = time.Time{}
			}
			var given []string
			if i%2 == 0 {
				given = []string{"campaign_id"}
			}
			plan, err := ra.PlanRead(e, ReadCall{Range: timerange.Range{Start: s, End: end}, Watermark: w, Given: given})
			if err != nil {
				t.Fatal(err)
			}
			want := timerange.Range{Start: s, End: end}
			if e.NoFresh && want.End.After(w) {
				want.End = maxTime(w, s)
			}
			var all []timerange.Range
			for _, seg := range plan.Segments {
				for _, r := range seg.Ranges {
					all = append(all, r)
					if seg.Kind == SegmentRaw {
						continue
					}
					if r.End.After(w) {
						t.Fatalf("%s %s w=%s: %s segment %s reaches past the watermark", ep, want, w, seg.Kind, r)
					}
					switch seg.Kind {
					case SegmentWeek, SegmentDay:
						g := datasources.Grain(seg.Kind)
						if !periodStart(g, r.Start).Equal(r.Start) || !periodStart(g, r.End).Equal(r.End) {
							t.Fatalf("%s %s: %s segment %s is not whole periods", ep, want, seg.Kind, r)
						}
					case SegmentHour:
						if !r.Start.Equal(r.Start.Truncate(time.Hour)) || !r.End.Equal(r.End.Truncate(time.Hour)) {
							t.Fatalf("%s %s: hour segment %s is not whole hours", ep, want, r)
						}
					}
				}
			}
			got := joinRanges(all)
			if want.Empty() {
				if len(got) != 0 {
					t.Fatalf("%s %s: empty range planned as %v", ep, want, got)
				}
				continue
			}
			if d := cmp.Diff([]timerange.Range{want}, got); d != "" {
				t.Fatalf("%s %s w=%s: segments do not cover the range once (-want +got):\n%s\n%s", ep, want, w, d, plan.Summary())
			}
			total := time.Duration(0)
			for _, r := range all {
				total += r.End.Sub(r.Start)
			}
			if total != want.End.Sub(want.Start) {
				t.Fatalf("%s %s: segments overlap (%s read for %s)", ep, want, total, want.End.Sub(want.Start))
			}
		}
	}
}

// TestDerivedUnits: the partitions a change of hours rebuilds — days and weeks by ISO week,
// finals by month — and the periods merged again in each.
func TestDerivedUnits(t *testing.T) {
	a := mustCompile(t, readsProject(t))
	ra := a.Rollup("events_hourly")
	changed := timerange.Range{Start: at("2026-11-29 22:00:00"), End: at("2026-12-01 03:00:00")} // Sunday → Tuesday
	got := map[string][]string{}
	add := func(name string, us []GrainUnit) {
		for _, u := range us {
			got[name] = append(got[name], fmt.Sprintf("%s %s %s", u.PartitionID, u.Partition, u.Periods))
		}
	}
	add("day", ra.Grain(datasources.GrainDay).Units(changed))
	add("week", ra.Grain(datasources.GrainWeek).Units(changed))
	add("hourly finals", ra.FinalsOf("hourly").Units(changed))
	add("daily finals", ra.FinalsOf("daily").Units(changed))
	want := map[string][]string{
		"day": {
			"20261123 [2026-11-23 00:00:00, 2026-11-30 00:00:00) [2026-11-29 00:00:00, 2026-11-30 00:00:00)",
			"20261130 [2026-11-30 00:00:00, 2026-12-07 00:00:00) [2026-11-30 00:00:00, 2026-12-02 00:00:00)",
		},
		"week": {
			"20261123 [2026-11-23 00:00:00, 2026-11-30 00:00:00) [2026-11-23 00:00:00, 2026-11-30 00:00:00)",
			"20261130 [2026-11-30 00:00:00, 2026-12-07 00:00:00) [2026-11-30 00:00:00, 2026-12-07 00:00:00)",
		},
		"hourly finals": {
			"202611 [2026-11-01 00:00:00, 2026-12-01 00:00:00) [2026-11-29 22:00:00, 2026-12-01 00:00:00)",
			"202612 [2026-12-01 00:00:00, 2027-01-01 00:00:00) [2026-12-01 00:00:00, 2026-12-01 03:00:00)",
		},
		"daily finals": {
			"202611 [2026-11-01 00:00:00, 2026-12-01 00:00:00) [2026-11-29 00:00:00, 2026-12-01 00:00:00)",
			"202612 [2026-12-01 00:00:00, 2027-01-01 00:00:00) [2026-12-01 00:00:00, 2026-12-02 00:00:00)",
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("units (-want +got):\n%s", d)
	}
}

// TestGrainLaidOut: a grain table has the compiled layout only with the compiled partition
// key, however the server spells it.
func TestGrainLaidOut(t *testing.T) {
	week := mustCompile(t, readsProject(t)).Rollup("events_hourly").Grain(datasources.GrainWeek)
	for key, want := range map[string]bool{"toMonday(hour)": true, "toMonday(`hour`)": true, "toMonday( hour )": true, "toYYYYMM(hour)": false, "": false} {
		if got := week.LaidOut(key); got != want {
			t.Errorf("LaidOut(%q) = %v, want %v", key, got, want)
		}
	}
}
