package tinybird

import (
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/hourglass-dev/hourglass/internal/tbparse"
	"github.com/hourglass-dev/hourglass/pipes"
)

var update = flag.Bool("update", false, "rewrite golden files")

// importDir imports a folder of testdata.
func importDir(t *testing.T, dir string) *Result {
	t.Helper()
	res, err := Import(os.DirFS(dir), Options{Folder: filepath.Base(dir)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// diagText writes diagnostics one per line.
func diagText(ds []Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String() + "\n")
	}
	return b.String()
}

// checkGolden compares files (and the diagnostics) with testdata/golden/NAME, or rewrites it
// with -update.
func checkGolden(t *testing.T, name string, res *Result) {
	t.Helper()
	dir := filepath.Join("testdata", "golden", name)
	files := map[string][]byte{"diagnostics.txt": []byte(diagText(res.Diagnostics))}
	for k, v := range res.Files {
		files["project/"+k] = v
	}
	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		for k, v := range files {
			p := filepath.Join(dir, filepath.FromSlash(k))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, v, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	var want []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		want = append(want, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatalf("%v (run go test ./tinybird -update to create the golden files)", err)
	}
	var got []string
	for k := range files {
		got = append(got, k)
	}
	sort.Strings(got)
	sort.Strings(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("%s: file list differs (-golden +got):\n%s", dir, d)
	}
	for _, k := range got {
		b, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(k)))
		if d := cmp.Diff(string(b), string(files[k])); d != "" {
			t.Errorf("%s/%s differs (-golden +got); run go test ./tinybird -update if intended:\n%s", dir, k, d)
		}
	}
}

func TestImportProjects(t *testing.T) {
	for _, name := range []string{"web_analytics", "shop"} {
		t.Run(name, func(t *testing.T) {
			res := importDir(t, filepath.Join("testdata", name))
			if !res.Usable() {
				t.Fatalf("nothing imported:\n%s", diagText(res.Diagnostics))
			}
			checkGolden(t, name, res)
		})
	}
}

// build compiles an imported project for Tinybird.
func build(t *testing.T, res *Result) map[string][]byte {
	t.Helper()
	a, err := pipes.Compile(res.Project)
	if err != nil {
		t.Fatal(err)
	}
	files, err := pipes.Tinybird(a)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestRoundTrip: build --target tinybird of an imported project, then import again, gives
// the same hourglass project, byte for byte; and Tinybird's own parser accepts the original
// projects and everything built from them.
func TestRoundTrip(t *testing.T) {
	for _, name := range []string{"web_analytics", "shop"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", name)
			tbparse.MustParse(t, readDir(t, dir))
			first := importDir(t, dir)
			built := build(t, first)
			tbparse.MustParse(t, built)
			second, err := Import(mapFS(built), Options{Folder: "elsewhere"})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range second.Diagnostics {
				t.Errorf("importing the built project: %s", d)
			}
			if d := cmp.Diff(first.Files, second.Files); d != "" {
				t.Errorf("the project imported again differs (-first +second):\n%s", d)
			}
		})
	}
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func mapFS(files map[string][]byte) fstest.MapFS {
	fs := fstest.MapFS{}
	for k, v := range files {
		fs[k] = &fstest.MapFile{Data: v}
	}
	return fs
}
