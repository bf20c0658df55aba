package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/timerange"
)

// runHere runs an hourglass command line in this process on the engine e (whatever DSN the
// command resolves) and returns its standard output, standard error and exit code. The daemon
// uses it to answer /status with exactly what `hourglass status` says.
func (g *globals) runHere(ctx context.Context, e engine.Engine, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	host := Host{
		Getenv: g.getenv,
		Cwd:    g.host.Cwd,
		Open:   func(context.Context, string) (engine.Engine, error) { return borrowed{e}, nil },
	}
	all := append([]string{"--project", g.project}, args...)
	code := MainIn(ctx, all, IO{In: strings.NewReader(""), Out: &out, Err: &errb, Now: g.now}, g.build, host)
	return out.String(), errb.String(), code
}

// pageStatus is the part of `hourglass status --output json` the status page shows.
type pageStatus struct {
	Now     time.Time `json:"now"`
	Rollups []struct {
		Rollup     string    `json:"rollup"`
		Mode       string    `json:"mode"`
		Deployed   bool      `json:"deployed"`
		Table      string    `json:"table"`
		Watermark  time.Time `json:"watermark"`
		LagSeconds float64   `json:"lag_seconds"`
		LastRun    *struct {
			Kind   string    `json:"kind"`
			Status string    `json:"status"`
			At     time.Time `json:"at"`
		} `json:"last_run"`
		FailedUnits int               `json:"failed_units"`
		RawRows     uint64            `json:"raw_rows"`
		RollupRows  uint64            `json:"rollup_rows"`
		Reduction   float64           `json:"reduction"`
		Suspect     []json.RawMessage `json:"suspect_partitions"`
		Fix         string            `json:"fix"`
	} `json:"rollups"`
	Endpoints []struct {
		Endpoint   string    `json:"endpoint"`
		Target     string    `json:"target"`
		Table      string    `json:"table"`
		Actor      string    `json:"actor"`
		Validation string    `json:"validation"`
		Forced     bool      `json:"forced"`
		At         time.Time `json:"at"`
	} `json:"endpoints"`
}

// statusHandler serves GET /status: the page for people, and /status.json (or /status with
// Accept: application/json) for programs, both from `hourglass status --output json` run on
// the daemon's engine.
func (g *globals) statusHandler(e engine.Engine) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		out, errOut, code := g.runHere(req.Context(), e, "--output", "json", "status")
		var st pageStatus
		if out == "" || json.Unmarshal([]byte(out), &st) != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			b, _ := json.Marshal(map[string]string{"error": oneLine(errOut)})
			w.Write(append(b, '\n'))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if strings.HasSuffix(req.URL.Path, ".json") || strings.Contains(req.Header.Get("Accept"), "application/json") {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(out))
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		warning := ""
		if code != ExitOK {
			warning = oneLine(errOut)
		}
		if err := statusPage.Execute(w, struct {
			S       pageStatus
			Warning string
		}{st, warning}); err != nil {
			fmt.Fprintf(w, "<p>render: %s</p>", template.HTMLEscapeString(err.Error()))
		}
	})
}

var statusPage = template.Must(template.New("status").Funcs(template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() || t.Unix() <= 0 {
			return "—"
		}
		return timerange.Format(t)
	},
	"lag": func(s float64) string { return (time.Duration(s) * time.Second).String() },
	"savings": func(raw, rollup uint64) string {
		if raw == 0 {
			return "—"
		}
		return fmt.Sprintf("%.2f %%", 100*(1-float64(rollup)/float64(raw)))
	},
	"reduction": func(r float64) string {
		if r == 0 {
			return "—"
		}
		return fmt.Sprintf("%.1f×", r)
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="30">
<title>hourglass status</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em; color: #1d2430; }
h1 { font-size: 1.5em; margin: 0 0 .2em; } h2 { font-size: 1.15em; margin: 1.6em 0 .5em; }
table { border-collapse: collapse; } th, td { padding: .35em .9em; text-align: left; border-bottom: 1px solid #d9dee7; }
th { background: #f1f4f9; font-weight: 600; } td { white-space: nowrap; } td.wrap { white-space: normal; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #16794c; font-weight: 600; } .bad { color: #b3261e; font-weight: 600; }
.banner { background: #fde8e7; border: 1px solid #b3261e; padding: .7em 1em; margin: 1em 0; }
.muted { color: #5b6475; }
</style></head><body>
<h1>hourglass</h1>
<p class="muted">status at {{time .S.Now}} UTC · refreshes every 30 s · <a href="/status.json">JSON</a> · <a href="/metrics">metrics</a></p>
{{if .Warning}}<div class="banner">{{.Warning}}</div>{{end}}
<h2>Rollups</h2>
<table>
<tr><th>rollup</th><th>version table</th><th>mode</th><th>watermark</th><th>lag</th><th>last run</th><th>failed</th><th>suspect partitions</th><th>reduction</th><th>rows-read savings</th></tr>
{{range .S.Rollups}}<tr>
<td>{{.Rollup}}</td>
{{if .Deployed}}<td>{{.Table}}</td><td>{{.Mode}}</td><td>{{time .Watermark}}</td><td class="num">{{lag .LagSeconds}}</td>
<td>{{with .LastRun}}{{.Kind}} {{.Status}} {{time .At}}{{else}}—{{end}}</td>
<td class="num">{{.FailedUnits}}</td>
<td>{{if .Suspect}}<span class="bad">{{len .Suspect}} suspect</span> — {{.Fix}}{{else}}<span class="ok">none</span>{{end}}</td>
<td class="num">{{reduction .Reduction}}</td><td class="num">{{savings .RawRows .RollupRows}}</td>
{{else}}<td colspan="9" class="muted">not deployed</td>{{end}}
</tr>{{end}}
</table>
<h2>Endpoints</h2>
<table>
<tr><th>endpoint</th><th>reads</th><th>table</th><th>since</th><th>by</th><th>validation</th></tr>
{{range .S.Endpoints}}<tr><td>{{.Endpoint}}</td><td>{{.Target}}{{if .Forced}} <span class="bad">(forced)</span>{{end}}</td><td>{{.Table}}</td><td>{{time .At}}</td><td>{{.Actor}}</td><td class="muted wrap">{{.Validation}}</td></tr>{{end}}
</table>
</body></html>
`))
