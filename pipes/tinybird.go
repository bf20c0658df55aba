package pipes

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/hourglass-dev/hourglass/chtype"
	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/ident"
)

// Parameter names of the Tinybird target.
const (
	// TinybirdFromParam and TinybirdToParam are the endpoint parameters holding the range
	// [date_from, date_to): DateTime, UTC, the names Tinybird projects use. An endpoint's start
	// and end are published under them.
	TinybirdFromParam = "date_from"
	TinybirdToParam   = "date_to"
	// TinybirdBackfillStart and TinybirdBackfillEnd are the optional parameters of a copy
	// pipe: run it on demand with both (hour-aligned, UTC) to recompute [start_date, end_date).
	TinybirdBackfillStart = "start_date"
	TinybirdBackfillEnd   = "end_date"
)

// TinybirdReadToken is the name of the token the Tinybird target gives read access to every
// endpoint of p; TinybirdAppendToken the one that may append to p's raw datasources.
func TinybirdReadToken(p *datasources.Project) string { return p.Name + "_read" }

// TinybirdAppendToken is the name of the token allowed to append to p's raw datasources.
func TinybirdAppendToken(p *datasources.Project) string { return p.Name + "_append" }

// TinybirdDirectives are the words Tinybird's datafile parser reads as a directive when one
// starts a line: inside a DESCRIPTION or SQL block too, where it ends the block. No line
// hourglass writes inside a block starts with one.
var TinybirdDirectives = []string{
	"DESCRIPTION", "NODE", "SQL", "TYPE", "CACHE", "DATASOURCE", "DEPLOYMENT_METHOD",
	"TARGET_DATASOURCE", "COPY_SCHEDULE", "COPY_MODE", "TOKEN", "SCHEMA", "FORWARD_QUERY",
	"INDEXES", "SHARED_WITH", "ENGINE", "ENGINE_SORTING_KEY", "ENGINE_PARTITION_KEY",
	"ENGINE_PRIMARY_KEY", "ENGINE_TTL", "ENGINE_VER", "ENGINE_IS_DELETED", "ENGINE_SIGN",
	"ENGINE_VERSION", "ENGINE_SUMMING_COLUMNS", "ENGINE_SETTINGS", "KAFKA_CONNECTION_NAME",
	"KAFKA_TOPIC", "KAFKA_GROUP_ID", "KAFKA_AUTO_OFFSET_RESET", "KAFKA_STORE_RAW_VALUE",
	"IMPORT_CONNECTION_NAME", "IMPORT_BUCKET_URI", "IMPORT_SCHEDULE", "IMPORT_FROM_TIMESTAMP",
	"IMPORT_TABLE_ARN", "IMPORT_EXPORT_BUCKET", "EXPORT_SERVICE", "EXPORT_CONNECTION_NAME",
	"EXPORT_KAFKA_TOPIC", "EXPORT_BUCKET_URI", "EXPORT_FILE_TEMPLATE", "EXPORT_FORMAT",
	"EXPORT_SCHEDULE", "EXPORT_STRATEGY", "EXPORT_WRITE_STRATEGY", "EXPORT_COMPRESSION",
	"INCLUDE", "VERSION", "TAGS",
}

// IsTinybirdDirective says whether a datafile line (indented or not) starts with a directive.
func IsTinybirdDirective(line string) bool {
	f := strings.Fields(line)
	if len(f) == 0 {
		return false
	}
	for _, d := range TinybirdDirectives {
		if f[0] == d {
			return true
		}
	}
	return false
}

// tbWriter writes a datafile; the first error sticks.
type tbWriter struct {
	b   strings.Builder
	err error
}

// block writes "TITLE >" and text indented by four spaces, refusing a line Tinybird would
// read as a directive.
func (w *tbWriter) block(title, text string) {
	w.b.WriteString(title + " >\n")
	for _, l := range strings.Split(text, "\n") {
		if IsTinybirdDirective(l) && w.err == nil {
			w.err = fmt.Errorf("%s line %q starts with %s, which Tinybird reads as a directive", strings.ToLower(title), strings.TrimSpace(l), strings.Fields(l)[0])
		}
		w.b.WriteString("    " + l + "\n")
	}
	w.b.WriteString("\n")
}

func (w *tbWriter) line(s string) { w.b.WriteString(s + "\n") }

// kv writes KEY "value" when the value is not empty.
func (w *tbWriter) kv(key, what, val string) {
	v := strings.TrimSpace(val)
	if v == "" {
		return
	}
	q, err := tbValue(what, v)
	if err != nil && w.err == nil {
		w.err = err
	}
	w.line(key + " " + q)
}

func (w *tbWriter) done() (string, error) { return w.b.String(), w.err }

// tinybirdTarget reads Tinybird datasources (no database qualifier) with template parameters:
// the range is [date_from, date_to) (DateTime), or the endpoint's own Date range params, the
// last day included. A filter applies when its parameter is defined. Paging parameters keep
// their caps with throwIf.
func tinybirdTarget(e *datasources.Endpoint) target {
	timeParam := func(name, tbName string) string {
		if e != nil {
			if p := e.Param(name); p != nil && p.Default != "" {
				return "{{DateTime(" + tbName + ", " + ident.String(p.Default) + ")}}"
			}
		}
		return "{{DateTime(" + tbName + ", required=True)}}"
	}
	t := target{
		table: ident.Quote,
		start: timeParam(StartParam, TinybirdFromParam),
		end:   timeParam(EndParam, TinybirdToParam),
		condition: func(f *datasources.Filter, expr, typ string) string {
			return "{% if defined(" + f.Param + ") %}AND " + filterSQL(f.Op, expr, tinybirdParam(f.Param, typ)) + "{% end %}"
		},
		paging: func(pg *datasources.Paging) string {
			v := "{{Int32(" + pg.Param + ", " + strconv.Itoa(pg.Default) + ")}}"
			if pg.Max > 0 {
				return "if(" + v + " > " + strconv.Itoa(pg.Max) + ", throwIf(1, '" + pg.Param + " is above " + strconv.Itoa(pg.Max) + "'), " + v + ")"
			}
			return v
		},
	}
	if e != nil && e.From != "" && e.From != StartParam {
		if p := e.Param(e.From); p != nil && p.Type == "Date" {
			t.start = tinybirdDate(p, false)
			t.end = tinybirdDate(e.Param(e.To), true)
			// Tinybird's own form of a Date range, the last day included.
			from, to := tinybirdDay(p), tinybirdDay(e.Param(e.To))
			t.rangeWhere = func(hour string) []string {
				return []string{"toDate(" + hour + ") >= " + from, "toDate(" + hour + ") <= " + to}
			}
		} else if p != nil {
			t.start = "{{DateTime(" + e.From + ", required=True)}}"
			t.end = "{{DateTime(" + e.To + ", required=True)}}"
		}
	}
	return t
}

// tinybirdParam reads parameter name of ClickHouse type typ in a Tinybird template.
func tinybirdParam(name, typ string) string {
	if t, err := chtype.Parse(typ); err == nil && t.Base().Name == "Array" && len(t.Base().Args) == 1 {
		return "{{Array(" + name + ", '" + TinybirdParamFunc(t.Base().Args[0].String()) + "')}}"
	}
	return "{{" + TinybirdParamFunc(typ) + "(" + name + ")}}"
}

// tinybirdDay is a Date range param as a day: {{Date(p, 'default')}} when the default is a
// date or absent (then required); a relative default (today, -7d) is computed in SQL when the
// call does not give the param.
func tinybirdDay(p *datasources.Param) string {
	d := strings.TrimSpace(p.Default)
	switch {
	case d == "":
		return "{{Date(" + p.Name + ", required=True)}}"
	case d == "today" || d == "now":
		d = "today()"
	case strings.HasPrefix(d, "-") && strings.HasSuffix(d, "d"):
		d = "today() - " + strings.TrimSuffix(strings.TrimPrefix(d, "-"), "d")
	default:
		return "{{Date(" + p.Name + ", " + ident.String(d) + ")}}"
	}
	return "{% if defined(" + p.Name + ") %}{{Date(" + p.Name + ")}}{% else %}" + d + "{% end %}"
}

// tinybirdDate is the start of a Date range param's day (to: of the day after it, the day
// included) as a UTC DateTime.
func tinybirdDate(p *datasources.Param, to bool) string {
	v := "toDateTime(toDate(" + tinybirdDay(p) + "), 'UTC')"
	if to {
		v = "(" + v + " + toIntervalDay(1))"
	}
	return v
}

// TinybirdParamFunc is the Tinybird template function reading a parameter of ClickHouse type
// typ: the type's own name when Tinybird has one, String otherwise (ClickHouse converts the
// quoted value when comparing it with the column).
func TinybirdParamFunc(typ string) string {
	t, err := chtype.Parse(typ)
	if err != nil {
		return "String"
	}
	switch n := t.Base().Name; n {
	case "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
		"Float32", "Float64", "Date", "DateTime", "DateTime64", "UUID":
		return n
	case "Bool":
		return "Boolean"
	}
	return "String"
}

// tbValue double-quotes a datafile value; Tinybird datafiles have no escape for a double quote.
func tbValue(what, s string) (string, error) {
	if strings.ContainsAny(s, "\"\n") {
		return "", fmt.Errorf("%s %q: a double quote or newline cannot be written to a Tinybird datafile", what, s)
	}
	return "\"" + s + "\"", nil
}

func indent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n")
}

// JSONPathOf writes a Tinybird JSONPath for the given keys: $.a.b, or $['a-b'] for a key that
// is not an identifier.
func JSONPathOf(keys ...string) string {
	var b strings.Builder
	b.WriteString("$")
	for _, k := range keys {
		if ident.Check(k) == nil {
			b.WriteString("." + k)
		} else {
			b.WriteString("['" + strings.NewReplacer("\\", "\\\\", "'", "\\'").Replace(k) + "']")
		}
	}
	return b.String()
}

// tinybirdStored says whether Tinybird stores column c at ingestion: every column but those
// extracted from JSON text, which Tinybird's JSON paths cannot reach.
func tinybirdStored(c *datasources.Column) bool { return c.JSONSource == "" || c.JSONObject }

// tinybirdFrom is how Tinybird pipes read datasource d: the datasource itself, or, when it has
// columns extracted from JSON text, a view adding them with the very expression ClickHouse's
// MATERIALIZED columns use.
func tinybirdFrom(d *datasources.Datasource) string {
	var extra []string
	for _, c := range d.Columns {
		if !tinybirdStored(c) {
			t := chtype.MustParse(c.Type)
			e := jsonExtract(c, t)
			if t.Name == "LowCardinality" {
				// The extraction gives the plain type; say the declared one, so the column
				// reads back as declared.
				e = "toLowCardinality(" + e + ")"
			}
			extra = append(extra, e+" AS "+ident.Quote(c.Name))
		}
	}
	if len(extra) == 0 {
		return ident.Quote(d.Name)
	}
	return "(SELECT *, " + strings.Join(extra, ", ") + " FROM " + ident.Quote(d.Name) + ")"
}

// tinybirdEngine writes ENGINE and the engine's argument directives of a raw datasource.
func tinybirdEngine(w *tbWriter, d *datasources.Datasource) error {
	name, args, err := engineParts(d.Engine)
	if err != nil {
		return err
	}
	name = strings.TrimPrefix(name, "Replicated")
	var parts []string
	if args != "" {
		parts = splitTopLevel(args)
	}
	w.line("ENGINE \"" + name + "\"")
	w.kv("ENGINE_PARTITION_KEY", "partition key", d.PartitionBy)
	var keys []string
	for _, k := range d.OrderBy {
		keys = append(keys, sortKeyItem(d, k))
	}
	w.kv("ENGINE_SORTING_KEY", "sorting key", strings.Join(keys, ", "))
	w.kv("ENGINE_TTL", "TTL", d.TTL)
	argKeys := map[string][]string{
		"ReplacingMergeTree":           {"ENGINE_VER", "ENGINE_IS_DELETED"},
		"CollapsingMergeTree":          {"ENGINE_SIGN"},
		"VersionedCollapsingMergeTree": {"ENGINE_SIGN", "ENGINE_VERSION"},
	}[name]
	switch {
	case len(parts) == 0:
	case name == "SummingMergeTree" && len(parts) == 1:
		w.kv("ENGINE_SUMMING_COLUMNS", "summing columns", strings.Trim(strings.TrimSpace(parts[0]), "()"))
	case len(parts) <= len(argKeys):
		for i, p := range parts {
			w.kv(argKeys[i], "engine argument", p)
		}
	default:
		return fmt.Errorf("datasource %q: engine arguments %q of %s cannot be written to a Tinybird datafile", d.Name, args, name)
	}
	return nil
}

// splitTopLevel splits s at the commas outside parentheses and quotes.
func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

func tinybirdRawDatasource(p *datasources.Project, d *datasources.Datasource) (string, error) {
	w := &tbWriter{}
	desc := "Raw datasource " + d.Name + " (generated by hourglass)."
	var computed []string
	for _, c := range d.Columns {
		if !tinybirdStored(c) {
			computed = append(computed, c.Name)
		}
	}
	if strings.TrimSpace(d.SampleBy) != "" {
		// Tinybird's datafile parser knows no sampling key directive.
		desc += "\nThe sampling key (" + strings.TrimSpace(d.SampleBy) + ") is not written: Tinybird datafiles have no directive for it."
	}
	if len(computed) > 0 {
		desc += "\nColumns extracted from JSON text are not stored here: the pipes that read " + d.Name +
			"\nextract them (" + strings.Join(computed, ", ") + "), since Tinybird JSON paths cannot look inside a string."
	}
	w.block("DESCRIPTION", desc)
	w.line("TOKEN \"" + TinybirdAppendToken(p) + "\" APPEND\n")
	var cols []string
	for _, c := range d.Columns {
		if !tinybirdStored(c) {
			continue
		}
		path := JSONPathOf(c.Name)
		if c.JSONSource != "" {
			path = JSONPathOf(append([]string{c.JSONSource}, c.JSONPath...)...)
		}
		line := ident.Quote(c.Name) + " " + chtype.MustParse(c.Type).String() + " `json:" + path + "`"
		if c.Default != "" {
			line += " DEFAULT " + c.Default
		}
		if c.Codec != "" {
			line += " " + codecClause(c.Codec)
		}
		cols = append(cols, line)
	}
	w.block("SCHEMA", strings.Join(cols, ",\n"))
	if err := tinybirdEngine(w, d); err != nil {
		return "", err
	}
	return w.done()
}

func tinybirdRollupDatasource(ra *RollupArtifacts) (string, error) {
	rp := ra.plan
	w := &tbWriter{}
	w.block("DESCRIPTION", "Hourly rollup "+ra.Table+" of "+rp.src.Name+" (generated by hourglass; definition hash "+ra.Hash+").")
	var cols []string
	for _, c := range ra.Columns {
		cols = append(cols, ident.Quote(c.Name)+" "+c.Type)
	}
	w.block("SCHEMA", strings.Join(cols, ",\n"))
	w.line("ENGINE \"AggregatingMergeTree\"")
	w.kv("ENGINE_PARTITION_KEY", "partition key", rp.partitionExpr())
	w.kv("ENGINE_SORTING_KEY", "sorting key", rp.sortingKey())
	if pk := rp.primaryKey(); pk != nil {
		w.kv("ENGINE_PRIMARY_KEY", "primary key", quoteList(pk))
	}
	if rp.nullableKey {
		w.line("ENGINE_SETTINGS \"allow_nullable_key = 1\"")
	}
	return w.done()
}

// CopyWindowHours is how many closed hours a scheduled run of a rollup's copy pipe
// recomputes: the longest gap between two runs of its schedule, rounded up to hours, plus its
// lookback, rounded up to hours, plus its span (a rollup over a rollup: an entity that started
// that long ago may still take rows), plus one. Every hour since the previous scheduled run is
// recomputed, the lookback hours before it again for late rows, and one more hour in case the
// previous run started late (Tinybird does not promise to start a job on time, and a run
// closes the hours before the one it starts in).
func CopyWindowHours(r *datasources.Rollup) (int, error) {
	schedule := r.Schedule
	if schedule == "" {
		schedule = DefaultSchedule
	}
	if len(strings.Fields(schedule)) != 5 || strings.ContainsAny(schedule, "\"\n") {
		return 0, fmt.Errorf("rollup %q: schedule %q is not a five-field cron expression", r.Name, schedule)
	}
	sched, err := cron.ParseStandard(schedule)
	if err != nil {
		return 0, fmt.Errorf("rollup %q: schedule %q: %v", r.Name, schedule, err)
	}
	// Fire times repeat at the latest every 400 years; eight years covers every calendar
	// pattern a five-field line can express short of 29 February on a Monday.
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	end := at.AddDate(8, 0, 0)
	var gap time.Duration
	prev := sched.Next(at)
	for !prev.IsZero() && prev.Before(end) {
		next := sched.Next(prev)
		if next.IsZero() {
			break
		}
		gap = max(gap, next.Sub(prev))
		prev = next
	}
	if gap == 0 {
		return 0, fmt.Errorf("rollup %q: schedule %q fires less than twice in eight years", r.Name, schedule)
	}
	hours := func(d time.Duration) int { return int(math.Ceil(d.Hours())) }
	return hours(gap) + hours(r.Lookback) + hours(r.Span) + 1, nil
}

// copyUnset is the default of a copy pipe's start_date and end_date: not given.
const copyUnset = "1970-01-01 00:00:00"

// tinybirdCopyPipe writes a scheduled rollup's copy pipe. COPY_MODE append adds the result to
// what is there, so copying an hour twice counts it twice, and an append that copies each hour
// once can never take late rows. COPY_MODE replace replaces the whole datasource with the
// result. So each run recomputes the hours of its window from the raw rows and returns every
// other hour as the rollup already holds it: the datasource is rewritten with exactly one copy
// of every hour, whatever ran before, however often the run is repeated.
func tinybirdCopyPipe(ra *RollupArtifacts) (string, error) {
	rp := ra.plan
	r := ra.Rollup
	delay := r.Delay
	if delay == 0 {
		delay = defaultDelay
	}
	schedule := r.Schedule
	if schedule == "" {
		schedule = DefaultSchedule
	}
	window, err := CopyWindowHours(r)
	if err != nil {
		return "", err
	}
	closed := fmt.Sprintf("toStartOfHour(now('UTC') - INTERVAL %d SECOND)", int64(delay.Seconds()))
	// Scheduled copy pipes need a default for every parameter: an unset bound is the
	// default, which stands for "the scheduled window".
	bound := func(param, otherwise string) string {
		v := "{{DateTime(" + param + ", '" + copyUnset + "')}}"
		return "if(" + v + " = '" + copyUnset + "', " + otherwise + ", toStartOfHour(toDateTime(" + v + ", 'UTC')))"
	}
	lower := bound(TinybirdBackfillStart, fmt.Sprintf("%s - INTERVAL %d HOUR", closed, window))
	upper := bound(TinybirdBackfillEnd, closed)
	h := ident.Quote(HourColumn)
	keep := "SELECT " + rp.columnList() + "\nFROM " + ident.Quote(ra.Table) + "\nWHERE " + h + " < " + lower + "\n    OR " + h + " >= " + upper
	sel := keep + "\nUNION ALL\n" + rp.populateSelect(tinybirdFrom(rp.src), ident.Quote, lower, upper)

	w := &tbWriter{}
	w.block("DESCRIPTION", fmt.Sprintf(`Populates %s from %s (generated by hourglass).
Each run rewrites the whole rollup (copy mode replace): the hours of its window are recomputed
from %s and every other hour is kept as the rollup holds it, so every hour is there once
however often a run is repeated (copy mode append would add a second copy of each hour it
copies again). A scheduled run recomputes the last %d closed hour(s) (an hour is closed %s
after its end): every hour since the previous run of "%s", plus the %s lookback for late
rows, plus one for a previous run that started late. Run it on demand with start_date and end_date (UTC, on the hour) to backfill
[start_date, end_date) instead.`, ra.Table, rp.src.Name, rp.src.Name, window, shortDuration(delay), schedule, shortDuration(r.Lookback)))
	w.line("NODE populate")
	w.block("SQL", "%\n"+sel)
	w.line("TYPE COPY")
	w.line("TARGET_DATASOURCE " + ra.Table)
	w.line("COPY_SCHEDULE " + schedule)
	w.line("COPY_MODE replace")
	return w.done()
}

// shortDuration writes 2h, 90m, 5m or 30s rather than Go's 2h0m0s.
func shortDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

func tinybirdMaterializedPipe(ra *RollupArtifacts) (string, error) {
	rp := ra.plan
	w := &tbWriter{}
	w.block("DESCRIPTION", "Insert trigger from "+rp.src.Name+" into "+ra.Table+" (generated by hourglass).\n"+
		"Only rows inserted after this pipe exists reach the rollup: earlier rows need a backfill.")
	w.line("NODE " + ra.TriggerView)
	w.block("SQL", rp.populateSelect(tinybirdFrom(rp.src), nil, "", ""))
	w.line("TYPE MATERIALIZED")
	w.line("DATASOURCE " + ra.Table)
	return w.done()
}

func tinybirdEndpoint(a *Artifacts, ea *EndpointArtifacts) (string, error) {
	e := ea.Endpoint
	ra := a.Rollup(e.Rollup)
	if ra == nil {
		return "", fmt.Errorf("endpoint %q: rollup %q is not compiled", e.Name, e.Rollup)
	}
	for _, f := range e.Filters {
		if f.Param == TinybirdFromParam || f.Param == TinybirdToParam {
			return "", errAt(f.Pos, "endpoint %q: parameter %q holds the time range on Tinybird: rename the filter's parameter", e.Name, f.Param)
		}
	}
	sql, err := ra.plan.query(tinybirdTarget(e), endpointSpec(e, SideRollup))
	if err != nil {
		return "", fmt.Errorf("endpoint %q: %v", e.Name, err)
	}
	w := &tbWriter{}
	rng := "The range is [date_from, date_to): DateTime, UTC."
	if p := e.Param(e.From); p != nil && p.Type == "Date" {
		rng = "The range is the days " + e.From + " to " + e.To + ", both included (UTC)."
	}
	w.block("DESCRIPTION", "Endpoint "+e.Name+" over rollup "+ra.Table+" (generated by hourglass).\n"+rng)
	tokens := a.Project.EndpointTokens(e.Name)
	if len(tokens) == 0 {
		w.line("TOKEN \"" + TinybirdReadToken(a.Project) + "\" READ\n")
	}
	for i, t := range tokens {
		nl := ""
		if i == len(tokens)-1 {
			nl = "\n"
		}
		w.line("TOKEN \"" + t.Name + "\" READ" + nl)
	}
	w.line("NODE endpoint")
	w.block("SQL", "%\n"+sql)
	w.line("TYPE ENDPOINT")
	return w.done()
}

// Tinybird renders the project as Tinybird datafiles, path → contents:
// datasources/<name>.datasource for raw datasources and rollups, pipes/populate_<rollup>.pipe
// (a scheduled COPY pipe, see CopyWindowHours) for scheduled rollups, pipes/<rollup>_mv.pipe
// (a MATERIALIZED pipe) for trigger rollups, and endpoints/<endpoint>.pipe reading the rollup
// over [date_from, date_to). Every file parses with Tinybird's own datafile parser. Output is
// deterministic.
func Tinybird(a *Artifacts) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, d := range a.Datasources {
		s, err := tinybirdRawDatasource(a.Project, d.Datasource)
		if err != nil {
			return nil, fmt.Errorf("datasource %q: %w", d.Datasource.Name, err)
		}
		files["datasources/"+d.Table+".datasource"] = []byte(s)
	}
	for _, ra := range a.Rollups {
		s, err := tinybirdRollupDatasource(ra)
		if err != nil {
			return nil, fmt.Errorf("rollup %q: %w", ra.Rollup.Name, err)
		}
		files["datasources/"+ra.Table+".datasource"] = []byte(s)
		if ra.Rollup.Mode == datasources.ModeTrigger {
			s, err = tinybirdMaterializedPipe(ra)
			if err != nil {
				return nil, fmt.Errorf("rollup %q: %w", ra.Rollup.Name, err)
			}
			files["pipes/"+ra.TriggerView+".pipe"] = []byte(s)
			continue
		}
		s, err = tinybirdCopyPipe(ra)
		if err != nil {
			return nil, fmt.Errorf("rollup %q: %w", ra.Rollup.Name, err)
		}
		files["pipes/populate_"+ra.Table+".pipe"] = []byte(s)
	}
	for _, ea := range a.Endpoints {
		s, err := tinybirdEndpoint(a, ea)
		if err != nil {
			return nil, err
		}
		files["endpoints/"+ea.Endpoint.Name+".pipe"] = []byte(s)
	}
	return files, nil
}
