package tinybird

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
)

// plainRe matches scalars that can be written unquoted in a YAML flow mapping.
var plainRe = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_.$()' *=<>!/+-]*$`)

// scalar writes s as a YAML scalar, quoted (JSON-style, which YAML reads) unless it is plainly
// safe inside a flow mapping.
func scalar(s string) string {
	if plainRe.MatchString(s) && !strings.Contains(s, ": ") && !strings.HasSuffix(s, ":") &&
		!yamlReserved[strings.ToLower(s)] && !strings.Contains(s, " #") {
		return s
	}
	b, _ := json.Marshal(s)
	return string(b)
}

var yamlReserved = map[string]bool{"true": true, "false": true, "yes": true, "no": true, "on": true, "off": true, "null": true, "y": true, "n": true, "~": true}

// flow writes {k: v, …} with the pairs whose value is not empty.
func flow(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			parts = append(parts, kv[i]+": "+scalar(kv[i+1]))
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func list(items []string) string {
	var q []string
	for _, s := range items {
		q = append(q, scalar(s))
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// duration writes 2h, 90m or 30s.
func duration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Hour == 0:
		return strings.TrimSuffix(d.String(), "0m0s")
	case d%time.Minute == 0:
		return strings.TrimSuffix(d.String(), "0s")
	}
	return d.String()
}

// writeProject writes an hourglass project: hourglass.yaml and one file per definition.
// Keys at their default are left out.
func writeProject(p *datasources.Project, header string) map[string][]byte {
	files := map[string][]byte{}
	var b strings.Builder
	b.WriteString(header)
	b.WriteString("name: " + scalar(p.Name) + "\n")
	files[datasources.ProjectFile] = []byte(b.String())
	for _, d := range p.Datasources {
		files["datasources/"+d.Name+".yaml"] = []byte(datasourceYAML(d))
	}
	for _, r := range p.Rollups {
		files["rollups/"+r.Name+".yaml"] = []byte(rollupYAML(r))
	}
	for _, e := range p.Endpoints {
		files["endpoints/"+e.Name+".yaml"] = []byte(endpointYAML(e))
	}
	return files
}

func datasourceYAML(d *datasources.Datasource) string {
	var b strings.Builder
	b.WriteString("name: " + scalar(d.Name) + "\n")
	if d.Engine != "" && d.Engine != datasources.DefaultEngine {
		b.WriteString("engine: " + scalar(d.Engine) + "\n")
	}
	if d.PartitionBy != "" {
		b.WriteString("partition_by: " + scalar(d.PartitionBy) + "\n")
	}
	b.WriteString("order_by: " + list(d.OrderBy) + "\n")
	if d.TTL != "" {
		b.WriteString("ttl: " + scalar(d.TTL) + "\n")
	}
	b.WriteString("columns:\n")
	for _, c := range d.Columns {
		json := ""
		switch {
		case c.JSONSource != "" && c.JSONObject:
			json = "$." + c.JSONSource + "." + strings.Join(c.JSONPath, ".")
		case c.JSONSource != "":
			json = c.JSONSource + ".$." + strings.Join(c.JSONPath, ".")
		}
		b.WriteString("  - " + flow("name", c.Name, "type", c.Type, "default", c.Default, "codec", c.Codec, "json", json) + "\n")
	}
	return b.String()
}

func rollupYAML(r *datasources.Rollup) string {
	var b strings.Builder
	b.WriteString("name: " + scalar(r.Name) + "\n")
	b.WriteString("source: " + scalar(r.Source) + "\n")
	b.WriteString("time_column: " + scalar(r.TimeColumn) + "\n")
	if r.Partition != "" && r.Partition != datasources.PartitionDay {
		b.WriteString("partition: " + string(r.Partition) + "\n")
	}
	if r.Mode == datasources.ModeTrigger {
		b.WriteString("mode: trigger\n")
	}
	if r.Schedule != "" && r.Schedule != datasources.DefaultSchedule {
		b.WriteString("schedule: " + scalar(r.Schedule) + "\n")
	}
	if r.Filter != "" {
		b.WriteString("filter: " + scalar(r.Filter) + "\n")
	}
	if r.Span != 0 {
		b.WriteString("span: " + duration(r.Span) + "\n")
	}
	b.WriteString("dimensions:\n")
	for _, d := range r.Dimensions {
		switch {
		case d.Expr != "":
			b.WriteString("  - " + flow("name", d.Name, "expr", d.Expr) + "\n")
		case d.Column != d.Name:
			b.WriteString("  - " + flow("name", d.Name, "column", d.Column) + "\n")
		default:
			b.WriteString("  - " + scalar(d.Name) + "\n")
		}
	}
	b.WriteString("metrics:\n")
	for _, m := range r.Metrics {
		precision := ""
		if m.Precision != 0 {
			precision = itoa(m.Precision)
		}
		line := flow("name", m.Name, "kind", string(m.Kind), "column", m.Column, "expr", m.Expr, "type", m.Type, "if", m.If, "by", m.By, "precision", precision)
		if len(m.Levels) > 0 {
			var lv []string
			for _, l := range m.Levels {
				lv = append(lv, strconv.FormatFloat(l, 'g', -1, 64))
			}
			line = strings.TrimSuffix(line, "}") + ", levels: [" + strings.Join(lv, ", ") + "]}"
		}
		if m.Accuracy != 0 {
			line = strings.TrimSuffix(line, "}") + ", accuracy: " + strconv.FormatFloat(m.Accuracy, 'g', -1, 64) + "}"
		}
		b.WriteString("  - " + line + "\n")
	}
	if len(r.Derived) > 0 {
		b.WriteString("derived:\n")
		for _, d := range r.Derived {
			b.WriteString("  - " + flow("name", d.Name, "expr", d.Expr) + "\n")
		}
	}
	if len(r.OrderBy) > 0 {
		b.WriteString("order_by: " + list(r.OrderBy) + "\n")
	}
	return b.String()
}

func endpointYAML(e *datasources.Endpoint) string {
	var b strings.Builder
	b.WriteString("name: " + scalar(e.Name) + "\n")
	b.WriteString("rollup: " + scalar(e.Rollup) + "\n")
	b.WriteString("metrics: " + list(e.Metrics) + "\n")
	if len(e.GroupBy) > 0 {
		b.WriteString("group_by: " + list(e.GroupBy) + "\n")
	}
	if e.Bucket != "" {
		b.WriteString("bucket: " + e.Bucket + "\n")
	}
	if e.Fill {
		b.WriteString("fill: true\n")
	}
	if e.From != "" && e.From != "start" || e.To != "" && e.To != "end" {
		b.WriteString("range: " + flow("from", e.From, "to", e.To) + "\n")
	}
	// The loader declares the range and paging params the endpoint leaves out: write only
	// those it would not declare alike.
	var params []*datasources.Param
	for _, p := range e.Params {
		implicit := (p.Name == e.From || p.Name == e.To) && p.Type == datasources.DefaultTimeParamType && p.Default == ""
		for _, pg := range []*datasources.Paging{e.LimitParam, e.OffsetParam} {
			if pg != nil && pg.Param == p.Name && p.Type == "UInt64" && p.Default == itoa(pg.Default) {
				implicit = true
			}
		}
		if !implicit {
			params = append(params, p)
		}
	}
	if len(params) > 0 {
		b.WriteString("params:\n")
		for _, p := range params {
			typ := p.Type
			if typ == datasources.DefaultParamType {
				typ = ""
			}
			b.WriteString("  - " + flow("name", p.Name, "type", typ, "default", p.Default) + "\n")
		}
	}
	if len(e.Filters) > 0 {
		b.WriteString("filters:\n")
		for _, f := range e.Filters {
			op := f.Op
			if op == datasources.FilterEq {
				op = ""
			}
			if f.Param == f.Dimension && op == "" {
				b.WriteString("  - " + scalar(f.Dimension) + "\n")
			} else {
				b.WriteString("  - " + flow("dimension", f.Dimension, "param", f.Param, "op", op) + "\n")
			}
		}
	}
	if len(e.OrderBy) > 0 {
		b.WriteString("order_by: " + list(e.OrderBy) + "\n")
	}
	if e.Limit > 0 {
		b.WriteString("limit: " + itoa(e.Limit) + "\n")
	}
	paging := func(key string, pg *datasources.Paging) {
		if pg == nil {
			return
		}
		kv := []string{"param", pg.Param}
		if pg.Default != 0 {
			kv = append(kv, "default", itoa(pg.Default))
		}
		if pg.Max != 0 {
			kv = append(kv, "max", itoa(pg.Max))
		}
		b.WriteString(key + ": " + strings.ReplaceAll(flow(kv...), `"`, "") + "\n")
	}
	paging("limit", e.LimitParam)
	paging("offset", e.OffsetParam)
	if e.Compare != "" {
		b.WriteString("compare: " + e.Compare + "\n")
	}
	return b.String()
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
