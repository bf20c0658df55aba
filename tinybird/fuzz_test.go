package tinybird

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzImport feeds arbitrary datafiles to the importer: it may refuse them, never panic, and
// whatever it returns as usable loads (Import checks that itself).
func FuzzImport(f *testing.F) {
	for _, name := range []string{"web_analytics", "shop"} {
		_ = filepath.WalkDir(filepath.Join("testdata", name), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(p)
				f.Add(filepath.Ext(p), string(b))
			}
			return nil
		})
	}
	f.Fuzz(func(t *testing.T, ext, content string) {
		if ext != ".pipe" && ext != ".datasource" {
			ext = ".pipe"
		}
		files := map[string][]byte{
			"datasources/analytics_events.datasource": []byte(events),
			"x/fuzzed" + ext: []byte(content),
		}
		if _, err := Import(mapFS(files), Options{Folder: "f"}); err != nil {
			t.Fatal(err)
		}
	})
}
