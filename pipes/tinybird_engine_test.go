package pipes_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/internal/tbemu"
	"github.com/hourglass-dev/hourglass/pipes"
)

// hitEvents returns n NDJSON events one every 97 seconds from start, deterministically by
// seed: payload is an object (sometimes without pathname), props a string holding JSON
// (sometimes without medium).
func hitEvents(start time.Time, n, seed int) []string {
	var out []string
	for i := 0; i < n; i++ {
		k := i*7919 + seed*104729
		ts := start.Add(time.Duration(i*97+seed) * time.Second)
		payload := fmt.Sprintf(`{"pathname": "/p%d", "scroll": {"depth": %d}}`, k%5, k%101)
		if k%11 == 0 {
			payload = `{"title": "no path"}`
		}
		props := fmt.Sprintf(`{"utm": {"source": "s%d", "medium": "m%d"}}`, k%3, k%2)
		if k%4 == 0 {
			props = fmt.Sprintf(`{"utm": {"source": "s%d"}}`, k%3)
		}
		propsJSON := strings.NewReplacer(`"`, `\"`).Replace(props)
		out = append(out, fmt.Sprintf(`{"ts": %q, "site": "site%d", "user_id": "u%d", "duration": %d, "payload": %s, "props": "%s"}`,
			ts.UTC().Format("2006-01-02 15:04:05"), k%2, k%37, k%600, payload, propsJSON))
	}
	return out
}

// TestTinybirdCopyAndJSONEmulated runs the Tinybird datafiles of a project on the embedded
// engine through an emulation of Tinybird written in the tests (package tbemu): ingestion by
// json paths, the copy pipe's scheduled runs in replace mode with late rows between them, a
// backfill run, repeated runs, and the materialized pipe. The rollups it ends with must hold
// exactly the numbers raw SQL written here computes from the ClickHouse target's raw table,
// which got the same events through ClickHouse's own JSONEachRow ingestion; so the two
// targets agree on both JSON shapes and the copy pipe counts every hour once.
func TestTinybirdCopyAndJSONEmulated(t *testing.T) {
	if _, err := os.Stat(engine.LibraryPath()); err != nil {
		enginetest.Unavailable(t, "the embedded engine (libchdb.so)", err)
	}
	ctx := context.Background()
	e, err := engine.Open(ctx, "chdb://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	p := projecttest.FromYAML(t, projecttest.JSONYAML, "ch")
	a, err := pipes.Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	files, err := pipes.Tinybird(a)
	if err != nil {
		t.Fatal(err)
	}
	enginetest.MustExec(t, e, a.CreateDatabase, "CREATE DATABASE tb")
	for _, d := range a.Datasources {
		enginetest.MustExec(t, e, d.CreateTable)
	}
	for _, r := range a.Rollups {
		enginetest.MustExec(t, e, r.CreateTable)
	}
	tb := tbemu.New(t, e, "tb", files)
	ingest := func(events []string) {
		t.Helper()
		// ClickHouse's own ingestion of the same events: objects land in String columns as
		// their JSON text, the json columns are MATERIALIZED.
		enginetest.MustExec(t, e, "INSERT INTO ch.hits FORMAT JSONEachRow\n"+strings.Join(events, "\n"))
		tb.Ingest("hits", events)
	}
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse("2006-01-02 15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	copyRun := func(now string, params map[string]string) {
		t.Helper()
		tb.Copy("populate_hits_hourly", params, at(now))
	}

	// History up to 2026-11-02 05:40, then a backfill of the first day and the scheduled runs.
	ingest(hitEvents(at("2026-11-01 00:00:00"), 1100, 1))
	copyRun("2026-11-02 03:17:00", map[string]string{"start_date": "2026-11-01 00:00:00", "end_date": "2026-11-02 00:00:00"})
	copyRun("2026-11-02 06:05:03", nil) // a little late, as Tinybird's jobs may be
	// Late rows for 04:00–06:00 (inside the next run's lookback) and new ones up to 12:00.
	ingest(hitEvents(at("2026-11-02 04:00:00"), 60, 2))
	ingest(hitEvents(at("2026-11-02 06:00:00"), 222, 3))
	copyRun("2026-11-02 12:05:00", nil)
	copyRun("2026-11-02 12:05:00", nil) // repeated: nothing may be counted twice
	copyRun("2026-11-02 18:05:00", nil)

	// What the Tinybird rollups hold, finalised by the compiler's own read, against raw SQL
	// written here over the ClickHouse target's raw table.
	end := at("2026-11-02 18:00:00")
	tbProject := *p
	tbProject.Database = "tb"
	read := func(proj *datasources.Project, rollup string, dims []string) [][]any {
		t.Helper()
		q, err := pipes.MetricsQuery(proj, proj.Rollup(rollup), pipes.SideRollup, "hour", dims, nil)
		if err != nil {
			t.Fatal(err)
		}
		return enginetest.MustQuery(t, e, q, engine.Params{pipes.StartParam: at("2026-10-01 00:00:00"), pipes.EndParam: end}).Rows
	}
	raw := func(q string) [][]any {
		t.Helper()
		return enginetest.MustQuery(t, e, q, engine.Params{"end": end}).Rows
	}
	wantHourly := raw(`SELECT toStartOfHour(ts) AS h, site, pathname, utm_source, utm_medium,
    count(), uniqExact(user_id), sum(duration), max(depth), avg(duration), argMax(pathname, ts)
FROM ch.hits WHERE ts < {end:DateTime}
GROUP BY h, site, pathname, utm_source, utm_medium ORDER BY h, site, pathname, utm_source, utm_medium`)
	if len(wantHourly) < 100 {
		t.Fatalf("only %d raw groups: the fixture is too small", len(wantHourly))
	}
	// Both JSON shapes were read: paths from the objects, sources and mediums from the strings.
	if got := raw(`SELECT uniqExact(pathname), uniqExact(utm_source), countIf(utm_medium IS NULL) > 0, countIf(depth > 0) > 0 FROM ch.hits`); !cmp.Equal(got, [][]any{{uint64(6), uint64(3), uint64(1), uint64(1)}}) {
		t.Errorf("ClickHouse JSON columns: %v", got)
	}
	approx := cmpopts.EquateApprox(1e-9, 0)
	dims := []string{"site", "pathname", "utm_source", "utm_medium"}
	if d := cmp.Diff(wantHourly, read(&tbProject, "hits_hourly", dims), approx); d != "" {
		t.Errorf("Tinybird copy-pipe rollup differs from raw (-raw +tinybird):\n%s", d)
	}
	// The ClickHouse target's populate over the same range gives the same rows.
	populate := "INSERT INTO ch.hits_hourly " + a.Rollup("hits_hourly").PopulateSelect
	if err := e.Exec(ctx, populate, engine.Params{pipes.StartParam: at("2026-10-01 00:00:00"), pipes.EndParam: end}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantHourly, read(p, "hits_hourly", dims), approx); d != "" {
		t.Errorf("ClickHouse rollup differs from raw (-raw +clickhouse):\n%s", d)
	}

	// The insert trigger saw every row.
	wantLive := raw(`SELECT toStartOfHour(ts) AS h, site, utm_source, count(), uniqExact(user_id)
FROM ch.hits WHERE ts < {end:DateTime} GROUP BY h, site, utm_source ORDER BY h, site, utm_source`)
	if d := cmp.Diff(wantLive, read(&tbProject, "hits_live", []string{"site", "utm_source"})); d != "" {
		t.Errorf("Tinybird materialized-pipe rollup differs from raw (-raw +tinybird):\n%s", d)
	}
}
