package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
)

var shared enginetest.Shared

func TestMain(m *testing.M) {
	os.Exit(enginetest.Main(m, &shared, enginetest.Options{Server: true}))
}

func TestEmbeddedConformance(t *testing.T) {
	enginetest.Conformance(t, shared.NeedEmbedded(t))
}

func TestRemoteConformance(t *testing.T) {
	enginetest.Conformance(t, shared.NeedRemote(t))
}

func TestEmbeddedInfo(t *testing.T) {
	e := shared.NeedEmbedded(t)
	info, err := e.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Kind != "embedded" || !strings.HasPrefix(info.Version, "26.") || info.Location == "" {
		t.Errorf("info = %+v, want an embedded 26.x engine with a data folder", info)
	}
}

func TestEmbeddedSecondOpenIsRefused(t *testing.T) {
	shared.NeedEmbedded(t)
	_, err := engine.Open(context.Background(), "chdb://"+t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "already open") {
		t.Fatalf("second Open = %v, want an 'already open' error", err)
	}
}

func TestMissingLibraryNamesTheFix(t *testing.T) {
	t.Setenv(engine.LibraryEnv, filepath.Join(t.TempDir(), "nope", "libchdb.so"))
	_, err := engine.Open(context.Background(), "chdb://"+t.TempDir())
	if err == nil {
		t.Fatal("Open with a missing library succeeded")
	}
	for _, want := range []string{"make engine", engine.LibraryEnv} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func TestCorruptLibraryNamesTheFix(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "libchdb.so")
	if err := os.WriteFile(bad, make([]byte, 2<<20), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(engine.LibraryEnv, bad)
	_, err := engine.Open(context.Background(), "chdb://"+t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "make engine") {
		t.Fatalf("Open with a corrupt library = %v, want a message naming make engine", err)
	}
}

func TestBadDSNs(t *testing.T) {
	for _, dsn := range []string{"", "mysql://x", "clickhouse://", "chdb://"} {
		_, err := engine.Open(context.Background(), dsn)
		if err == nil {
			t.Errorf("Open(%q) succeeded", dsn)
		}
	}
	_, err := engine.Open(context.Background(), "clickhouse://u:secret@127.0.0.1:1/db")
	if err == nil {
		t.Fatal("Open on a closed port succeeded")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error leaks the password: %v", err)
	}
}

func TestRemoteErrorIsEngineError(t *testing.T) {
	e := shared.NeedRemote(t)
	err := e.Exec(context.Background(), "SELEC 1", nil)
	var ce *engine.Error
	if !errors.As(err, &ce) || ce.Code != engine.CodeSyntaxError {
		t.Fatalf("err = %v, want code 62", err)
	}
}

// The engine itself must say that a second statement ran while a first one was still running:
// a statement started during a sleep finds the sleeping one in system.processes. Before the
// embedded engine had several connections, chDB ran the second only after the first ended, so
// it never found it.
func TestEmbeddedRunsStatementsAtOnce(t *testing.T) {
	e := shared.NeedEmbedded(t)
	ctx := context.Background()
	done := make(chan error, 1)
	go func() { done <- e.Exec(ctx, "SELECT sleep(1) AS hourglass_parallel_probe", nil) }()
	seen := uint64(0)
	for seen == 0 {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			t.Fatal("the sleeping statement ended before any other statement saw it run: statements of the embedded engine do not run at once")
		default:
		}
		r, err := e.Query(ctx, "SELECT count() FROM system.processes WHERE query LIKE '%hourglass_parallel_probe%' AND query NOT LIKE '%system.processes%'", nil)
		if err != nil {
			t.Fatal(err)
		}
		seen, _ = engine.Uint(r.Row()[0])
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
