// Package tbparse runs Tinybird's own datafile parser — parseResourceFile from the npm package
// @tinybirdco/sdk (dist/migrate/parse.js) — over datafiles, so tests prove that what hourglass
// writes, and the Tinybird projects tests read, are valid Tinybird. The package is installed
// once per machine by scripts/fetch-tinybird-sdk.sh (which .ci/run also calls); without node or
// npm the test is skipped loudly, and fails under CI.
package tbparse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/hourglass-dev/hourglass/engine/enginetest"
)

// Resource is what Tinybird's parser made of one file: a DatasourceModel or a PipeModel of the
// SDK (see its dist/migrate/types.d.ts), decoded from JSON.
type Resource map[string]any

// Result is the parser's verdict on one file.
type Result struct {
	// Error is the parser's message when it rejected the file, "" when it accepted it.
	Error string
	// Resource is the parsed model when it accepted the file.
	Resource Resource
}

var (
	once    sync.Once
	sdkDir  string
	findErr error
)

// sdk returns the installed package folder, installing it on first use.
func sdk() (string, error) {
	once.Do(func() {
		if _, err := exec.LookPath("node"); err != nil {
			findErr = fmt.Errorf("node: %w", err)
			return
		}
		root, err := moduleRoot()
		if err != nil {
			findErr = err
			return
		}
		cmd := exec.Command(filepath.Join(root, "scripts", "fetch-tinybird-sdk.sh"))
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			findErr = fmt.Errorf("scripts/fetch-tinybird-sdk.sh: %v: %s", err, strings.TrimSpace(stderr.String()))
			return
		}
		sdkDir = strings.TrimSpace(out.String())
	})
	return sdkDir, findErr
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the test's folder")
		}
		dir = parent
	}
}

// script reads [{path, kind, name, content}] on stdin and writes [{path, error, resource}].
const script = `
import { readFileSync } from "node:fs";
const { parseResourceFile } = await import(process.argv[1]);
const files = JSON.parse(readFileSync(0, "utf8"));
const out = files.map((f) => {
  try {
    return { path: f.path, resource: parseResourceFile({ kind: f.kind, filePath: f.path, absolutePath: "/" + f.path, name: f.name, content: f.content }) };
  } catch (e) {
    return { path: f.path, error: String(e && e.message ? e.message : e) };
  }
});
process.stdout.write(JSON.stringify(out));
`

// Parse runs Tinybird's parser over every .datasource and .pipe file of files (path →
// contents; other files are ignored) and returns its verdict per path. It skips the test when
// node or the package cannot be had (fails it under CI).
func Parse(t testing.TB, files map[string][]byte) map[string]Result {
	t.Helper()
	dir, err := sdk()
	if err != nil {
		msg := fmt.Sprintf("SKIPPING: Tinybird's datafile parser is not available here (%v) — install node and npm, then run scripts/fetch-tinybird-sdk.sh", err)
		if enginetest.InCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var input []map[string]string
	var paths []string
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		ext := path.Ext(p)
		kind := map[string]string{".datasource": "datasource", ".pipe": "pipe"}[ext]
		if kind == "" {
			continue
		}
		input = append(input, map[string]string{"path": p, "kind": kind, "name": strings.TrimSuffix(path.Base(p), ext), "content": string(files[p])})
	}
	if len(input) == 0 {
		t.Fatal("tbparse: no .datasource or .pipe file to parse")
	}
	body, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "--input-type=module", "-e", script, "file://"+filepath.Join(dir, "dist", "migrate", "parse.js"))
	cmd.Stdin = bytes.NewReader(body)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tbparse: node: %v: %s", err, stderr.String())
	}
	var out []struct {
		Path     string
		Error    string
		Resource Resource
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("tbparse: reading the parser's output: %v", err)
	}
	res := map[string]Result{}
	for _, o := range out {
		res[o.Path] = Result{Error: o.Error, Resource: o.Resource}
	}
	return res
}

// MustParse is Parse that fails the test on any file Tinybird's parser rejects, naming each,
// and returns the parsed resources by path.
func MustParse(t testing.TB, files map[string][]byte) map[string]Resource {
	t.Helper()
	res := Parse(t, files)
	out := map[string]Resource{}
	var paths []string
	for p := range res {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if r := res[p]; r.Error != "" {
			t.Errorf("Tinybird's parser rejects %s: %s\n%s", p, r.Error, files[p])
		} else {
			out[p] = r.Resource
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return out
}
