package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hourglass-dev/hourglass/deploy"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/meta"
)

// killBefore runs statements on a real server and kills a node just before the first one
// that holds a string: a host dying in the middle of a deploy.
type killBefore struct {
	engine.Engine
	at     string
	killed atomic.Bool
	node   *enginetest.Node
}

func (k *killBefore) Exec(ctx context.Context, q string, p engine.Params) error {
	if strings.Contains(q, k.at) && !k.killed.Swap(true) {
		k.node.Kill()
	}
	return k.Engine.Exec(ctx, q, p)
}

func (k *killBefore) Unwrap() engine.Engine { return k.Engine }

// A host killed in the middle of a deploy: the ON CLUSTER statement waiting for it gives up
// after DDLTimeout and the error names the host; once it is back, its DDL queue catches up,
// plan shows what is left (no "destructive"), and deploy finishes it.
func TestHostDiesMidDeployThenDeployCompletes(t *testing.T) {
	f := newFixture(t, projectYAML)
	ctx := context.Background()
	n2 := f.c.Node("n2")
	restartOnCleanup(t, n2)
	a := f.artifacts()
	// n2 dies after the database and the metadata, before the raw table.
	k := &killBefore{Engine: f.node("n1"), at: "CREATE TABLE IF NOT EXISTS `" + f.db + "`.`hits_local`", node: n2}
	store := meta.New(k, f.db, nil).OnCluster(a.Project.Cluster)
	p, err := deploy.Plan(ctx, k, store, a)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = deploy.Apply(ctx, k, store, p, deploy.ApplyOptions{DDLTimeout: 3 * time.Second})
	took := time.Since(start)
	var ae *deploy.ApplyError
	if !errors.As(err, &ae) || ae.Change.Object != "hits" || !strings.Contains(err.Error(), "host "+n2.Addr()+" (shard 2, replica 1) does not answer") {
		t.Fatalf("deploy with n2 dying: %v", err)
	}
	if took > 20*time.Second {
		t.Errorf("the deploy took %s to fail", took)
	}
	t.Logf("n2 killed mid-deploy, failed after %s: %v", took.Round(time.Millisecond), err)

	if err := n2.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	// n2 runs the statement it missed from its DDL queue; plan shows the rest as it is.
	var plan deploy.ChangePlan
	if err := json.Unmarshal([]byte(f.mustHourglass("n1", "plan", "--output", "json")), &plan); err != nil {
		t.Fatal(err)
	}
	if n := len(plan.Destructive()); n != 0 {
		t.Errorf("plan after the partial deploy has %d destructive changes: %+v", n, plan.Destructive())
	}
	t.Logf("plan after n2 came back: %s", plan.Summary())
	for _, c := range plan.Changes {
		if c.Pending() {
			t.Logf("  %s %s %s: %s", c.Action, c.Kind, c.Object, c.Detail)
		}
	}
	f.mustHourglass("n1", "deploy")
	if out := f.mustHourglass("n2", "plan"); !strings.Contains(out, "nothing to do") {
		t.Errorf("plan after completing:\n%s", out)
	}
	if got, want := f.tables("n2"), f.tables("n1"); !cmp.Equal(got, want) || len(got) != 9 {
		t.Errorf("after completing: n1 %v\nn2 %v", want, got)
	}
}

// What an ON CLUSTER statement leaves when it went through on n1 but not on n2 (an error on
// one host): plan shows per host what is missing — an alter and a create, not a destructive
// change — and deploy adds it there only.
func TestPlanShowsWhatEachHostLacksAndDeployCompletesIt(t *testing.T) {
	f := newFixture(t, projectYAML)
	f.mustHourglass("n1", "deploy")
	// The definition gains a column; on n1 alone the ALTERs ran, and n2 lost its staging table.
	f.write(strings.Replace(projectYAML, "      - {name: latency, type: Float64}\n", "      - {name: latency, type: Float64}\n      - {name: region, type: String}\n", 1))
	enginetest.MustExec(t, f.node("n1"),
		"ALTER TABLE `"+f.db+"`.hits_local ADD COLUMN region String AFTER latency",
		"ALTER TABLE `"+f.db+"`.hits ADD COLUMN region String AFTER latency")
	enginetest.MustExec(t, f.node("n2"), "DROP TABLE `"+f.db+"`.hits_hourly_staging")

	var plan deploy.ChangePlan
	if err := json.Unmarshal([]byte(f.mustHourglass("n2", "plan", "--output", "json")), &plan); err != nil {
		t.Fatal(err)
	}
	n2 := f.c.Node("n2").Addr()
	for _, c := range plan.Changes {
		switch c.Object {
		case "hits":
			want := []deploy.HostStatement{
				{Host: n2, Statement: "ALTER TABLE `" + f.db + "`.`hits_local` ADD COLUMN `region` String AFTER `latency`"},
				{Host: n2, Statement: "ALTER TABLE `" + f.db + "`.`hits` ADD COLUMN `region` String AFTER `latency`"},
			}
			if c.Action != deploy.ActionAlter || !strings.Contains(c.Detail, "column region (String) added where it is missing") ||
				len(c.Statements) != 0 || !cmp.Equal(c.OnHosts, want) {
				t.Errorf("hits: %+v", c)
			}
		case "hits_hourly_staging":
			if c.Action != deploy.ActionCreate || !strings.Contains(c.Detail, "the staging table is missing on "+n2+" (shard 2, replica 1)") {
				t.Errorf("staging: %+v", c)
			}
		default:
			if c.Action != deploy.ActionUnchanged {
				t.Errorf("%s %s: %s (%s)", c.Kind, c.Object, c.Action, c.Detail)
			}
		}
	}
	f.mustHourglass("n2", "deploy")
	if out := f.mustHourglass("n1", "plan"); !strings.Contains(out, "nothing to do") {
		t.Errorf("plan after completing:\n%s", out)
	}
	for _, n := range []string{"n1", "n2"} {
		r := enginetest.MustQuery(t, f.node(n), "SELECT table FROM system.columns WHERE database = {db:String} AND name = 'region' ORDER BY table", engine.Params{"db": f.db})
		if len(r.Rows) != 2 {
			t.Errorf("%s: region is in %v, want hits and hits_local", n, r.Rows)
		}
	}
	if got, want := f.tables("n2"), f.tables("n1"); !cmp.Equal(got, want) {
		t.Errorf("after completing: n1 %v\nn2 %v", want, got)
	}
}
