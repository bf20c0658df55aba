package endpoints_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/timerange"
	"github.com/hourglass-dev/hourglass/validate"
)

var shared enginetest.Shared

func TestMain(m *testing.M) {
	os.Exit(enginetest.Main(m, &shared, enginetest.Options{}))
}

// fixture is the default project deployed in a database of its own (see projecttest), with
// the clock in the open hour right after dataEnd.
type fixture struct{ *projecttest.Fixture }

func day(d, h int) time.Time { return projecttest.Day(d, h) }

// dataStart and dataEnd bound the 30 days of test data; the clock stands in the open hour
// right after dataEnd.
var dataStart, dataEnd = projecttest.MonthStart, projecttest.MonthEnd

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{projecttest.New(t, shared.NeedEmbedded(t))}
	f.Clock = dataEnd.Add(30 * time.Minute)
	return f
}

// deployViews publishes every endpoint on its raw version, as deploy does at first deploy.
func (f *fixture) deployViews() {
	f.T.Helper()
	for _, ea := range f.A.Endpoints {
		enginetest.MustExec(f.T, f.E, ea.RawView)
	}
}

// viewDefinition returns the stored definition of an endpoint's view.
func (f *fixture) viewDefinition(name string) string {
	f.T.Helper()
	r := enginetest.MustQuery(f.T, f.E, "SELECT create_table_query FROM system.tables WHERE database = {db:String} AND name = {n:String}",
		engine.Params{"db": f.DB, "n": name})
	if len(r.Rows) != 1 {
		f.T.Fatalf("view %s not found", name)
	}
	return r.Row()[0].(string)
}

// reads reports which table a view reads: "rollup" or "raw".
func (f *fixture) reads(name string) string {
	f.T.Helper()
	def := f.viewDefinition(name)
	ra := f.A.Rollup(f.A.Endpoint(name).Endpoint.Rollup)
	switch {
	case strings.Contains(def, f.DB+"."+ra.Table+" ") || strings.Contains(def, "`"+ra.Table+"`"):
		return "rollup"
	case strings.Contains(def, f.DB+"."+ra.Rollup.Source+" ") || strings.Contains(def, "`"+ra.Rollup.Source+"`"):
		return "raw"
	}
	f.T.Fatalf("cannot tell what %s reads: %s", name, def)
	return ""
}

var week = map[string]string{"start": "2026-11-13", "end": "2026-11-20 00:00:00"}

func params(extra ...string) map[string]string {
	out := map[string]string{}
	for k, v := range week {
		out[k] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		out[extra[i]] = extra[i+1]
	}
	return out
}

func TestFourDefaultEndpointsSameRowsFromRawAndRollup(t *testing.T) {
	f := newFixture(t)
	f.LoadAndBackfill(8)
	ctx := context.Background()
	cases := []struct {
		endpoint string
		params   map[string]string
	}{
		{"sum_primitives", params("campaign_id", "c1")},
		{"sum_primitives", params("campaign_id", "")},
		{"timeseries_primitives", params("campaign_id", "c2")},
		{"audience_breakdown", params("campaign_id", "c0")},
		{"conversions_breakdown", params("campaign_id", "c3")},
		{"conversions_breakdown", params("campaign_id", "c3", "event_type", "click")},
		{"timeseries_primitives", map[string]string{"start": "2026-11-19 05:00", "end": "2026-11-19 09:00", "campaign_id": "c4"}},
	}
	for _, c := range cases {
		cmp, err := endpoints.Compare(ctx, f.E, f.A, c.endpoint, c.params, endpoints.CompareOptions{Now: f.Clock})
		if err != nil {
			t.Fatalf("%s: %v", c.endpoint, err)
		}
		if !cmp.Equal {
			t.Errorf("%s %v: raw and rollup differ:\n%s", c.endpoint, c.params, cmp.Difference)
		}
		if len(cmp.Raw.Rows) == 0 {
			t.Errorf("%s %v: no rows: the comparison checks nothing", c.endpoint, c.params)
		}
		if cmp.Raw.Stats.RowsRead == 0 || cmp.Rollup.Stats.RowsRead == 0 || cmp.Raw.Stats.BytesRead == 0 {
			t.Errorf("%s: statistics missing: %+v / %+v", c.endpoint, cmp.Raw.Stats, cmp.Rollup.Stats)
		}
		if strings.HasPrefix(c.endpoint, "sum_") || strings.HasPrefix(c.endpoint, "timeseries_") {
			if cmp.RowsReadReduction <= 1 {
				t.Errorf("%s: the narrow rollup read %d rows, raw %d: no reduction", c.endpoint, cmp.Rollup.Stats.RowsRead, cmp.Raw.Stats.RowsRead)
			}
		}
	}
	if len(f.A.Endpoints) != 4 {
		t.Fatalf("the default project has %d endpoints, want 4", len(f.A.Endpoints))
	}
	// The published views return the same rows as the SQL they publish, on either version.
	f.deployViews()
	for _, ea := range f.A.Endpoints {
		p := params("campaign_id", "c1")
		viaView, err := endpoints.Run(ctx, f.E, f.A, ea.Endpoint.Name, p, endpoints.SideView, f.Clock)
		if err != nil {
			t.Fatalf("%s view: %v", ea.Endpoint.Name, err)
		}
		raw, err := endpoints.Run(ctx, f.E, f.A, ea.Endpoint.Name, p, endpoints.SideRaw, f.Clock)
		if err != nil {
			t.Fatal(err)
		}
		if d := endpoints.RowsDiff(raw.Rows, viaView.Rows, 0); d != "" || len(raw.Rows) == 0 {
			t.Errorf("%s: view and raw SQL differ (%d rows):\n%s", ea.Endpoint.Name, len(raw.Rows), d)
		}
	}
	// Only whole hours compare.
	if _, err := endpoints.Compare(ctx, f.E, f.A, "sum_primitives", map[string]string{"start": "2026-11-19 10:30", "end": "2026-11-20"}, endpoints.CompareOptions{Now: f.Clock}); err == nil || !strings.Contains(err.Error(), "not on the hour") {
		t.Errorf("unaligned compare: %v", err)
	}
	// Unknown and missing parameters are clear errors.
	if _, err := endpoints.Run(ctx, f.E, f.A, "sum_primitives", params("campaing_id", "c1"), endpoints.SideRaw, f.Clock); err == nil || !strings.Contains(err.Error(), "campaign_id") {
		t.Errorf("misspelt parameter: %v", err)
	}
	if _, err := endpoints.Run(ctx, f.E, f.A, "sum_primitives", map[string]string{"end": "2026-11-20"}, endpoints.SideRaw, f.Clock); err == nil || !strings.Contains(err.Error(), "start") {
		t.Errorf("missing start: %v", err)
	}
}

func TestSwitchRefusedOnDriftAcceptedWhenCleanAndRolledBack(t *testing.T) {
	f := newFixture(t)
	f.LoadAndBackfill(8, "events_totals_hourly", "audience_hourly")
	f.deployViews()
	ctx := context.Background()
	opts := endpoints.SwitchOptions{Actor: "ana@ci", Now: f.Clock}

	// The raw tables hold 30 days, the rollup only the last 8: the gate refuses, says what to
	// backfill, and changes nothing.
	res, err := endpoints.Switch(ctx, f.E, f.Store, f.A, "sum_primitives", endpoints.TargetRollup, opts)
	if !errors.Is(err, endpoints.ErrRefused) || res == nil || !res.Refused || res.Switched || len(res.Reports) != 0 ||
		!strings.Contains(res.Missing, `hourglass backfill events_totals_hourly --from "2026-10-21 00:00:00" --to "2026-11-12 00:00:00"`) {
		t.Fatalf("switch with 8 of 30 days backfilled = %+v, %v", res, err)
	}
	if f.reads("sum_primitives") != "raw" {
		t.Fatal("a refused switch changed the view")
	}
	for _, r := range []string{"events_totals_hourly", "audience_hourly"} {
		f.Backfill(r, timerange.Range{Start: dataStart, End: dataEnd.AddDate(0, 0, -8)})
	}

	// Clean: the switch is accepted, in one statement, and recorded, after proving all 30 days
	// per campaign (the dimension the endpoint filters by).
	res, err = endpoints.Switch(ctx, f.E, f.Store, f.A, "sum_primitives", endpoints.TargetRollup, opts)
	if err != nil || !res.Switched || res.Forced || res.Narrowed || !res.Reports[0].Exact || res.Table != "events_totals_hourly" {
		t.Fatalf("switch when clean = %+v, %v", res, err)
	}
	if rep := res.Reports[0]; rep.Buckets != 30*24 || !rep.Range.Start.Equal(dataStart) || !rep.Range.End.Equal(dataEnd) || strings.Join(rep.Dimensions, ",") != "campaign_id" {
		t.Errorf("the gate proved %s by %v (%d buckets), want the 30 days by campaign_id", rep.Range, rep.Dimensions, rep.Buckets)
	}
	if !strings.HasPrefix(res.Statement, "CREATE OR REPLACE VIEW") || strings.Count(res.Statement, ";") != 0 {
		t.Errorf("statement %q is not one CREATE OR REPLACE VIEW", res.Statement)
	}
	if f.reads("sum_primitives") != "rollup" {
		t.Fatal("the view does not read the rollup after the switch")
	}
	st, err := f.Store.Endpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s := st["sum_primitives"]; s.Target != "rollup" || s.Actor != "ana@ci" || s.Forced || !strings.Contains(s.Validation, "EXACT") || s.Table != "events_totals_hourly" {
		t.Errorf("recorded state %+v", s)
	}
	// The view now serves the rollup's rows, equal to raw.
	p := params("campaign_id", "c2")
	viaView, err := endpoints.Run(ctx, f.E, f.A, "sum_primitives", p, endpoints.SideView, f.Clock)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := endpoints.Run(ctx, f.E, f.A, "sum_primitives", p, endpoints.SideRaw, f.Clock)
	if d := endpoints.RowsDiff(raw.Rows, viaView.Rows, 1e-9); d != "" {
		t.Errorf("view on rollup differs from raw:\n%s", d)
	}
	if viaView.Stats.RowsRead >= raw.Stats.RowsRead {
		t.Errorf("view on rollup read %d rows, raw %d", viaView.Stats.RowsRead, raw.Stats.RowsRead)
	}

	// Rollback restores the raw version.
	res, err = endpoints.Switch(ctx, f.E, f.Store, f.A, "sum_primitives", endpoints.TargetRaw, opts)
	if err != nil || !res.Switched || res.Previous != "rollup" || len(res.Reports) != 0 {
		t.Fatalf("rollback = %+v, %v", res, err)
	}
	if f.reads("sum_primitives") != "raw" {
		t.Fatal("rollback did not restore the raw version")
	}
	if def, want := f.viewDefinition("sum_primitives"), f.viewDefinitionOf(f.A.Endpoint("sum_primitives").RawView); def != want {
		t.Errorf("after rollback the view is\n%s\nwant the raw version\n%s", def, want)
	}

	// Drift two weeks old — one campaign's rollup row at 2026-11-05 06:00 is gone, the hour's
	// total shrinks — is refused by the default gate, which proves the whole history.
	r := enginetest.MustQuery(t, f.E, fmt.Sprintf("SELECT campaign_id FROM %s.events_totals_hourly WHERE hour = '2026-11-05 06:00:00' ORDER BY campaign_id LIMIT 1", f.DB), nil)
	campaign := r.Row()[0].(string)
	enginetest.MustExec(t, f.E, fmt.Sprintf("ALTER TABLE %s.events_totals_hourly DELETE WHERE hour = '2026-11-05 06:00:00' AND campaign_id = '%s' SETTINGS mutations_sync = 2", f.DB, campaign))
	res, err = endpoints.Switch(ctx, f.E, f.Store, f.A, "sum_primitives", endpoints.TargetRollup, opts)
	if !errors.Is(err, endpoints.ErrRefused) || res == nil || !res.Refused || res.Switched || len(res.Reports) != 1 || res.Reports[0].Exact {
		t.Fatalf("switch on 15-day-old drift = %+v, %v", res, err)
	}
	if m := res.Reports[0].Mismatches[0]; !m.Bucket.Equal(day(5, 6)) || m.Dimensions["campaign_id"] != campaign || m.Kind != validate.KindMissingInRollup {
		t.Errorf("first mismatch %s, want the coverage gap at 2026-11-05 06:00 campaign_id=%s", m.Line(), campaign)
	}
	if f.reads("sum_primitives") != "raw" {
		t.Fatal("a refused switch changed the view")
	}
	if hist, _ := f.Store.EndpointHistory(ctx, "sum_primitives"); len(hist) != 2 {
		t.Errorf("a refused switch was recorded: %+v", hist)
	}
	// --window narrows the gate on purpose: drift older than the window does not block, and
	// the history says the switch was narrowed.
	res, err = endpoints.Switch(ctx, f.E, f.Store, f.A, "sum_primitives", endpoints.TargetRollup, endpoints.SwitchOptions{Actor: "ana@ci", Now: f.Clock, Window: 7 * 24 * time.Hour})
	if err != nil || !res.Switched || !res.Narrowed || !res.Window.Start.Equal(day(13, 0)) {
		t.Fatalf("switch with a 7d window = %+v, %v", res, err)
	}
	if hist, _ := f.Store.EndpointHistory(ctx, "sum_primitives"); !strings.HasPrefix(hist[0].Validation, "narrowed by --window 7d to [2026-11-13 00:00:00, 2026-11-20 00:00:00), older hours not proven: events_totals_hourly: EXACT") {
		t.Errorf("narrowed switch recorded %q", hist[0].Validation)
	}
	if _, err := endpoints.Switch(ctx, f.E, f.Store, f.A, "sum_primitives", endpoints.TargetRaw, opts); err != nil {
		t.Fatal(err)
	}

	// --force skips validation, says so and is recorded, even on drift.
	enginetest.MustExec(t, f.E, fmt.Sprintf("ALTER TABLE %s.audience_hourly DELETE WHERE hour = '2026-11-19 02:00:00' SETTINGS mutations_sync = 2", f.DB))
	if _, err := endpoints.Switch(ctx, f.E, f.Store, f.A, "audience_breakdown", endpoints.TargetRollup, opts); !errors.Is(err, endpoints.ErrRefused) {
		t.Fatalf("audience_breakdown on drift: %v", err)
	}
	res, err = endpoints.Switch(ctx, f.E, f.Store, f.A, "audience_breakdown", endpoints.TargetRollup, endpoints.SwitchOptions{Actor: "bo@laptop", Now: f.Clock, Force: true})
	if err != nil || !res.Switched || !res.Forced || !strings.Contains(res.Skipped, "audience_hourly") || len(res.Reports) != 0 {
		t.Fatalf("forced switch = %+v, %v", res, err)
	}
	hist, err := f.Store.EndpointHistory(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hist {
		got = append(got, fmt.Sprintf("%s:%s:%v", h.Endpoint, h.Target, h.Forced))
	}
	want := "audience_breakdown:rollup:true sum_primitives:raw:false sum_primitives:rollup:false sum_primitives:raw:false sum_primitives:rollup:false"
	if strings.Join(got, " ") != want {
		t.Errorf("history = %v\nwant %s", got, want)
	}
	if !strings.Contains(hist[0].Validation, "skipped") {
		t.Errorf("forced switch recorded validation %q", hist[0].Validation)
	}

	// Bad requests.
	if _, err := endpoints.Switch(ctx, f.E, f.Store, f.A, "nope", endpoints.TargetRollup, opts); err == nil || !strings.Contains(err.Error(), "sum_primitives") {
		t.Errorf("unknown endpoint: %v", err)
	}
	if _, err := endpoints.Switch(ctx, f.E, f.Store, f.A, "sum_primitives", "cache", opts); err == nil {
		t.Error("unknown target accepted")
	}
}

// TestSwitchRefusesNeverBackfilledAndStale: a version with no backfilled hours, or one whose
// watermark lags the last closed hour, never passes the gate (it used to validate "0 hour
// buckets" and switch).
func TestSwitchRefusesNeverBackfilledAndStale(t *testing.T) {
	f := newFixture(t)
	f.InsertEvents(dataEnd.AddDate(0, 0, -3), dataEnd, 600, 1)
	ctx := context.Background()
	res, err := endpoints.Switch(ctx, f.E, f.Store, f.A, "timeseries_primitives", endpoints.TargetRollup, endpoints.SwitchOptions{Now: f.Clock, Actor: "t"})
	if !errors.Is(err, endpoints.ErrRefused) || !strings.Contains(res.Missing, "holds no backfilled hours") ||
		!strings.Contains(res.Missing, `hourglass backfill events_totals_hourly --from "2026-11-17 00:00:00" --to now`) {
		t.Fatalf("never backfilled: %+v, %v", res, err)
	}
	f.Backfill("events_totals_hourly", timerange.Range{Start: dataEnd.AddDate(0, 0, -3), End: dataEnd})
	f.Clock = dataEnd.Add(3*time.Hour + 10*time.Minute) // three hours closed since, no populate ran
	res, err = endpoints.Switch(ctx, f.E, f.Store, f.A, "timeseries_primitives", endpoints.TargetRollup, endpoints.SwitchOptions{Now: f.Clock, Actor: "t"})
	if !errors.Is(err, endpoints.ErrRefused) || !strings.Contains(res.Missing, "the last closed hour ends at 2026-11-20 03:00:00: run hourglass populate events_totals_hourly") {
		t.Fatalf("stale: %+v, %v", res, err)
	}
	if hist, _ := f.Store.EndpointHistory(ctx, ""); len(hist) != 0 {
		t.Errorf("refused switches were recorded: %+v", hist)
	}
}

// viewDefinitionOf creates a scratch view from a statement and returns its stored definition
// with the scratch name replaced back.
func (f *fixture) viewDefinitionOf(stmt string) string {
	f.T.Helper()
	name := "sum_primitives"
	scratch := strings.Replace(stmt, "`"+name+"`", "`"+name+"_scratch`", 1)
	if scratch == stmt {
		scratch = strings.Replace(stmt, "."+name+" ", "."+name+"_scratch ", 1)
	}
	enginetest.MustExec(f.T, f.E, scratch)
	def := f.viewDefinition(name + "_scratch")
	enginetest.MustExec(f.T, f.E, "DROP VIEW "+f.DB+"."+name+"_scratch")
	return strings.Replace(def, name+"_scratch", name, 1)
}

// oldServer is an engine that reports an old ClickHouse version.
type oldServer struct{ engine.Engine }

func (o oldServer) Info(ctx context.Context) (engine.Info, error) {
	return engine.Info{Kind: "remote", Version: "18.16.1"}, nil
}

// A server without parameterised views: the switch is recorded, no view is touched, and the
// result says why, naming the version needed; running the view is refused, a version's SQL
// runs.
func TestOldServerSwitchIsRecordedWithoutAView(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	res, err := endpoints.Switch(ctx, oldServer{f.E}, f.Store, f.A, "sum_primitives", endpoints.TargetRaw, endpoints.SwitchOptions{Now: f.Clock})
	if err != nil || !res.Switched || !strings.Contains(res.NoView, "23.1") || !strings.Contains(res.NoView, "18.16.1") {
		t.Fatalf("switch on 18.16 = %+v, %v", res, err)
	}
	if r := enginetest.MustQuery(t, f.E, "SELECT count() FROM system.tables WHERE database = {db:String} AND name = 'sum_primitives'", engine.Params{"db": f.DB}); r.Row()[0] != uint64(0) {
		t.Error("a view was created")
	}
	if hist, err := f.Store.EndpointHistory(ctx, "sum_primitives"); err != nil || len(hist) != 1 || hist[0].Target != endpoints.TargetRaw {
		t.Errorf("history after the switch: %+v %v", hist, err)
	}
	// The served side reads the recorded target, no view needed.
	if r, err := endpoints.RunWith(ctx, oldServer{f.E}, f.A, "sum_primitives", params("campaign_id", "c1"), endpoints.RunOptions{Side: endpoints.SideServed, Now: f.Clock, Store: f.Store}); err != nil || r.Side != endpoints.SideRaw {
		t.Errorf("served run on 18.16: %+v %v", r, err)
	}
	_, err = endpoints.Run(ctx, oldServer{f.E}, f.A, "sum_primitives", params("campaign_id", "c1"), endpoints.SideView, f.Clock)
	if !errors.Is(err, endpoints.ErrUnsupported) {
		t.Fatalf("run view on 18.16 = %v", err)
	}
	// Running one version's SQL needs no view.
	if _, err := endpoints.Run(ctx, oldServer{f.E}, f.A, "sum_primitives", params("campaign_id", "c1"), endpoints.SideRaw, f.Clock); err != nil {
		t.Fatal(err)
	}
}
