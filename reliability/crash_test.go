package reliability_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
)

// The crash tests kill hourglass (SIGKILL) on the embedded engine, over partitions that already
// hold data, at every step of a unit and at random times, and check what the next process
// sees: status must name every partition a crash may have doubled, and the next populate (the
// next cron tick) must leave events_overview_hourly equal to raw SQL written here.

const crashRollup = "events_overview_hourly"

// randomKillsEnv sets how many random kills TestEmbeddedRandomKills makes (default 10).
const randomKillsEnv = "HOURGLASS_RANDOM_KILLS"

// crashProject is the default project in a folder of its own, driven through the hourglass
// binary (each command a process of its own, as in production) with a fixed clock.
type crashProject struct {
	t   *testing.T
	dir string
	// rg is the range of history it holds; now the clock of every command (rg.End + 5 min).
	rg  timerange.Range
	now time.Time
}

// newCrashProject deploys the default project, inserts events over rg and backfills
// events_overview_hourly over it.
func newCrashProject(t *testing.T, rg timerange.Range, events int) *crashProject {
	t.Helper()
	shared.NeedEmbedded(t) // the library is there
	p := &crashProject{t: t, dir: filepath.Join(t.TempDir(), "p"), rg: rg, now: rg.End.Add(5 * time.Minute)}
	mustHG(t, "init", p.dir)
	p.must("deploy")
	p.insert(rg.Start, rg.End, events, 1, "prod")
	p.must("backfill", crashRollup, "--from", timerange.Format(rg.Start), "--to", timerange.Format(rg.End), "--now", p.clock())
	if o := p.oracle(""); o.Mismatched != 0 || !o.TotalsEqual {
		t.Fatalf("after the first backfill the rollup differs from raw: %+v", o)
	}
	return p
}

func (p *crashProject) clock() string { return p.now.Format(time.RFC3339) }

func (p *crashProject) args(args ...string) []string {
	return append([]string{"--project", p.dir}, args...)
}

func (p *crashProject) must(args ...string) string {
	p.t.Helper()
	return mustHG(p.t, p.args(args...)...)
}

// insert adds n events over [from, to) whose environment is tag (so a test can leave them out
// of its expectation).
func (p *crashProject) insert(from, to time.Time, n, seed int, tag string) {
	p.t.Helper()
	step := to.Sub(from).Seconds() / float64(n)
	p.must("sql", fmt.Sprintf(`INSERT INTO analytics.events (timestamp, workspace_id, project_id, campaign_id, environment, event_id, event_type, session_id, user_id, country, time_on_page, value_usd)
        SELECT toDateTime(%d + intDiv(number * %d, 1000), 'UTC'), 'w1', 'p1', concat('c', toString(number %% 4)), '%s', concat('e', toString(number %% 3)),
               ['pageview', 'click', 'purchase'][1 + number %% 3], concat('s%d_', toString(intDiv(number, 5))), concat('u', toString(cityHash64(number, %d) %% 211)),
               ['DE', 'US', 'FR'][1 + number %% 3], cityHash64(number, %d) %% 300, (number %% 100) / 10
        FROM numbers(%d)`, from.Unix(), int64(step*1000), tag, seed, seed, seed, n))
}

// oracleResult is the rollup compared with raw SQL per hour over the project's range.
type oracleResult struct {
	Hours, Mismatched int
	// Days lists the days (YYYYMMDD) with an hour that differs; Doubled those with an hour
	// holding more events than raw.
	Days, Doubled []string
	// TotalsEqual says whether the totals over the whole range are equal.
	TotalsEqual bool
}

// oracle compares events_overview_hourly with the raw events, per hour and over the range:
// count, sum of time_on_page, distinct users and distinct sessions, each as raw SQL here. Raw
// events whose environment is exclude are left out.
func (p *crashProject) oracle(exclude string) oracleResult {
	p.t.Helper()
	where := fmt.Sprintf("timestamp >= toDateTime(%d, 'UTC') AND timestamp < toDateTime(%d, 'UTC') AND environment != '%s'", p.rg.Start.Unix(), p.rg.End.Unix(), exclude)
	rwhere := fmt.Sprintf("hour >= toDateTime(%d, 'UTC') AND hour < toDateTime(%d, 'UTC')", p.rg.Start.Unix(), p.rg.End.Unix())
	// Distinct counts are uniqCombined(14): exact but at its set sizes, 512 and 1024, where the
	// order rows arrive in decides between the count and its estimate (see pipes.Sketch).
	sketchDiffers := func(a, b string) string {
		return fmt.Sprintf("NOT (%s = %s OR (%s IN (512, 1024) OR %s IN (512, 1024)) AND abs(toInt64(%s) - toInt64(%s)) <= 0.05 * least(%s, %s))", a, b, a, b, a, b, a, b)
	}
	differs := "r.c != o.c OR r.t != o.t OR " + sketchDiffers("r.u", "o.u") + " OR " + sketchDiffers("r.s", "o.s")
	q := `SELECT * FROM
  (SELECT count() AS hours, countIf(` + differs + `) AS mismatched,
          arraySort(groupUniqArrayIf(toString(toYYYYMMDD(h)), ` + differs + `)) AS days,
          arraySort(groupUniqArrayIf(toString(toYYYYMMDD(h)), o.c > r.c)) AS doubled
   FROM (SELECT toStartOfHour(timestamp) AS h, count() AS c, sum(time_on_page) AS t, uniqCombined(14)(user_id) AS u, uniqCombined(14)(session_id) AS s
         FROM analytics.events WHERE ` + where + ` GROUP BY h) AS r
   FULL OUTER JOIN
        (SELECT hour AS h, sum(event_count) AS c, sum(total_time_on_page) AS t, uniqCombinedMerge(14)(unique_users) AS u, uniqCombinedMerge(14)(unique_sessions) AS s
         FROM analytics.events_overview_hourly WHERE ` + rwhere + ` GROUP BY h) AS o
   USING h) AS a
CROSS JOIN
  (SELECT (SELECT (count(), sum(time_on_page), uniqCombined(14)(user_id), uniqCombined(14)(session_id)) FROM analytics.events WHERE ` + where + `)
        = (SELECT (sum(event_count), sum(total_time_on_page), uniqCombinedMerge(14)(unique_users), uniqCombinedMerge(14)(unique_sessions)) FROM analytics.events_overview_hourly WHERE ` + rwhere + `) AS totals) AS b`
	var r engine.Result
	if err := json.Unmarshal([]byte(p.must("-o", "json", "sql", q)), &r); err != nil {
		p.t.Fatal(err)
	}
	row := r.Row()
	strs := func(v any) []string {
		var out []string
		for _, x := range v.([]any) {
			out = append(out, x.(string))
		}
		return out
	}
	return oracleResult{Hours: int(row[0].(float64)), Mismatched: int(row[1].(float64)), Days: strs(row[2]), Doubled: strs(row[3]),
		TotalsEqual: row[4].(float64) == 1}
}

// statusOf runs hourglass status (JSON) and returns its exit code and the suspect partitions
// it names for events_overview_hourly. With suspect partitions its one line on stderr must name
// each of them and the command that redoes them.
func (p *crashProject) status() (int, []string) {
	p.t.Helper()
	code, out, errOut := hg(p.t, p.args("-o", "json", "status", "--now", p.clock())...)
	var rep struct {
		Rollups []struct {
			Rollup  string `json:"rollup"`
			Suspect []struct {
				PartitionID string `json:"partition_id"`
			} `json:"suspect_partitions"`
		} `json:"rollups"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		p.t.Fatalf("status: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	var ids []string
	for _, r := range rep.Rollups {
		if r.Rollup == crashRollup {
			for _, s := range r.Suspect {
				ids = append(ids, s.PartitionID)
			}
		}
	}
	if (code != 0) != (len(ids) > 0) {
		p.t.Fatalf("status exited %d with suspect partitions %v: want exit 1 exactly when some are suspect\n%s", code, ids, errOut)
	}
	for _, id := range ids {
		if !strings.Contains(errOut, id) || !strings.Contains(errOut, "run hourglass populate "+crashRollup) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			p.t.Fatalf("status does not name %s and the command to run on one line: %q", id, errOut)
		}
	}
	return code, ids
}

// afterCrash checks what a crash left and runs the next populate: every day a restart doubled
// must be among the suspect partitions status names (whose count is returned), and after the
// populate the rollup equals raw (without events tagged exclude), with nothing suspect.
func (p *crashProject) afterCrash(exclude string) (suspect []string, before oracleResult) {
	p.t.Helper()
	_, suspect = p.status()
	before = p.oracle("")
	for _, d := range before.Doubled {
		if !slices.Contains(suspect, d) {
			p.t.Fatalf("day %s holds more events than raw after the crash, but status names only %v as suspect (oracle %+v)", d, suspect, before)
		}
	}
	p.must("populate", crashRollup, "--now", p.clock())
	if after := p.oracle(exclude); after.Mismatched != 0 || !after.TotalsEqual || after.Hours == 0 {
		p.t.Fatalf("after the next populate the rollup differs from raw in %d of %d hours (days %v, totals equal %v)", after.Mismatched, after.Hours, after.Days, after.TotalsEqual)
	}
	if len(suspect) > 0 { // the populate redid them: nothing is suspect any more
		if code, ids := p.status(); code != 0 {
			p.t.Fatalf("status after the populate: exit %d, suspect %v", code, ids)
		}
	}
	return suspect, before
}

// validateAfterKill runs hourglass validate over the project's range after a backfill was
// killed at step in its third unit (the day 2026-10-03): validate must never say EXACT while
// that day (with the units grouped with it) may be doubled — also when the unit was killed before its swap ran, or after the
// purge, when the numbers agree — and must say EXACT when the kill left nothing in doubt.
func (p *crashProject) validateAfterKill(step populate.Step) {
	p.t.Helper()
	code, out, errOut := hg(p.t, p.args("-o", "json", "validate", crashRollup, "--from", timerange.Format(p.rg.Start), "--to", timerange.Format(p.rg.End), "--now", p.clock())...)
	var rep struct {
		Exact   bool `json:"exact"`
		Suspect []struct {
			Start time.Time `json:"start"`
		} `json:"suspect"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		p.t.Fatalf("validate after a kill at %s: exit %d, %v\n%s\n%s", step, code, err, out, errOut)
	}
	third := p.rg.Start.AddDate(0, 0, 2)
	named := false
	for _, s := range rep.Suspect {
		named = named || s.Start.Equal(third)
	}
	switch {
	case inDoubt(step) && (code != 1 || rep.Exact || !named):
		p.t.Fatalf("validate after a kill at %s: exit %d, exact %v, suspect %v: want exit 1 naming %s suspect\n%s", step, code, rep.Exact, rep.Suspect, timerange.Format(third), errOut)
	case !inDoubt(step) && (code != 0 || !rep.Exact):
		p.t.Fatalf("validate after a kill at %s, which leaves nothing in doubt: exit %d, exact %v, suspect %v\n%s", step, code, rep.Exact, rep.Suspect, errOut)
	}
}

// inDoubt reports whether a crash at step leaves the unit in doubt (its partition suspect).
func inDoubt(s populate.Step) bool {
	return s == populate.StepSwapRecorded || s == populate.StepSwapped || s == populate.StepPurged
}

// The fault matrix: a backfill, the hourly populate and reconcile --repair, each killed at every
// step of a unit over partitions that already hold data, and a populate killed while it redoes
// a suspect partition. After each kill status names the partition exactly when the unit was
// left in doubt (a kill right after the swap really doubles it: the restarted engine loads the
// replaced part again), and the next populate leaves the rollup equal to raw SQL.
func TestEmbeddedKillAtEveryStep(t *testing.T) {
	rg := timerange.Range{Start: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 10, 8, 0, 0, 0, 0, time.UTC)}
	p := newCrashProject(t, rg, 60000)
	spec := func(command string, step populate.Step, unit int) childSpec {
		return childSpec{Project: p.dir, Command: command, Rollup: crashRollup, From: rg.Start, To: rg.End, Now: p.now, Step: step, Unit: unit}
	}
	check := func(t *testing.T, step populate.Step, exclude string) {
		p.t = t
		suspect, before := p.afterCrash(exclude)
		if inDoubt(step) != (len(suspect) > 0) {
			t.Fatalf("killed at %s: status named %v as suspect", step, suspect)
		}
		if step == populate.StepSwapped && len(before.Doubled) == 0 {
			t.Fatalf("killed right after the swap, no day holds more than raw: the crash did not double anything (oracle %+v)", before)
		}
		t.Logf("killed at %s: suspect %v, doubled by the restart %v, %d hours differed; the next populate made all %d exact", step, suspect, before.Doubled, before.Mismatched, before.Hours)
	}
	for _, step := range populate.Steps() {
		t.Run("backfill/"+string(step), func(t *testing.T) {
			p.t = t
			killChild(t, spec("backfill", step, 3))
			p.validateAfterKill(step)
			if step == populate.StepSwapped { // the text status marks the rollup and its partitions
				code, out, _ := hg(t, p.args("status", "--now", p.clock())...)
				if code != 1 || !strings.Contains(out, "SUSPECT "+crashRollup) || !strings.Contains(out, "20261003") ||
					!strings.Contains(out, "redo them with: hourglass populate "+crashRollup) {
					t.Fatalf("text status after a kill right after the swap: exit %d\n%s", code, out)
				}
			}
			check(t, step, "")
		})
	}
	t.Run("populate killed while redoing a suspect partition", func(t *testing.T) {
		p.t = t
		one := spec("backfill", populate.StepSwapped, 2)
		one.Batch = 1 // one partition in doubt
		killChild(t, one)
		if _, ids := p.status(); len(ids) != 1 {
			t.Fatalf("suspect after the backfill's kill: %v", ids)
		}
		killChild(t, spec("populate", populate.StepSwapped, 1)) // unit 1 is the recovery
		check(t, populate.StepSwapped, "")
	})
	for i, step := range populate.Steps() {
		t.Run("populate/"+string(step), func(t *testing.T) {
			p.t = t
			last := rg.End.Add(-time.Hour) // late events inside the lookback: the populate has work
			p.insert(last, rg.End, 300, 100+i, "late")
			killChild(t, spec("populate", step, 1))
			check(t, step, "")
		})
	}
	for i, step := range populate.Steps() {
		t.Run("reconcile/"+string(step), func(t *testing.T) {
			p.t = t
			tag := "drift" + strconv.Itoa(i)
			p.insert(rg.Start.Add(50*time.Hour), rg.Start.Add(52*time.Hour), 200, 200+i, tag) // late events long past the lookback
			killChild(t, spec("reconcile", step, 1))
			// Killed before its swap, the repair left the day as it was (the populate does
			// not look that far back); from the swap on, the repair or the recovery of its
			// partition took the late events in.
			exclude := ""
			if step == populate.StepBeforeStage || step == populate.StepStaged {
				exclude = tag
			}
			check(t, step, exclude)
			if exclude != "" { // the drift is still there: repair it for the next case
				p.must("reconcile", crashRollup, "--from", timerange.Format(rg.Start), "--to", timerange.Format(rg.End), "--repair", "--now", p.clock())
				if o := p.oracle(""); o.Mismatched != 0 {
					t.Fatalf("after reconcile --repair: %+v", o)
				}
			}
		})
	}
}

// Random kills: re-backfills over populated data killed (SIGKILL from outside) at random times,
// each followed by status and one populate, as the acceptance run does
// (HOURGLASS_RANDOM_KILLS=20). Every day a kill doubled must be named by status (exit 1), and
// after the populate no hour differs from raw.
func TestEmbeddedRandomKills(t *testing.T) {
	kills := 10
	if v := os.Getenv(randomKillsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", randomKillsEnv, v)
		}
		kills = n
	}
	rg := timerange.Range{Start: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 10, 15, 0, 0, 0, 0, time.UTC)}
	p := newCrashProject(t, rg, 300000)
	backfill := p.args("backfill", crashRollup, "--from", timerange.Format(rg.Start), "--to", timerange.Format(rg.End), "--now", p.clock())
	started := time.Now()
	p.must("sql", "SELECT 1")
	open := time.Since(started) // a process starting and opening the engine: nothing to kill yet
	started = time.Now()
	p.must(backfill[2:]...)
	full := time.Since(started)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("a whole re-backfill takes %s, %s of it starting; %d kills at random in [%s, %s), seed %d", full.Round(time.Millisecond),
		open.Round(time.Millisecond), kills, open.Round(time.Millisecond), full.Round(time.Millisecond), seed)
	var midRun, suspected, doubled, differed int
	for i := 0; i < kills; i++ {
		delay := open + time.Duration(rng.Int64N(int64(max(full-open, time.Millisecond))))
		cmd := exec.Command(hourglassBinary(t), backfill...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if err != nil && strings.Contains(err.Error(), "killed") {
			midRun++
		}
		suspect, before := p.afterCrash("")
		if len(suspect) > 0 {
			suspected++
		}
		if len(before.Doubled) > 0 {
			doubled++
		}
		if before.Mismatched > 0 {
			differed++
		}
		t.Logf("kill %d after %s: suspect %v, doubled %v (%d hours differed); after the populate 0 hours differ", i+1, delay.Round(time.Millisecond), suspect, before.Doubled, before.Mismatched)
	}
	t.Logf("%d random kills (%d mid-run): %d left suspect partitions, %d left a doubled partition, %d left hours different from raw before the populate; after each populate 0 hours differed",
		kills, midRun, suspected, doubled, differed)
}

// --resume after a kill at ~70 % of a backfill skips exactly the units that are durable: the
// ones recorded done, and those left in doubt once the resume's recovery has redone them;
// killed before its swap was recorded, the unit in flight is redone. With one partition per
// group the kill falls on one unit; by default (over history the rollup holds, the range is one
// group) it falls on the whole group: killed staging, the run being resumed finished nothing,
// and the resume redoes all of it rather than skip what an earlier, complete backfill did.
func TestEmbeddedResumeAfterKillAt70Percent(t *testing.T) {
	rg := timerange.Range{Start: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 10, 11, 0, 0, 0, 0, time.UTC)}
	p := newCrashProject(t, rg, 40000)
	resume := []string{"backfill", crashRollup, "--from", timerange.Format(rg.Start), "--to", timerange.Format(rg.End), "--now", p.clock(), "--resume"}
	for _, c := range []struct {
		step          populate.Step
		batch         int
		skipped, done int
		recovered     string
	}{
		{populate.StepStaged, 1, 6, 4, ""},
		{populate.StepSwapped, 1, 7, 3, "first redid 1 suspect partition(s) a crash may have doubled: 20261007"},
		{populate.StepRecorded, 1, 7, 3, ""},
		{populate.StepStaged, 0, 0, 10, ""},
		{populate.StepSwapped, 0, 10, 0, "first redid 10 suspect partition(s) a crash may have doubled: 20261001, 20261002, 20261003, 20261004, 20261005, 20261006, 20261007, 20261008, 20261009, 20261010"},
	} {
		t.Run(fmt.Sprintf("%s/batch%d", c.step, c.batch), func(t *testing.T) {
			p.t = t
			killChild(t, childSpec{Project: p.dir, Command: "backfill", Rollup: crashRollup, From: rg.Start, To: rg.End, Now: p.now, Step: c.step, Unit: 7, Batch: c.batch})
			out := p.must(resume...)
			want := fmt.Sprintf("%d unit(s) done, %d skipped", c.done, c.skipped)
			if !strings.Contains(out, want) || !strings.Contains(out, c.recovered) {
				t.Fatalf("resume after a kill at %s of unit 7 of 10: %q, want %q %q", c.step, strings.TrimSpace(out), want, c.recovered)
			}
			if o := p.oracle(""); o.Mismatched != 0 || !o.TotalsEqual {
				t.Fatalf("after the resume: %+v", o)
			}
			t.Logf("killed at %s of unit 7 of 10; resume: %s", c.step, strings.TrimSpace(out))
		})
	}
}
