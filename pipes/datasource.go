package pipes

import (
	"fmt"
	"strings"

	"github.com/hourglass-dev/hourglass/chtype"
	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/ident"
)

// engineParts splits an engine clause "ReplacingMergeTree(_timestamp)" into its name and its
// argument text; "" means MergeTree.
func engineParts(engine string) (name, args string, err error) {
	e := strings.TrimSpace(engine)
	if e == "" {
		return "MergeTree", "", nil
	}
	name, args = e, ""
	if i := strings.IndexByte(e, '('); i >= 0 {
		if !strings.HasSuffix(e, ")") {
			return "", "", fmt.Errorf("engine %q: unbalanced parentheses", engine)
		}
		name, args = strings.TrimSpace(e[:i]), strings.TrimSpace(e[i+1:len(e)-1])
	}
	if !strings.HasSuffix(name, "MergeTree") || ident.Check(name) != nil {
		return "", "", fmt.Errorf("engine %q: use a MergeTree-family engine", engine)
	}
	return name, args, nil
}

// jsonExtract is the MATERIALIZED expression of a column extracted from a JSON string column.
func jsonExtract(c *datasources.Column, t *chtype.Type) string {
	args := []string{ident.Quote(c.JSONSource)}
	for _, k := range c.JSONPath {
		args = append(args, ident.String(k))
	}
	inner := stripLowCardinality(t)
	if inner.Name == "String" {
		return "JSONExtractString(" + strings.Join(args, ", ") + ")"
	}
	return "JSONExtract(" + strings.Join(append(args, ident.String(inner.String())), ", ") + ")"
}

// codecClause writes a column codec, accepting "ZSTD(3)" as well as "CODEC(ZSTD(3))".
func codecClause(codec string) string {
	c := strings.TrimSpace(codec)
	if strings.HasPrefix(strings.ToUpper(c), "CODEC(") {
		return c
	}
	return "CODEC(" + c + ")"
}

// sortKeyItem quotes a sorting-key element when it is a column name and keeps it as an
// expression otherwise.
func sortKeyItem(d *datasources.Datasource, item string) string {
	s := strings.TrimSpace(item)
	if d.Column(s) != nil {
		return ident.Quote(s)
	}
	return s
}

func checkDatasource(d *datasources.Datasource) error {
	if err := ident.Check(d.Name); err != nil {
		return errAt(d.Pos, "datasource: %v", err)
	}
	if len(d.Columns) == 0 {
		return errAt(d.Pos, "datasource %q has no columns", d.Name)
	}
	seen := map[string]bool{}
	for _, c := range d.Columns {
		if err := ident.Check(c.Name); err != nil {
			return errAt(c.Pos, "datasource %q: column: %v", d.Name, err)
		}
		if seen[c.Name] {
			return errAt(c.Pos, "datasource %q: column %q is declared twice", d.Name, c.Name)
		}
		seen[c.Name] = true
		if _, err := chtype.Parse(c.Type); err != nil {
			return errAt(c.Pos, "datasource %q: column %q: %v", d.Name, c.Name, err)
		}
		if c.JSONSource != "" {
			src := d.Column(c.JSONSource)
			if src == nil {
				return errAt(c.Pos, "datasource %q: column %q: JSON source column %q is not declared", d.Name, c.Name, c.JSONSource)
			}
			if st, _ := chtype.Parse(src.Type); st == nil || !st.IsString() {
				return errAt(c.Pos, "datasource %q: column %q: JSON source column %q must be a String", d.Name, c.Name, c.JSONSource)
			}
			if len(c.JSONPath) == 0 {
				return errAt(c.Pos, "datasource %q: column %q: empty JSON path", d.Name, c.Name)
			}
			if c.Default != "" {
				return errAt(c.Pos, "datasource %q: column %q: a JSON column cannot also have a default", d.Name, c.Name)
			}
		}
	}
	if _, _, err := engineParts(d.Engine); err != nil {
		return errAt(d.Pos, "datasource %q: %v", d.Name, err)
	}
	return nil
}

func compileDatasource(p *datasources.Project, d *datasources.Datasource) (*DatasourceArtifacts, error) {
	if err := checkDatasource(d); err != nil {
		return nil, err
	}
	da := &DatasourceArtifacts{Datasource: d, Table: d.Name, LocalTable: d.Name}
	if p.Cluster != "" {
		da.LocalTable = d.Name + datasources.LocalSuffix
		if err := ident.Check(da.LocalTable); err != nil {
			return nil, errAt(d.Pos, "datasource %q: %v", d.Name, err)
		}
	}
	if !d.Managed {
		return da, nil
	}
	if p.Cluster != "" && strings.TrimSpace(d.ShardBy) == "" {
		return nil, errAt(d.Pos, "datasource %q: on a cluster (cluster: %s) it needs shard_by, the sharding key of its Distributed table, e.g. shard_by: cityHash64(user_id)", d.Name, p.Cluster)
	}
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + ident.Qualified(p.Database, da.LocalTable) + onCluster(p) + "\n(\n")
	for i, c := range d.Columns {
		t := chtype.MustParse(c.Type)
		b.WriteString("    " + ident.Quote(c.Name) + " " + t.String())
		switch {
		case c.JSONSource != "":
			b.WriteString(" MATERIALIZED " + jsonExtract(c, t))
		case c.Default != "":
			b.WriteString(" DEFAULT " + c.Default)
		}
		if c.Codec != "" {
			b.WriteString(" " + codecClause(c.Codec))
		}
		if i < len(d.Columns)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString(")\n")
	name, args, _ := engineParts(d.Engine)
	if p.Cluster != "" && !strings.HasPrefix(name, "Replicated") {
		rargs := replicaArgs(p, da.LocalTable)
		if args != "" {
			rargs += ", " + args
		}
		name, args = "Replicated"+name, rargs
	}
	if args != "" {
		b.WriteString("ENGINE = " + name + "(" + args + ")\n")
	} else {
		b.WriteString("ENGINE = " + name + "\n")
	}
	if s := strings.TrimSpace(d.PartitionBy); s != "" {
		b.WriteString("PARTITION BY " + s + "\n")
	}
	var keys []string
	for _, k := range d.OrderBy {
		keys = append(keys, sortKeyItem(d, k))
	}
	if len(keys) == 0 {
		b.WriteString("ORDER BY tuple()")
	} else {
		b.WriteString("ORDER BY (" + strings.Join(keys, ", ") + ")")
	}
	if s := strings.TrimSpace(d.SampleBy); s != "" {
		b.WriteString("\nSAMPLE BY " + s)
	}
	if s := strings.TrimSpace(d.TTL); s != "" {
		b.WriteString("\nTTL " + s)
	}
	da.CreateTable = b.String()
	if p.Cluster != "" {
		da.CreateDistributed = distributedDDL(p, da.Table, da.LocalTable, d.ShardBy)
	}
	return da, nil
}
