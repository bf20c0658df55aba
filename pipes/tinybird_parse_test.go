package pipes_test

import (
	"strings"
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

// TestTinybirdTokensFromTheProject checks that the endpoints a declared token reads carry its
// TOKEN line, that the others keep the project's read token, and that Tinybird's parser takes
// both.
func TestTinybirdTokensFromTheProject(t *testing.T) {
	p := projecttest.Project(t, "analytics")
	p.Tokens = []*datasources.Token{
		{Name: "dashboard", Env: "HOURGLASS_TOKEN_DASHBOARD", Endpoints: []string{"sum_primitives", "timeseries_primitives"}},
		{Name: "reports", Env: "HOURGLASS_TOKEN_REPORTS", Endpoints: []string{"sum_primitives"}},
	}
	a, err := pipes.Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	files, err := pipes.Tinybird(a)
	if err != nil {
		t.Fatal(err)
	}
	tbparse.MustParse(t, files)
	for path, want := range map[string][]string{
		"endpoints/sum_primitives.pipe":        {`TOKEN "dashboard" READ`, `TOKEN "reports" READ`},
		"endpoints/timeseries_primitives.pipe": {`TOKEN "dashboard" READ`},
		"endpoints/audience_breakdown.pipe":    {`TOKEN "` + pipes.TinybirdReadToken(p) + `" READ`},
	} {
		f, ok := files[path]
		if !ok {
			t.Fatalf("no %s among %d files", path, len(files))
		}
		var tokens []string
		for _, line := range strings.Split(string(f), "\n") {
			if strings.HasPrefix(line, "TOKEN ") {
				tokens = append(tokens, line)
			}
		}
		if strings.Join(tokens, "|") != strings.Join(want, "|") {
			t.Errorf("%s: TOKEN lines %q, want %q", path, tokens, want)
		}
	}
}
