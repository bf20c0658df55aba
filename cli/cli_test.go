package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
)

// run runs the CLI in-process and returns its exit code, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, IO{In: strings.NewReader(""), Out: &out, Err: &errb}, Build{Version: "test"})
	return code, out.String(), errb.String()
}

func needLibrary(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(engine.LibraryPath()); err != nil {
		enginetest.Unavailable(t, "the embedded engine (libchdb.so)", err)
	}
}

func TestSQLPrintsVersionFromEmbeddedEngine(t *testing.T) {
	needLibrary(t)
	dir := t.TempDir()
	code, out, errOut := run(t, "--project", dir, "sql", "SELECT version() AS v")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(out, "26.") {
		t.Errorf("stdout %q lacks a 26.x version", out)
	}
	if _, err := os.Stat(dir + "/.hourglass/data"); err != nil {
		t.Errorf("default data folder not created: %v", err)
	}
	// A second command in the same process reopens the engine on another folder.
	code, out, errOut = run(t, "--dsn", "chdb://"+t.TempDir(), "--output", "json", "sql", "SELECT toUInt64(18446744073709551615) AS big")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var r engine.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("json output %q: %v", out, err)
	}
	if !strings.Contains(out, "18446744073709551615") {
		t.Errorf("json output lost 64-bit precision: %s", out)
	}
}

func TestSQLErrorIsOneLineWithCode(t *testing.T) {
	needLibrary(t)
	code, out, errOut := run(t, "--dsn", "chdb://"+t.TempDir(), "sql", "SELEC 1")
	if code != ExitError {
		t.Fatalf("exit %d, want %d", code, ExitError)
	}
	if out != "" {
		t.Errorf("stdout %q, want nothing", out)
	}
	if strings.Count(strings.TrimRight(errOut, "\n"), "\n") != 0 || !strings.Contains(errOut, "62") || !strings.Contains(errOut, "SYNTAX_ERROR") {
		t.Errorf("stderr %q: want one line with code 62 and SYNTAX_ERROR", errOut)
	}
}

func TestMissingLibraryMessage(t *testing.T) {
	t.Setenv(engine.LibraryEnv, t.TempDir()+"/libchdb.so")
	code, _, errOut := run(t, "--dsn", "chdb://"+t.TempDir(), "sql", "SELECT 1")
	if code != ExitError || !strings.Contains(errOut, "make engine") || !strings.Contains(errOut, engine.LibraryEnv) {
		t.Fatalf("exit %d stderr %q: want exit 2 naming make engine and %s", code, errOut, engine.LibraryEnv)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"sql"},
		{"sql", "a", "b"},
		{"--output", "yaml", "version"},
		{"nosuchcommand"},
		{"sql", "--nosuchflag", "x"},
	} {
		code, _, errOut := run(t, args...)
		if code != ExitError {
			t.Errorf("%v: exit %d, want %d", args, code, ExitError)
		}
		if strings.Count(strings.TrimRight(errOut, "\n"), "\n") != 0 || !strings.HasPrefix(errOut, "hourglass: ") {
			t.Errorf("%v: stderr %q, want one line", args, errOut)
		}
	}
}

func TestEngineInfoJSON(t *testing.T) {
	needLibrary(t)
	dir := t.TempDir()
	code, out, errOut := run(t, "--dsn", "chdb://"+dir, "-o", "json", "engine", "info")
	if code != ExitOK {
		t.Fatalf("exit %d stderr %q", code, errOut)
	}
	var info engine.Info
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatal(err)
	}
	if info.Kind != "embedded" || !strings.HasPrefix(info.Version, "26.") || !strings.HasSuffix(info.Location, dir[1:]) {
		t.Errorf("info %+v", info)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, "version")
	if code != ExitOK || !strings.Contains(out, "hourglass test") || !strings.Contains(out, engine.ChdbVersion) {
		t.Errorf("exit %d out %q", code, out)
	}
}

func TestJoinedErrorsStayOnOneLine(t *testing.T) {
	if got := oneLine("rollup a was never backfilled\nrollup  b was never backfilled\n"); got != "rollup a was never backfilled; rollup b was never backfilled" {
		t.Errorf("oneLine = %q", got)
	}
}
