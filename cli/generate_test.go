package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hourglass-dev/hourglass/generate"
)

func TestGenerateAndEstimateNeedDeploy(t *testing.T) {
	needLibrary(t)
	dir := initProject(t)
	for _, args := range [][]string{{"generate", "--events", "1000", "--days", "1"}, {"estimate", "events_hourly"}} {
		code, _, errOut := run(t, append([]string{"--project", dir}, args...)...)
		if code != ExitError || !strings.Contains(errOut, "run hourglass deploy first") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%s before deploy: exit %d, stderr %q; want one line saying run hourglass deploy first", args[0], code, errOut)
		}
	}
}

func TestGenerateThenEstimate(t *testing.T) {
	needLibrary(t)
	dir := initProject(t)
	if code, _, errOut := run(t, "--project", dir, "deploy"); code != ExitOK {
		t.Fatalf("deploy: exit %d, stderr %q", code, errOut)
	}
	gen := []string{"--project", dir, "generate", "--events", "150000", "--days", "3", "--end", "2026-03-02", "--seed", "4"}
	code, out, errOut := run(t, gen...)
	if code != ExitOK {
		t.Fatalf("generate: exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(out, "generated 150000 events") || !strings.Contains(out, "sessions over [2026-02-27 00:00:00, 2026-03-02 00:00:00)") || !strings.Contains(out, "events/s") {
		t.Errorf("generate output %q", out)
	}
	if !strings.Contains(errOut, "generate: events") || !strings.Contains(errOut, "generate: sessions") {
		t.Errorf("generate progress on stderr %q", errOut)
	}
	if rows := query(t, dir, "SELECT count(), min(timestamp) >= '2026-02-27 00:00:00', max(timestamp) < '2026-03-02 00:00:00' FROM analytics.events"); rows[0][0] != float64(150000) || rows[0][1] != float64(1) || rows[0][2] != float64(1) {
		t.Errorf("events: %v", rows)
	}

	// Generating again refuses to append; --replace starts over, here with JSON output.
	code, _, errOut = run(t, gen...)
	if code != ExitError || !strings.Contains(errOut, "--replace") {
		t.Errorf("second generate: exit %d, stderr %q; want a refusal naming --replace", code, errOut)
	}
	code, out, errOut = run(t, append(gen, "--replace", "-o", "json")...)
	if code != ExitOK {
		t.Fatalf("generate --replace: exit %d, stderr %q", code, errOut)
	}
	var st generate.Stats
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Events != 150000 || st.Sessions == 0 || st.Seed != 4 {
		t.Errorf("generate json %q: %+v, %v", out, st, err)
	}

	// The wide rollup is reported honestly; the narrow one is not warned about.
	code, out, errOut = run(t, "--project", dir, "estimate", "events_hourly")
	if code != ExitOK {
		t.Fatalf("estimate: exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"rollup events_hourly over [2026-02-27 00:00:00, 2026-03-02 00:00:00) (72 hours) of events",
		"raw rows", "150000", "reduction", "inflation", "city", "warning: rollup events_hourly would hold"} {
		if !strings.Contains(out, want) {
			t.Errorf("estimate output lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = run(t, "--project", dir, "-o", "json", "estimate", "events_overview_hourly", "--from", "2026-02-28", "--to", "2026-03-01")
	if code != ExitOK {
		t.Fatalf("estimate json: exit %d, stderr %q", code, errOut)
	}
	var rep struct {
		Rollup     string  `json:"rollup"`
		RawRows    uint64  `json:"raw_rows"`
		RollupRows uint64  `json:"rollup_rows"`
		Hours      int     `json:"hours"`
		Reduction  float64 `json:"reduction"`
		Warning    string  `json:"warning"`
		Dimensions []struct {
			Name      string  `json:"name"`
			Inflation float64 `json:"inflation"`
		} `json:"dimensions"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("estimate json %q: %v", out, err)
	}
	if rep.Rollup != "events_overview_hourly" || rep.Hours != 24 || rep.RawRows == 0 || rep.Reduction < 10 || rep.Warning != "" || len(rep.Dimensions) != 5 {
		t.Errorf("estimate json: %+v", rep)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"estimate", "nope"}, "events_overview_hourly"},
		{[]string{"estimate", "events_hourly", "--from", "2026-02-28 10:30"}, "not on the hour"},
		{[]string{"generate", "--end", "2026-03-01 10:30", "--replace"}, "not on the hour"},
		{[]string{"generate", "--events", "0"}, "must be positive"},
	} {
		code, _, errOut := run(t, append([]string{"--project", dir}, c.args...)...)
		if code != ExitError || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", c.args, code, errOut, c.want)
		}
	}
}
