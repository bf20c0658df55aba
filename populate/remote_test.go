package populate_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
)

func TestRemoteBackfillIsExact(t *testing.T) {
	e := shared.NeedRemote(t)
	ctx := context.Background()
	db := enginetest.TempDatabase(t, e)
	f := projecttest.Deploy(t, e, projecttest.FromYAML(t, projecttest.LegacyYAML, db))
	a, store, ra := f.A, f.Store, f.A.Rollups[0]
	enginetest.MustExec(t, e, fmt.Sprintf(`INSERT INTO %s.hits SELECT toDateTime('2026-11-01 00:00:00') + number * 29, concat('site', toString(number %% 3)),
        concat('u', toString(cityHash64(number) %% 500)), concat('/p', toString(number %% 17)) FROM system.numbers LIMIT 20000`, db))
	rg := timerange.Range{Start: day(1, 0), End: day(8, 0)}
	clock := func() time.Time { return day(10, 0) }
	var first string
	for i := 0; i < 2; i++ {
		rep, err := populate.New(e, store, a, populate.Options{Now: clock}).Backfill(ctx, "hits_hourly", rg, populate.BackfillOptions{Parallel: 2})
		if err != nil {
			t.Fatalf("backfill #%d: %v", i+1, err)
		}
		// RowsRead is what the server scanned: every raw row at least once (hits is not sorted
		// by time, so each day's unit scans the whole table).
		if rep.Done != 7 || rep.RowsRead < 20000 || rep.RowsWritten == 0 {
			t.Fatalf("backfill #%d report %+v", i+1, rep)
		}
		snap := fmt.Sprint(enginetest.MustQuery(t, e, fmt.Sprintf("SELECT count(), uniqMerge(users) FROM %s.hits_hourly", db), nil).Rows)
		if i == 0 {
			first = snap
		} else if snap != first {
			t.Fatalf("second backfill changed the rollup: %s → %s", first, snap)
		}
	}
	for _, bucket := range []string{"hour", "day", ""} {
		var got [2][][]any
		for i, side := range []pipes.Side{pipes.SideRaw, pipes.SideRollup} {
			q, err := pipes.MetricsQuery(a.Project, ra.Rollup, side, bucket, []string{"site"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			got[i] = enginetest.MustQuery(t, e, q, engine.Params{"start": rg.Start, "end": rg.End}).Rows
		}
		if len(got[0]) == 0 {
			t.Fatalf("bucket %q: no rows", bucket)
		}
		if diff := cmp.Diff(got[0], got[1]); diff != "" {
			t.Fatalf("bucket %q: rollup differs from raw on the remote server (-raw +rollup):\n%s", bucket, diff)
		}
	}
}
