package datasources

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hourglass-dev/hourglass/ident"
)

// FuzzLoad feeds arbitrary hourglass.yaml contents to the loader: it must never panic, and a
// project it accepts carries only identifiers that pass ident.Check and free SQL without
// statement separators or comments.
func FuzzLoad(f *testing.F) {
	for path, b := range Scaffold() {
		if strings.HasSuffix(path, ".yaml") {
			f.Add(string(b))
		}
	}
	f.Add("name: x\ndatasources:\n  - name: e\n    order_by: [ts]\n    columns: [{name: ts, type: DateTime}]\n")
	f.Add("name: x\nrollups: [{name: r, source: e, metrics: [{name: n, kind: count}]}]\n")
	f.Add("name: \"x'; DROP TABLE t; --\"\n")
	f.Add("{{{")
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := Load(fstest.MapFS{ProjectFile: &fstest.MapFile{Data: []byte(doc)}})
		if err != nil {
			return
		}
		names := []string{p.Database}
		for _, d := range p.Datasources {
			names = append(names, d.Name)
			for _, c := range d.Columns {
				names = append(names, c.Name)
			}
		}
		for _, r := range p.Rollups {
			names = append(names, r.Name)
			for _, d := range r.Dimensions {
				names = append(names, d.Name)
			}
			for _, m := range r.Metrics {
				names = append(names, m.Name)
			}
			for _, s := range []string{r.Filter} {
				if strings.Contains(s, ";") || strings.Contains(s, "--") || strings.Contains(s, "/*") {
					t.Fatalf("accepted filter %q", s)
				}
			}
		}
		for _, n := range names {
			if err := ident.Check(n); err != nil {
				t.Fatalf("accepted identifier %q: %v", n, err)
			}
		}
	})
}
