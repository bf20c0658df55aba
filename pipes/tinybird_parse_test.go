package pipes_test

import (
	"testing"
	"testing/fstest"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/internal/tbparse"
	"github.com/hourglass-dev/hourglass/pipes"
)

// TestTinybirdParserAccepts runs Tinybird's own datafile parser over every file the Tinybird
// target writes for the scaffold and the test projects.
func TestTinybirdParserAccepts(t *testing.T) {
	fs := fstest.MapFS{}
	for path, b := range datasources.Scaffold() {
		fs[path] = &fstest.MapFile{Data: b}
	}
	scaffold, err := datasources.Load(fs)
	if err != nil {
		t.Fatal(err)
	}
	projects := map[string]*datasources.Project{
		"scaffold": scaffold,
		"legacy":   projecttest.FromYAML(t, projecttest.LegacyYAML, "legacy"),
		"json":     projecttest.FromYAML(t, jsonProjectYAML, "json"),
	}
	for name, p := range projects {
		t.Run(name, func(t *testing.T) {
			a, err := pipes.Compile(p)
			if err != nil {
				t.Fatal(err)
			}
			files, err := pipes.Tinybird(a)
			if err != nil {
				t.Fatal(err)
			}
			tbparse.MustParse(t, files)
		})
	}
}
