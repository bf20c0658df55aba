package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestImportTinybird: exit 0 with warnings and the project written (and loadable), 1 when
// nothing usable came out, 2 when the folder or a file cannot be read (the rest written),
// refusal to overwrite a project without --force, and --output json.
func TestImportTinybird(t *testing.T) {
	src := filepath.Join("..", "tinybird", "testdata", "shop")
	out := filepath.Join(t.TempDir(), "shop")
	code, stdout, stderr := run(t, "import", "tinybird", src, "--out", out)
	if code != ExitOK || !strings.Contains(stdout, "imported 1 datasource(s), 2 rollup(s), 4 endpoint(s) into "+out) {
		t.Fatalf("import: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// Warnings are file:line: what and why, with the path the user gave.
	if !strings.Contains(stderr, filepath.Join(src, "materializations", "sales_hourly_mv.pipe")+":16: node sales: metric amount_quantiles") {
		t.Errorf("warnings:\n%s", stderr)
	}
	// The project loads: build it.
	if code, _, stderr := run(t, "--project", out, "build", "--target", "tinybird", "--out", filepath.Join(t.TempDir(), "tb")); code != ExitOK {
		t.Fatalf("build of the imported project: %s", stderr)
	}
	// Again into the same folder: refused, then --force.
	if code, _, stderr := run(t, "import", "tinybird", src, "--out", out); code != ExitError || !strings.Contains(stderr, "already holds a project") {
		t.Errorf("second import: exit %d, %s", code, stderr)
	}
	code, stdout, _ = run(t, "-o", "json", "import", "tinybird", src, "--out", out, "--force", "--name", "boutique")
	var res struct {
		Files       []string
		Diagnostics []struct {
			File    string
			Line    int
			Message string
		}
		Summary map[string]int
	}
	if code != ExitOK || json.Unmarshal([]byte(stdout), &res) != nil || len(res.Files) != 8 || res.Summary["rollups"] != 2 || len(res.Diagnostics) == 0 || res.Diagnostics[0].Line == 0 {
		t.Errorf("json: exit %d\n%s", code, stdout)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "hourglass.yaml")); !strings.Contains(string(b), "name: boutique") {
		t.Errorf("--name: %s", b)
	}

	// A bad file: listed with its line, nothing of it written, the rest written, exit 2.
	bad := t.TempDir()
	writeTree(t, bad, map[string]string{
		"datasources/events.datasource": "SCHEMA >\n    `ts` DateTime `json:$.ts`\n\nENGINE_SORTING_KEY \"ts\"\n",
		"datasources/broken.datasource": "SCHEMA >\n    `ts` DateTime\n\nENGINE \"Log\"\n",
	})
	out2 := filepath.Join(t.TempDir(), "p")
	code, _, stderr = run(t, "import", "tinybird", bad, "--out", out2)
	if code != ExitError || !strings.Contains(stderr, filepath.Join(bad, "datasources", "broken.datasource")+`:4: error: ENGINE "Log" is not a Tinybird engine`) || !strings.Contains(stderr, "1 file(s) of "+bad+" could not be read") {
		t.Errorf("bad file: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out2, "datasources", "events.yaml")); err != nil {
		t.Errorf("the good file was not written: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out2, "datasources", "broken.yaml")); err == nil {
		t.Error("the bad file was written")
	}

	// Nothing usable: exit 1, nothing written.
	empty := t.TempDir()
	writeTree(t, empty, map[string]string{"endpoints/hello.pipe": "NODE hello\nSQL >\n    SELECT 1 AS one\n\nTYPE ENDPOINT\n"})
	out3 := filepath.Join(t.TempDir(), "p")
	if code, _, stderr := run(t, "import", "tinybird", empty, "--out", out3); code != ExitCheckFailed || !strings.Contains(stderr, "nothing in "+empty+" could be imported") {
		t.Errorf("nothing usable: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(out3); err == nil {
		t.Error("something was written")
	}

	// Unreadable input: exit 2, one line.
	for _, dir := range []string{filepath.Join(t.TempDir(), "missing"), t.TempDir()} {
		code, stdout, stderr := run(t, "import", "tinybird", dir, "--out", filepath.Join(t.TempDir(), "p"))
		if code != ExitError || stdout != "" || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "cannot read the Tinybird project") {
			t.Errorf("%s: exit %d, %q, %q", dir, code, stdout, stderr)
		}
	}
	if code, _, stderr := run(t, "import", "tinybird"); code != ExitError || !strings.Contains(stderr, "takes one argument") {
		t.Errorf("no argument: exit %d, %s", code, stderr)
	}
	if code, out, _ := run(t, "import", "tinybird", "--help"); code != ExitOK || !strings.Contains(out, "Examples:") {
		t.Errorf("--help: %d %s", code, out)
	}
}
