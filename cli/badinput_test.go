package cli

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
)

// corpusDir holds the bad-input corpus: one folder per case with
//
//	cmd    the command line (after "hourglass"), with "…" quoting and placeholders
//	want   "exit N", then "stderr S" lines: substrings stderr must contain ("# …" lines are notes)
//	env    optional NAME=VALUE lines set while the command runs
//	…      any other file is the case's project (hourglass.yaml and friends); without one the
//	       command runs on the base project (the scaffold, deployed, with events and a backfill)
//
// --project and --dsn are added when cmd does not give them: every case runs against the base
// project's data folder, whose tables and row counts must be the same afterwards.
//
// Placeholders: $TMP (a fresh folder), $CLOSED_PORT (a loopback port nothing listens on),
// $SERVER_PORT (a clickhouse-server started for the cases that name it), $ZEROS (a 2 MiB file
// of zeros), $TINY (a 1 KiB file), $READONLY (a folder chmod 0555), $AFILE (a regular file).
const corpusDir = "../testdata/badinput"

// TestBadInputCorpus runs every case of the corpus through the CLI in-process: each exits as
// it wants, says what is wrong in one line (definition errors: a header line plus one line per
// diagnostic), never hangs, and leaves the database as it was.
func TestBadInputCorpus(t *testing.T) {
	needLibrary(t)
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 30 {
		t.Fatalf("the corpus holds %d cases, want at least 30", len(entries))
	}
	base := badInputBase(t)
	dsn := "chdb://" + filepath.Join(base, ".hourglass", "data")
	before := dbSnapshot(t, dsn)
	fixtures := newCorpusFixtures(t)
	for _, ent := range entries {
		if !ent.IsDir() {
			continue
		}
		name := ent.Name()
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(corpusDir, name)
			c := readCase(t, dir)
			project := base
			if len(c.files) > 0 {
				project = filepath.Join(t.TempDir(), "project")
				for _, f := range c.files {
					b, err := os.ReadFile(filepath.Join(dir, f))
					if err != nil {
						t.Fatal(err)
					}
					if err := os.MkdirAll(project, 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(project, f), b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			expand := func(s string) string { return fixtures.expand(t, s) }
			args := splitCommand(t, c.cmd)
			for i := range args {
				args[i] = expand(args[i])
			}
			if !hasFlag(args, "--dsn") {
				args = append([]string{"--dsn", dsn}, args...)
			}
			if !hasFlag(args, "--project") {
				args = append([]string{"--project", project}, args...)
			}
			restore := setEnv(t, c.env, expand)
			start := time.Now()
			code, out, errOut := run(t, args...)
			took := time.Since(start)
			restore()
			t.Logf("hourglass %s\n→ exit %d in %s, stderr %q", strings.Join(args, " "), code, took.Round(time.Millisecond), errOut)
			if took > 15*time.Second {
				t.Errorf("took %s: a bad input must fail fast, never hang", took)
			}
			if code != c.exit {
				t.Errorf("exit %d, want %d (stdout %q)", code, c.exit, out)
			}
			checkStderr(t, c, errOut)
			if after := dbSnapshot(t, dsn); !cmp.Equal(before, after) {
				t.Fatalf("the database changed (-before +after):\n%s", cmp.Diff(before, after))
			}
		})
	}
}

type badCase struct {
	cmd    string
	exit   int
	stderr []string
	env    []string
	files  []string
}

func readCase(t *testing.T, dir string) badCase {
	t.Helper()
	var c badCase
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch e.Name() {
		case "cmd", "want", "env":
		default:
			c.files = append(c.files, e.Name())
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "cmd"))
	if err != nil {
		t.Fatal(err)
	}
	c.cmd = strings.TrimSpace(string(b))
	b, err = os.ReadFile(filepath.Join(dir, "want"))
	if err != nil {
		t.Fatal(err)
	}
	c.exit = -1
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"), strings.TrimSpace(line) == "":
		case strings.HasPrefix(line, "exit "):
			c.exit, err = strconv.Atoi(strings.TrimSpace(line[5:]))
			if err != nil {
				t.Fatalf("want: %q", line)
			}
		case strings.HasPrefix(line, "stderr "):
			c.stderr = append(c.stderr, line[7:])
		default:
			t.Fatalf("want: unknown line %q", line)
		}
	}
	if c.exit < 0 {
		t.Fatal("want: no exit line")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "env")); err == nil {
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				c.env = append(c.env, l)
			}
		}
	}
	return c
}

var (
	definitionsHeader = regexp.MustCompile(`^hourglass: \d+ problems in the definitions:$`)
	diagnosticLine    = regexp.MustCompile(`^[^\s:]+:\d+:\d+: \S`)
)

// checkStderr: success prints nothing to stderr; a failure prints one line starting with
// "hourglass: ", or a definitions header followed by one file:line:col line per diagnostic.
func checkStderr(t *testing.T, c badCase, errOut string) {
	t.Helper()
	if c.exit == ExitOK {
		if errOut != "" {
			t.Errorf("stderr %q, want nothing", errOut)
		}
		return
	}
	lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
	switch {
	case !strings.HasSuffix(errOut, "\n") || !strings.HasPrefix(lines[0], "hourglass: "):
		t.Errorf("stderr %q: want lines starting with \"hourglass: \"", errOut)
	case len(lines) == 1:
	case definitionsHeader.MatchString(lines[0]):
		for _, l := range lines[1:] {
			if !diagnosticLine.MatchString(l) {
				t.Errorf("diagnostic line %q is not file:line:col: message", l)
			}
		}
		if n, _ := strconv.Atoi(strings.Fields(lines[0])[1]); n != len(lines)-1 {
			t.Errorf("header says %d problems, %d lines follow", n, len(lines)-1)
		}
	default:
		t.Errorf("stderr has %d lines, want one:\n%s", len(lines), errOut)
	}
	for _, s := range c.stderr {
		if !strings.Contains(errOut, s) {
			t.Errorf("stderr %q lacks %q", errOut, s)
		}
	}
}

// splitCommand splits a command line on spaces, keeping "…" together (\" and \\ escape).
func splitCommand(t *testing.T, s string) []string {
	t.Helper()
	var args []string
	var cur strings.Builder
	in, has := false, false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case in && ch == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
			i++
			cur.WriteByte(s[i])
		case ch == '"':
			in, has = !in, true
		case ch == ' ' && !in:
			if has || cur.Len() > 0 {
				args = append(args, cur.String())
			}
			cur.Reset()
			has = false
		default:
			cur.WriteByte(ch)
		}
	}
	if in {
		t.Fatalf("cmd %q: unbalanced quote", s)
	}
	if has || cur.Len() > 0 {
		args = append(args, cur.String())
	}
	return args
}

func hasFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}

// setEnv sets the case's environment and returns the function that restores it.
func setEnv(t *testing.T, env []string, expand func(string) string) func() {
	t.Helper()
	var undo []func()
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("env line %q: want NAME=VALUE", kv)
		}
		old, had := os.LookupEnv(k)
		os.Setenv(k, expand(v))
		undo = append(undo, func() {
			if had {
				os.Setenv(k, old)
			} else {
				os.Unsetenv(k)
			}
		})
	}
	return func() {
		for _, u := range undo {
			u()
		}
	}
}

// badInputBase is the scaffold project deployed on the embedded engine with two days of
// events backfilled, so the run log, state and rollups hold rows that must not change.
func badInputBase(t *testing.T) string {
	t.Helper()
	dir := initProject(t)
	for _, args := range [][]string{
		{"deploy"},
		{"sql", `INSERT INTO analytics.events (timestamp, workspace_id, project_id, campaign_id, environment, event_type, session_id, user_id, country, value_usd)
            SELECT toDateTime('2026-11-01 00:00:00', 'UTC') + number * 29, 'w1', 'p1', concat('c', toString(number % 4)), 'prod',
                   ['pageview', 'click'][1 + number % 2], concat('s', toString(intDiv(number, 5))), concat('u', toString(number % 211)),
                   ['DE', 'US', 'FR'][1 + number % 3], (number % 100) / 10
            FROM numbers(8000)`},
		{"backfill", "events_overview_hourly", "--from", "2026-11-01", "--to", "2026-11-03", "--now", "2026-11-10T00:00:00Z"},
		{"backfill", "events_totals_hourly", "--from", "2026-11-01", "--to", "2026-11-03", "--now", "2026-11-10T00:00:00Z"},
	} {
		if code, out, errOut := run(t, append([]string{"--project", dir}, args...)...); code != ExitOK {
			t.Fatalf("base project: hourglass %s: exit %d\n%s%s", args[0], code, out, errOut)
		}
	}
	return dir
}

// dbSnapshot lists every table outside the system databases with its engine and row count.
func dbSnapshot(t *testing.T, dsn string) [][]any {
	t.Helper()
	ctx := context.Background()
	e, err := engine.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open %s to compare: %v", dsn, err)
	}
	defer e.Close()
	r, err := e.Query(ctx, `SELECT database, name, engine, total_rows FROM system.tables
        WHERE database NOT IN ('system', 'INFORMATION_SCHEMA', 'information_schema') ORDER BY database, name`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rows) < 10 {
		t.Fatalf("the base database holds %d tables: the comparison would check little", len(r.Rows))
	}
	return r.Rows
}

// corpusFixtures makes the files, folders, ports and server the placeholders name, on demand.
type corpusFixtures struct {
	parent *testing.T
	dir    string
	values map[string]string
	server *enginetest.Server
}

func newCorpusFixtures(t *testing.T) *corpusFixtures {
	f := &corpusFixtures{parent: t, dir: t.TempDir(), values: map[string]string{}}
	t.Cleanup(func() {
		if f.server != nil {
			f.server.Stop()
		}
	})
	return f
}

var placeholder = regexp.MustCompile(`\$[A-Z_]+`)

func (f *corpusFixtures) expand(t *testing.T, s string) string {
	t.Helper()
	return placeholder.ReplaceAllStringFunc(s, func(p string) string {
		if v, ok := f.values[p]; ok {
			return v
		}
		v := f.make(t, p)
		f.values[p] = v
		return v
	})
}

func (f *corpusFixtures) make(t *testing.T, p string) string {
	t.Helper()
	path := filepath.Join(f.dir, strings.ToLower(p[1:]))
	write := func(size int) string {
		if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	switch p {
	case "$TMP":
		if err := os.MkdirAll(path, 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	case "$ZEROS":
		return write(2 << 20)
	case "$TINY":
		return write(1024)
	case "$AFILE":
		return write(10)
	case "$READONLY":
		if os.Geteuid() == 0 {
			t.Skip("SKIPPING this case: the tests run as root, for whom chmod 0555 does not stop writes; run go test as another user to exercise it")
		}
		if err := os.MkdirAll(path, 0o555); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o555); err != nil {
			t.Fatal(err)
		}
		return path
	case "$CLOSED_PORT":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		return strconv.Itoa(port)
	case "$SERVER_PORT":
		s, err := enginetest.StartServer(context.Background(), filepath.Join(f.dir, "server"))
		if err != nil {
			enginetest.Unavailable(t, "clickhouse-server", err)
		}
		f.server = s
		return strconv.Itoa(s.Port)
	}
	t.Fatalf("unknown placeholder %s", p)
	return ""
}
