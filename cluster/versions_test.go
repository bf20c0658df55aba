package cluster_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/populate"
)

// A second version of a rollup on the cluster: a metric added deploys hits_hourly_v2 (its
// Distributed and local tables, on every host) beside version 1, which keeps serving the
// endpoint; status through the other node shows both; the backfill of v2 runs on both shards;
// the switch moves the endpoint to v2, served with the numbers raw SQL over both shards gives;
// prune then drops version 1's tables on every host.
func TestNewVersionOnCluster(t *testing.T) {
	f := newFixture(t, endpointYAML)
	f.mustHourglass("n1", "deploy")
	f.insertHits(3000, 3, "n1", "n2")
	backfill := []string{"backfill", "hits_hourly", "--from", "2026-11-02", "--to", "2026-11-05", "--now", afterFill}
	f.mustHourglass("n1", backfill...)
	f.mustHourglass("n2", "switch", "hits_by_site", "--to", "rollup", "--now", afterFill)

	f.write(strings.Replace(endpointYAML, "      - {name: users, kind: uniq, column: user_id}\n",
		"      - {name: users, kind: uniq, column: user_id}\n      - {name: max_bytes, kind: max, column: bytes}\n", 1))
	f.mustHourglass("n2", "deploy", "--allow-destructive")
	for _, n := range []string{"n1", "n2"} {
		if got := strings.Join(f.tables(n), ", "); !strings.Contains(got, "hits_hourly_v2 Distributed") || !strings.Contains(got, "hits_hourly_v2_local ReplicatedAggregatingMergeTree") {
			t.Errorf("tables of %s after deploying v2: %s", n, got)
		}
	}
	if out := f.mustHourglass("n1", "status", "--now", afterFill); !strings.Contains(out, "hits_hourly_v2") || !strings.Contains(out, "never backfilled") {
		t.Errorf("status through n1 with v2 deployed:\n%s", out)
	}
	var rep populate.Report
	if err := json.Unmarshal([]byte(f.mustHourglass("n1", append(backfill, "--output", "json")...)), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Table != "hits_hourly_v2" || len(rep.Shards) != 2 || rep.Shards[0].Done != 3 || rep.Shards[1].Done != 3 {
		t.Errorf("backfill through n1 after v2's deploy: table %s, shards %+v", rep.Table, rep.Shards)
	}
	if out := f.mustHourglass("n1", "switch", "hits_by_site", "--to", "rollup", "--now", afterFill); !strings.Contains(out, "(hits_hourly_v2)") {
		t.Errorf("switch to v2 through n1:\n%s", out)
	}

	want := numbers(enginetest.MustQuery(t, f.node("n1"), fmt.Sprintf(rawBySite, f.db), nil).Rows)
	out := f.mustHourglass("n2", "endpoint", "run", "hits_by_site", "--param", "start=2026-11-02", "--param", "end=2026-11-05", "--output", "json")
	var res endpoints.RunResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, numbers(res.Rows), cmpopts.EquateApprox(1e-9, 0)); d != "" || res.Side != endpoints.SideRollup {
		t.Errorf("endpoint run through n2 on v2 (%s) (-raw SQL +endpoint):\n%s", res.Side, d)
	}

	f.mustHourglass("n2", "prune", "--yes")
	for _, n := range []string{"n1", "n2"} {
		got := "," + strings.Join(f.tables(n), ",")
		if strings.Contains(got, ",hits_hourly ") || strings.Contains(got, ",hits_hourly_local ") || !strings.Contains(got, ",hits_hourly_v2_local ") {
			t.Errorf("tables of %s after prune: %s", n, got)
		}
	}
	f.mustHourglass("n2", "validate", "hits_hourly", "--now", afterFill)
}
