package deploy

import (
	"context"
	"fmt"
	"strings"

	"github.com/hourglass-dev/hourglass/chtype"
	"github.com/hourglass-dev/hourglass/cluster"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
)

// live is what the database holds: its tables and their columns, and hourglass's records.
// On a cluster it is every host's catalog merged (see mergeCatalogs): a table or column is
// there when some host has it, and says which hosts lack it.
type live struct {
	versionText string
	catalog
	deployments map[string]meta.Deployment
	endpoints   map[string]meta.EndpointState
	// hosts are the hosts of the project's cluster (nil on a single server); dbMissing those
	// without the database.
	hosts     []cluster.Host
	dbMissing []cluster.Host
}

// catalog is one server's view of the project database.
type catalog struct {
	dbExists bool
	tables   map[string]*liveTable
}

type liveTable struct {
	name    string
	engine  string
	columns []liveColumn
	// partitionKey and sortingKey are system.tables' columns; known is false on servers whose
	// system.tables lacks them.
	partitionKey, sortingKey string
	keysKnown                bool
	// engineFull is system.tables' engine_full ("" on servers without it).
	engineFull string
	// missing are the hosts of the cluster without the table.
	missing []cluster.Host
}

type liveColumn struct {
	name, typ string
	// missing are the hosts that have the table but not the column.
	missing []cluster.Host
}

func (t *liveTable) column(name string) *liveColumn {
	for i := range t.columns {
		if t.columns[i].name == name {
			return &t.columns[i]
		}
	}
	return nil
}

func (l *live) table(name string) *liveTable { return l.tables[name] }

// readLive reads the project database's tables, columns and hourglass records: from the
// server e, or from every node of the project's cluster (merged).
func readLive(ctx context.Context, e engine.Engine, store *meta.Store, db string, nodes cluster.Nodes) (*live, error) {
	info, err := e.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the engine version: %w", err)
	}
	l := &live{versionText: info.Version}
	if len(nodes) == 0 {
		if l.catalog, err = readCatalog(ctx, e, db); err != nil {
			return nil, err
		}
	} else if err := l.mergeCatalogs(ctx, nodes, db); err != nil {
		return nil, err
	}
	if l.tables[meta.DeploymentsTable] != nil {
		if l.deployments, err = store.Deployments(ctx); err != nil {
			return nil, err
		}
	}
	if l.tables[meta.EndpointsTable] != nil {
		if l.endpoints, err = store.Endpoints(ctx); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// readCatalog reads the project database's tables and columns on one server.
func readCatalog(ctx context.Context, e engine.Engine, db string) (catalog, error) {
	l := catalog{tables: map[string]*liveTable{}}
	r, err := e.Query(ctx, "SELECT count() FROM system.databases WHERE name = {db:String}", engine.Params{"db": db})
	if err != nil {
		return l, fmt.Errorf("look up database %s: %w", db, err)
	}
	l.dbExists = r.Row()[0] == uint64(1)
	if !l.dbExists {
		return l, nil
	}
	// system.tables gained partition_key and sorting_key over time: read what this server has.
	r, err = e.Query(ctx, "SELECT name FROM system.columns WHERE database = 'system' AND table = 'tables'", nil)
	if err != nil {
		return l, fmt.Errorf("read system.tables columns: %w", err)
	}
	have := map[string]bool{}
	for _, row := range r.Rows {
		have[row[0].(string)] = true
	}
	keys := have["partition_key"] && have["sorting_key"]
	q := "SELECT name, engine"
	if keys {
		q += ", partition_key, sorting_key"
	}
	if have["engine_full"] {
		q += ", engine_full"
	}
	r, err = e.Query(ctx, q+" FROM system.tables WHERE database = {db:String}", engine.Params{"db": db})
	if err != nil {
		return l, fmt.Errorf("read tables of %s: %w", db, err)
	}
	for _, row := range r.Rows {
		t := &liveTable{name: row[0].(string), engine: row[1].(string), keysKnown: keys}
		if keys {
			t.partitionKey, t.sortingKey = row[2].(string), row[3].(string)
		}
		if have["engine_full"] {
			t.engineFull = row[len(row)-1].(string)
		}
		l.tables[t.name] = t
	}
	r, err = e.Query(ctx, "SELECT table, name, type FROM system.columns WHERE database = {db:String}", engine.Params{"db": db})
	if err != nil {
		return l, fmt.Errorf("read columns of %s: %w", db, err)
	}
	for _, row := range r.Rows {
		if t := l.tables[row[0].(string)]; t != nil {
			t.columns = append(t.columns, liveColumn{name: row[1].(string), typ: row[2].(string)})
		}
	}
	return l, nil
}

// metadataTables are the tables meta.Store.Ensure creates.
var metadataTables = []string{meta.DeploymentsTable, meta.RunsTable, meta.StateTable, meta.EndpointsTable}

// sameType compares a declared type with a live one, after normalising both through the type
// parser (spacing, quoting).
func sameType(declared, liveType string) bool {
	return normType(declared) == normType(liveType)
}

func normType(s string) string {
	if t, err := chtype.Parse(s); err == nil {
		return t.String()
	}
	return strings.Join(strings.Fields(s), " ")
}

// normKey normalises a sorting or partition key for comparison: no backquotes, no spaces, no
// enclosing parentheses; "tuple()" is the empty key.
func normKey(s string) string {
	s = strings.NewReplacer("`", "", " ", "", "\n", "", "\t", "").Replace(s)
	for strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") && balanced(s[1:len(s)-1]) {
		s = s[1 : len(s)-1]
	}
	if s == "tuple()" {
		return ""
	}
	return s
}

// balanced reports whether s's parentheses balance without going negative.
func balanced(s string) bool {
	depth := 0
	for _, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}

// showKey renders a key for messages, without backquotes: "(a, b)", "toYYYYMM(ts)" or
// "tuple()".
func showKey(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "`", ""))
	if normKey(s) == "" {
		return "tuple()"
	}
	return s
}
