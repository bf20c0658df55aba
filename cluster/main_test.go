package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hourglass-dev/hourglass/cli"
	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
)

// The cluster suite: every test runs on the one real cluster the package starts (ZooKeeper
// and three clickhouse-server 18.16 nodes on loopback, see enginetest.StartCluster), each in a
// database of its own.
var shared enginetest.Shared

func TestMain(m *testing.M) {
	os.Exit(enginetest.Main(m, &shared, enginetest.Options{Cluster: true}))
}

// projectYAML is a project Debian's 18.16 can hold, on cluster two_shards, with every metric
// kind the server can store: counts and sums become AggregateFunction(sum, …) states there.
const projectYAML = `name: c
database: %DB%
cluster: two_shards
datasources:
  - name: hits
    partition_by: toYYYYMM(ts)
    order_by: [site, ts]
    shard_by: cityHash64(user_id)
    columns:
      - {name: ts, type: DateTime}
      - {name: site, type: String}
      - {name: user_id, type: String}
      - {name: page, type: String}
      - {name: bytes, type: UInt32}
      - {name: latency, type: Float64}
rollups:
  - name: hits_hourly
    source: hits
    time_column: ts
    dimensions: [site]
    metrics:
      - {name: hits, kind: count}
      - {name: big_hits, kind: count_if, if: "bytes > 1000"}
      - {name: total_bytes, kind: sum, column: bytes}
      - {name: big_bytes, kind: sum_if, column: bytes, if: "bytes > 1000"}
      - {name: total_latency, kind: sum, column: latency}
      - {name: min_latency, kind: min, column: latency}
      - {name: max_page, kind: max, column: page}
      - {name: avg_bytes, kind: avg, column: bytes}
      - {name: users, kind: uniq, column: user_id}
      - {name: exact_users, kind: uniq_exact, column: user_id}
      - {name: last_page, kind: arg_max, column: page, by: ts}
`

// fixture is a project written to a folder, for one database of the cluster.
type fixture struct {
	t   *testing.T
	c   *enginetest.Cluster
	db  string
	dir string
	// cluster is the cluster the project declares.
	cluster string
}

// newFixture writes the project (projectYAML with the database named after the test) and
// drops the database on every node when the test ends.
func newFixture(t *testing.T, yaml string) *fixture {
	t.Helper()
	c := shared.NeedCluster(t)
	db := "c_" + strings.ToLower(strings.NewReplacer("/", "_", "-", "_").Replace(t.Name()))
	f := &fixture{t: t, c: c, db: db, dir: t.TempDir(), cluster: enginetest.ShardsCluster}
	if strings.Contains(yaml, "cluster: "+enginetest.ReplicasCluster+"\n") {
		f.cluster = enginetest.ReplicasCluster
	}
	f.write(yaml)
	f.dropDatabase()
	t.Cleanup(f.dropDatabase)
	return f
}

// dropDatabase drops the test database on every node, and with it the ZooKeeper paths of
// its replicated tables (DROP TABLE of a Replicated table removes its replica).
func (f *fixture) dropDatabase() {
	for _, n := range f.c.Nodes {
		if n.Server == nil {
			continue
		}
		e, err := engine.Open(context.Background(), n.DSN)
		if err != nil {
			continue // a node a test left down; the test restarts it
		}
		_ = e.Exec(context.Background(), "DROP DATABASE IF EXISTS `"+f.db+"`", nil)
		e.Close()
	}
}

// node opens an engine on a node, closed when the test ends; settings are DSN settings
// ("insert_distributed_sync=1").
func (f *fixture) node(name string, settings ...string) engine.Engine {
	f.t.Helper()
	dsn := f.c.Node(name).DSN
	if len(settings) > 0 {
		dsn += "?" + strings.Join(settings, "&")
	}
	e, err := engine.Open(context.Background(), dsn)
	if err != nil {
		f.t.Fatalf("open %s: %v", name, err)
	}
	f.t.Cleanup(func() { e.Close() })
	return e
}

// hourglass runs the CLI in-process against a node and returns its exit code and output.
func (f *fixture) hourglass(node string, args ...string) (int, string, string) {
	f.t.Helper()
	var out, errb bytes.Buffer
	args = append([]string{"--project", f.dir, "--dsn", f.c.Node(node).DSN}, args...)
	code := cli.Main(context.Background(), args, cli.IO{In: strings.NewReader(""), Out: &out, Err: &errb}, cli.Build{Version: "test"})
	return code, out.String(), errb.String()
}

// mustHourglass is hourglass failing the test on a non-zero exit.
func (f *fixture) mustHourglass(node string, args ...string) string {
	f.t.Helper()
	code, out, errOut := f.hourglass(node, args...)
	if code != cli.ExitOK {
		f.t.Fatalf("hourglass %s through %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), node, code, out, errOut)
	}
	return out
}

// artifacts loads and compiles the project for the cluster's server.
func (f *fixture) artifacts() *pipes.Artifacts {
	f.t.Helper()
	def, err := datasources.Load(os.DirFS(f.dir))
	if err != nil {
		f.t.Fatal(err)
	}
	info, err := f.node("n1").Info(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	a, err := pipes.CompileFor(def, pipes.TargetFor(info.Version))
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// store is the project's metadata store through a node.
func (f *fixture) store(node string) *meta.Store {
	return meta.New(f.node(node), f.db, nil).OnCluster(f.cluster)
}

// tables lists a node's tables of the test database with their engines, "name engine".
func (f *fixture) tables(node string) []string {
	f.t.Helper()
	r := enginetest.MustQuery(f.t, f.node(node), "SELECT name, engine FROM system.tables WHERE database = {db:String} ORDER BY name", engine.Params{"db": f.db})
	var out []string
	for _, row := range r.Rows {
		out = append(out, fmt.Sprintf("%s %s", row[0], row[1]))
	}
	return out
}

// write replaces the project's hourglass.yaml (with the test's database).
func (f *fixture) write(yaml string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, datasources.ProjectFile), []byte(strings.ReplaceAll(yaml, "%DB%", f.db)), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// fstestFS is a project folder holding one hourglass.yaml.
func fstestFS(yaml string) fstest.MapFS {
	return fstest.MapFS{datasources.ProjectFile: {Data: []byte(yaml)}}
}
