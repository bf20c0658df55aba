// Package tbemu emulates, on a real ClickHouse engine, the few things Tinybird does that tests
// need to run a Tinybird project without Tinybird: datasources created from their datafiles as
// Tinybird's own parser reads them (package tbparse), NDJSON ingestion by each column's json
// path, copy pipes in append and replace mode, materialized pipes as insert triggers, and
// endpoints rendered with their parameters. It is written apart from the code under test (the
// compiler and the importer) and from Tinybird's documented behaviour, so tests can compare
// what hourglass writes for Tinybird with what it computes on ClickHouse.
package tbemu

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/internal/tbparse"
)

// Workspace is a Tinybird project deployed into one database of an engine.
type Workspace struct {
	T  testing.TB
	E  engine.Engine
	DB string
	// Files are the project's datafiles by path; Res what Tinybird's parser made of them.
	Files map[string][]byte
	Res   map[string]tbparse.Resource
}

// New parses the project's datafiles with Tinybird's parser (failing the test on any
// rejection), creates every datasource as a table of database db (which must exist) and every
// materialized pipe as a materialized view.
func New(t testing.TB, e engine.Engine, db string, files map[string][]byte) *Workspace {
	t.Helper()
	w := &Workspace{T: t, E: e, DB: db, Files: files, Res: tbparse.MustParse(t, files)}
	t.Cleanup(func() { _ = e.Exec(context.Background(), "USE default", nil) })
	for _, p := range w.paths(".datasource") {
		w.createDatasource(w.Res[p])
	}
	for _, p := range w.paths(".pipe") {
		r := w.Res[p]
		if r["type"] == "materialized" {
			sql := w.nodesSQL(r, nil)
			w.Exec("CREATE MATERIALIZED VIEW " + quote(r["name"].(string)+"__mv") + " TO " + quote(r["materializedDatasource"].(string)) + " AS " + sql)
		}
	}
	return w
}

func (w *Workspace) paths(ext string) []string {
	var out []string
	for p := range w.Res {
		if path.Ext(p) == ext {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Resource returns the parsed resource named name of the given kind ("datasource", "pipe").
func (w *Workspace) Resource(kind, name string) tbparse.Resource {
	w.T.Helper()
	for _, r := range w.Res {
		if r["kind"] == kind && r["name"] == name {
			return r
		}
	}
	w.T.Fatalf("tbemu: no %s %q in the project", kind, name)
	return nil
}

// Exec runs statements with the workspace's database as the current one, so datafile SQL
// naming datasources bare finds them.
func (w *Workspace) Exec(stmts ...string) {
	w.T.Helper()
	ctx := context.Background()
	for _, s := range stmts {
		if err := w.E.Exec(ctx, "USE "+quote(w.DB), nil); err != nil {
			w.T.Fatal(err)
		}
		if err := w.E.Exec(ctx, s, nil); err != nil {
			if len(s) > 3000 {
				s = s[:3000] + " …"
			}
			w.T.Fatalf("tbemu: %v\n%s", err, s)
		}
	}
}

// Query runs a query with the workspace's database as the current one.
func (w *Workspace) Query(q string) *engine.Result {
	w.T.Helper()
	ctx := context.Background()
	if err := w.E.Exec(ctx, "USE "+quote(w.DB), nil); err != nil {
		w.T.Fatal(err)
	}
	r, err := w.E.Query(ctx, q, nil)
	if err != nil {
		w.T.Fatalf("tbemu: %v\n%s", err, q)
	}
	return r
}

func quote(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

func strs(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			out = append(out, fmt.Sprint(x))
		}
	}
	return out
}

func (w *Workspace) createDatasource(r tbparse.Resource) {
	w.T.Helper()
	var cols []string
	for _, c := range r["columns"].([]any) {
		c := c.(map[string]any)
		def := quote(c["name"].(string)) + " " + c["type"].(string)
		if d, ok := c["defaultExpression"].(string); ok {
			def += " DEFAULT " + d
		}
		cols = append(cols, def)
	}
	eng, _ := r["engine"].(map[string]any)
	if eng == nil {
		eng = map[string]any{"type": "MergeTree"}
	}
	typ := eng["type"].(string)
	var args []string
	for _, k := range []string{"ver", "isDeleted", "sign", "version"} {
		if v, ok := eng[k].(string); ok {
			args = append(args, v)
		}
	}
	if s := strs(eng["summingColumns"]); len(s) > 0 {
		args = append(args, "("+strings.Join(s, ", ")+")")
	}
	ddl := "CREATE TABLE " + quote(r["name"].(string)) + " (" + strings.Join(cols, ", ") + ") ENGINE = " + typ
	if len(args) > 0 {
		ddl += "(" + strings.Join(args, ", ") + ")"
	}
	if p, ok := eng["partitionKey"].(string); ok {
		ddl += " PARTITION BY " + p
	}
	ddl += " ORDER BY (" + strings.Join(strs(eng["sortingKey"]), ", ") + ")"
	if pk := strs(eng["primaryKey"]); len(pk) > 0 {
		ddl += " PRIMARY KEY (" + strings.Join(pk, ", ") + ")"
	}
	if s, ok := eng["settings"].(map[string]any); ok && len(s) > 0 {
		var kv []string
		for k, v := range s {
			kv = append(kv, fmt.Sprintf("%s = %v", k, v))
		}
		sort.Strings(kv)
		ddl += " SETTINGS " + strings.Join(kv, ", ")
	}
	w.Exec(ddl)
}

// jsonKeys reads a JSONPath the way the tests' projects write them: $.a.b or $['a'].
func jsonKeys(p string) ([]string, error) {
	rest, ok := strings.CutPrefix(p, "$")
	if !ok {
		return nil, fmt.Errorf("json path %q does not start with $", p)
	}
	var keys []string
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, "['"):
			end := strings.Index(rest, "']")
			if end < 0 {
				return nil, fmt.Errorf("json path %q: unclosed ['", p)
			}
			keys = append(keys, rest[2:end])
			rest = rest[end+2:]
		case strings.HasPrefix(rest, "."):
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			keys = append(keys, rest[:end])
			rest = rest[end:]
		default:
			return nil, fmt.Errorf("json path %q is beyond what the emulator reads", p)
		}
	}
	return keys, nil
}

// Ingest appends NDJSON events to a datasource the way Tinybird's ingestion fills it: each
// column from the value at its json path, converted to the column's type; a JSON object or
// array read into a String column is stored as its JSON text; a missing value takes the
// column's DEFAULT, else its type's default (NULL for Nullable).
func (w *Workspace) Ingest(datasource string, events []string) {
	w.T.Helper()
	r := w.Resource("datasource", datasource)
	var names, exprs []string
	for _, c := range r["columns"].([]any) {
		c := c.(map[string]any)
		name, typ := c["name"].(string), c["type"].(string)
		jp, _ := c["jsonPath"].(string)
		if jp == "" {
			jp = "$." + name
		}
		keys, err := jsonKeys(jp)
		if err != nil {
			w.T.Fatal(err)
		}
		args := "json"
		for _, k := range keys {
			args += ", '" + strings.ReplaceAll(k, "'", "\\'") + "'"
		}
		plain := typ
		if inner, ok := strings.CutPrefix(typ, "LowCardinality("); ok {
			plain = strings.TrimSuffix(inner, ")")
		}
		var v string
		switch {
		case strings.Contains(plain, "String"):
			v = fmt.Sprintf("if(JSONType(%[1]s) IN ('Object', 'Array'), JSONExtractRaw(%[1]s), JSONExtract(%[1]s, '%[2]s'))", args, plain)
		default:
			v = fmt.Sprintf("JSONExtract(%s, '%s')", args, plain)
		}
		if d, ok := c["defaultExpression"].(string); ok {
			v = fmt.Sprintf("if(JSONHas(%s), %s, %s)", args, v, d)
		}
		names = append(names, quote(name))
		exprs = append(exprs, v)
	}
	// In batches: the events travel inside the query text, which ClickHouse caps.
	for len(events) > 0 {
		n := min(len(events), 200)
		data := strings.Join(events[:n], "\n")
		events = events[n:]
		w.Exec("INSERT INTO " + quote(datasource) + " (" + strings.Join(names, ", ") + ") SELECT " + strings.Join(exprs, ", ") +
			" FROM format(JSONAsString, '" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(data) + "')")
	}
}

// nodesSQL renders every node of a pipe with params and returns the last one's SQL, where a
// FROM naming an earlier node, or a plain pipe of the project (one without TYPE, read as its
// last node), reads that node's SQL as a subquery: what Tinybird does when a node reads
// another.
func (w *Workspace) nodesSQL(r tbparse.Resource, params map[string]string) string {
	w.T.Helper()
	return w.pipeSQL(r, params, 0)
}

func (w *Workspace) pipeSQL(r tbparse.Resource, params map[string]string, depth int) string {
	w.T.Helper()
	if depth > 10 {
		w.T.Fatalf("tbemu: pipes read each other more than ten deep at %s", r["name"])
	}
	known := map[string]string{}
	for _, other := range w.Res {
		if other["kind"] == "pipe" && other["type"] == "pipe" && other["name"] != r["name"] {
			name := other["name"].(string)
			if fromRe(name).MatchString(w.rawAll(r)) {
				known[name] = w.pipeSQL(other, params, depth+1)
			}
		}
	}
	var sql string
	for i, n := range r["nodes"].([]any) {
		n := n.(map[string]any)
		out, err := tbparse.Render(w.rawNodeSQL(r, i), params)
		if err != nil {
			w.T.Fatalf("tbemu: pipe %s node %s: %v", r["name"], n["name"], err)
		}
		for name, sub := range known {
			out = fromRe(name).ReplaceAllString(out, "FROM ("+strings.ReplaceAll(sub, "$", "$$")+") AS "+quote(name)+"${1}")
		}
		sql = out
		known[n["name"].(string)] = out
	}
	return sql
}

// fromRe matches FROM name (bare or in backticks).
func fromRe(name string) *regexp.Regexp {
	return regexp.MustCompile("(?i)\\bFROM\\s+`?" + regexp.QuoteMeta(name) + "`?(\\s|$|\\))")
}

// rawAll is every node's SQL of a pipe, as written.
func (w *Workspace) rawAll(r tbparse.Resource) string {
	var all []string
	for i := range r["nodes"].([]any) {
		all = append(all, w.rawNodeSQL(r, i))
	}
	return strings.Join(all, "\n")
}

// rawNodeSQL is node i's SQL as written in the datafile: the parser's copy has its template
// placeholders normalised, the file has them as written.
func (w *Workspace) rawNodeSQL(r tbparse.Resource, i int) string {
	w.T.Helper()
	content := string(w.Files[r["filePath"].(string)])
	lines := strings.Split(content, "\n")
	n := -1
	for j := 0; j < len(lines); j++ {
		if strings.TrimSpace(lines[j]) != "SQL >" {
			continue
		}
		n++
		if n != i {
			continue
		}
		var body []string
		for k := j + 1; k < len(lines); k++ {
			l := lines[k]
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "\t") {
				break
			}
			body = append(body, strings.TrimPrefix(l, "    "))
		}
		return strings.Join(body, "\n")
	}
	w.T.Fatalf("tbemu: pipe %s has no node %d", r["name"], i)
	return ""
}

// Now is what the emulator substitutes for now('UTC') and now() in pipe SQL.
func nowLiteral(now time.Time) string {
	return "toDateTime('" + now.UTC().Format("2006-01-02 15:04:05") + "', 'UTC')"
}

// Copy runs a copy pipe at time now with params, as a Tinybird copy job: the result of its
// last node is appended to its target datasource (COPY_MODE append, the default) or replaces
// the target's whole content (COPY_MODE replace).
func (w *Workspace) Copy(pipe string, params map[string]string, now time.Time) {
	w.T.Helper()
	r := w.Resource("pipe", pipe)
	if r["type"] != "copy" {
		w.T.Fatalf("tbemu: pipe %s is not a copy pipe", pipe)
	}
	sql := w.nodesSQL(r, params)
	sql = strings.ReplaceAll(strings.ReplaceAll(sql, "now('UTC')", nowLiteral(now)), "now()", nowLiteral(now))
	target := r["copyTargetDatasource"].(string)
	if r["copyMode"] != "replace" {
		w.Exec("INSERT INTO " + quote(target) + " " + sql)
		return
	}
	// The result is computed in full before the target changes, then swapped in.
	tmp := quote(target + "__copy")
	w.Exec("DROP TABLE IF EXISTS "+tmp, "CREATE TABLE "+tmp+" AS "+quote(target), "INSERT INTO "+tmp+" "+sql,
		"EXCHANGE TABLES "+tmp+" AND "+quote(target), "DROP TABLE "+tmp)
}

// Endpoint runs an endpoint pipe with params and returns its rows.
func (w *Workspace) Endpoint(pipe string, params map[string]string) *engine.Result {
	w.T.Helper()
	return w.Query(w.nodesSQL(w.Resource("pipe", pipe), params))
}
