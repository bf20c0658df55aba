package pipes_test

import (
	"testing"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/internal/tbparse"
	"github.com/hourglass-dev/hourglass/pipes"
)

// TestTinybirdParserAccepts runs Tinybird's own datafile parser over every file the Tinybird
// target writes for the scaffold and the test projects.
func TestTinybirdParserAccepts(t *testing.T) {
	projects := map[string]*datasources.Project{
		"scaffold": projecttest.Project(t, "analytics"),
		"legacy":   projecttest.FromYAML(t, projecttest.LegacyYAML, "legacy"),
		"json":     projecttest.FromYAML(t, projecttest.JSONYAML, "json"),
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
