package deploy

import (
	"fmt"
	"strings"

	"github.com/hourglass-dev/hourglass/chtype"
	"github.com/hourglass-dev/hourglass/pipes"
)

// Server features the compiled statements rely on, with the ClickHouse release that brought
// them. Older servers (Debian's 18.16) reject the statements with an unknown type or function:
// Plan says which version the project needs instead.
type feature struct {
	name         string
	major, minor int
	// in reports whether a statement or type uses the feature.
	in func(s string) bool
}

func contains(sub string) func(string) bool {
	return func(s string) bool { return strings.Contains(s, sub) }
}

var features = []feature{
	{"SimpleAggregateFunction", 19, 8, contains("SimpleAggregateFunction(")},
	{"LowCardinality", 19, 3, contains("LowCardinality(")}, // experimental before, behind a setting
	{"JSONExtract", 19, 5, contains("JSONExtract")},
	{"DateTime64", 20, 1, contains("DateTime64(")},
	// Finals tables are filled with GROUPING SETS and grouping() in standard mode.
	{"finals (GROUPING SETS)", 22, 9, contains("`" + pipes.SetColumn + "`")},
}

// ParameterisedViews is the ClickHouse release that brought parameterised views, which
// endpoint views are.
const ParameterisedViews = "23.1"

// checkServer returns an error naming the ClickHouse version the project needs when the
// server lacks a feature the statements to run use. Endpoint views are not checked here: they
// are skipped, one by one, on servers without parameterised views.
func checkServer(l *live, changes []Change) error {
	type use struct {
		f      feature
		object string
	}
	var uses []use
	seen := map[string]bool{}
	for _, c := range changes {
		if c.Kind == KindEndpoint || !c.Pending() {
			continue
		}
		for _, f := range features {
			if chtype.VersionAtLeast(l.versionText, f.major, f.minor) || seen[f.name] {
				continue
			}
			for _, s := range c.Statements {
				if f.in(s) {
					seen[f.name] = true
					uses = append(uses, use{f, string(c.Kind) + " " + c.Object})
					break
				}
			}
		}
	}
	if len(uses) == 0 {
		return nil
	}
	need := uses[0].f
	var what []string
	for _, u := range uses {
		if u.f.major > need.major || u.f.major == need.major && u.f.minor > need.minor {
			need = u.f
		}
		what = append(what, fmt.Sprintf("%s (%s, ClickHouse %d.%d)", u.f.name, u.object, u.f.major, u.f.minor))
	}
	return fmt.Errorf("this project needs ClickHouse ≥ %d.%d, the server runs %s: it uses %s — deploy it on the embedded engine or a newer server, or keep to types this server knows",
		need.major, need.minor, l.versionText, strings.Join(what, ", "))
}

// endpointsSupported reports whether the server has parameterised views.
func endpointsSupported(l *live) bool { return chtype.VersionAtLeast(l.versionText, 23, 1) }
