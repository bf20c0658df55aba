package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/scheduler"
	"github.com/hourglass-dev/hourglass/timerange"
	"github.com/hourglass-dev/hourglass/versions"
)

// TestOlderVersionAnEndpointReadsIsKeptFresh: events_overview_hourly changed (a metric
// added) and was deployed as version 2, never backfilled, while an endpoint still reads
// version 1. The scheduler starts (no "never backfilled" refusal), its health names a
// partition of version 1 a crash left in doubt, and each tick populates version 1 from the
// definition it was deployed with — redoing that partition first — so it stays equal to raw
// SQL, while version 2 waits for its backfill; its watermark is the one lag and hours behind
// report.
func TestOlderVersionAnEndpointReadsIsKeptFresh(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	f.InsertEvents(day(3, 0), day(5, 6), 3000, 5)
	f.backfill(timerange.Range{Start: day(3, 0), End: day(5, 0)}, overview)
	if err := versions.RecordDefinition(ctx, f.Store, overview, f.A.Rollup(overview).Rollup); err != nil {
		t.Fatal(err)
	}
	if err := f.Store.RecordEndpoint(ctx, meta.EndpointState{Endpoint: "sum_primitives", Target: "rollup", Table: overview}); err != nil {
		t.Fatal(err)
	}
	// A unit of version 1 left swapping by a run that is gone: day 4 may be doubled.
	if err := f.Store.RecordUnit(ctx, meta.Unit{RunID: "dead", Rollup: overview, Kind: populate.KindPopulate, Start: day(4, 0), End: day(5, 0), Status: meta.StatusSwapping}); err != nil {
		t.Fatal(err)
	}

	// The changed definition, deployed as version 2 beside version 1.
	def := projecttest.Project(t, f.DB)
	r := def.Rollup(overview)
	r.Metrics = append(append([]*datasources.Metric{}, r.Metrics...), &datasources.Metric{Name: "max_time_on_page", Kind: datasources.MetricMax, Column: "time_on_page"})
	a2, err := pipes.Compile(def)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := a2.Rollup(overview).Versioned(overview + "_v2")
	if err != nil {
		t.Fatal(err)
	}
	enginetest.MustExec(t, f.E, v2.CreateTable)
	if err := f.Store.RecordDeployment(ctx, meta.Deployment{Object: overview, Kind: "rollup", Version: 2, Table: v2.Table, Hash: v2.Hash}); err != nil {
		t.Fatal(err)
	}
	for i, ra := range a2.Rollups { // the deployed versions, as the CLI resolves them
		if ra.Rollup.Name == overview {
			a2.Rollups[i] = v2
		}
	}

	failing := true
	p := &flaky{r: populate.New(f.E, f.Store, a2, populate.Options{Now: f.clock.Now}), fail: func(string, int) error {
		if failing {
			return errors.New("injected: engine unavailable")
		}
		return nil
	}}
	s, err := scheduler.New(scheduler.Options{Runner: p, Store: f.Store, Rollups: []*datasources.Rollup{v2.Rollup}, Clock: f.clock,
		Tables: map[string]string{overview: v2.Table}, LeaseTTL: 90 * time.Minute,
		Retry: scheduler.RetryPolicy{Initial: time.Minute, Max: time.Minute, Multiplier: 2, Jitter: -1, Window: 3 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check with version 2 never backfilled while version 1 serves = %v", err)
	}
	f.clock.Set(day(5, 2).Add(5 * time.Minute))
	_ = s.Tick(ctx, f.clock.Now())
	st, _, _ := s.Status()
	if st[0].Healthy || !strings.Contains(st[0].Reason, "1 partition(s) of "+overview+", an older version endpoints read, may be counted twice after a crash (20261104)") {
		t.Fatalf("status with a suspect partition in version 1: %+v", st[0])
	}
	if m := parseMetrics(t, scheduler.WriteMetrics(st, true)); m[`hourglass_suspect_partitions{rollup="`+overview+`"}`] != 1 {
		t.Fatalf("metrics: %v", m)
	}

	failing = false
	for h := 3; h <= 5; h++ {
		f.clock.Set(day(5, h).Add(5*time.Minute + 17*time.Second))
		if err := s.Tick(ctx, f.clock.Now()); err != nil {
			t.Fatalf("tick at %s: %v", f.clock.Now(), err)
		}
		if w := f.watermark(overview); !w.Equal(day(5, h)) {
			t.Fatalf("version 1's watermark after the tick at %s = %s", f.clock.Now(), w)
		}
		// Version 1 against raw SQL, per hour: count, distinct users (the uniqCombined(14) the
		// default project counts them with), sum of values.
		got := enginetest.MustQuery(t, f.E, fmt.Sprintf(`SELECT count(), countIf(r.c != o.c OR r.u != o.u OR abs(r.v - o.v) > 1e-6 * abs(r.v)) FROM
            (SELECT toStartOfHour(timestamp) AS h, count() AS c, uniqCombined(14)(user_id) AS u, sum(value_usd) AS v FROM %[1]s.events WHERE timestamp < {end:DateTime} GROUP BY h) AS r
            FULL OUTER JOIN (SELECT hour AS h, sum(event_count) AS c, uniqCombinedMerge(14)(unique_users) AS u, sum(total_value_usd) AS v FROM %[1]s.%[2]s GROUP BY h) AS o USING h`,
			f.DB, overview), map[string]any{"end": day(5, h)}).Rows
		if fmt.Sprint(got) != fmt.Sprintf("[[%d 0]]", 48+h) {
			t.Fatalf("version 1 per hour against raw SQL after the tick at %s: [hours, hours that differ] = %v", f.clock.Now(), got)
		}
	}
	if _, ok, err := f.Store.Watermark(ctx, v2.Table); err != nil || ok {
		t.Fatalf("version 2 was populated before its backfill (watermark recorded %v, %v)", ok, err)
	}
	// Lag and hours behind follow version 1, the one endpoints read.
	if st, _, _ := s.Status(); !st[0].Healthy || len(st[0].ServedSuspect) != 0 || !st[0].Watermark.Equal(day(5, 5)) || st[0].HoursBehind != 0 {
		t.Fatalf("status after the ticks: %+v", st[0])
	}
	f.clock.Set(day(5, 8).Add(10 * time.Minute))
	if st, _, _ := s.Status(); st[0].HoursBehind != 3 {
		t.Fatalf("three hours later, hours behind = %d", st[0].HoursBehind)
	}
}
