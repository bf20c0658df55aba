package meta_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/meta"
)

var shared enginetest.Shared

func TestMain(m *testing.M) {
	os.Exit(enginetest.Main(m, &shared, enginetest.Options{Server: true}))
}

func TestEmbedded(t *testing.T) { exercise(t, shared.NeedEmbedded(t)) }
func TestRemote(t *testing.T)   { exercise(t, shared.NeedRemote(t)) }

// suspects checks which units in doubt make their partition suspect: those of dead runs (no
// lease, a released lease, a failure after the swap), never those of a live run, and none once
// recorded recovered; and that another table's records stay apart.
func suspects(t *testing.T, s *meta.Store, day time.Time) {
	t.Helper()
	ctx := context.Background()
	at := func(d int) time.Time { return day.AddDate(0, 0, d) }
	unit := func(run string, d int, status string) meta.Unit {
		return meta.Unit{RunID: run, Rollup: "events_hourly", Hash: "h2", Kind: "backfill", Start: at(d), End: at(d + 1), Status: status, Error: "e-" + run}
	}
	live, err := s.TakeRunLease(ctx, "events_hourly", "live", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeRunLease(ctx, "events_hourly", "failed", time.Minute); err != nil { // alive, but its unit failed after the swap
		t.Fatal(err)
	}
	if err := s.RenewRunLease(ctx, live, time.Minute); err != nil {
		t.Fatalf("renew a live lease: %v", err)
	}
	if err := s.RecordUnits(ctx, unit("nolease", 2, meta.StatusSwapping), unit("live", 3, meta.StatusSwapping), unit("failed", 4, meta.StatusSwapFailed),
		unit("done", 5, meta.StatusSwapping), unit("done", 5, meta.StatusDone)); err != nil {
		t.Fatal(err)
	}
	got := func() []string {
		t.Helper()
		sus, err := s.Suspect(ctx, "events_hourly")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, sp := range sus {
			if sp.Reason == "" || sp.Table != "events_hourly" {
				t.Errorf("suspect %+v lacks a reason or its table", sp)
			}
			out = append(out, sp.Start.Format("01-02")+":"+sp.RunID)
		}
		return out
	}
	if diff := cmp.Diff([]string{"11-03:nolease", "11-05:failed"}, got()); diff != "" {
		t.Errorf("suspect while the run is alive (-want +got):\n%s", diff)
	}
	if err := s.ReleaseRunLease(ctx, live); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"11-03:nolease", "11-04:live", "11-05:failed"}, got()); diff != "" {
		t.Errorf("suspect once the run ended (-want +got):\n%s", diff)
	}
	if sus, err := s.Suspect(ctx, "events_overview_hourly"); err != nil || len(sus) != 0 {
		t.Errorf("another table's suspects = %v, %v", sus, err)
	}
	if err := s.RecordUnits(ctx, unit("nolease", 2, meta.StatusRecovered), unit("live", 3, meta.StatusRecovered), unit("failed", 4, meta.StatusRecovered)); err != nil {
		t.Fatal(err)
	}
	if g := got(); len(g) != 0 {
		t.Errorf("suspect after recovery = %v", g)
	}
}

func exercise(t *testing.T, e engine.Engine) {
	ctx := context.Background()
	db := enginetest.TempDatabase(t, e)
	clock := time.Date(2026, 11, 2, 12, 5, 0, 0, time.UTC)
	s := meta.New(e, db, func() time.Time { return clock })
	if ok, err := s.Exists(ctx); err != nil || ok {
		t.Fatalf("Exists before Ensure = %v, %v", ok, err)
	}
	for i := 0; i < 2; i++ { // idempotent
		if err := s.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := s.Exists(ctx); err != nil || !ok {
		t.Fatalf("Exists after Ensure = %v, %v", ok, err)
	}

	// Deployments: the latest record per object wins.
	for _, d := range []meta.Deployment{
		{Object: "events_hourly", Kind: "rollup", Version: 1, Table: "events_hourly", Hash: "h1", Definition: "CREATE …"},
		{Object: "events_hourly", Kind: "rollup", Version: 2, Table: "events_hourly_v2", Hash: "h2", Definition: "CREATE … v2"},
		{Object: "events", Kind: "datasource", Version: 1, Table: "events", Hash: "e1", Watermark: time.Date(2026, 11, 2, 13, 0, 0, 0, time.UTC)},
	} {
		if err := s.RecordDeployment(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	deps, err := s.Deployments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := deps["events_hourly"]; d.Version != 2 || d.Hash != "h2" || d.Table != "events_hourly_v2" || !d.Watermark.IsZero() {
		t.Errorf("events_hourly = %+v", d)
	}
	if d := deps["events"]; !d.Watermark.Equal(time.Date(2026, 11, 2, 13, 0, 0, 0, time.UTC)) || !d.At.Equal(clock) {
		t.Errorf("events = %+v", d)
	}

	// Run log: latest status per unit.
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, u := range []meta.Unit{
		{RunID: "r1", Rollup: "events_hourly", Hash: "h2", Kind: "backfill", Start: day, End: day.Add(24 * time.Hour), Status: meta.StatusStarted},
		{RunID: "r1", Rollup: "events_hourly", Hash: "h2", Kind: "backfill", Start: day, End: day.Add(24 * time.Hour), Status: meta.StatusDone, RowsRead: 1000, RowsWritten: 10, Duration: 1500 * time.Millisecond},
		{RunID: "r1", Rollup: "events_hourly", Hash: "h2", Kind: "backfill", Start: day.Add(24 * time.Hour), End: day.Add(48 * time.Hour), Status: meta.StatusFailed, Error: "boom", Attempt: 1},
	} {
		if err := s.RecordUnit(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	units, err := s.RunUnits(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, u := range units {
		got = append(got, u.Start.Format("01-02")+":"+u.Status)
	}
	if diff := cmp.Diff([]string{"11-01:done", "11-02:failed"}, got); diff != "" {
		t.Errorf("units (-want +got):\n%s", diff)
	}
	if units[0].RowsRead != 1000 || units[0].Duration != 1500*time.Millisecond || units[1].Error != "boom" || units[1].Attempt != 1 {
		t.Errorf("unit details = %+v", units)
	}
	if id, err := s.LastRun(ctx, "events_hourly", "backfill"); err != nil || id != "r1" {
		t.Errorf("LastRun = %q, %v", id, err)
	}
	if id, err := s.LastRun(ctx, "events_hourly", "populate"); err != nil || id != "" {
		t.Errorf("LastRun(populate) = %q, %v", id, err)
	}

	// The latest units, newest first (the limit is written into the SQL: 18.16 rejects a CAST
	// in LIMIT).
	if recent, err := s.RecentUnits(ctx, "events_hourly", 1); err != nil || len(recent) != 1 || recent[0].Status != meta.StatusFailed {
		t.Errorf("RecentUnits = %+v, %v", recent, err)
	}

	suspects(t, s, day)

	// Watermark.
	if _, ok, err := s.Watermark(ctx, "events_hourly"); err != nil || ok {
		t.Fatalf("Watermark before Set = %v, %v", ok, err)
	}
	w := time.Date(2026, 11, 2, 11, 0, 0, 0, time.UTC)
	if err := s.SetWatermark(ctx, "events_hourly", w); err != nil {
		t.Fatal(err)
	}
	if err := s.SetWatermark(ctx, "events_hourly", w.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.Watermark(ctx, "events_hourly"); err != nil || !ok || !got.Equal(w.Add(time.Hour)) {
		t.Errorf("Watermark = %v %v %v", got, ok, err)
	}

	// Endpoint state.
	for _, st := range []meta.EndpointState{
		{Endpoint: "sum_primitives", Target: "raw", Table: "events", Actor: "deploy"},
		{Endpoint: "sum_primitives", Target: "rollup", Table: "events_overview_hourly", Actor: "dev@host", Validation: "exact", Forced: true},
	} {
		if err := s.RecordEndpoint(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	states, err := s.Endpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st := states["sum_primitives"]; st.Target != "rollup" || !st.Forced || st.Actor != "dev@host" {
		t.Errorf("state = %+v", st)
	}
	hist, err := s.EndpointHistory(ctx, "sum_primitives")
	if err != nil || len(hist) != 2 || hist[1].Target != "raw" {
		t.Errorf("history = %+v, %v", hist, err)
	}
}

// The run log drops the parts a merge leaves outdated within seconds, not the default 480 s:
// a short-lived command writes a part per record, and outdated parts left on disk are loaded
// again by every engine start (4,945 of them piled up in a day of backfills before).
func TestRunLogDropsOutdatedPartsAtOnce(t *testing.T) {
	e := shared.NeedEmbedded(t)
	ctx := context.Background()
	db := enginetest.TempDatabase(t, e)
	s := meta.New(e, db, nil)
	if err := s.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for i := range 20 {
		u := meta.Unit{RunID: "r", Rollup: "events_hourly", Kind: "backfill", Start: start.Add(time.Duration(i) * time.Hour), End: start.Add(time.Duration(i+1) * time.Hour), Status: meta.StatusDone}
		if err := s.RecordUnits(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	enginetest.MustExec(t, e, "OPTIMIZE TABLE `"+db+"`.`"+meta.RunsTable+"` FINAL")
	parts := func() (active, outdated uint64) {
		r := enginetest.MustQuery(t, e, "SELECT countIf(active), countIf(NOT active) FROM system.parts WHERE database = {db:String} AND table = {t:String}",
			engine.Params{"db": db, "t": meta.RunsTable})
		a, _ := engine.Uint(r.Rows[0][0])
		o, _ := engine.Uint(r.Rows[0][1])
		return a, o
	}
	if a, o := parts(); a != 1 || o == 0 {
		t.Fatalf("after merging 20 records: %d active, %d outdated parts; want 1 active and the 20 merged ones outdated", a, o)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		a, o := parts()
		if o == 0 {
			t.Logf("outdated parts gone; %d active", a)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d outdated parts of the run log still there after 15 s", o)
		}
		time.Sleep(200 * time.Millisecond)
	}
	units, err := s.RunUnits(ctx, "r")
	if err != nil || len(units) != 20 {
		t.Fatalf("run log after the cleanup: %d units, %v", len(units), err)
	}
}

// A group's run-log rows travel as arrays (RecordUnits from 8 rows): every field comes back as
// it went, quotes and backslashes in errors and times included, on both engines.
func TestRecordManyUnitsEmbedded(t *testing.T) { recordMany(t, shared.NeedEmbedded(t)) }
func TestRecordManyUnitsRemote(t *testing.T)   { recordMany(t, shared.NeedRemote(t)) }

func recordMany(t *testing.T, e engine.Engine) {
	ctx := context.Background()
	db := enginetest.TempDatabase(t, e)
	at := time.Date(2026, 11, 2, 12, 5, 7, 0, time.UTC)
	s := meta.New(e, db, func() time.Time { return at })
	if err := s.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var want []meta.Unit
	for i := range 20 {
		want = append(want, meta.Unit{RunID: "r1", Rollup: "events_hourly", Hash: "h", Kind: "backfill", Start: start.AddDate(0, 0, i), End: start.AddDate(0, 0, i+1),
			Status: meta.StatusFailed, RowsRead: uint64(1000 + i), RowsWritten: uint64(i), Duration: time.Duration(i) * time.Second,
			Error: fmt.Sprintf(`unit %d: it's "bad" \ really`, i), Attempt: i % 3, At: at, Shard: fmt.Sprint(i % 2)})
	}
	if err := s.RecordUnits(ctx, want...); err != nil {
		t.Fatal(err)
	}
	got, err := s.RunUnits(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Start.Before(got[j].Start) })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("run log (-recorded +read back):\n%s", diff)
	}
}
