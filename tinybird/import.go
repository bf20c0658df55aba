package tinybird

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"testing/fstest"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/ident"
	"github.com/hourglass-dev/hourglass/pipes"
)

// Options say how to import.
type Options struct {
	// Name is the hourglass project's name. When empty it is the name the TOKEN lines of a
	// project hourglass built carry (<name>_read, <name>_append), else Folder.
	Name string
	// Folder is the name of the folder imported, the last resort for the project name.
	Folder string
}

// Diagnostic is something of the Tinybird project the import did not carry over, at a place
// in it: a construct, a node, a template function (a warning: the rest was imported), or a
// whole file (Error: the file is bad input and nothing was written for it).
type Diagnostic struct {
	File  string `json:"file"`
	Line  int    `json:"line"`
	Error bool   `json:"error,omitempty"`
	Msg   string `json:"message"`
}

// String writes "file:line: message" (with "error: " before the message for a file not
// imported).
func (d Diagnostic) String() string {
	if d.Error {
		return fmt.Sprintf("%s:%d: error: %s", d.File, d.Line, d.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", d.File, d.Line, d.Msg)
}

// Result is what Import made.
type Result struct {
	// Files is the hourglass project, path → contents: hourglass.yaml, datasources/*.yaml,
	// rollups/*.yaml and endpoints/*.yaml. Empty when nothing usable came out.
	Files map[string][]byte
	// Project is Files as hourglass loads them (nil when nothing usable came out).
	Project *datasources.Project
	// Diagnostics are in file and line order.
	Diagnostics []Diagnostic
}

// Usable says whether anything was imported.
func (r *Result) Usable() bool { return r.Project != nil }

// Errors says whether a file was bad input.
func (r *Result) Errors() bool {
	for _, d := range r.Diagnostics {
		if d.Error {
			return true
		}
	}
	return false
}

// ErrNoProject is returned when the folder holds no .datasource or .pipe file.
var ErrNoProject = errors.New("no .datasource or .pipe file: not a Tinybird project folder")

// importer holds one import's state.
type importer struct {
	diags       []Diagnostic
	datasources map[string]*Datasource
	pipes       map[string]*Pipe
	queries     map[*Node]*query
	raw         map[string]*rawDS
	rawOrder    []string
	rollups     map[string]*rollupT // by target datasource
	rollupOrder []string
	endpoints   []*datasources.Endpoint
	tokens      map[string]bool // hourglass-style token names seen
	otherTokens bool
}

func (im *importer) warn(file string, line int, format string, args ...any) {
	im.diags = append(im.diags, Diagnostic{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (im *importer) fail(file string, line int, format string, args ...any) {
	im.diags = append(im.diags, Diagnostic{File: file, Line: line, Error: true, Msg: fmt.Sprintf(format, args...)})
}

// Import reads the Tinybird project in fsys (its .datasource and .pipe files, in any folder)
// and translates it into an hourglass project. It returns an error only when fsys cannot be
// read or holds no datafile; everything it could not translate is a Diagnostic.
func Import(fsys fs.FS, opts Options) (*Result, error) {
	im := &importer{
		datasources: map[string]*Datasource{}, pipes: map[string]*Pipe{}, queries: map[*Node]*query{},
		raw: map[string]*rawDS{}, rollups: map[string]*rollupT{}, tokens: map[string]bool{},
	}
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
				return fs.SkipDir
			}
			return nil
		}
		switch path.Ext(p) {
		case ".datasource", ".pipe":
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, ErrNoProject
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		im.read(f, string(b))
	}
	im.checkReferences()
	im.importRaw()
	im.importRollups()
	im.importEndpoints()
	return im.result(opts)
}

// read parses one datafile, reporting syntax errors and duplicate names.
func (im *importer) read(file, content string) {
	var name string
	var err error
	var d *Datasource
	var p *Pipe
	if path.Ext(file) == ".datasource" {
		d, err = ParseDatasource(file, content)
		if d != nil {
			name = d.Name
		}
	} else {
		p, err = ParsePipe(file, content)
		if p != nil {
			name = p.Name
		}
	}
	var se *SyntaxError
	if errors.As(err, &se) {
		im.fail(se.File, se.Line, "%s; %s not imported", se.Msg, file)
		return
	}
	if prev := im.datasources[name]; prev != nil {
		im.fail(file, 1, "name %q is also the datasource %s: Tinybird datasources and pipes share one namespace; %s not imported", name, prev.File, file)
		return
	}
	if prev := im.pipes[name]; prev != nil {
		im.fail(file, 1, "name %q is also the pipe %s: Tinybird datasources and pipes share one namespace; %s not imported", name, prev.File, file)
		return
	}
	if d != nil {
		im.datasources[name] = d
		im.noteTokens(d.Tokens)
		return
	}
	for _, n := range p.Nodes {
		q, err := parseQuery(n.SQL, n.SQLLine)
		if err != nil {
			line := n.SQLLine
			if m := lineRe.FindStringSubmatch(err.Error()); m != nil {
				fmt.Sscan(m[1], &line)
			}
			im.fail(file, line, "node %s: %s; %s not imported", n.Name, lineRe.ReplaceAllString(err.Error(), ""), file)
			return
		}
		im.queries[n] = q
	}
	im.pipes[name] = p
	im.noteTokens(p.Tokens)
}

var lineRe = regexp.MustCompile(`^line (\d+): `)

func (im *importer) noteTokens(ts []Token) {
	for _, t := range ts {
		if (t.Scope == "READ" && strings.HasSuffix(t.Name, "_read")) || (t.Scope == "APPEND" && strings.HasSuffix(t.Name, "_append")) {
			im.tokens[t.Name] = true
		} else {
			im.otherTokens = true
		}
	}
}

// tables lists the tables a query reads in FROM clauses (subqueries included), with lines.
func tables(q *query, out *[]*from) {
	for _, s := range q.parts {
		if s.from == nil {
			continue
		}
		if s.from.sub != nil {
			tables(s.from.sub, out)
		} else {
			*out = append(*out, s.from)
		}
	}
}

// checkReferences refuses pipes that read what does not exist, or write into a datasource
// that does not exist.
func (im *importer) checkReferences() {
	for _, name := range sortedKeys(im.pipes) {
		p := im.pipes[name]
		bad := false
		for i, n := range p.Nodes {
			var refs []*from
			tables(im.queries[n], &refs)
			for _, f := range refs {
				if im.datasources[f.table] != nil || im.pipes[f.table] != nil && f.table != p.Name {
					continue
				}
				earlier := false
				for _, m := range p.Nodes[:i] {
					earlier = earlier || m.Name == f.table
				}
				if earlier {
					continue
				}
				im.fail(p.File, f.line, "node %s reads %q, which is neither a datasource, an earlier node of this pipe nor another pipe of the project; %s not imported", n.Name, f.table, p.File)
				bad = true
			}
		}
		for _, t := range []struct{ name, directive string }{{p.Datasource, "DATASOURCE"}, {p.TargetDatasource, "TARGET_DATASOURCE"}} {
			if t.name != "" && im.datasources[t.name] == nil {
				im.fail(p.File, p.Directives[t.directive], "%s %s is not a datasource of the project; %s not imported", t.directive, t.name, p.File)
				bad = true
			}
		}
		if bad {
			delete(im.pipes, name)
		}
	}
	// A pipe reading a refused pipe is refused too.
	for changed := true; changed; {
		changed = false
		for _, name := range sortedKeys(im.pipes) {
			p := im.pipes[name]
			for _, n := range p.Nodes {
				var refs []*from
				tables(im.queries[n], &refs)
				for _, f := range refs {
					if im.datasources[f.table] == nil && im.pipes[f.table] == nil && !isNode(p, f.table) {
						im.fail(p.File, f.line, "node %s reads the pipe %s, which was not imported; %s not imported", n.Name, f.table, p.File)
						delete(im.pipes, name)
						changed = true
						break
					}
				}
				if im.pipes[name] == nil {
					break
				}
			}
		}
	}
}

func isNode(p *Pipe, name string) bool {
	for _, n := range p.Nodes {
		if n.Name == name {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// projectName picks the hourglass project's name.
func (im *importer) projectName(opts Options) string {
	if opts.Name != "" {
		return opts.Name
	}
	if !im.otherTokens {
		names := map[string]bool{}
		for t := range im.tokens {
			names[strings.TrimSuffix(strings.TrimSuffix(t, "_read"), "_append")] = true
		}
		if len(names) == 1 {
			for n := range names {
				if ident.Check(n) == nil {
					return n
				}
			}
		}
	}
	n := strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, opts.Folder)
	if n == "" || n[0] >= '0' && n[0] <= '9' {
		n = "tinybird_" + n
	}
	return strings.Trim(n, "_")
}

// result writes the project, loads it back with hourglass's own loader and compiler, and drops
// any definition they refuse (reported as a warning at the file it came from).
func (im *importer) result(opts Options) (*Result, error) {
	p := &datasources.Project{Name: im.projectName(opts)}
	for _, n := range im.rawOrder {
		if r := im.raw[n]; r != nil {
			p.Datasources = append(p.Datasources, r.d)
		}
	}
	for _, n := range im.rollupOrder {
		if r := im.rollups[n]; r != nil {
			p.Rollups = append(p.Rollups, r.r)
		}
	}
	p.Endpoints = im.endpoints
	origin := map[string]string{} // hourglass file → Tinybird file
	for _, d := range p.Datasources {
		origin["datasources/"+d.Name+".yaml"] = im.raw[d.Name].src.File
	}
	for _, r := range p.Rollups {
		origin["rollups/"+r.Name+".yaml"] = im.rollups[r.Name].pipe.File
	}
	for _, e := range p.Endpoints {
		origin["endpoints/"+e.Name+".yaml"] = im.pipes[e.Name].File
	}
	header := "# Imported from a Tinybird project by `hourglass import tinybird`.\n"
	for attempt := 0; attempt < 50; attempt++ {
		if len(p.Datasources) == 0 && len(p.Rollups) == 0 && len(p.Endpoints) == 0 {
			break
		}
		files := writeProject(p, header)
		fsys := fstest.MapFS{}
		for k, v := range files {
			fsys[k] = &fstest.MapFile{Data: v}
		}
		loaded, err := datasources.Load(fsys)
		var bad map[string]string
		if err == nil {
			bad = im.compileProblems(loaded)
			if len(bad) == 0 {
				sortDiags(im.diags)
				return &Result{Files: files, Project: loaded, Diagnostics: im.diags}, nil
			}
		} else {
			var errs *datasources.Errors
			if !errors.As(err, &errs) {
				return nil, err
			}
			bad = map[string]string{}
			for _, d := range *errs {
				if _, seen := bad[d.Pos.File]; !seen {
					bad[d.Pos.File] = d.Message
				}
			}
		}
		for _, f := range sortedKeys(bad) {
			src := origin[f]
			if src == "" {
				return nil, fmt.Errorf("the imported project does not load: %s: %s", f, bad[f])
			}
			im.warn(src, 1, "hourglass refuses what this file became (%s): %s; not imported", f, bad[f])
			p = dropFile(p, f)
		}
	}
	sortDiags(im.diags)
	return &Result{Diagnostics: im.diags}, nil
}

// compileProblems compiles the loaded project for both targets and returns, by definition
// file, what the compiler refuses.
func (im *importer) compileProblems(p *datasources.Project) map[string]string {
	bad := map[string]string{}
	a, err := pipes.Compile(p)
	if err == nil {
		_, err = pipes.Tinybird(a)
	}
	if err == nil {
		return nil
	}
	msg := err.Error()
	// Compile errors start with file:line:col when the definition came from a file; Tinybird
	// errors name the definition.
	for _, kind := range []string{"datasources", "rollups", "endpoints"} {
		if m := regexp.MustCompile(`^(` + kind + `/[^:]+\.yaml):\d+:\d+: (.*)$`).FindStringSubmatch(msg); m != nil {
			bad[m[1]] = m[2]
			return bad
		}
	}
	for _, x := range []struct{ kind, dir string }{{"datasource", "datasources"}, {"rollup", "rollups"}, {"endpoint", "endpoints"}} {
		if m := regexp.MustCompile(`^` + x.kind + ` "([^"]+)": (.*)$`).FindStringSubmatch(msg); m != nil {
			bad[x.dir+"/"+m[1]+".yaml"] = m[2]
			return bad
		}
	}
	bad["hourglass.yaml"] = msg
	return bad
}

// dropFile removes the definition written to file f, and what depends on it.
func dropFile(p *datasources.Project, f string) *datasources.Project {
	kind, rest, _ := strings.Cut(f, "/")
	name := strings.TrimSuffix(rest, ".yaml")
	q := *p
	q.Datasources, q.Rollups, q.Endpoints = nil, nil, nil
	for _, d := range p.Datasources {
		if !(kind == "datasources" && d.Name == name) {
			q.Datasources = append(q.Datasources, d)
		}
	}
	for _, r := range p.Rollups {
		if !(kind == "rollups" && r.Name == name) && q.Datasource(r.Source) != nil {
			q.Rollups = append(q.Rollups, r)
		}
	}
	for _, e := range p.Endpoints {
		if !(kind == "endpoints" && e.Name == name) && q.Rollup(e.Rollup) != nil {
			q.Endpoints = append(q.Endpoints, e)
		}
	}
	return &q
}

func sortDiags(ds []Diagnostic) {
	sort.SliceStable(ds, func(i, j int) bool {
		if ds[i].File != ds[j].File {
			return ds[i].File < ds[j].File
		}
		return ds[i].Line < ds[j].Line
	})
}
