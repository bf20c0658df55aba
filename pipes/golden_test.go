package pipes

import (
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/internal/tbparse"
)

var update = flag.Bool("update", false, "rewrite golden files")

// kitProject loads the web-analytics test project (../testdata/webanalytics).
func kitProject(t *testing.T) *datasources.Project {
	t.Helper()
	p, err := datasources.Load(os.DirFS("../testdata/webanalytics"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkGolden compares files with the golden folder dir (every file, no extra ones), or
// rewrites the folder with -update.
func checkGolden(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		for name, data := range files {
			path := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	var want []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		want = append(want, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatalf("reading golden files (run go test ./pipes -update to create them): %v", err)
	}
	var got []string
	for name := range files {
		got = append(got, name)
	}
	sort.Strings(got)
	sort.Strings(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("%s: file list differs (-golden +got):\n%s", dir, d)
	}
	for _, name := range got {
		golden, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(string(golden), string(files[name])); d != "" {
			t.Errorf("%s/%s differs (-golden +got); run go test ./pipes -update if intended:\n%s", dir, name, d)
		}
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		p      *datasources.Project
		target Target
	}{
		{"single", webProject(""), Target{}},
		{"cluster", webProject("main"), Target{}},
		// The cluster the tests start: ClickHouse 18.16, without SimpleAggregateFunction.
		{"legacy_cluster", legacyProject("two_shards"), TargetFor("18.16.1")},
		// Issue 17's web-analytics test project: sessions derived from events, every new
		// metric kind, derived metrics and every endpoint parameter feature.
		{"web_analytics_kit", kitProject(t), Target{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := CompileFor(tc.p, tc.target)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", "golden", tc.name, "clickhouse"), ClickHouseFiles(a))
			tb, err := Tinybird(a)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", "golden", tc.name, "tinybird"), tb)
			tbparse.MustParse(t, tb)

			// Statements outside the files: trigger views, endpoint views on the rollup side,
			// raw reads.
			w := mustTime(t, "2025-01-02T03:00:00Z")
			extra := map[string][]byte{}
			for _, r := range a.Rollups {
				extra["raw_read_"+r.Table+".sql"] = []byte(r.RawRead + "\n")
				// What hourglass prune runs for version 2 of the rollup.
				v2, err := a.CompileVersion(r.Rollup, r.Table+"_v2")
				if err != nil {
					t.Fatal(err)
				}
				extra["drop_"+r.Table+"_v2.sql"] = []byte(strings.Join(v2.DropVersion(), ";\n") + ";\n")
				if tc.p.Cluster != "" {
					// What a populate unit runs on one shard (phase B of cluster mode).
					l, err := r.Local()
					if err != nil {
						t.Fatal(err)
					}
					stg := l.StagingPrefix() + "20250102_1_run"
					extra["shard_"+r.Table+".sql"] = []byte(strings.Join([]string{
						l.CreateStagingNamed(stg), l.CountSource(), l.PopulateInto(stg), l.CountRows(stg),
						l.ReplacePartitionFrom(l.BackfillPartitionID("20250102"), stg), l.PurgeReplaced(), l.DropTableNamed(stg), l.Read,
					}, ";\n") + ";\n")
				}
				if r.Rollup.Mode == "trigger" {
					s, err := r.TriggerViewSQL(w)
					if err != nil {
						t.Fatal(err)
					}
					extra["trigger_"+r.Table+".sql"] = []byte(s + "\n" + r.DropTriggerView + "\n")
				}
			}
			for _, e := range a.Endpoints {
				extra["endpoint_rollup_view_"+e.Endpoint.Name+".sql"] = []byte(e.RollupView + "\n")
			}
			checkGolden(t, filepath.Join("testdata", "golden", tc.name, "extra"), extra)
		})
	}
}
