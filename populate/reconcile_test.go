package populate_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
)

// TestReconcileFingerprintCoversValues: reconcile finds a rollup changed in place — a summed
// column updated, counts moved between two keys of the same hour (the partition's totals and
// row counts unchanged), a float sum nudged — not only missing rows, and says which values
// differ. Each drift is first established with raw SQL written here.
func TestReconcileFingerprintCoversValues(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.InsertEvents(day(1, 0), day(5, 0), 8000, 3)
	f.Clock = day(5, 0).Add(5 * time.Minute)
	rg := timerange.Range{Start: day(1, 0), End: day(5, 0)}
	if _, err := f.runner(populate.Hooks{}).Backfill(ctx, "events_overview_hourly", rg, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	reconcile := func(repair bool) *populate.ReconcileReport {
		t.Helper()
		rep, err := f.runner(populate.Hooks{}).Reconcile(ctx, "events_overview_hourly", rg, repair)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := reconcile(false); len(rep.Drifted) != 0 || rep.Partitions != 4 {
		t.Fatalf("clean reconcile = %+v", rep)
	}
	table := f.DB + ".events_overview_hourly"
	mutate := func(q string) {
		t.Helper()
		enginetest.MustExec(t, f.E, "ALTER TABLE "+table+" "+q+" SETTINGS mutations_sync = 2")
	}
	// The oracle: per day, the rollup's totals against raw, and the number of (hour, campaign,
	// event id) keys whose event count differs from raw's — hand-written SQL.
	oracle := func() (totals, keys []string) {
		r := enginetest.MustQuery(t, f.E, fmt.Sprintf(`SELECT d, r.c != w.c OR r.t != w.t OR abs(r.v - w.v) > 1e-9 * w.v, k.n FROM
    (SELECT toDate(hour) AS d, sum(event_count) AS c, sum(total_time_on_page) AS t, sum(total_value_usd) AS v FROM %[1]s GROUP BY d) AS r
    JOIN (SELECT toDate(timestamp) AS d, count() AS c, sum(time_on_page) AS t, sum(value_usd) AS v FROM %[2]s.events WHERE timestamp < '2026-11-05 00:00:00' GROUP BY d) AS w USING d
    JOIN (SELECT d, countIf(a != b) AS n FROM (
        SELECT toDate(h) AS d, h, c, e, sum(rc) AS a, sum(wc) AS b FROM (
            SELECT hour AS h, campaign_id AS c, event_id AS e, toUInt64(sum(event_count)) AS rc, toUInt64(0) AS wc FROM %[1]s GROUP BY h, c, e
            UNION ALL
            SELECT toStartOfHour(timestamp), campaign_id, event_id, 0, count() FROM %[2]s.events WHERE timestamp < '2026-11-05 00:00:00' GROUP BY 1, 2, 3)
        GROUP BY h, c, e) GROUP BY d) AS k USING d
ORDER BY d`, table, f.DB), nil)
		for _, row := range r.Rows {
			d := row[0].(time.Time).Format("20060102")
			if row[1].(uint64) == 1 {
				totals = append(totals, d)
			}
			if row[2].(uint64) > 0 {
				keys = append(keys, d)
			}
		}
		return totals, keys
	}
	// Day 2: a summed integer column updated in place on one row.
	mutate("UPDATE total_time_on_page = total_time_on_page + 7 WHERE hour = '2026-11-02 10:00:00' AND campaign_id = 'c1' AND event_id = 'e1'")
	// Day 3: one count moved from one key to another in the same hour: totals unchanged.
	two := enginetest.MustQuery(t, f.E, "SELECT workspace_id, campaign_id, event_type, event_id FROM "+table+
		" WHERE hour = '2026-11-03 05:00:00' AND event_count > 1 ORDER BY workspace_id, campaign_id, event_type, event_id LIMIT 2", nil)
	if len(two.Rows) != 2 {
		t.Fatalf("hour 05:00 of day 3 has %d keys", len(two.Rows))
	}
	for i, delta := range []string{"+ 1", "- 1"} {
		k := two.Rows[i]
		mutate(fmt.Sprintf("UPDATE event_count = event_count %s WHERE hour = '2026-11-03 05:00:00' AND workspace_id = '%s' AND campaign_id = '%s' AND event_type = '%s' AND event_id = '%s'",
			delta, k[0], k[1], k[2], k[3]))
	}
	// Day 4: a float sum nudged by 1 USD.
	mutate("UPDATE total_value_usd = total_value_usd + 1 WHERE hour = '2026-11-04 20:00:00' AND campaign_id = 'c3'")
	totals, keys := oracle()
	if strings.Join(totals, ",") != "20261102,20261104" || strings.Join(keys, ",") != "20261103" {
		t.Fatalf("the mutations did not do what the test needs: totals differ on %v, keys on %v", totals, keys)
	}
	rep := reconcile(false)
	var got []string
	for _, d := range rep.Drifted {
		got = append(got, d.PartitionID+":"+strings.Join(d.Differ, "+"))
		if d.RawRows != d.RollupRows || d.RawRows == 0 {
			t.Errorf("%s: raw rows %d, rollup rows %d: the counts per partition did not change", d.PartitionID, d.RawRows, d.RollupRows)
		}
	}
	want := []string{
		"20261102:total_time_on_page+__hg_w_total_time_on_page",
		"20261103:__hg_w_event_count",
		"20261104:total_value_usd+__hg_w_total_value_usd",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("drifted = %v\nwant %v", got, want)
	}
	// Repair recomputes exactly those partitions, and the rollup equals raw again.
	rep = reconcile(true)
	if rep.Repaired == nil || rep.Repaired.Done != 3 {
		t.Fatalf("repair = %+v", rep.Repaired)
	}
	if totals, keys := oracle(); len(totals)+len(keys) != 0 {
		t.Fatalf("after repair: totals differ on %v, keys on %v", totals, keys)
	}
	f.RequireExact("events_overview_hourly", rg)
	if rep := reconcile(false); len(rep.Drifted) != 0 {
		t.Fatalf("after repair reconcile = %+v", rep)
	}
}

// TestReconcileOnRemoteServer: the fingerprint runs on Debian's clickhouse-server 18.16 too
// (distinct counts and argMax states): clean is clean, a late raw row drifts its day.
func TestReconcileOnRemoteServer(t *testing.T) {
	e := shared.NeedRemote(t)
	ctx := context.Background()
	db := enginetest.TempDatabase(t, e)
	f := projecttest.Deploy(t, e, projecttest.FromYAML(t, projecttest.LegacyYAML, db))
	enginetest.MustExec(t, e, fmt.Sprintf(`INSERT INTO %s.hits SELECT toDateTime('2026-11-01 00:00:00') + number * 29, concat('site', toString(number %% 3)),
        concat('u', toString(cityHash64(number) %% 500)), concat('/p', toString(number %% 17)) FROM system.numbers LIMIT 8000`, db))
	f.Clock = day(10, 0)
	rg := timerange.Range{Start: day(1, 0), End: day(4, 0)}
	r := populate.New(e, f.Store, f.A, populate.Options{Now: f.Now})
	if _, err := r.Backfill(ctx, "hits_hourly", rg, populate.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, err := r.Reconcile(ctx, "hits_hourly", rg, false)
	if err != nil || len(rep.Drifted) != 0 || rep.Partitions != 3 {
		t.Fatalf("clean = %+v, %v", rep, err)
	}
	enginetest.MustExec(t, e, fmt.Sprintf("INSERT INTO %s.hits SELECT toDateTime('2026-11-02 13:30:00'), 'site1', 'u_late', '/late'", db))
	rep, err = r.Reconcile(ctx, "hits_hourly", rg, false)
	if err != nil || len(rep.Drifted) != 1 || rep.Drifted[0].PartitionID != "20261102" || !slices.Contains(rep.Drifted[0].Differ, "users") {
		t.Fatalf("late row = %+v, %v", rep, err)
	}
}
