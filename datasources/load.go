package datasources

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/chtype"
	"github.com/hourglass-dev/hourglass/ident"
	"gopkg.in/yaml.v3"
)

// Defaults applied by Load when a definition leaves a field out.
const (
	DefaultDatabase = "analytics"
	DefaultSchedule = "5 * * * *"
	DefaultLookback = 2 * time.Hour
	DefaultDelay    = 5 * time.Minute
	DefaultEngine   = "MergeTree"
	// DefaultParamType is the type of an endpoint parameter declared without one.
	DefaultParamType = "String"
	// DefaultTimeParamType is the type of the implicit start and end parameters.
	DefaultTimeParamType = "DateTime"
	// ProjectFile is the file at the root of every project.
	ProjectFile = "hourglass.yaml"
)

// TenantDimensions are the dimension names that identify a tenant; a rollup's default sorting
// key puts those first, then hour, then the other dimensions.
var TenantDimensions = []string{
	"workspace_id", "team_id", "tenant_id", "project_id", "campaign_id", "environment", "account_id", "org_id",
}

// ReservedColumn is the rollup column holding the hour bucket; no dimension or metric may use it.
const ReservedColumn = "hour"

// LocalSuffix ends the name of the local table under a datasource's or rollup's Distributed
// table on a cluster: the rows of datasource events live in events_local on each shard.
const LocalSuffix = "_local"

var (
	projectKeys    = []string{"name", "database", "dsn", "cluster", "defaults", "datasources", "rollups", "endpoints", "tokens"}
	defaultsKeys   = []string{"partition", "schedule", "lookback", "delay"}
	datasourceKeys = []string{"name", "managed", "engine", "partition_by", "order_by", "sample_by", "ttl", "shard_by", "columns"}
	columnKeys     = []string{"name", "type", "codec", "default", "json"}
	rollupKeys     = []string{"name", "source", "time_column", "granularity", "partition", "order_by", "mode", "schedule", "lookback", "delay", "filter", "span", "dimensions", "metrics", "derived", "grains"}
	dimensionKeys  = []string{"name", "column", "expr"}
	metricKeys     = []string{"name", "kind", "column", "expr", "type", "if", "by", "levels", "accuracy", "precision"}
	derivedKeys    = []string{"name", "expr"}
	endpointKeys   = []string{"name", "rollup", "metrics", "group_by", "bucket", "fill", "range", "params", "filters", "order_by", "limit", "offset", "compare", "current_sql", "current_sql_file", "tests", "fresh", "finals"}
	paramKeys      = []string{"name", "type", "default"}
	filterKeys     = []string{"dimension", "param", "op"}
	rangeKeys      = []string{"from", "to"}
	pagingKeys     = []string{"param", "default", "max"}

	metricKinds = []string{"count", "count_if", "sum", "sum_if", "min", "max", "uniq", "uniq_exact", "uniq_combined", "uniq_if", "count_distinct_if", "avg", "arg_min", "arg_max", "any", "any_last", "quantiles"}

	engineRe   = regexp.MustCompile(`(?s)^(Replicated)?(Replacing|Summing|Aggregating|Collapsing|VersionedCollapsing|Graphite)?MergeTree\s*(\(.*\))?$`)
	yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// kinds of definition folders, in load order.
var kinds = []struct{ dir, one string }{
	{"datasources", "datasource"},
	{"rollups", "rollup"},
	{"endpoints", "endpoint"},
}

type loader struct {
	fsys  fs.FS
	file  string
	diags []Diagnostic
	p     *Project
	// fields records, per model object, the position of each key written explicitly.
	fields   map[any]map[string]Pos
	colTypes map[*Column]*chtype.Type
	defaults struct {
		partition PartitionGranularity
		schedule  string
		lookback  time.Duration
		delay     time.Duration
	}
}

// Load reads a project from fsys, rooted at the project folder: hourglass.yaml and the
// definition files under datasources/, rollups/ and endpoints/. It applies defaults and
// validates everything; on invalid input it returns a *Errors holding every problem found, in
// source order. Project.Dir is left empty for the caller to set.
func Load(fsys fs.FS) (*Project, error) {
	l := &loader{
		fsys:     fsys,
		p:        &Project{Database: DefaultDatabase},
		fields:   map[any]map[string]Pos{},
		colTypes: map[*Column]*chtype.Type{},
	}
	l.defaults.partition = PartitionDay
	l.defaults.schedule = DefaultSchedule
	l.defaults.lookback = DefaultLookback
	l.defaults.delay = DefaultDelay

	l.file = ProjectFile
	b, err := fs.ReadFile(fsys, ProjectFile)
	if err != nil {
		l.errAt(Pos{File: ProjectFile}, CodeRead, "cannot read %s (%v): every project has one at its root; run `hourglass init` to create one", ProjectFile, unwrapPathErr(err))
	} else {
		docs, ok := l.parseFile(b)
		if len(docs) == 0 && ok {
			l.errAt(Pos{File: ProjectFile, Line: 1, Col: 1}, CodeRequired, "%s is empty: write at least `name: my_project`", ProjectFile)
		}
		for i, d := range docs {
			if i > 0 {
				l.errf(d, CodeYAML, "%s holds more than one YAML document: keep one, and put extra definitions under datasources/, rollups/ or endpoints/", ProjectFile)
				break
			}
			l.parseProject(d)
		}
	}

	for _, k := range kinds {
		var files []string
		for _, pat := range []string{k.dir + "/*.yaml", k.dir + "/*.yml"} {
			m, _ := fs.Glob(fsys, pat)
			files = append(files, m...)
		}
		sort.Strings(files)
		for _, f := range files {
			l.file = f
			b, err := fs.ReadFile(fsys, f)
			if err != nil {
				l.errAt(Pos{File: f}, CodeRead, "cannot read %s: %v", f, unwrapPathErr(err))
				continue
			}
			docs, _ := l.parseFile(b)
			for _, d := range docs {
				l.parseDefs(k.dir, k.one, d)
			}
		}
	}

	l.applyDefaults()
	l.validate()
	if len(l.diags) > 0 {
		sortDiagnostics(l.diags)
		e := Errors(l.diags)
		return nil, &e
	}
	return l.p, nil
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// parseFile decodes every YAML document of a file, reporting malformed YAML.
func (l *loader) parseFile(b []byte) (docs []*yaml.Node, ok bool) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if err == io.EOF {
			break
		}
		if err != nil {
			line, msg := 1, err.Error()
			if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
				line, _ = strconv.Atoi(m[1])
				msg = m[2]
				// yaml.v3 reports parser (not scanner) errors with a 0-based line.
				if strings.HasPrefix(msg, "did not find expected") || strings.HasPrefix(msg, "found duplicate %") ||
					msg == "found incompatible YAML document" || msg == "found undefined tag handle" {
					line++
				}
			} else {
				msg = strings.TrimPrefix(msg, "yaml: ")
			}
			l.errAt(Pos{File: l.file, Line: line, Col: 1}, CodeYAML, "malformed YAML: %s: check the indentation, colons and quotes here (quote values holding : # [ ] { } or a leading *)", msg)
			return docs, false
		}
		if n.Kind == yaml.DocumentNode && len(n.Content) == 1 && !isNull(n.Content[0]) {
			docs = append(docs, n.Content[0])
		}
	}
	return docs, true
}

// mark records the positions of the keys written for obj.
func (l *loader) mark(obj any, m *mapNode) {
	f := map[string]Pos{}
	for k, v := range m.vals {
		if !isNull(v) {
			f[k] = l.at(deref(v))
		}
	}
	l.fields[obj] = f
}

// set reports whether key was written for obj.
func (l *loader) set(obj any, key string) bool {
	_, ok := l.fields[obj][key]
	return ok
}

// posOf returns the position of key's value for obj, or fallback.
func (l *loader) posOf(obj any, key string, fallback Pos) Pos {
	if p, ok := l.fields[obj][key]; ok {
		return p
	}
	return fallback
}

// name reads the required name of a definition and checks it is an identifier.
func (l *loader) name(m *mapNode, what string) string {
	s, ok := l.required(m, "name", what)
	if !ok {
		return ""
	}
	if err := ident.Check(s); err != nil {
		l.errf(deref(m.vals["name"]), CodeIdent, "%s %v", what, err)
	}
	return s
}

// expr reads an optional free SQL expression and refuses what could end or comment out the
// statement it is pasted into. The engine checks the rest at deploy.
func (l *loader) expr(m *mapNode, key, what string) string {
	s, ok := l.str(m, key)
	if !ok {
		return ""
	}
	if msg := sqlProblem(s); msg != "" {
		l.errf(deref(m.vals[key]), CodeSQL, "%s %s %s", what, key, msg)
	}
	return s
}

// sqlProblem reports a token hourglass refuses in free SQL expressions, or "".
func sqlProblem(s string) string {
	switch {
	case strings.Contains(s, ";"):
		return "holds `;`: write a single expression, not statements"
	case strings.Contains(s, "--"), strings.Contains(s, "/*"):
		return "holds a SQL comment (`--` or `/*`): remove it, and put notes in YAML `#` comments"
	case strings.Contains(s, "`"):
		return "holds a backtick: write plain column names, hourglass quotes identifiers itself"
	}
	return ""
}

func (l *loader) parseProject(n *yaml.Node) {
	m := l.mapping(n, ProjectFile, projectKeys)
	if m == nil {
		return
	}
	p := l.p
	l.mark(p, m)
	p.Name = l.name(m, "project")
	if s, ok := l.str(m, "database"); ok {
		p.Database = s
		if err := ident.Check(s); err != nil {
			l.errf(deref(m.vals["database"]), CodeIdent, "database %v", err)
		}
	}
	p.DSN, _ = l.str(m, "dsn")
	if s, ok := l.str(m, "cluster"); ok {
		p.Cluster = s
		if msg := sqlProblem(s); msg != "" {
			l.errf(deref(m.vals["cluster"]), CodeSQL, "cluster %s", msg)
		}
	}
	if m.has("defaults") {
		l.parseDefaults(m.vals["defaults"])
	}
	if m.has("tokens") {
		l.parseTokens(m.vals["tokens"])
	}
	for _, k := range kinds {
		if !m.has(k.dir) {
			continue
		}
		v := deref(m.vals[k.dir])
		if v.Kind != yaml.SequenceNode {
			l.errf(v, CodeType, "%s must be a list of %s definitions (`- name: …`), got %s", k.dir, k.one, kindName(v))
			continue
		}
		l.parseDefs(k.dir, k.one, v)
	}
}

func (l *loader) parseDefaults(n *yaml.Node) {
	m := l.mapping(n, "defaults", defaultsKeys)
	if m == nil {
		return
	}
	if s, ok := l.str(m, "partition"); ok {
		if l.checkPartition(deref(m.vals["partition"]), s) {
			l.defaults.partition = PartitionGranularity(s)
		}
	}
	if s, ok := l.str(m, "schedule"); ok {
		if l.checkSchedule(deref(m.vals["schedule"]), s) {
			l.defaults.schedule = s
		}
	}
	if d, ok := l.duration(m, "lookback"); ok {
		if l.checkLookback(deref(m.vals["lookback"]), d) {
			l.defaults.lookback = d
		}
	}
	if d, ok := l.duration(m, "delay"); ok {
		if l.checkDelay(deref(m.vals["delay"]), d) {
			l.defaults.delay = d
		}
	}
}

// parseDefs reads one definition (a mapping) or several (a list of mappings).
func (l *loader) parseDefs(dir, one string, n *yaml.Node) {
	n = deref(n)
	var items []*yaml.Node
	switch n.Kind {
	case yaml.SequenceNode:
		items = n.Content
	case yaml.MappingNode:
		// A file under datasources/ holding `datasources: [...]` is a common slip.
		if len(n.Content) == 2 && n.Content[0].Value == dir {
			l.errf(n.Content[0], CodeUnknownKey, "unknown key %q: a file under %s/ holds the %s definitions directly, as one mapping or a list of them, without a %s: key", dir, dir, one, dir)
			return
		}
		items = []*yaml.Node{n}
	default:
		l.errf(n, CodeType, "a %s definition must be a mapping (`name: …` lines) or a list of them, got %s", one, kindName(n))
		return
	}
	for _, it := range items {
		switch one {
		case "datasource":
			if d := l.parseDatasource(it); d != nil {
				l.p.Datasources = append(l.p.Datasources, d)
			}
		case "rollup":
			if r := l.parseRollup(it); r != nil {
				l.p.Rollups = append(l.p.Rollups, r)
			}
		case "endpoint":
			if e := l.parseEndpoint(it); e != nil {
				l.p.Endpoints = append(l.p.Endpoints, e)
			}
		}
	}
}

func (l *loader) parseDatasource(n *yaml.Node) *Datasource {
	m := l.mapping(n, "datasource", datasourceKeys)
	if m == nil {
		return nil
	}
	d := &Datasource{Pos: l.at(m.node), Managed: true, Engine: DefaultEngine}
	l.mark(d, m)
	d.Name = l.name(m, "datasource")
	what := fmt.Sprintf("datasource %q", d.Name)
	if b, ok := l.boolean(m, "managed"); ok {
		d.Managed = b
	}
	if s := l.expr(m, "engine", what); s != "" {
		d.Engine = s
		if !engineRe.MatchString(strings.TrimSpace(s)) {
			l.errf(deref(m.vals["engine"]), CodeEngine, "%s engine %q is not a MergeTree-family engine: write MergeTree, ReplacingMergeTree(version), SummingMergeTree, AggregatingMergeTree, CollapsingMergeTree(sign), VersionedCollapsingMergeTree(sign, version) or a Replicated… variant", what, s)
		}
	}
	d.PartitionBy = l.expr(m, "partition_by", what)
	d.SampleBy = l.expr(m, "sample_by", what)
	d.TTL = l.expr(m, "ttl", what)
	d.ShardBy = l.expr(m, "shard_by", what)
	order, pos := l.strList(m, "order_by")
	for i, o := range order {
		if msg := sqlProblem(o); msg != "" {
			l.errAt(pos[i], CodeSQL, "%s order_by %s", what, msg)
		}
	}
	d.OrderBy = order
	l.fields[&d.OrderBy] = listPos(pos)
	if len(order) == 0 && d.Managed && !m.has("order_by") {
		l.errf(m.node, CodeOrderBy, "%s has no order_by: MergeTree tables need a sorting key; write e.g. order_by: [workspace_id, toStartOfHour(timestamp)]", what)
	}
	if !m.has("columns") {
		l.errf(m.node, CodeRequired, "%s has no columns: add `columns:` with `- {name: timestamp, type: DateTime}` items", what)
	}
	for _, it := range l.list(m, "columns", false) {
		if c := l.parseColumn(it, d.Name); c != nil {
			d.Columns = append(d.Columns, c)
		}
	}
	return d
}

func (l *loader) parseColumn(n *yaml.Node, ds string) *Column {
	m := l.mapping(n, fmt.Sprintf("column of datasource %q", ds), columnKeys)
	if m == nil {
		return nil
	}
	c := &Column{Pos: l.at(m.node)}
	l.mark(c, m)
	c.Name = l.name(m, "column")
	what := fmt.Sprintf("column %q", c.Name)
	if s, ok := l.required(m, "type", what); ok {
		c.Type = s
		t, err := chtype.Parse(s)
		if err != nil {
			l.errf(deref(m.vals["type"]), CodeColumnType, "%s: %v: write a ClickHouse type such as String, LowCardinality(String), UInt32, Float64, DateTime or DateTime64(3, 'UTC')", what, err)
		} else {
			l.colTypes[c] = t
		}
	}
	c.Codec = l.expr(m, "codec", what)
	c.Default = l.expr(m, "default", what)
	if s, ok := l.str(m, "json"); ok {
		node := deref(m.vals["json"])
		src, rest, found := strings.Cut(s, ".$.")
		object := false
		if path, ok := strings.CutPrefix(s, "$."); ok {
			// An object path: the first key is the column holding the object.
			src, rest, found = strings.Cut(path, ".")
			object = true
		}
		keys := strings.Split(rest, ".")
		bad := !found || ident.Check(src) != nil || contains(keys, "")
		for _, k := range keys {
			if sqlProblem(k) != "" || strings.ContainsAny(k, "'\"\\$") {
				bad = true
			}
		}
		if bad {
			l.errf(node, CodeJSON, "%s json %q: write source_column.$.key.subkey when the column holds JSON text, e.g. properties.$.utm.source, or $.object.key when the events hold a JSON object, e.g. $.payload.pathname (keys without quotes, dots or $)", what, s)
		} else {
			c.JSONSource, c.JSONPath, c.JSONObject = src, keys, object
		}
		if c.Default != "" {
			l.errf(node, CodeJSON, "%s has both json and default: a json column is computed from its source; remove default", what)
		}
	}
	return c
}

func (l *loader) parseRollup(n *yaml.Node) *Rollup {
	m := l.mapping(n, "rollup", rollupKeys)
	if m == nil {
		return nil
	}
	r := &Rollup{Pos: l.at(m.node), Granularity: GranularityHour, Mode: ModeScheduled}
	l.mark(r, m)
	r.Name = l.name(m, "rollup")
	what := fmt.Sprintf("rollup %q", r.Name)
	r.Source, _ = l.required(m, "source", what)
	r.TimeColumn, _ = l.str(m, "time_column")
	if s, ok := l.str(m, "granularity"); ok {
		r.Granularity = Granularity(s)
		if s != string(GranularityHour) {
			l.errf(deref(m.vals["granularity"]), CodeGranularity, "%s granularity %q is not supported: rollups are hourly, write granularity: hour (endpoints can still bucket by day)", what, s)
		}
	}
	if s, ok := l.str(m, "partition"); ok {
		r.Partition = PartitionGranularity(s)
		l.checkPartition(deref(m.vals["partition"]), s)
	}
	if s, ok := l.str(m, "mode"); ok {
		r.Mode = PopulateMode(s)
		if s != string(ModeScheduled) && s != string(ModeTrigger) {
			l.errf(deref(m.vals["mode"]), CodeMode, "%s mode %q is not known: write mode: scheduled (populate on a cron) or mode: trigger (insert-trigger view plus backfill)", what, s)
		}
	}
	if s, ok := l.str(m, "schedule"); ok {
		r.Schedule = s
		l.checkSchedule(deref(m.vals["schedule"]), s)
	}
	if d, ok := l.duration(m, "lookback"); ok {
		r.Lookback = d
		l.checkLookback(deref(m.vals["lookback"]), d)
	}
	if d, ok := l.duration(m, "delay"); ok {
		r.Delay = d
		l.checkDelay(deref(m.vals["delay"]), d)
	}
	r.Filter = l.expr(m, "filter", what)
	if d, ok := l.duration(m, "span"); ok {
		r.Span = d
		if d <= 0 || d%time.Hour != 0 {
			l.errf(deref(m.vals["span"]), CodeDuration, "%s span %s: write the longest an entity of the source lasts in whole hours, e.g. span: 4h", what, d)
		}
	}
	var opos []Pos
	r.OrderBy, opos = l.strList(m, "order_by")
	l.fields[&r.OrderBy] = listPos(opos)
	for _, it := range l.list(m, "dimensions", false) {
		if d := l.parseDimension(it, what); d != nil {
			r.Dimensions = append(r.Dimensions, d)
		}
	}
	if !m.has("metrics") {
		l.errf(m.node, CodeRequired, "%s has no metrics: add `metrics:` with items like `- {name: event_count, kind: count}`", what)
	}
	for _, it := range l.list(m, "metrics", false) {
		if mt := l.parseMetric(it, what); mt != nil {
			r.Metrics = append(r.Metrics, mt)
		}
	}
	for _, it := range l.list(m, "derived", false) {
		if d := l.parseDerived(it, what); d != nil {
			r.Derived = append(r.Derived, d)
		}
	}
	l.parseGrains(m, r, what)
	return r
}

// parseGrains reads a rollup's grains: day and week, each once; week is merged from the day
// grain, so it needs day.
func (l *loader) parseGrains(m *mapNode, r *Rollup, what string) {
	names, pos := l.strList(m, "grains")
	for i, g := range names {
		at := pos[i]
		switch Grain(g) {
		case GrainDay, GrainWeek:
		default:
			l.errAt(at, CodeGrains, "%s grain %q is not supported: write grains: [day] or grains: [day, week]", what, g)
			continue
		}
		if r.HasGrain(Grain(g)) {
			l.errAt(at, CodeGrains, "%s lists grain %s twice: keep one", what, g)
			continue
		}
		r.Grains = append(r.Grains, Grain(g))
	}
	if r.HasGrain(GrainWeek) && !r.HasGrain(GrainDay) {
		l.errf(deref(m.vals["grains"]), CodeGrains, "%s has grain week without day: weeks are merged from days, write grains: [day, week]", what)
	}
}

func (l *loader) parseDerived(n *yaml.Node, rollup string) *DerivedMetric {
	m := l.mapping(n, "derived metric of "+rollup, derivedKeys)
	if m == nil {
		return nil
	}
	d := &DerivedMetric{Pos: l.at(m.node)}
	l.mark(d, m)
	d.Name = l.name(m, "derived metric")
	what := fmt.Sprintf("derived metric %q", d.Name)
	if _, ok := l.required(m, "expr", what); ok {
		d.Expr = l.expr(m, "expr", what)
	}
	return d
}

func (l *loader) parseDimension(n *yaml.Node, rollup string) *Dimension {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		d := &Dimension{Name: n.Value, Column: n.Value, Pos: l.at(n)}
		l.fields[d] = map[string]Pos{"name": d.Pos, "column": d.Pos}
		if err := ident.Check(n.Value); err != nil {
			l.errf(n, CodeIdent, "dimension of %s: %v", rollup, err)
		}
		return d
	}
	m := l.mapping(n, "dimension of "+rollup, dimensionKeys)
	if m == nil {
		return nil
	}
	d := &Dimension{Pos: l.at(m.node)}
	l.mark(d, m)
	d.Name = l.name(m, "dimension")
	d.Column, _ = l.str(m, "column")
	d.Expr = l.expr(m, "expr", fmt.Sprintf("dimension %q", d.Name))
	switch {
	case d.Column != "" && d.Expr != "":
		l.errf(deref(m.vals["expr"]), CodeType, "dimension %q has both column and expr: keep column for a plain column, or expr for a computed one", d.Name)
	case d.Column == "" && d.Expr == "":
		d.Column = d.Name
		l.fields[d]["column"] = l.posOf(d, "name", d.Pos)
	}
	return d
}

func (l *loader) parseMetric(n *yaml.Node, rollup string) *Metric {
	m := l.mapping(n, "metric of "+rollup, metricKeys)
	if m == nil {
		return nil
	}
	mt := &Metric{Pos: l.at(m.node)}
	l.mark(mt, m)
	mt.Name = l.name(m, "metric")
	what := fmt.Sprintf("metric %q", mt.Name)
	if s, ok := l.required(m, "kind", what); ok {
		mt.Kind = MetricKind(s)
		if !contains(metricKinds, s) {
			l.errf(deref(m.vals["kind"]), CodeMetricKind, "%s kind %q is not known%s", what, s, suggest(s, metricKinds))
		}
	}
	mt.Column, _ = l.str(m, "column")
	mt.Expr = l.expr(m, "expr", what)
	if s, ok := l.str(m, "type"); ok {
		mt.Type = s
		if _, err := chtype.Parse(s); err != nil {
			l.errf(deref(m.vals["type"]), CodeColumnType, "%s type: %v: write the ClickHouse type of the expression, e.g. String or UInt32", what, err)
		}
	}
	mt.If = l.expr(m, "if", what)
	mt.By, _ = l.str(m, "by")
	if i, ok := l.integer(m, "precision"); ok {
		mt.Precision = i
		at := deref(m.vals["precision"])
		switch {
		case mt.Kind != MetricUniqCombined:
			l.errf(at, CodePrecision, "%s has a precision, which only kind uniq_combined takes: use kind uniq_combined, or remove precision", what)
		case i < MinPrecision || i > MaxPrecision:
			l.errf(at, CodePrecision, "%s precision %d is out of range: write %d to %d (the sketch holds 2^precision cells; 14 errs about as much as uniq)", what, i, MinPrecision, MaxPrecision)
		}
	}
	for _, it := range l.list(m, "levels", true) {
		it = deref(it)
		f, err := strconv.ParseFloat(it.Value, 64)
		if it.Kind != yaml.ScalarNode || err != nil || !(f > 0 && f < 1) {
			l.errf(it, CodeMetricArgs, "%s levels: %q is not a quantile level: write numbers between 0 and 1, e.g. levels: [0.75, 0.95]", what, it.Value)
			continue
		}
		mt.Levels = append(mt.Levels, f)
	}
	if s, ok := l.str(m, "accuracy"); ok {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || !(f > 0 && f < 1) {
			l.errf(deref(m.vals["accuracy"]), CodeMetricArgs, "%s accuracy %q: write the relative accuracy of the quantiles, a number between 0 and 1 such as 0.01", what, s)
		} else {
			mt.Accuracy = f
		}
	}
	return mt
}

func (l *loader) parseEndpoint(n *yaml.Node) *Endpoint {
	m := l.mapping(n, "endpoint", endpointKeys)
	if m == nil {
		return nil
	}
	e := &Endpoint{Pos: l.at(m.node)}
	l.mark(e, m)
	e.Name = l.name(m, "endpoint")
	what := fmt.Sprintf("endpoint %q", e.Name)
	e.Rollup, _ = l.required(m, "rollup", what)
	if !m.has("metrics") {
		l.errf(m.node, CodeRequired, "%s has no metrics: add `metrics: [a, b]` naming metrics of rollup %q", what, e.Rollup)
	}
	var mpos, gpos, opos []Pos
	e.Metrics, mpos = l.strList(m, "metrics")
	e.GroupBy, gpos = l.strList(m, "group_by")
	e.OrderBy, opos = l.strList(m, "order_by")
	l.fields[&e.Metrics] = listPos(mpos)
	l.fields[&e.GroupBy] = listPos(gpos)
	l.fields[&e.OrderBy] = listPos(opos)
	if s, ok := l.str(m, "bucket"); ok {
		e.Bucket = s
		if s != "hour" && s != "day" {
			l.errf(deref(m.vals["bucket"]), CodeBucket, "%s bucket %q is not supported: write bucket: hour or bucket: day, or leave it out for totals", what, s)
		}
	}
	if b, ok := l.boolean(m, "fill"); ok {
		e.Fill = b
	}
	if m.has("limit") && deref(m.vals["limit"]).Kind == yaml.MappingNode {
		e.LimitParam = l.parsePaging(m.vals["limit"], what, "limit")
	} else if i, ok := l.integer(m, "limit"); ok {
		e.Limit = i
		if i < 0 {
			l.errf(deref(m.vals["limit"]), CodeLimit, "%s limit %d is negative: write a positive number, or leave limit out for no limit", what, i)
			e.Limit = 0
		}
	}
	if m.has("offset") {
		e.OffsetParam = l.parsePaging(m.vals["offset"], what, "offset")
	}
	if s, ok := l.str(m, "compare"); ok {
		e.Compare = s
		if s != ComparePreviousPeriod {
			l.errf(deref(m.vals["compare"]), CodeCompare, "%s compare %q is not known: write compare: %s (each metric m also as m_previous and m_change), or leave it out", what, s, ComparePreviousPeriod)
		}
	}
	e.From, e.To = "start", "end"
	if m.has("range") {
		if rm := l.mapping(m.vals["range"], what+" range", rangeKeys); rm != nil {
			l.mark(&e.From, rm)
			if s, ok := l.required(rm, "from", what+" range"); ok {
				e.From = s
			}
			if s, ok := l.required(rm, "to", what+" range"); ok {
				e.To = s
			}
		}
	}
	for _, it := range l.list(m, "params", false) {
		if p := l.parseParam(it, what); p != nil {
			e.Params = append(e.Params, p)
		}
	}
	for _, it := range l.list(m, "filters", false) {
		if f := l.parseFilter(it, what); f != nil {
			e.Filters = append(e.Filters, f)
		}
	}
	// The range params always exist; declared ones must be Date or DateTime.
	var implicit []*Param
	for _, name := range []string{e.From, e.To} {
		if name == "" {
			continue
		}
		p := e.Param(name)
		if p == nil {
			implicit = append(implicit, &Param{Name: name, Type: DefaultTimeParamType, Pos: e.Pos})
			continue
		}
		if t, err := chtype.Parse(p.Type); err == nil && !t.IsDateTime() && t.Base().Name != "Date" {
			l.errAt(l.posOf(p, "type", p.Pos), CodeParamType, "%s param %s has type %s: the time range params are Date (whole days, the last one included) or DateTime (the half-open [from, to)); write type: Date or type: DateTime", what, name, p.Type)
		}
	}
	// The paging params exist too: an unsigned integer, its default the paging's.
	for _, pg := range []*Paging{e.LimitParam, e.OffsetParam} {
		if pg == nil || pg.Param == "" || e.Param(pg.Param) != nil {
			continue
		}
		implicit = append(implicit, &Param{Name: pg.Param, Type: "UInt64", Default: strconv.Itoa(pg.Default), Pos: pg.Pos})
	}
	e.Params = append(implicit, e.Params...)
	l.parseCurrentSQL(m, e, what)
	if b, ok := l.boolean(m, "fresh"); ok {
		e.NoFresh = !b
	}
	l.parseFinals(m, e, what)
	for _, it := range l.list(m, "tests", false) {
		if tc := l.parseEndpointTest(it, what); tc != nil {
			e.Tests = append(e.Tests, tc)
		}
	}
	return e
}

// parseFinals reads an endpoint's finals: true (every combination of its filters), false, or
// a list of combinations, each a list of filter dimensions ([] for no filter).
func (l *loader) parseFinals(m *mapNode, e *Endpoint, what string) {
	n := deref(m.vals["finals"])
	if n == nil || isNull(n) {
		return
	}
	l.fields[&e.Finals] = map[string]Pos{"": l.at(n)}
	if n.Kind == yaml.ScalarNode {
		b, ok := l.boolean(m, "finals")
		if ok && b {
			e.Finals = filterCombinations(e.Filters)
		}
		return
	}
	if n.Kind != yaml.SequenceNode {
		l.errf(n, CodeFinals, "%s finals: write true (every combination of the endpoint's filters) or a list of combinations, e.g. [[], [campaign_id]]; got %s", what, kindName(n))
		return
	}
	for _, c := range n.Content {
		c = deref(c)
		if c.Kind != yaml.SequenceNode {
			l.errf(c, CodeFinals, "%s finals: each combination is a list of filter dimensions, e.g. [campaign_id] or [] for none; got %s", what, kindName(c))
			continue
		}
		combo := []string{}
		for _, d := range c.Content {
			d = deref(d)
			if d.Kind != yaml.ScalarNode {
				l.errf(d, CodeFinals, "%s finals: %s is not a dimension name", what, kindName(d))
				continue
			}
			combo = append(combo, d.Value)
		}
		e.Finals = append(e.Finals, combo)
	}
}

// filterCombinations returns every subset of an endpoint's equality filter dimensions, each
// in declaration order, the empty one first. A dimension with another op (in, <, …) selects
// several values, whose finished numbers cannot be added up, so it is in none.
func filterCombinations(filters []*Filter) [][]string {
	var dims, other []string
	for _, f := range filters {
		if f.Op != "" && f.Op != FilterEq {
			other = append(other, f.Dimension)
		}
	}
	for _, f := range filters {
		if !contains(dims, f.Dimension) && !contains(other, f.Dimension) {
			dims = append(dims, f.Dimension)
		}
	}
	var out [][]string
	for mask := 0; mask < 1<<len(dims); mask++ {
		combo := []string{}
		for i, d := range dims {
			if mask&(1<<i) != 0 {
				combo = append(combo, d)
			}
		}
		out = append(out, combo)
	}
	return out
}

// parseCurrentSQL reads current_sql or current_sql_file and checks what can be checked
// without an engine: one statement, and only the endpoint's parameters. The engine parses it
// when validate or switch runs it.
func (l *loader) parseCurrentSQL(m *mapNode, e *Endpoint, what string) {
	inline, hasInline := l.str(m, "current_sql")
	file, hasFile := l.str(m, "current_sql_file")
	var at *yaml.Node
	switch {
	case hasInline && hasFile:
		l.errf(deref(m.vals["current_sql_file"]), CodeCurrentSQL, "%s has both current_sql and current_sql_file: keep one", what)
		return
	case hasInline:
		at = deref(m.vals["current_sql"])
		e.CurrentSQL = inline
	case hasFile:
		at = deref(m.vals["current_sql_file"])
		b, err := fs.ReadFile(l.fsys, strings.TrimPrefix(path.Clean(file), "./"))
		if err != nil {
			l.errf(at, CodeCurrentSQL, "%s current_sql_file %s cannot be read (%v): write a path relative to the project folder", what, file, unwrapPathErr(err))
			return
		}
		e.CurrentSQL, e.CurrentSQLFile = string(b), file
	default:
		return
	}
	sql, one := oneStatement(e.CurrentSQL)
	e.CurrentSQL = strings.TrimSpace(sql)
	if !one {
		l.errf(at, CodeCurrentSQL, "%s current SQL holds `;` between statements: write one SELECT, the query the endpoint replaces", what)
		return
	}
	if e.CurrentSQL == "" {
		l.errf(at, CodeCurrentSQL, "%s current SQL is empty: write the query the endpoint replaces, or leave the key out", what)
		return
	}
	for _, p := range QueryParams(e.CurrentSQL) {
		if e.Param(p) == nil {
			var names []string
			for _, x := range e.Params {
				names = append(names, x.Name)
			}
			l.errf(at, CodeCurrentSQL, "%s current SQL uses the parameter {%s:…}, which the endpoint does not declare%s", what, p, suggest(p, names))
		}
	}
}

// oneStatement returns sql up to its first `;` outside quotes and comments, and whether only
// whitespace and comments follow it (a query, not several statements).
func oneStatement(sql string) (string, bool) {
	cut := -1
	for i := 0; i < len(sql); i++ {
		switch c := sql[i]; {
		case c == ';':
			if cut < 0 {
				cut = i
			}
		case c == '\'' || c == '"' || c == '`':
			if cut >= 0 {
				return sql[:cut], false
			}
			for i++; i < len(sql) && sql[i] != c; i++ {
				if sql[i] == '\\' {
					i++
				}
			}
		case strings.HasPrefix(sql[i:], "--"):
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case strings.HasPrefix(sql[i:], "/*"):
			if j := strings.Index(sql[i+2:], "*/"); j >= 0 {
				i += j + 3
			} else {
				i = len(sql)
			}
		case cut >= 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n':
			return sql[:cut], false
		}
	}
	if cut >= 0 {
		return sql[:cut], true
	}
	return sql, true
}

// queryParamRe matches a ClickHouse query parameter, {name:Type}.
var queryParamRe = regexp.MustCompile(`\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*[A-Za-z][^{}]*\}`)

// QueryParams returns the names of the {name:Type} parameters a query uses, each once, in
// order of first use.
func QueryParams(sql string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range queryParamRe.FindAllStringSubmatch(sql, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	return out
}

// parseEndpointTest reads one entry of tests: a mapping of parameter names to values.
func (l *loader) parseEndpointTest(n *yaml.Node, what string) *EndpointTest {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		l.errf(n, CodeEndpointTest, "each entry of %s tests is a mapping of parameter values, e.g. {campaign_id: c1, start: -7d, end: now}; got %s", what, kindName(n))
		return nil
	}
	tc := &EndpointTest{Params: map[string]string{}, Pos: l.at(n)}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
			l.errf(k, CodeEndpointTest, "%s tests: %s must be a parameter name with a single value", what, kindName(k))
			continue
		}
		if _, dup := tc.Params[k.Value]; dup {
			l.errf(k, CodeDupKey, "%s tests: parameter %q appears twice in one entry: keep one", what, k.Value)
			continue
		}
		val := v.Value
		if isNull(v) {
			val = ""
		}
		tc.Params[k.Value] = val
	}
	return tc
}

func listPos(ps []Pos) map[string]Pos {
	m := map[string]Pos{}
	for i, p := range ps {
		m[strconv.Itoa(i)] = p
	}
	return m
}

func (l *loader) parseParam(n *yaml.Node, endpoint string) *Param {
	m := l.mapping(n, "param of "+endpoint, paramKeys)
	if m == nil {
		return nil
	}
	p := &Param{Pos: l.at(m.node), Type: DefaultParamType}
	l.mark(p, m)
	p.Name = l.name(m, "param")
	if s, ok := l.str(m, "type"); ok {
		p.Type = s
		if _, err := chtype.Parse(s); err != nil {
			l.errf(deref(m.vals["type"]), CodeParamType, "param %q: %v: write a ClickHouse type such as String, UInt32 or DateTime", p.Name, err)
		}
	}
	p.Default, _ = l.str(m, "default")
	return p
}

func (l *loader) parseFilter(n *yaml.Node, endpoint string) *Filter {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		f := &Filter{Dimension: n.Value, Param: n.Value, Op: FilterEq, Pos: l.at(n)}
		l.fields[f] = map[string]Pos{"dimension": f.Pos, "param": f.Pos}
		return f
	}
	m := l.mapping(n, "filter of "+endpoint, filterKeys)
	if m == nil {
		return nil
	}
	f := &Filter{Pos: l.at(m.node)}
	l.mark(f, m)
	f.Dimension, _ = l.required(m, "dimension", "filter")
	f.Param, _ = l.str(m, "param")
	if f.Param == "" {
		f.Param = f.Dimension
	}
	if s, ok := l.str(m, "op"); ok {
		f.Op = strings.ToLower(strings.Join(strings.Fields(s), " "))
		switch f.Op {
		case "==":
			f.Op = FilterEq
		case "<>":
			f.Op = FilterNe
		case "not_in":
			f.Op = FilterNotIn
		}
		if !contains(FilterOps, f.Op) {
			l.errf(deref(m.vals["op"]), CodeFilterOp, "filter on %q: op %q is not known: write one of %s", f.Dimension, s, strings.Join(FilterOps, ", "))
		}
	}
	if f.Op == "" {
		f.Op = FilterEq
	}
	return f
}

// parsePaging reads limit: {param, default, max} or offset: {param, default, max}.
func (l *loader) parsePaging(n *yaml.Node, endpoint, key string) *Paging {
	m := l.mapping(n, endpoint+" "+key, pagingKeys)
	if m == nil {
		return nil
	}
	pg := &Paging{Pos: l.at(m.node)}
	l.mark(pg, m)
	if s, ok := l.required(m, "param", endpoint+" "+key); ok {
		pg.Param = s
		if err := ident.Check(s); err != nil {
			l.errf(deref(m.vals["param"]), CodeIdent, "%s %s param %v", endpoint, key, err)
		}
	}
	for _, k := range []string{"default", "max"} {
		if i, ok := l.integer(m, k); ok {
			if i < 0 {
				l.errf(deref(m.vals[k]), CodeLimit, "%s %s %s %d is negative: write 0 or more", endpoint, key, k, i)
				continue
			}
			if k == "default" {
				pg.Default = i
			} else {
				pg.Max = i
			}
		}
	}
	if key == "limit" && pg.Default == 0 {
		l.errf(m.node, CodeLimit, "%s limit has no default: write how many rows a call gets when it does not say, e.g. limit: {param: %s, default: 50, max: 1000}", endpoint, pg.Param)
	}
	if pg.Max > 0 && pg.Default > pg.Max {
		l.errf(m.node, CodeLimit, "%s %s default %d is above its max %d: lower the default or raise max", endpoint, key, pg.Default, pg.Max)
	}
	return pg
}

func (l *loader) checkPartition(n *yaml.Node, s string) bool {
	if s == string(PartitionDay) || s == string(PartitionMonth) {
		return true
	}
	l.errf(n, CodePartition, "partition %q is not supported: write partition: day (the default) or partition: month", s)
	return false
}

// checkSchedule parses a five-field UTC cron expression and refuses schedules that fire more
// often than hourly (the rollup is hourly: more runs only repeat work).
func (l *loader) checkSchedule(n *yaml.Node, s string) bool {
	if msg := scheduleProblem(s); msg != "" {
		code := CodeCron
		if strings.HasPrefix(msg, "fires") {
			code = CodeSchedule
		}
		l.errf(n, code, "schedule %q %s", s, msg)
		return false
	}
	return true
}

func (l *loader) checkLookback(n *yaml.Node, d time.Duration) bool {
	if d < 0 {
		l.errf(n, CodeDuration, "lookback %s is negative: write how far back each populate recomputes, e.g. 2h, or 0s for none", d)
		return false
	}
	return true
}

func (l *loader) checkDelay(n *yaml.Node, d time.Duration) bool {
	switch {
	case d < 0:
		l.errf(n, CodeDuration, "delay %s is negative: write how long after its end an hour counts as closed, e.g. 5m, or 0s", d)
		return false
	case d >= time.Hour:
		l.errf(n, CodeDuration, "delay %s is an hour or more: an hour must close before the next one ends; write less than 1h (e.g. 5m) and use lookback for late data", d)
		return false
	}
	return true
}

func (l *loader) applyDefaults() {
	for _, r := range l.p.Rollups {
		if !l.set(r, "partition") {
			r.Partition = l.defaults.partition
		}
		if !l.set(r, "schedule") {
			r.Schedule = l.defaults.schedule
		}
		if !l.set(r, "lookback") {
			r.Lookback = l.defaults.lookback
		}
		if !l.set(r, "delay") {
			r.Delay = l.defaults.delay
		}
		if len(r.OrderBy) == 0 {
			r.OrderBy = DefaultOrderBy(r)
		}
	}
}

// DefaultOrderBy returns the default sorting key of a rollup: its tenant-like dimensions (see
// TenantDimensions) in declared order, then hour, then every other dimension in declared
// order. Every dimension is in the key: an AggregatingMergeTree merges rows whose sorting keys
// are equal, so a dimension left out would be merged away.
func DefaultOrderBy(r *Rollup) []string {
	var tenant, rest []string
	for _, d := range r.Dimensions {
		if contains(TenantDimensions, d.Name) {
			tenant = append(tenant, d.Name)
		} else {
			rest = append(rest, d.Name)
		}
	}
	out := append(tenant, ReservedColumn)
	return append(out, rest...)
}
