package generate_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/generate"
	"github.com/hourglass-dev/hourglass/generate/generatetest"
	"github.com/hourglass-dev/hourglass/ident"
)

var shared enginetest.Shared

var benchEvents = flag.Int64("bench-events", 10_000_000, "events per BenchmarkGenerate run")

func TestMain(m *testing.M) {
	os.Exit(enginetest.Main(m, &shared, enginetest.Options{}))
}

// q runs a query with the tables' database substituted for DB and returns the first row.
func q(t *testing.T, e engine.Engine, db, sql string) []any {
	t.Helper()
	sql = strings.ReplaceAll(sql, "DB.", ident.Quote(db)+".")
	return enginetest.MustQuery(t, e, sql, nil).Row()
}

func u64(t *testing.T, v any) uint64 {
	t.Helper()
	switch x := v.(type) {
	case uint64:
		return x
	case int64:
		return uint64(x)
	}
	t.Fatalf("value %v (%T) is not an integer", v, v)
	return 0
}

func f64(t *testing.T, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case float64:
		return x
	case uint64:
		return float64(x)
	case int64:
		return float64(x)
	}
	t.Fatalf("value %v (%T) is not a number", v, v)
	return 0
}

// fingerprint generates a data set and returns the hash of each table's rows.
func fingerprint(t *testing.T, opts generate.Options) (events, sessions uint64) {
	e := shared.NeedEmbedded(t)
	a, _ := generatetest.Generate(t, e, opts)
	db := a.Project.Database
	return u64(t, q(t, e, db, "SELECT sum(cityHash64(*)) FROM DB.events")[0]),
		u64(t, q(t, e, db, "SELECT sum(cityHash64(*)) FROM DB.sessions")[0])
}

func TestGenerateIsDeterministic(t *testing.T) {
	opts := generate.Options{Events: 60_000, Days: 10, Seed: 7, ChunkEvents: 25_000}
	var ev, se [3]uint64
	t.Run("seed7", func(t *testing.T) { ev[0], se[0] = fingerprint(t, opts) })
	t.Run("seed7again", func(t *testing.T) {
		o := opts
		o.ChunkEvents = 0 // chunking must not change the data
		ev[1], se[1] = fingerprint(t, o)
	})
	t.Run("seed8", func(t *testing.T) {
		o := opts
		o.Seed = 8
		ev[2], se[2] = fingerprint(t, o)
	})
	if ev[0] == 0 || se[0] == 0 {
		t.Fatalf("empty fingerprints %v %v", ev, se)
	}
	if ev[0] != ev[1] || se[0] != se[1] {
		t.Errorf("same seed, different data: events %x vs %x, sessions %x vs %x", ev[0], ev[1], se[0], se[1])
	}
	if ev[0] == ev[2] || se[0] == se[2] {
		t.Errorf("different seeds, same data: events %x, sessions %x", ev[0], se[0])
	}
}

func TestGenerateShapes(t *testing.T) {
	e := shared.NeedEmbedded(t)
	const n = 200_000
	days := 21
	var progress []generate.Progress
	a, st := generatetest.Generate(t, e, generate.Options{Events: n, Days: days, Seed: 1, ChunkEvents: 64_000,
		Progress: func(p generate.Progress) { progress = append(progress, p) }})
	db := a.Project.Database
	start := generatetest.End.AddDate(0, 0, -days)

	t.Run("stats", func(t *testing.T) {
		if st.Events != n || !st.Start.Equal(start) || !st.End.Equal(generatetest.End) || st.EventsPerSecond <= 0 {
			t.Errorf("stats %+v", st)
		}
		if st.LateEvents < n*2/1000 || st.LateEvents > n*8/1000 {
			t.Errorf("%d late events, want about 0.5%% of %d", st.LateEvents, n)
		}
		if len(progress) < 4 || progress[len(progress)-1].Done != n {
			t.Errorf("progress %+v: want one report per chunk and a last one at %d", progress, n)
		}
	})
	t.Run("counts and range", func(t *testing.T) {
		r := q(t, e, db, "SELECT count(), min(timestamp), max(timestamp), countIf(page_path = ''), uniqExact(session_id) FROM DB.events")
		if u64(t, r[0]) != n {
			t.Errorf("%v events, want exactly %d", r[0], n)
		}
		lo, hi := r[1].(time.Time), r[2].(time.Time)
		if lo.Before(start) || !hi.Before(generatetest.End) {
			t.Errorf("timestamps [%v, %v] outside [%v, %v)", lo, hi, start, generatetest.End)
		}
		if hi.Sub(lo) < time.Duration(days-1)*24*time.Hour {
			t.Errorf("timestamps [%v, %v] do not cover the %d days", lo, hi, days)
		}
		if u64(t, r[3]) != 0 {
			t.Errorf("%v events without page_path (properties not extracted)", r[3])
		}
		s := q(t, e, db, "SELECT count(), uniqExact(session_id) FROM DB.sessions")
		if s[0] != r[4] || s[1] != s[0] || int64(u64(t, s[0])) != st.Sessions {
			t.Errorf("sessions: %v rows, %v distinct ids; events have %v distinct session ids; stats say %d", s[0], s[1], r[4], st.Sessions)
		}
	})
	t.Run("sessions match their events", func(t *testing.T) {
		// Every session's start, duration, event count and visitor attributes recomputed from
		// its events with raw SQL.
		r := q(t, e, db, `
			SELECT count(), countIf(s.session_start != ev.e_first OR s.duration != ev.e_dur OR s.event_count != ev.e_n
			       OR s.user_id != ev.e_user OR s.campaign_id != ev.e_campaign OR s.country != ev.e_country
			       OR s.device_type != ev.e_device OR s.source != ev.e_source OR s.workspace_id != ev.e_ws)
			FROM DB.sessions AS s
			INNER JOIN (
			    SELECT session_id, min(timestamp) AS e_first, toUInt32(max(timestamp) - min(timestamp)) AS e_dur,
			           toUInt32(count()) AS e_n, any(user_id) AS e_user, any(campaign_id) AS e_campaign,
			           any(country) AS e_country, any(device_type) AS e_device, any(source) AS e_source,
			           any(workspace_id) AS e_ws, uniqExact(user_id, campaign_id, country, device_type, source) AS e_variants
			    FROM DB.events GROUP BY session_id HAVING e_variants = 1
			) AS ev ON s.session_id = ev.session_id`)
		if u64(t, r[0]) != uint64(st.Sessions) {
			t.Errorf("%v sessions joined their events consistently, want all %d", r[0], st.Sessions)
		}
		if u64(t, r[1]) != 0 {
			t.Errorf("%v sessions disagree with their events", r[1])
		}
	})
	t.Run("distributions", func(t *testing.T) {
		r := q(t, e, db, `SELECT
			(SELECT max(c) / sum(c) FROM (SELECT count() AS c FROM DB.sessions GROUP BY country)),
			countIf(duration < 3), countIf(duration = 3), countIf(is_returning = 1) / count(),
			countIf(toStartOfHour(session_start) != toStartOfHour(session_start + duration)),
			countIf(toDate(session_start) != toDate(session_start + duration)),
			max(event_count), avg(event_count), countIf(event_count = 1) / count()
			FROM DB.sessions`)
		if top := f64(t, r[0]); top < 0.10 || top > 0.60 {
			t.Errorf("top country has %.0f%% of sessions, want between 10%% and 60%%", top*100)
		}
		if u64(t, r[1]) == 0 || u64(t, r[2]) == 0 {
			t.Errorf("%v sessions under 3 s and %v of exactly 3 s: want some of each", r[1], r[2])
		}
		if ret := f64(t, r[3]); ret < 0.10 || ret > 0.60 {
			t.Errorf("%.0f%% returning sessions, want between 10%% and 60%%", ret*100)
		}
		if u64(t, r[4]) == 0 || u64(t, r[5]) == 0 {
			t.Errorf("%v sessions cross an hour and %v a day: want some of each", r[4], r[5])
		}
		if mx, avg, single := u64(t, r[6]), f64(t, r[7]), f64(t, r[8]); mx < 10 || avg < 2 || avg > 6 || single < 0.15 || single > 0.6 {
			t.Errorf("session lengths: max %d, mean %.2f, %.0f%% single-event: want a long tail around 3–4 events", mx, avg, single*100)
		}
		// A returning visitor's first session (same user, not returning) started no later.
		r = q(t, e, db, `SELECT countIf(first_new > start) FROM (
			SELECT s.session_start AS start, f.first_new FROM DB.sessions AS s
			INNER JOIN (SELECT user_id, min(session_start) AS first_new FROM DB.sessions WHERE is_returning = 0 GROUP BY user_id) AS f
			USING user_id WHERE s.is_returning = 1)`)
		if u64(t, r[0]) != 0 {
			t.Errorf("%v returning sessions start before their visitor's first session", r[0])
		}
		r = q(t, e, db, `SELECT countIf(is_returning = 1 AND user_id NOT IN (SELECT user_id FROM DB.sessions WHERE is_returning = 0)) FROM DB.sessions`)
		if u64(t, r[0]) != 0 {
			t.Errorf("%v returning sessions have a user never seen new", r[0])
		}
		// Daily and weekly curves: UTC afternoons busier than nights, weekdays than weekends.
		r = q(t, e, db, `SELECT countIf(toHour(timestamp) BETWEEN 14 AND 17) / countIf(toHour(timestamp) BETWEEN 1 AND 4),
			(countIf(toDayOfWeek(timestamp) <= 5) / 5) / (countIf(toDayOfWeek(timestamp) >= 6) / 2) FROM DB.events`)
		if day, week := f64(t, r[0]), f64(t, r[1]); day < 2.5 || week < 1.2 {
			t.Errorf("afternoon/night ratio %.2f, weekday/weekend ratio %.2f: want a daily and a weekly curve", day, week)
		}
		// Zipf-like pages: the top page path is frequent, the tail long.
		r = q(t, e, db, `SELECT max(c) / sum(c), count() FROM (SELECT page_path, count() AS c FROM DB.events GROUP BY page_path)`)
		if top, paths := f64(t, r[0]), u64(t, r[1]); top < 0.05 || top > 0.5 || paths < 100 {
			t.Errorf("top page %.0f%% of %d paths: want a Zipf-like spread", top*100, paths)
		}
	})
	t.Run("cardinalities", func(t *testing.T) {
		r := q(t, e, db, `SELECT uniqExact(workspace_id), uniqExact(project_id), uniqExact(campaign_id), uniqExact(environment),
			uniqExact(event_type), uniqExact(event_id), uniqExact(device_type), uniqExact(browser), uniqExact(device_os),
			uniqExact(country), uniqExact(city), uniqExact(source), uniqExact(utm_campaign), uniqExact(landing_page_id)
			FROM DB.events`)
		want := []struct {
			name   string
			lo, hi uint64
		}{{"workspace_id", 3, 3}, {"project_id", 2, 6}, {"campaign_id", 6, 20}, {"environment", 2, 2},
			{"event_type", 3, 6}, {"event_id", 5, 12}, {"device_type", 3, 3}, {"browser", 3, 8}, {"device_os", 3, 7},
			{"country", 20, 50}, {"city", 60, 300}, {"source", 15, 30}, {"utm_campaign", 10, 21}, {"landing_page_id", 20, 50}}
		for i, w := range want {
			if got := u64(t, r[i]); got < w.lo || got > w.hi {
				t.Errorf("%s has %d values, want %d–%d", w.name, got, w.lo, w.hi)
			}
		}
	})
}

func TestGenerateNeedsDeployedTables(t *testing.T) {
	e := shared.NeedEmbedded(t)
	a := generatetest.Project(t, e)
	enginetest.MustExec(t, e, "DROP TABLE "+ident.Qualified(a.Project.Database, "events"))
	_, err := generate.Generate(context.Background(), e, a.Project, generate.Options{Events: 1000, Days: 1, End: generatetest.End})
	if !errors.Is(err, generate.ErrNotDeployed) || !strings.Contains(err.Error(), "hourglass deploy") {
		t.Fatalf("Generate without the events table = %v, want ErrNotDeployed", err)
	}
}

func TestGenerateRefusesNonEmptyTablesUnlessReplace(t *testing.T) {
	e := shared.NeedEmbedded(t)
	opts := generate.Options{Events: 5000, Days: 2, Seed: 3}
	a, _ := generatetest.Generate(t, e, opts)
	opts.End = generatetest.End
	if _, err := generate.Generate(context.Background(), e, a.Project, opts); err == nil || !strings.Contains(err.Error(), "--replace") {
		t.Fatalf("second Generate = %v, want a refusal naming --replace", err)
	}
	opts.Replace = true
	opts.Events = 3000
	st, err := generate.Generate(context.Background(), e, a.Project, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := u64(t, q(t, e, a.Project.Database, "SELECT count() FROM DB.events")[0]); got != 3000 || st.Events != 3000 {
		t.Errorf("after --replace: %d events, stats %d; want 3000", got, st.Events)
	}
}

func TestBadOptions(t *testing.T) {
	e := shared.NeedEmbedded(t)
	a := generatetest.Project(t, e)
	for _, o := range []generate.Options{
		{Events: -1}, {Days: -2}, {End: generatetest.End.Add(time.Minute)}, {LatePercent: 90}, {Tenants: -1},
	} {
		if _, err := generate.Generate(context.Background(), e, a.Project, o); err == nil {
			t.Errorf("Generate(%+v) succeeded", o)
		}
	}
}

// BenchmarkGenerate measures generator throughput, e.g.
// go test ./generate/ -run '^$' -bench Generate -benchtime 1x -bench-events 20000000.
func BenchmarkGenerate(b *testing.B) {
	e := shared.NeedEmbedded(b)
	a := generatetest.Project(b, e)
	var last *generate.Stats
	for i := 0; b.Loop(); i++ {
		st, err := generate.Generate(context.Background(), e, a.Project, generate.Options{
			Events: *benchEvents, Days: 90, Seed: uint64(i), End: generatetest.End, Replace: true,
		})
		if err != nil {
			b.Fatal(err)
		}
		last = st
	}
	b.ReportMetric(last.EventsPerSecond, "events/s")
	b.ReportMetric(float64(last.Sessions), "sessions")
	fmt.Fprintf(os.Stderr, "generated %d events and %d sessions in %v: %.0f events/s\n", last.Events, last.Sessions, last.Duration, last.EventsPerSecond)
}
