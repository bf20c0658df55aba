package tinybird

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Datasource is a .datasource file as written.
type Datasource struct {
	Name, File  string
	Description string
	Columns     []*Column
	// Engine is the ENGINE value ("" when the file has none); the ENGINE_* values follow.
	Engine                                        string
	SortingKey, PartitionKey, PrimaryKey, TTL     string
	Ver, IsDeleted, Sign, Version, SummingColumns string
	Settings                                      string
	Tokens                                        []Token
	// Directives holds the line of each directive, by name, for messages.
	Directives map[string]int
	Line       int
}

// Column is one SCHEMA line.
type Column struct {
	Name, Type, JSONPath, Default, Codec string
	Line                                 int
}

// Token is a TOKEN line: a token name and its scope (READ, APPEND).
type Token struct {
	Name, Scope string
	Line        int
}

// Pipe is a .pipe file as written.
type Pipe struct {
	Name, File  string
	Description string
	Nodes       []*Node
	// Type is endpoint, materialized, copy, sink or "" (a plain pipe).
	Type                         string
	Datasource, TargetDatasource string
	CopySchedule, CopyMode       string
	Tokens                       []Token
	Directives                   map[string]int
	Line                         int
}

// Node is one NODE of a pipe.
type Node struct {
	Name string
	// SQL is the node's SQL without its leading "%" line; SQLLine is the file line of its
	// first line.
	SQL     string
	SQLLine int
	Line    int
}

// SyntaxError is a datafile Tinybird would not read.
type SyntaxError struct {
	File string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// datasource and pipe directives; blocks are written "NAME >".
var (
	datasourceDirectives = map[string]bool{
		"DESCRIPTION": true, "SCHEMA": true, "FORWARD_QUERY": true, "INDEXES": true, "SHARED_WITH": true,
		"ENGINE": true, "ENGINE_SORTING_KEY": true, "ENGINE_PARTITION_KEY": true, "ENGINE_PRIMARY_KEY": true,
		"ENGINE_TTL": true, "ENGINE_VER": true, "ENGINE_IS_DELETED": true, "ENGINE_SIGN": true,
		"ENGINE_VERSION": true, "ENGINE_SUMMING_COLUMNS": true, "ENGINE_SETTINGS": true,
		"ENGINE_SAMPLING_KEY": true, "KAFKA_CONNECTION_NAME": true, "KAFKA_TOPIC": true,
		"KAFKA_GROUP_ID": true, "KAFKA_AUTO_OFFSET_RESET": true, "KAFKA_STORE_RAW_VALUE": true,
		"KAFKA_STORE_HEADERS": true, "IMPORT_CONNECTION_NAME": true, "IMPORT_BUCKET_URI": true,
		"IMPORT_SCHEDULE": true, "IMPORT_FROM_TIMESTAMP": true, "IMPORT_TABLE_ARN": true,
		"IMPORT_EXPORT_BUCKET": true, "IMPORT_SERVICE": true, "IMPORT_STRATEGY": true,
		"IMPORT_FORMAT": true, "TOKEN": true, "VERSION": true, "TAGS": true, "INCLUDE": true,
	}
	pipeDirectives = map[string]bool{
		"DESCRIPTION": true, "NODE": true, "SQL": true, "TYPE": true, "CACHE": true,
		"DATASOURCE": true, "DEPLOYMENT_METHOD": true, "TARGET_DATASOURCE": true,
		"COPY_SCHEDULE": true, "COPY_MODE": true, "TOKEN": true, "EXPORT_SERVICE": true,
		"EXPORT_CONNECTION_NAME": true, "EXPORT_KAFKA_TOPIC": true, "EXPORT_BUCKET_URI": true,
		"EXPORT_FILE_TEMPLATE": true, "EXPORT_FORMAT": true, "EXPORT_SCHEDULE": true,
		"EXPORT_STRATEGY": true, "EXPORT_WRITE_STRATEGY": true, "EXPORT_COMPRESSION": true,
		"VERSION": true, "TAGS": true, "INCLUDE": true, "FORWARD_QUERY": true,
	}
)

// dfLine is one line of a datafile.
type dfLine struct {
	n    int
	text string
}

// reader walks a datafile's lines.
type reader struct {
	file  string
	lines []dfLine
	i     int
}

func newReader(file, content string) *reader {
	r := &reader{file: file}
	for i, l := range strings.Split(strings.ReplaceAll(content, "\r\n", "\n"), "\n") {
		r.lines = append(r.lines, dfLine{i + 1, l})
	}
	return r
}

func (r *reader) errf(line int, format string, args ...any) error {
	return &SyntaxError{File: r.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// block reads the indented lines after a "NAME >" line: the text with four spaces of
// indentation removed, and the line number of its first line.
func (r *reader) block() (string, int) {
	var body []string
	first := 0
	for r.i < len(r.lines) {
		l := r.lines[r.i]
		if strings.TrimSpace(l.text) != "" && !strings.HasPrefix(l.text, " ") && !strings.HasPrefix(l.text, "\t") {
			break
		}
		if first == 0 && strings.TrimSpace(l.text) != "" {
			first = l.n
		}
		if first != 0 {
			t := l.text
			if strings.HasPrefix(t, "    ") {
				t = t[4:]
			} else {
				t = strings.TrimLeft(t, " \t")
			}
			body = append(body, t)
		}
		r.i++
	}
	for len(body) > 0 && strings.TrimSpace(body[len(body)-1]) == "" {
		body = body[:len(body)-1]
	}
	return strings.Join(body, "\n"), first
}

// next returns the next directive line (skipping blanks and comments) split into its
// directive and value; a zero line at the end of the file.
func (r *reader) next() (l dfLine, name, value string, block bool, err error) {
	for r.i < len(r.lines) {
		l = r.lines[r.i]
		r.i++
		t := strings.TrimSpace(l.text)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if l.text[0] == ' ' || l.text[0] == '\t' {
			return l, "", "", false, r.errf(l.n, "indented line %q outside a block: directives start at the beginning of a line, block lines are indented under NAME >", t)
		}
		name, value, block = directive(l.text)
		return l, name, value, block, nil
	}
	return dfLine{}, "", "", false, nil
}

// directive splits a top-level line into its directive and value; block says "NAME >".
func directive(l string) (name, value string, block bool) {
	name, value, _ = strings.Cut(strings.TrimSpace(l), " ")
	value = strings.TrimSpace(value)
	return name, value, value == ">"
}

func unquoteValue(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		return v[1 : len(v)-1]
	}
	return v
}

var tokenRe = regexp.MustCompile(`^("[^"]+"|\S+)(?:\s+(READ|APPEND))?$`)

func (r *reader) token(line int, value string) (Token, error) {
	m := tokenRe.FindStringSubmatch(value)
	if m == nil {
		return Token{}, r.errf(line, "TOKEN %q: write TOKEN name READ (or APPEND on a datasource)", value)
	}
	scope := m[2]
	if scope == "" {
		scope = "READ"
	}
	return Token{Name: strings.Trim(m[1], `"`), Scope: scope, Line: line}, nil
}

// ParseDatasource reads a .datasource file; file is its path for messages.
func ParseDatasource(file, content string) (*Datasource, error) {
	r := newReader(file, content)
	d := &Datasource{Name: strings.TrimSuffix(path.Base(file), ".datasource"), File: file, Directives: map[string]int{}, Line: 1}
	for {
		l, name, value, isBlock, err := r.next()
		if err != nil {
			return nil, err
		}
		if l.n == 0 {
			break
		}
		if !datasourceDirectives[name] {
			return nil, r.errf(l.n, "unknown datasource directive %q", name)
		}
		d.Directives[name] = l.n
		if isBlock {
			body, first := r.block()
			switch name {
			case "DESCRIPTION":
				d.Description = body
			case "SCHEMA":
				if strings.TrimSpace(body) == "" {
					return nil, r.errf(l.n, "SCHEMA block is empty: write one column per line, e.g. `timestamp` DateTime `json:$.timestamp`")
				}
				cols, err := parseSchema(r, body, first)
				if err != nil {
					return nil, err
				}
				d.Columns = cols
			}
			continue
		}
		switch name {
		case "ENGINE":
			d.Engine = unquoteValue(value)
		case "ENGINE_SORTING_KEY":
			d.SortingKey = unquoteValue(value)
		case "ENGINE_PARTITION_KEY":
			d.PartitionKey = unquoteValue(value)
		case "ENGINE_PRIMARY_KEY":
			d.PrimaryKey = unquoteValue(value)
		case "ENGINE_TTL":
			d.TTL = unquoteValue(value)
		case "ENGINE_VER":
			d.Ver = unquoteValue(value)
		case "ENGINE_IS_DELETED":
			d.IsDeleted = unquoteValue(value)
		case "ENGINE_SIGN":
			d.Sign = unquoteValue(value)
		case "ENGINE_VERSION":
			d.Version = unquoteValue(value)
		case "ENGINE_SUMMING_COLUMNS":
			d.SummingColumns = unquoteValue(value)
		case "ENGINE_SETTINGS":
			d.Settings = unquoteValue(value)
		case "TOKEN":
			tok, err := r.token(l.n, value)
			if err != nil {
				return nil, err
			}
			d.Tokens = append(d.Tokens, tok)
		case "DESCRIPTION", "SCHEMA", "INDEXES", "FORWARD_QUERY", "SHARED_WITH":
			return nil, r.errf(l.n, "%s starts a block: write %s > and the block indented below", name, name)
		}
	}
	if len(d.Columns) == 0 {
		return nil, r.errf(1, "no SCHEMA: a datasource declares its columns in a SCHEMA > block")
	}
	return d, nil
}

var (
	jsonRe  = regexp.MustCompile("`json:([^`]*)`")
	codecRe = regexp.MustCompile(`\s+CODEC\((.*)\)\s*$`)
)

func parseSchema(r *reader, body string, first int) ([]*Column, error) {
	var cols []*Column
	seen := map[string]bool{}
	for i, raw := range strings.Split(body, "\n") {
		n := first + i
		l := strings.TrimSpace(raw)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		l = strings.TrimSpace(strings.TrimSuffix(l, ","))
		c := &Column{Line: n}
		if strings.HasPrefix(l, "`") || strings.HasPrefix(l, `"`) {
			end := strings.IndexByte(l[1:], l[0])
			if end < 0 {
				return nil, r.errf(n, "column name %s has no closing %c", l, l[0])
			}
			c.Name, l = l[1:end+1], strings.TrimSpace(l[end+2:])
		} else {
			name, rest, ok := strings.Cut(l, " ")
			if !ok {
				return nil, r.errf(n, "column %q has no type: write `name` Type `json:$.name`", l)
			}
			c.Name, l = name, strings.TrimSpace(rest)
		}
		if m := codecRe.FindStringSubmatchIndex(l); m != nil {
			c.Codec, l = l[m[2]:m[3]], strings.TrimSpace(l[:m[0]])
		}
		if m := jsonRe.FindStringSubmatchIndex(l); m != nil {
			c.JSONPath = strings.TrimSpace(l[m[2]:m[3]])
			l = strings.TrimSpace(l[:m[0]] + " " + l[m[1]:])
		}
		if i := indexWord(l, "DEFAULT"); i >= 0 {
			c.Default, l = strings.TrimSpace(l[i+len("DEFAULT"):]), strings.TrimSpace(l[:i])
		}
		if l == "" {
			return nil, r.errf(n, "column %q has no type", c.Name)
		}
		c.Type = l
		if seen[c.Name] {
			return nil, r.errf(n, "column %q is declared twice", c.Name)
		}
		seen[c.Name] = true
		cols = append(cols, c)
	}
	return cols, nil
}

// indexWord finds word in s as a whole word outside parentheses and quotes, or -1.
func indexWord(s, word string) int {
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '`' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0 && strings.HasPrefix(s[i:], word) && (i == 0 || s[i-1] == ' ') &&
			(i+len(word) == len(s) || s[i+len(word)] == ' '):
			return i
		}
	}
	return -1
}

// ParsePipe reads a .pipe file; file is its path for messages.
func ParsePipe(file, content string) (*Pipe, error) {
	r := newReader(file, content)
	p := &Pipe{Name: strings.TrimSuffix(path.Base(file), ".pipe"), File: file, Directives: map[string]int{}, Line: 1}
	var cur *Node
	for {
		l, name, value, isBlock, err := r.next()
		if err != nil {
			return nil, err
		}
		if l.n == 0 {
			break
		}
		if name == "%" {
			return nil, r.errf(l.n, "%% outside a SQL block: write it as the first line of the SQL > block")
		}
		if !pipeDirectives[name] {
			return nil, r.errf(l.n, "unknown pipe directive %q", name)
		}
		p.Directives[name] = l.n
		switch {
		case name == "NODE":
			if value == "" || isBlock {
				return nil, r.errf(l.n, "NODE needs a name: NODE my_node")
			}
			for _, n := range p.Nodes {
				if n.Name == value {
					return nil, r.errf(l.n, "node %q is declared twice", value)
				}
			}
			cur = &Node{Name: value, Line: l.n}
			p.Nodes = append(p.Nodes, cur)
		case name == "SQL" && isBlock:
			if cur == nil || cur.SQLLine != 0 {
				return nil, r.errf(l.n, "SQL > without a NODE above it: write NODE name, then SQL >")
			}
			body, first := r.block()
			lines := strings.Split(body, "\n")
			if len(lines) > 0 && strings.TrimSpace(lines[0]) == "%" {
				body, first = strings.Join(lines[1:], "\n"), first+1
			}
			if strings.TrimSpace(body) == "" {
				return nil, r.errf(l.n, "node %q has an empty SQL block", cur.Name)
			}
			cur.SQL, cur.SQLLine = body, first
		case name == "DESCRIPTION" && isBlock:
			body, _ := r.block()
			if cur == nil {
				p.Description = body
			}
		case isBlock:
			r.block()
		case name == "SQL" || name == "DESCRIPTION":
			return nil, r.errf(l.n, "%s starts a block: write %s > and the block indented below", name, name)
		case name == "TYPE":
			v := strings.ToLower(unquoteValue(value))
			switch v {
			case "endpoint", "materialized", "copy", "sink":
			default:
				return nil, r.errf(l.n, "TYPE %q: use ENDPOINT, MATERIALIZED, COPY or SINK", value)
			}
			p.Type = v
		case name == "DATASOURCE":
			p.Datasource = unquoteValue(value)
		case name == "TARGET_DATASOURCE":
			p.TargetDatasource = unquoteValue(value)
		case name == "COPY_SCHEDULE":
			p.CopySchedule = unquoteValue(value)
		case name == "COPY_MODE":
			v := strings.ToLower(unquoteValue(value))
			if v != "append" && v != "replace" {
				return nil, r.errf(l.n, "COPY_MODE %q: use append or replace", value)
			}
			p.CopyMode = v
		case name == "TOKEN":
			tok, err := r.token(l.n, value)
			if err != nil {
				return nil, err
			}
			p.Tokens = append(p.Tokens, tok)
		}
	}
	if len(p.Nodes) == 0 {
		return nil, r.errf(1, "no NODE: a pipe has at least one NODE with a SQL > block")
	}
	for _, n := range p.Nodes {
		if n.SQLLine == 0 {
			return nil, r.errf(n.Line, "node %q has no SQL > block", n.Name)
		}
	}
	switch {
	case p.Type == "materialized" && p.Datasource == "":
		return nil, r.errf(p.Directives["TYPE"], "TYPE MATERIALIZED needs DATASOURCE, the datasource it writes into")
	case p.Type == "copy" && p.TargetDatasource == "":
		return nil, r.errf(p.Directives["TYPE"], "TYPE COPY needs TARGET_DATASOURCE, the datasource it writes into")
	}
	return p, nil
}
