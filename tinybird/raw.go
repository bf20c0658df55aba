package tinybird

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hourglass-dev/hourglass/chtype"
	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/ident"
)

// rawDS is a raw datasource being imported; rollups may add columns extracted from JSON text.
type rawDS struct {
	src *Datasource
	d   *datasources.Datasource
}

// engineArgs are the engines Tinybird datafiles name, with the ENGINE_* directives that give
// their arguments.
var engineArgs = map[string][]string{
	"MergeTree":                    nil,
	"ReplacingMergeTree":           {"ENGINE_VER", "ENGINE_IS_DELETED"},
	"SummingMergeTree":             {"ENGINE_SUMMING_COLUMNS"},
	"AggregatingMergeTree":         nil,
	"CollapsingMergeTree":          {"ENGINE_SIGN"},
	"VersionedCollapsingMergeTree": {"ENGINE_SIGN", "ENGINE_VERSION"},
	"Null":                         nil,
}

// checkDatasource refuses a datasource Tinybird would not create: an unknown engine, a
// column type that is not a ClickHouse type, a column name hourglass cannot quote.
func checkDatasource(d *Datasource) (line int, msg string) {
	if _, ok := engineArgs[d.Engine]; !ok && d.Engine != "" {
		return d.Directives["ENGINE"], fmt.Sprintf("ENGINE %q is not a Tinybird engine: use MergeTree, ReplacingMergeTree, SummingMergeTree, AggregatingMergeTree, CollapsingMergeTree, VersionedCollapsingMergeTree or Null", d.Engine)
	}
	for _, c := range d.Columns {
		if _, err := chtype.Parse(c.Type); err != nil {
			return c.Line, fmt.Sprintf("column %s: %v", c.Name, err)
		}
		if err := ident.Check(c.Name); err != nil {
			return c.Line, fmt.Sprintf("column %s: %v", c.Name, err)
		}
	}
	return 0, ""
}

// targets are the datasources pipes write into.
func (im *importer) targets() map[string]*Pipe {
	out := map[string]*Pipe{}
	for _, name := range sortedKeys(im.pipes) {
		p := im.pipes[name]
		t := p.Datasource
		if p.Type == "copy" {
			t = p.TargetDatasource
		}
		if (p.Type == "materialized" || p.Type == "copy") && t != "" && out[t] == nil {
			out[t] = p
		}
	}
	return out
}

// importRaw translates every datasource no pipe writes into.
func (im *importer) importRaw() {
	targets := im.targets()
	for _, name := range sortedKeys(im.datasources) {
		src := im.datasources[name]
		if line, msg := checkDatasource(src); msg != "" {
			im.fail(src.File, line, "%s; %s not imported", msg, src.File)
			delete(im.datasources, name)
			continue
		}
		if targets[name] != nil {
			continue
		}
		im.raw[name] = im.translateRaw(src)
		im.rawOrder = append(im.rawOrder, name)
	}
}

var simplePathRe = regexp.MustCompile(`^\$((?:\.[A-Za-z_][A-Za-z0-9_]*)+)(\[:\])?$`)

func (im *importer) translateRaw(src *Datasource) *rawDS {
	d := &datasources.Datasource{Name: src.Name, Managed: true}
	for _, c := range src.Columns {
		col := &datasources.Column{Name: c.Name, Type: c.Type, Default: c.Default, Codec: c.Codec}
		keys, array := jsonKeys(c.JSONPath)
		switch {
		case c.JSONPath == "" || len(keys) == 1 && keys[0] == c.Name:
			// Read from the key of its own name: a plain column.
		case keys == nil || array:
			im.warn(src.File, c.Line, "column %s reads `json:%s`: hourglass reads a column from the key of its own name or from a path inside an object; imported as a plain column read from key %s", c.Name, c.JSONPath, c.Name)
		case len(keys) == 1:
			im.warn(src.File, c.Line, "column %s reads `json:%s`, another key: hourglass reads a column from the key of its own name; imported as a plain column read from key %s", c.Name, c.JSONPath, c.Name)
		case !jsonType(c.Type):
			im.warn(src.File, c.Line, "column %s reads `json:%s` as %s: hourglass extracts only String, numbers and Bool (or Nullable of those) from JSON; imported as a plain column read from key %s", c.Name, c.JSONPath, c.Type, c.Name)
		default:
			obj := d.Column(keys[0])
			if obj == nil {
				for _, o := range src.Columns {
					if o.Name == keys[0] {
						obj = &datasources.Column{Name: o.Name, Type: o.Type}
					}
				}
			}
			switch {
			case obj == nil:
				obj = &datasources.Column{Name: keys[0], Type: "String"}
				d.Columns = append(d.Columns, obj)
				im.warn(src.File, c.Line, "column %s reads `json:%s`: added column %s (String) holding the object's JSON text, which ClickHouse extracts %s from", c.Name, c.JSONPath, keys[0], c.Name)
			case !isString(obj.Type):
				im.warn(src.File, c.Line, "column %s reads `json:%s`, but %s is %s: hourglass extracts from an object held as String; imported as a plain column read from key %s", c.Name, c.JSONPath, keys[0], obj.Type, c.Name)
				obj = nil
			}
			if obj != nil {
				col.JSONSource, col.JSONPath, col.JSONObject = keys[0], keys[1:], true
				if col.Default != "" {
					im.warn(src.File, c.Line, "column %s: DEFAULT %s is dropped: a column read from JSON takes the value it finds (its type's default when missing)", c.Name, c.Default)
					col.Default = ""
				}
			}
		}
		if existing := d.Column(col.Name); existing != nil {
			// An object column added for an earlier path and declared later: keep the
			// declaration.
			*existing = *col
			continue
		}
		d.Columns = append(d.Columns, col)
	}
	engine := src.Engine
	switch engine {
	case "":
		engine = "MergeTree"
	case "Null":
		im.warn(src.File, src.Directives["ENGINE"], "ENGINE Null keeps no rows, and hourglass recomputes rollups from their source's rows; imported as MergeTree")
		engine = "MergeTree"
	}
	var args []string
	for _, dir := range engineArgs[engine] {
		v := map[string]string{"ENGINE_VER": src.Ver, "ENGINE_IS_DELETED": src.IsDeleted, "ENGINE_SIGN": src.Sign, "ENGINE_VERSION": src.Version, "ENGINE_SUMMING_COLUMNS": src.SummingColumns}[dir]
		if v == "" {
			break
		}
		if dir == "ENGINE_SUMMING_COLUMNS" {
			v = "(" + v + ")"
		}
		args = append(args, v)
	}
	if len(args) > 0 {
		engine += "(" + strings.Join(args, ", ") + ")"
	}
	d.Engine = engine
	d.PartitionBy = src.PartitionKey
	d.TTL = src.TTL
	d.OrderBy = sortingKey(src.SortingKey)
	if len(d.OrderBy) == 0 {
		for _, c := range src.Columns {
			if t, err := chtype.Parse(c.Type); err == nil && t.IsDateTime() {
				d.OrderBy = []string{c.Name}
				break
			}
		}
		if len(d.OrderBy) == 0 {
			d.OrderBy = []string{src.Columns[0].Name}
		}
		im.warn(src.File, 1, "no ENGINE_SORTING_KEY: hourglass needs a sorting key; %s is used", d.OrderBy[0])
	}
	for _, x := range []struct{ dir, what string }{
		{"ENGINE_PRIMARY_KEY", "a primary key other than the sorting key"},
		{"ENGINE_SETTINGS", "table settings"},
		{"ENGINE_SAMPLING_KEY", "a sampling key"},
		{"INDEXES", "data-skipping indexes"},
		{"FORWARD_QUERY", "a forward query"},
		{"SHARED_WITH", "sharing with other workspaces"},
		{"KAFKA_CONNECTION_NAME", "a Kafka connection"},
		{"IMPORT_CONNECTION_NAME", "an import connection"},
		{"INCLUDE", "included files"},
	} {
		if line, ok := src.Directives[x.dir]; ok {
			im.warn(src.File, line, "%s is not imported: hourglass datasources have no %s", x.dir, x.what)
		}
	}
	for _, t := range src.Tokens {
		if !im.tokens[t.Name] || im.otherTokens {
			im.warn(src.File, t.Line, "TOKEN %s is not imported: hourglass writes one append token per project (<project>_append)", t.Name)
		}
	}
	return &rawDS{src: src, d: d}
}

// jsonKeys reads a JSONPath $.a.b (or $.a[:] for an array); nil when it is another shape.
func jsonKeys(p string) (keys []string, array bool) {
	m := simplePathRe.FindStringSubmatch(strings.TrimSpace(p))
	if m == nil {
		return nil, false
	}
	return strings.Split(strings.TrimPrefix(m[1], "."), "."), m[2] != ""
}

func jsonType(typ string) bool {
	t, err := chtype.Parse(typ)
	if err != nil {
		return false
	}
	b := t.Base()
	return len(b.Args) == 0 && (b.Name == "String" || t.IsNumeric())
}

func isString(typ string) bool {
	t, err := chtype.Parse(typ)
	return err == nil && t.IsString()
}

// sortingKey splits ENGINE_SORTING_KEY into hourglass order_by items, unquoting plain column
// names; "tuple()" is no key.
func sortingKey(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" || s == "tuple()" {
		return nil
	}
	toks, err := lex(s, 1)
	if err != nil {
		return []string{s}
	}
	var out []string
	for _, part := range splitTop(stripParens(toks), ",") {
		if n := asName(part); n != "" {
			out = append(out, n)
		} else if len(part) > 0 {
			out = append(out, text(part))
		}
	}
	return out
}
