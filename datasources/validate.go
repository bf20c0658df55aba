package datasources

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/chtype"
	"github.com/hourglass-dev/hourglass/ident"
	"github.com/hourglass-dev/hourglass/timerange"
	"github.com/robfig/cron/v3"
)

// scheduleProblem returns why s is not an acceptable schedule, or "". Messages about
// frequency start with "fires".
func scheduleProblem(s string) string {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "TZ=") || strings.HasPrefix(t, "CRON_TZ=") {
		return "sets a time zone: schedules are in UTC; remove the TZ= prefix and write e.g. \"5 * * * *\""
	}
	sched, err := cron.ParseStandard(t)
	if err != nil {
		return fmt.Sprintf("is not a valid cron expression (%v): write five fields, minute hour day month weekday, e.g. \"5 * * * *\" for :05 every hour", err)
	}
	// The rollup is hourly: find the shortest gap over two weeks of fire times.
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	end := at.Add(14 * 24 * time.Hour)
	prev := sched.Next(at)
	for n := 0; n < 2000 && !prev.IsZero() && prev.Before(end); n++ {
		next := sched.Next(prev)
		if next.IsZero() {
			break
		}
		if gap := next.Sub(prev); gap < time.Hour {
			return fmt.Sprintf("fires every %s (at %s and %s): the rollup is hourly, so run at most once an hour, e.g. \"5 * * * *\"", gap, prev.Format("15:04"), next.Format("15:04"))
		}
		prev = next
	}
	return ""
}

// validate checks the references between definitions, after all files are read.
func (l *loader) validate() {
	p := l.p
	type owner struct {
		kind string
		pos  Pos
	}
	tables := map[string]owner{}
	claim := func(kind, name string, pos Pos) {
		if name == "" {
			return
		}
		if prev, ok := tables[name]; ok {
			l.errAt(pos, CodeDupName, "%s name %q is already used by the %s at %s: datasources, rollups and endpoints share one namespace; rename one", kind, name, prev.kind, prev.pos)
			return
		}
		tables[name] = owner{kind, pos}
	}
	// On a cluster, a datasource or rollup named x also owns the local table x_local.
	claimLocal := func(kind, name string, pos Pos) {
		if p.Cluster != "" && name != "" {
			claim(kind+" (local table)", name+LocalSuffix, pos)
		}
	}
	for _, d := range p.Datasources {
		claim("datasource", d.Name, l.posOf(d, "name", d.Pos))
		claimLocal("datasource", d.Name, l.posOf(d, "name", d.Pos))
		l.validateDatasource(d)
	}
	for _, r := range p.Rollups {
		claim("rollup", r.Name, l.posOf(r, "name", r.Pos))
		claimLocal("rollup", r.Name, l.posOf(r, "name", r.Pos))
		l.validateRollup(r)
	}
	for _, e := range p.Endpoints {
		claim("endpoint", e.Name, l.posOf(e, "name", e.Pos))
		l.validateEndpoint(e)
	}
	l.validateTokens()
}

// uniqueNames reports a duplicate name within one definition.
type uniqueNames struct {
	l    *loader
	seen map[string]string // name → "column at file:line:col"
}

func (l *loader) unique() *uniqueNames { return &uniqueNames{l: l, seen: map[string]string{}} }

func (u *uniqueNames) add(kind, name string, pos Pos, where string) {
	if name == "" {
		return
	}
	if prev, ok := u.seen[name]; ok {
		u.l.errAt(pos, CodeDupName, "%s %q of %s is already declared as the %s: rename one", kind, name, where, prev)
		return
	}
	u.seen[name] = fmt.Sprintf("%s at %s", kind, pos)
}

func isAggregate(t *chtype.Type) bool {
	n := t.Base().Name
	return n == "AggregateFunction" || n == "SimpleAggregateFunction"
}

func isJSONType(t *chtype.Type) bool {
	b := t.Base()
	return len(b.Args) == 0 && (b.Name == "String" || t.IsNumeric())
}

func (l *loader) validateDatasource(d *Datasource) {
	where := fmt.Sprintf("datasource %q", d.Name)
	if l.p.Cluster != "" && d.Managed && strings.TrimSpace(d.ShardBy) == "" {
		l.errAt(d.Pos, CodeShardBy, "%s has no shard_by: on a cluster (cluster: %s) its rows are inserted through a Distributed table, which needs a sharding key; write e.g. shard_by: cityHash64(user_id) to keep each user's rows on one shard, or shard_by: rand()", where, l.p.Cluster)
	}
	u := l.unique()
	for _, c := range d.Columns {
		u.add("column", c.Name, l.posOf(c, "name", c.Pos), where)
	}
	for _, c := range d.Columns {
		if c.JSONSource == "" {
			continue
		}
		jpos := l.posOf(c, "json", c.Pos)
		if t := l.colTypes[c]; t != nil && !isJSONType(t) {
			l.errAt(l.posOf(c, "type", c.Pos), CodeJSON, "column %q extracted from JSON has type %s: use String, LowCardinality(String), a number, Bool, or Nullable of those", c.Name, c.Type)
		}
		src := d.Column(c.JSONSource)
		switch {
		case src == nil:
			l.errAt(jpos, CodeUnknownColumn, "column %q extracts from %q, which is not a column of %s%s", c.Name, c.JSONSource, where, l.columnHint(d, c.JSONSource))
		case src.JSONSource != "":
			l.errAt(jpos, CodeJSON, "column %q extracts from %q, itself extracted from JSON: extract from the raw String column %q instead", c.Name, c.JSONSource, src.JSONSource)
		case l.colTypes[src] != nil && !l.colTypes[src].IsString():
			l.errAt(jpos, CodeJSON, "column %q extracts from %q of type %s: the JSON source must be a String column", c.Name, c.JSONSource, src.Type)
		}
	}
	// Plain column names in the sorting key must exist.
	for i, o := range d.OrderBy {
		if len(d.Columns) == 0 {
			break // reported already
		}
		o = strings.TrimSpace(o)
		if ident.Check(o) == nil && d.Column(o) == nil {
			pos := l.posOf(&d.OrderBy, strconv.Itoa(i), d.Pos)
			l.errAt(pos, CodeUnknownColumn, "%s order_by names %q, which is not one of its columns%s", where, o, l.columnHint(d, o))
		}
	}
}

// columnHint suggests the closest column name of d.
func (l *loader) columnHint(d *Datasource, name string) string {
	var names []string
	for _, c := range d.Columns {
		names = append(names, c.Name)
	}
	if len(names) == 0 {
		return ""
	}
	return suggest(name, names)
}

func (l *loader) validateRollup(r *Rollup) {
	where := fmt.Sprintf("rollup %q", r.Name)
	// Names: dimensions and metrics share the rollup's columns with hour.
	u := l.unique()
	for _, d := range r.Dimensions {
		pos := l.posOf(d, "name", d.Pos)
		if d.Name == ReservedColumn {
			l.errAt(pos, CodeReserved, "dimension name %q is reserved for the time bucket of %s: rename it, e.g. hour_of_day with expr: toHour(timestamp)", d.Name, where)
			continue
		}
		u.add("dimension", d.Name, pos, where)
	}
	column := func(kind, name string, obj any, at Pos) {
		pos := l.posOf(obj, "name", at)
		if name == ReservedColumn {
			l.errAt(pos, CodeReserved, "%s name %q is reserved for the time bucket of %s: rename it", kind, name, where)
			return
		}
		u.add(kind, name, pos, where)
	}
	for _, m := range r.Metrics {
		column("metric", m.Name, m, m.Pos)
	}
	for _, d := range r.Derived {
		column("derived metric", d.Name, d, d.Pos)
	}
	l.validateRollupOrderBy(r, where)
	l.validateDerived(r, where)
	if len(r.Grains) > 0 && r.Mode == ModeTrigger {
		l.errAt(l.posOf(r, "grains", r.Pos), CodeGrains, "%s has grains and mode trigger: grains are kept in step by populate, which a trigger rollup skips after its cut-over; use mode: scheduled, or remove grains", where)
	}

	// Source.
	srcPos := l.posOf(r, "source", r.Pos)
	var src *Datasource
	overRollup := false
	switch {
	case r.Source == "":
	case l.p.Datasource(r.Source) != nil:
		src = l.p.Datasource(r.Source)
	case l.p.Rollup(r.Source) != nil:
		other := l.p.Rollup(r.Source)
		switch {
		case other == r:
			l.errAt(srcPos, CodeRollupOfRollup, "%s reads itself (a cycle): set source to the datasource it aggregates", where)
		case other.Source != "" && l.p.Datasource(other.Source) == nil:
			l.errAt(srcPos, CodeRollupOfRollup, "%s reads rollup %q, which itself reads a rollup: a rollup may read a rollup of a datasource (a derived table such as sessions), one level deep", where, r.Source)
		case other.Mode == ModeTrigger:
			l.errAt(srcPos, CodeRollupOfRollup, "%s reads rollup %q, whose mode is trigger: late rows would reach %q without a populate to re-open %s's hours; give %q mode: scheduled", where, r.Source, r.Source, r.Name, r.Source)
		default:
			src, overRollup = l.rollupColumns(other), true
		}
	default:
		l.errAt(srcPos, CodeUnknownSource, "%s source %q is not a declared datasource or rollup%s", where, r.Source, l.datasourceHint(r.Source))
	}
	switch {
	case overRollup && r.Span == 0 && !l.set(r, "span"):
		l.errAt(srcPos, CodeDerivedSource, "%s reads rollup %q (a derived table) but has no span: write the longest an entity of %q lasts, e.g. span: 4h — each populate reads that much of %q around its hours", where, r.Source, r.Source, r.Source)
	case overRollup && r.Mode == ModeTrigger:
		l.errAt(l.posOf(r, "mode", r.Pos), CodeDerivedSource, "%s reads rollup %q: an insert trigger cannot follow a rollup that is recomputed; use mode: scheduled", where, r.Source)
	case !overRollup && src != nil && l.set(r, "span"):
		l.errAt(l.posOf(r, "span", r.Pos), CodeDerivedSource, "%s has a span, which only a rollup reading another rollup takes: remove it", where)
	}
	if src == nil || len(src.Columns) == 0 {
		return // an unknown source, or one without columns, is reported already
	}
	if overRollup && r.TimeColumn == "" {
		if r.Span == 0 {
			return // the missing span is reported: one thing at a time
		}
		l.errAt(r.Pos, CodeTimeColumn, "%s reads rollup %q and has no time_column: name the metric or dimension of %q each row belongs to the hour of, e.g. time_column: first_hit (a session belongs to the hour it starts in)", where, r.Source, r.Source)
		return
	}

	// Time column.
	if r.TimeColumn == "" {
		var times []string
		for _, c := range src.Columns {
			if t := l.colTypes[c]; t != nil && t.IsDateTime() {
				times = append(times, c.Name)
			}
		}
		switch len(times) {
		case 1:
			r.TimeColumn = times[0]
		case 0:
			l.errAt(r.Pos, CodeTimeColumn, "%s has no time column: datasource %q has no DateTime column; add one (e.g. timestamp DateTime) and write time_column: timestamp", where, src.Name)
		default:
			l.errAt(r.Pos, CodeTimeColumn, "%s has no time_column and datasource %q has several DateTime columns (%s): write time_column: %s", where, src.Name, strings.Join(times, ", "), times[0])
		}
	} else {
		pos := l.posOf(r, "time_column", r.Pos)
		c := src.Column(r.TimeColumn)
		switch {
		case c == nil:
			l.errAt(pos, CodeTimeColumn, "%s time_column %q is not a column of datasource %q%s", where, r.TimeColumn, src.Name, l.columnHint(src, r.TimeColumn))
		case l.colTypes[c] == nil:
		case !l.colTypes[c].IsDateTime():
			l.errAt(pos, CodeTimeColumn, "%s time_column %q has type %s: hourly buckets need DateTime or DateTime64 (a Date has no hours); use such a column", where, r.TimeColumn, c.Type)
		}
	}

	// Dimensions.
	for _, d := range r.Dimensions {
		if d.Column == "" {
			continue
		}
		l.columnRef(src, d.Column, l.posOf(d, "column", d.Pos), fmt.Sprintf("dimension %q of %s", d.Name, where), func(t *chtype.Type) string {
			if isAggregate(t) {
				return "is an aggregate state and cannot be grouped by"
			}
			return ""
		})
	}

	// Metrics.
	for _, m := range r.Metrics {
		l.validateMetric(src, m, where)
	}
}

// rollupColumns is what a rollup reading rollup src sees as its source: one row per value of
// src's dimensions (an entity, such as a session) with src's metrics finalised, as columns
// named after them. Types are known for dimensions and for the metrics whose type follows
// from their kind; the compiler checks the rest.
func (l *loader) rollupColumns(src *Rollup) *Datasource {
	d := &Datasource{Name: src.Name, Pos: src.Pos}
	base := l.p.Datasource(src.Source)
	typeOf := func(name string) *chtype.Type {
		if base == nil {
			return nil
		}
		if c := base.Column(name); c != nil {
			return l.colTypes[c]
		}
		return nil
	}
	add := func(name string, t *chtype.Type) {
		c := &Column{Name: name, Pos: src.Pos}
		if t != nil {
			c.Type = t.String()
			l.colTypes[c] = t
		}
		d.Columns = append(d.Columns, c)
	}
	for _, dim := range src.Dimensions {
		switch {
		case dim.Column != "":
			add(dim.Name, typeOf(dim.Column))
		default:
			add(dim.Name, chtype.MustParse("String"))
		}
	}
	for _, m := range src.Metrics {
		var t *chtype.Type
		switch m.Kind {
		case MetricCount, MetricCountIf, MetricUniq, MetricUniqExact, MetricUniqIf, MetricCountDistinctIf:
			t = chtype.MustParse("UInt64")
		case MetricAvg:
			t = chtype.MustParse("Float64")
		case MetricMin, MetricMax, MetricAny, MetricAnyLast, MetricArgMin, MetricArgMax:
			if m.Expr != "" {
				t, _ = chtype.Parse(m.Type)
			} else {
				t = typeOf(m.Column)
			}
		}
		add(m.Name, t)
	}
	return d
}

// validateDerived checks that each derived metric uses only metrics of the rollup and derived
// metrics declared before it (so there is no cycle).
func (l *loader) validateDerived(r *Rollup, where string) {
	var known []string
	for _, m := range r.Metrics {
		known = append(known, m.Name)
	}
	for i, d := range r.Derived {
		pos := l.posOf(d, "expr", d.Pos)
		if strings.TrimSpace(d.Expr) == "" {
			continue
		}
		used, bad := 0, false
		for _, ref := range ident.Refs(d.Expr) {
			switch {
			case r.Metric(ref.Name) != nil:
				used++
			case r.DerivedMetric(ref.Name) != nil:
				used++
				later := true
				for _, e := range r.Derived[:i] {
					if e.Name == ref.Name {
						later = false
					}
				}
				if later {
					l.errAt(pos, CodeDerived, "derived metric %q of %s uses %q, which is not declared before it: a derived metric may use metrics and the derived metrics above it", d.Name, where, ref.Name)
				}
			case ident.IsKeyword(ref.Name):
			case r.Dimension(ref.Name) != nil:
				bad = true
				l.errAt(pos, CodeDerived, "derived metric %q of %s uses dimension %q: a derived metric is computed from metrics after the merge; use metric names only", d.Name, where, ref.Name)
			default:
				bad = true
				l.errAt(pos, CodeDerived, "derived metric %q of %s uses %q, which is not a metric of the rollup%s", d.Name, where, ref.Name, suggest(ref.Name, known))
			}
		}
		if used == 0 && !bad {
			l.errAt(pos, CodeDerived, "derived metric %q of %s uses no metric: write an expression over metric names, e.g. expr: \"bounced_sessions / session_count\"", d.Name, where)
		}
		known = append(known, d.Name)
	}
}

func (l *loader) datasourceHint(name string) string {
	var names []string
	for _, d := range l.p.Datasources {
		names = append(names, d.Name)
	}
	if len(names) == 0 {
		return ": declare it under datasources"
	}
	return suggest(name, names)
}

func (l *loader) validateRollupOrderBy(r *Rollup, where string) {
	if !l.set(r, "order_by") {
		return
	}
	pos := l.posOf(r, "order_by", r.Pos)
	seen := map[string]bool{}
	for i, k := range r.OrderBy {
		pos := l.posOf(&r.OrderBy, strconv.Itoa(i), pos)
		switch {
		case seen[k]:
			l.errAt(pos, CodeRollupOrderBy, "%s order_by lists %q twice: keep one", where, k)
		case k != ReservedColumn && r.Dimension(k) == nil:
			l.errAt(pos, CodeRollupOrderBy, "%s order_by names %q, which is neither hour nor one of its dimensions: list hour and dimension names only", where, k)
		}
		seen[k] = true
	}
	var missing []string
	if !seen[ReservedColumn] {
		missing = append(missing, ReservedColumn)
	}
	for _, d := range r.Dimensions {
		if !seen[d.Name] && d.Name != ReservedColumn {
			missing = append(missing, d.Name)
		}
	}
	if len(missing) > 0 {
		l.errAt(pos, CodeRollupOrderBy, "%s order_by leaves out %s: the sorting key must hold hour and every dimension, or rows with different values are merged together; add them (or leave order_by out for the default)", where, strings.Join(missing, ", "))
	}
}

// columnRef checks that name is a column of src and, when check is set, that its type fits.
// It returns the column type when known.
func (l *loader) columnRef(src *Datasource, name string, pos Pos, what string, check func(*chtype.Type) string) *chtype.Type {
	if err := ident.Check(name); err != nil {
		l.errAt(pos, CodeIdent, "%s column %v", what, err)
		return nil
	}
	c := src.Column(name)
	if c == nil {
		l.errAt(pos, CodeUnknownColumn, "%s reads column %q, which datasource %q does not have%s", what, name, src.Name, l.columnHint(src, name))
		return nil
	}
	t := l.colTypes[c]
	if t != nil && check != nil {
		if msg := check(t); msg != "" {
			l.errAt(pos, CodeMetricType, "%s: column %q of type %s %s", what, name, c.Type, msg)
		}
	}
	return t
}

func (l *loader) validateMetric(src *Datasource, m *Metric, rollup string) {
	what := fmt.Sprintf("metric %q of %s", m.Name, rollup)
	colPos := l.posOf(m, "column", m.Pos)
	kind := m.Kind
	if !contains(metricKinds, string(kind)) {
		return // reported when read
	}
	numeric := func(t *chtype.Type) string {
		if !t.IsNumeric() {
			return fmt.Sprintf("is not numeric: %s needs a number column (for strings use uniq, or count_if)", kind)
		}
		return ""
	}
	comparable := func(t *chtype.Type) string {
		if !t.IsComparable() {
			return fmt.Sprintf("is not comparable: %s needs a number, string, date or time column", kind)
		}
		return ""
	}
	anyPlain := func(t *chtype.Type) string {
		if isAggregate(t) {
			return "is already an aggregate state: count distinct values of a plain column"
		}
		return ""
	}
	takesIf := kind == MetricCountIf || kind == MetricSumIf || kind == MetricUniqIf || kind == MetricCountDistinctIf

	// if: only the conditional kinds, which require it.
	switch {
	case takesIf && m.If == "":
		l.errAt(m.Pos, CodeMetricArgs, "%s has kind %s but no if: add the condition, e.g. if: \"is_page_unload = 1\"", what, kind)
	case !takesIf && m.If != "":
		alt := "count_if"
		switch kind {
		case MetricSum:
			alt = "sum_if"
		case MetricUniq:
			alt = "uniq_if"
		case MetricUniqExact:
			alt = "count_distinct_if"
		}
		l.errAt(l.posOf(m, "if", m.Pos), CodeMetricArgs, "%s has an if, which only count_if, sum_if, uniq_if and count_distinct_if take: use kind %s, or remove if", what, alt)
	}
	// by: only arg_min and arg_max, which require it.
	if kind != MetricArgMin && kind != MetricArgMax && m.By != "" {
		l.errAt(l.posOf(m, "by", m.Pos), CodeMetricArgs, "%s has a by, which only arg_min and arg_max take: remove it", what)
	}
	// levels and accuracy: only quantiles, which requires levels.
	if kind == MetricQuantiles {
		if len(m.Levels) == 0 && !l.set(m, "levels") {
			l.errAt(m.Pos, CodeMetricArgs, "%s has kind quantiles but no levels: add the quantiles to estimate, e.g. levels: [0.75, 0.95]", what)
		}
	} else {
		for _, k := range []string{"levels", "accuracy"} {
			if l.set(m, k) {
				l.errAt(l.posOf(m, k, m.Pos), CodeMetricArgs, "%s has %s, which only kind quantiles takes: remove it", what, k)
			}
		}
	}
	// expr and type: an expression in place of the column, with its type.
	if m.Expr != "" && m.Column != "" {
		l.errAt(l.posOf(m, "expr", m.Pos), CodeMetricArgs, "%s has both column and expr: keep column for a plain column, or expr for an expression", what)
		return
	}
	if m.Type != "" && m.Expr == "" {
		l.errAt(l.posOf(m, "type", m.Pos), CodeMetricArgs, "%s has a type but no expr: the type of a column comes from the datasource; remove type", what)
	}

	switch kind {
	case MetricCount, MetricCountIf:
		if m.Column != "" || m.Expr != "" {
			key := "column"
			if m.Expr != "" {
				key = "expr"
			}
			l.errAt(l.posOf(m, key, m.Pos), CodeMetricArgs, "%s has kind %s, which takes no %s: remove it (count distinct values with kind uniq)", what, kind, key)
		}
		return
	}
	var check func(*chtype.Type) string
	switch kind {
	case MetricSum, MetricSumIf, MetricAvg, MetricQuantiles:
		check = numeric
	case MetricMin, MetricMax:
		check = comparable
	default: // uniq…, uniq_combined, count_distinct_if, arg_min/max, any, any_last
		check = anyPlain
	}
	switch {
	case m.Expr != "":
		if m.Type == "" {
			l.errAt(l.posOf(m, "expr", m.Pos), CodeMetricArgs, "%s has an expr but no type: add the ClickHouse type of the expression, e.g. type: String — the stored state is declared with it", what)
		} else if t, err := chtype.Parse(m.Type); err == nil {
			if msg := check(t); msg != "" {
				l.errAt(l.posOf(m, "type", m.Pos), CodeMetricType, "%s: expr of type %s %s", what, m.Type, msg)
			}
		}
	case m.Column == "":
		l.errAt(m.Pos, CodeMetricArgs, "%s has kind %s but no column: add `column: <source column>` (or `expr:` with `type:`)", what, kind)
		return
	default:
		l.columnRef(src, m.Column, colPos, what, check)
	}
	if kind == MetricArgMin || kind == MetricArgMax {
		if m.By == "" {
			l.errAt(m.Pos, CodeMetricArgs, "%s has kind %s but no by: add `by: <column>` naming the column whose %s picks the row", what, kind, strings.TrimPrefix(string(kind), "arg_"))
			return
		}
		l.columnRef(src, m.By, l.posOf(m, "by", m.Pos), what+" by", comparable)
	}
}

func (l *loader) validateEndpoint(e *Endpoint) {
	where := fmt.Sprintf("endpoint %q", e.Name)
	// Params.
	u := l.unique()
	for _, p := range e.Params {
		if l.set(p, "name") {
			u.add("param", p.Name, l.posOf(p, "name", p.Pos), where)
		}
	}
	r := l.p.Rollup(e.Rollup)
	rpos := l.posOf(e, "rollup", e.Pos)
	if e.Rollup != "" && r == nil {
		if l.p.Datasource(e.Rollup) != nil {
			l.errAt(rpos, CodeUnknownRollup, "%s reads %q, which is a datasource, not a rollup: endpoints are written against a rollup's metrics; declare a rollup over %q and name it here", where, e.Rollup, e.Rollup)
		} else {
			var names []string
			for _, x := range l.p.Rollups {
				names = append(names, x.Name)
			}
			hint := ": declare it under rollups"
			if len(names) > 0 {
				hint = suggest(e.Rollup, names)
			}
			l.errAt(rpos, CodeUnknownRollup, "%s rollup %q is not a declared rollup%s", where, e.Rollup, hint)
		}
	}
	// Test cases: params must be declared.
	for _, tc := range e.Tests {
		var names []string
		for _, p := range e.Params {
			names = append(names, p.Name)
		}
		for _, k := range sortedKeys(boolKeys(tc.Params)) {
			if e.Param(k) == nil {
				l.errAt(tc.Pos, CodeEndpointTest, "%s tests: parameter %q is not declared%s", where, k, suggest(k, names))
			}
		}
	}
	// Filters: params must be declared, and fit the op.
	used := map[string]bool{e.From: true, e.To: true}
	for _, f := range e.Filters {
		pp := l.posOf(f, "param", f.Pos)
		used[f.Param] = true
		p := e.Param(f.Param)
		if f.Param != "" && p == nil {
			typ := "String"
			if f.Op == FilterIn || f.Op == FilterNotIn {
				typ = "Array(String)"
			}
			l.errAt(pp, CodeUnknownParam, "%s filter on %q uses param %q, which is not declared: add `- {name: %s, type: %s}` under params", where, f.Dimension, f.Param, f.Param, typ)
			continue
		}
		if p == nil || f.Param == e.From || f.Param == e.To {
			if p != nil {
				l.errAt(pp, CodeUnknownParam, "%s filter on %q uses param %q, which holds the time range: give the filter a param of its own", where, f.Dimension, f.Param)
			}
			continue
		}
		t, err := chtype.Parse(p.Type)
		if err != nil {
			continue // reported when read
		}
		isArray := t.Base().Name == "Array"
		switch {
		case (f.Op == FilterIn || f.Op == FilterNotIn) && !isArray:
			l.errAt(l.posOf(f, "op", f.Pos), CodeFilterOp, "%s filter on %q is op %s, which takes a list: declare param %s with type Array(%s) (called as %s=a,b)", where, f.Dimension, f.Op, f.Param, p.Type, f.Param)
		case f.Op != FilterIn && f.Op != FilterNotIn && isArray:
			l.errAt(l.posOf(f, "op", f.Pos), CodeFilterOp, "%s filter on %q compares with param %s, a list (%s): write op: in to keep rows whose value is in the list", where, f.Dimension, f.Param, p.Type)
		}
	}
	// Paging: the params hold whole numbers.
	for _, pg := range []*Paging{e.LimitParam, e.OffsetParam} {
		if pg == nil {
			continue
		}
		used[pg.Param] = true
		if p := e.Param(pg.Param); p != nil && l.set(p, "type") {
			if t, err := chtype.Parse(p.Type); err == nil && !t.IsUnsignedInt() && !t.IsSignedInt() {
				l.errAt(l.posOf(p, "type", p.Pos), CodeParamType, "%s param %s pages the result, so it is a whole number: write type: UInt32 (or leave the param out)", where, p.Name)
			}
		}
	}
	if e.LimitParam != nil && e.OffsetParam != nil && e.LimitParam.Param == e.OffsetParam.Param {
		l.errAt(e.OffsetParam.Pos, CodeUnusedParam, "%s takes its limit and its offset from the same param %q: give each its own", where, e.LimitParam.Param)
	}
	// Range: both params of one type.
	if from, to := e.Param(e.From), e.Param(e.To); from != nil && to != nil && from.Type != to.Type && e.From != e.To && isRangeType(from.Type) && isRangeType(to.Type) {
		l.errAt(l.posOf(to, "type", to.Pos), CodeParamType, "%s range params %s (%s) and %s (%s) differ in type: make both Date or both DateTime", where, e.From, from.Type, e.To, to.Type)
	}
	if e.From == e.To && e.From != "" {
		l.errAt(e.Pos, CodeParamType, "%s range from and to are the same param %q: name two params", where, e.From)
	}
	// Range defaults read as a call would read them.
	for _, name := range []string{e.From, e.To} {
		p := e.Param(name)
		if p == nil || p.Default == "" || !isRangeType(p.Type) {
			continue
		}
		var err error
		if p.Type == "Date" {
			_, err = timerange.ParseDay(p.Default, time.Now())
		} else {
			_, err = timerange.ParseTime(p.Default, time.Now())
		}
		if err != nil {
			l.errAt(l.posOf(p, "default", p.Pos), CodeParamType, "%s param %s default: %v", where, name, err)
		}
	}
	// Every declared param is used: a call giving one nothing reads would be silently ignored.
	for _, p := range e.Params {
		if !used[p.Name] && l.set(p, "name") {
			l.errAt(l.posOf(p, "name", p.Pos), CodeUnusedParam, "%s declares param %q, but no filter, range, limit or offset uses it: a call giving it would be ignored; add a filter on it, or remove it", where, p.Name)
		}
	}
	// Fill and compare.
	if e.Fill && e.Bucket == "" {
		l.errAt(l.posOf(e, "fill", e.Pos), CodeFill, "%s has fill but no bucket: fill returns every bucket of the range; add bucket: hour or bucket: day, or remove fill", where)
	}
	if r == nil {
		return
	}
	var dimNames, metNames []string
	for _, d := range r.Dimensions {
		dimNames = append(dimNames, d.Name)
	}
	for _, m := range r.Metrics {
		metNames = append(metNames, m.Name)
	}
	hint := func(name string, names []string) string {
		if len(names) == 0 {
			return ""
		}
		return suggest(name, names)
	}
	out := map[string]bool{}
	if e.Bucket != "" {
		out[e.Bucket] = true
	}
	for _, d := range r.Derived {
		metNames = append(metNames, d.Name)
	}
	for i, m := range e.Metrics {
		pos := l.posOf(&e.Metrics, strconv.Itoa(i), e.Pos)
		if !r.HasMetric(m) {
			l.errAt(pos, CodeUnknownMetric, "%s metric %q is not a metric of rollup %q%s", where, m, r.Name, hint(m, metNames))
		}
		if out[m] {
			l.errAt(pos, CodeDupName, "%s lists output column %q twice: keep one", where, m)
		}
		out[m] = true
	}
	for i, g := range e.GroupBy {
		pos := l.posOf(&e.GroupBy, strconv.Itoa(i), e.Pos)
		if r.Dimension(g) == nil {
			l.errAt(pos, CodeUnknownDimension, "%s group_by %q is not a dimension of rollup %q%s", where, g, r.Name, hint(g, dimNames))
		}
		if out[g] {
			l.errAt(pos, CodeDupName, "%s lists output column %q twice: keep one", where, g)
		}
		out[g] = true
	}
	for _, f := range e.Filters {
		if f.Dimension != "" && r.Dimension(f.Dimension) == nil {
			l.errAt(l.posOf(f, "dimension", f.Pos), CodeUnknownDimension, "%s filters on %q, which is not a dimension of rollup %q%s", where, f.Dimension, r.Name, hint(f.Dimension, dimNames))
		}
	}
	if e.Compare != "" {
		for _, m := range e.Metrics {
			for _, suffix := range []string{"_previous", "_change"} {
				if out[m+suffix] {
					l.errAt(l.posOf(e, "compare", e.Pos), CodeCompare, "%s compare adds %s, which is already an output column: rename one", where, m+suffix)
				}
			}
		}
		for _, m := range e.Metrics {
			out[m+"_previous"], out[m+"_change"] = true, true
		}
	}
	if e.Fill && e.Bucket != "" && len(e.OrderBy) > 0 {
		want := append(append([]string{}, e.GroupBy...), e.Bucket)
		ok := len(e.OrderBy) == len(want)
		for i, o := range e.OrderBy {
			f := strings.Fields(o)
			if !ok || len(f) == 0 || f[0] != want[i] || len(f) == 2 && !strings.EqualFold(f[1], "asc") {
				ok = false
			}
		}
		if !ok {
			l.errAt(l.posOf(e, "order_by", e.Pos), CodeFill, "%s has fill, which orders rows by %s to fill each series: remove order_by", where, strings.Join(want, ", "))
		}
	}
	l.validateFinals(e, r, where)
	for i, o := range e.OrderBy {
		pos := l.posOf(&e.OrderBy, strconv.Itoa(i), e.Pos)
		fields := strings.Fields(o)
		ok := len(fields) == 1 || (len(fields) == 2 && (strings.EqualFold(fields[1], "asc") || strings.EqualFold(fields[1], "desc")))
		if !ok || !out[fields[0]] {
			l.errAt(pos, CodeEndpointOrderBy, "%s order_by %q: write an output column (a listed metric, group_by dimension or the bucket), optionally followed by ASC or DESC%s", where, o, hint(firstField(fields), sortedKeys(out)))
		}
	}
}

// validateFinals checks an endpoint's finals: a time series (finished numbers are stored per
// bucket), of a rollup populate keeps in step, each combination naming filter dimensions of
// the endpoint once, and no combination twice.
func (l *loader) validateFinals(e *Endpoint, r *Rollup, where string) {
	if len(e.Finals) == 0 {
		return
	}
	pos := l.posOf(&e.Finals, "", e.Pos)
	if e.Bucket == "" {
		l.errAt(pos, CodeFinals, "%s has finals but no bucket: finished numbers are stored per bucket of a time series; add bucket: hour or bucket: day, or remove finals", where)
		return
	}
	if r.Mode == ModeTrigger {
		l.errAt(pos, CodeFinals, "%s has finals over rollup %q, a trigger rollup: finals are kept in step by populate, which a trigger rollup skips after its cut-over; remove finals", where, r.Name)
		return
	}
	var filtered []string
	op := map[string]string{}
	for _, f := range e.Filters {
		filtered = append(filtered, f.Dimension)
		if f.Op != "" && f.Op != FilterEq {
			op[f.Dimension] = f.Op
		}
	}
	seen := map[string]bool{}
	for _, combo := range e.Finals {
		in := map[string]bool{}
		for _, d := range combo {
			switch {
			case !contains(filtered, d):
				l.errAt(pos, CodeFinals, "%s finals: %q is not a dimension the endpoint filters by%s", where, d, suggest(d, filtered))
			case op[d] != "":
				l.errAt(pos, CodeFinals, "%s finals: %q is filtered with op %s, which selects several values whose finished numbers cannot be added up; store only combinations of = filters", where, d, op[d])
			case in[d]:
				l.errAt(pos, CodeFinals, "%s finals: a combination lists %q twice", where, d)
			}
			in[d] = true
		}
		key := strings.Join(sortedKeys(in), ",")
		if seen[key] {
			l.errAt(pos, CodeFinals, "%s finals lists the combination [%s] twice: keep one", where, strings.Join(combo, ", "))
		}
		seen[key] = true
	}
}

func firstField(f []string) string {
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func boolKeys(m map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

// isRangeType reports whether typ is a type the range params may have: Date or DateTime.
func isRangeType(typ string) bool {
	t, err := chtype.Parse(typ)
	return err == nil && (t.IsDateTime() || t.Base().Name == "Date")
}
