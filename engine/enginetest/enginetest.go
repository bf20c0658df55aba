package enginetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hourglass-dev/hourglass/engine"
)

// InCI reports whether the tests run under CI, where a missing engine is a failure rather
// than a skip.
func InCI() bool { return os.Getenv("CI") != "" }

// Unavailable skips the test loudly because an engine is missing, or fails it under CI, where
// .ci/run installs every engine and a skip would hide a test that did not run.
func Unavailable(t testing.TB, what string, err error) {
	t.Helper()
	msg := fmt.Sprintf("SKIPPING: %s is not available here (%v) — run `make engine` / apt-get install clickhouse-server zookeeper", what, err)
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Shared holds the engines a test package opened in TestMain.
type Shared struct {
	// Embedded is the process's embedded engine, nil if the library is missing.
	Embedded engine.Engine
	// EmbeddedErr says why Embedded is nil.
	EmbeddedErr error
	// Server is a clickhouse-server started for the package, when asked for.
	Server *Server
	// ServerErr says why Server is nil.
	ServerErr error
	// Cluster is the ZooKeeper and three clickhouse-server nodes started for the package, when
	// asked for (see StartCluster).
	Cluster *Cluster
	// ClusterErr says why Cluster is nil.
	ClusterErr error
	// Dir is the temporary folder holding the embedded data and the server's files.
	Dir string
}

// Options say what a test package needs.
type Options struct {
	// Server starts a clickhouse-server too.
	Server bool
	// Cluster starts the test cluster too: one per test package, shared by its tests.
	Cluster bool
}

// Main opens what a test package needs, runs its tests, closes everything and returns the exit
// code: `func TestMain(m *testing.M) { os.Exit(enginetest.Main(m, &shared, enginetest.Options{})) }`.
func Main(m *testing.M, s *Shared, opts Options) int {
	dir, err := os.MkdirTemp("", "hourglass-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "enginetest:", err)
		return 2
	}
	defer os.RemoveAll(dir)
	s.Dir = dir
	ctx := context.Background()
	s.Embedded, s.EmbeddedErr = engine.Open(ctx, "chdb://"+filepath.Join(dir, "embedded"))
	if s.EmbeddedErr != nil {
		fmt.Fprintf(os.Stderr, "enginetest: embedded engine unavailable: %v\n", s.EmbeddedErr)
	}
	if opts.Server {
		s.Server, s.ServerErr = StartServer(ctx, filepath.Join(dir, "server"))
		if s.ServerErr != nil {
			fmt.Fprintf(os.Stderr, "enginetest: clickhouse-server unavailable: %v\n", s.ServerErr)
		}
	}
	if opts.Cluster {
		s.Cluster, s.ClusterErr = StartCluster(ctx, filepath.Join(dir, "cluster"))
		if s.ClusterErr != nil {
			fmt.Fprintf(os.Stderr, "enginetest: test cluster unavailable: %v\n", s.ClusterErr)
		}
	}
	code := m.Run()
	if s.Cluster != nil {
		s.Cluster.Stop()
	}
	if s.Server != nil {
		s.Server.Stop()
	}
	if s.Embedded != nil {
		if err := s.Embedded.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "enginetest: close embedded engine:", err)
		}
	}
	return code
}

// NeedEmbedded returns the shared embedded engine or skips (fails under CI).
func (s *Shared) NeedEmbedded(t testing.TB) engine.Engine {
	t.Helper()
	if s.Embedded == nil {
		Unavailable(t, "the embedded engine (libchdb.so)", s.EmbeddedErr)
	}
	return s.Embedded
}

// NeedRemote opens a remote engine on the shared server (its HTTPDSN) or skips (fails under
// CI). The engine is closed when the test ends.
func (s *Shared) NeedRemote(t testing.TB) engine.Engine {
	t.Helper()
	if s.Server == nil {
		Unavailable(t, "clickhouse-server", s.ServerErr)
	}
	dsn, err := s.Server.HTTPDSN()
	if err != nil {
		t.Fatalf("remote engine DSN: %v", err)
	}
	e, err := engine.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open remote engine: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// NeedCluster returns the shared test cluster or skips (fails under CI).
func (s *Shared) NeedCluster(t testing.TB) *Cluster {
	t.Helper()
	if s.Cluster == nil {
		Unavailable(t, "the test cluster (ZooKeeper and clickhouse-server)", s.ClusterErr)
	}
	return s.Cluster
}

// TempDatabase creates a database with a name unique to the test and drops it at the end.
func TempDatabase(t testing.TB, e engine.Engine) string {
	t.Helper()
	name := "t_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, t.Name())
	if len(name) > 60 {
		name = name[:60]
	}
	ctx := context.Background()
	MustExec(t, e, "DROP DATABASE IF EXISTS `"+name+"`")
	MustExec(t, e, "CREATE DATABASE `"+name+"`")
	t.Cleanup(func() { _ = e.Exec(ctx, "DROP DATABASE IF EXISTS `"+name+"`", nil) })
	return name
}

// MustExec runs statements and fails the test on the first error.
func MustExec(t testing.TB, e engine.Engine, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if err := e.Exec(context.Background(), s, nil); err != nil {
			t.Fatalf("%s\n→ %v", s, err)
		}
	}
}

// MustQuery runs a query and fails the test on error.
func MustQuery(t testing.TB, e engine.Engine, q string, params engine.Params) *engine.Result {
	t.Helper()
	r, err := e.Query(context.Background(), q, params)
	if err != nil {
		t.Fatalf("%s\n→ %v", q, err)
	}
	return r
}
