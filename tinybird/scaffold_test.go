package tinybird

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/internal/projecttest"
	"github.com/hourglass-dev/hourglass/pipes"
)

// TestHourglassProjectsThroughTinybird: an hourglass project built for Tinybird and imported
// back is the same project (its endpoints' order_by aside when it is the default order).
func TestHourglassProjectsThroughTinybird(t *testing.T) {
	for name, p := range map[string]*datasources.Project{
		"scaffold": projecttest.Project(t, "analytics"),
		"legacy":   projecttest.FromYAML(t, projecttest.LegacyYAML, "analytics"),
		"json":     projecttest.FromYAML(t, projecttest.JSONYAML, "analytics"),
	} {
		t.Run(name, func(t *testing.T) { throughTinybird(t, p) })
	}
}

func throughTinybird(t *testing.T, p *datasources.Project) {
	a, err := pipes.Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	files, err := pipes.Tinybird(a)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Import(mapFS(files), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range res.Diagnostics {
		t.Error(d)
	}
	for _, e := range p.Endpoints {
		def := []string{}
		if e.Bucket != "" {
			def = append(def, e.Bucket)
		}
		if strings.Join(e.OrderBy, ",") == strings.Join(append(def, e.GroupBy...), ",") {
			e.OrderBy = nil
		}
	}
	sortProject(p)
	sortProject(res.Project)
	// Grains and finals serve hourglass's own planned reads; Tinybird's datafiles do not carry
	// them (Tinybird reads its hourly datasources), so an imported project has none.
	if d := cmp.Diff(p, res.Project, cmpopts.IgnoreTypes(datasources.Pos{}), cmpopts.IgnoreFields(datasources.Project{}, "Dir"),
		cmpopts.IgnoreFields(datasources.Rollup{}, "Grains"), cmpopts.IgnoreFields(datasources.Endpoint{}, "Finals", "NoFresh")); d != "" {
		t.Errorf("(-scaffold +imported):\n%s", d)
	}
}

func sortProject(p *datasources.Project) {
	sort.Slice(p.Datasources, func(i, j int) bool { return p.Datasources[i].Name < p.Datasources[j].Name })
	sort.Slice(p.Rollups, func(i, j int) bool { return p.Rollups[i].Name < p.Rollups[j].Name })
	sort.Slice(p.Endpoints, func(i, j int) bool { return p.Endpoints[i].Name < p.Endpoints[j].Name })
}
