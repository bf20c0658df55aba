package deploy

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/hourglass-dev/hourglass/cluster"
)

// On a cluster, plan reads every host's catalog and merges them; a table or column some
// hosts lack — what an ON CLUSTER statement leaves when it fails part-way (a host down, an
// error on one host) — is planned where it is missing: CREATE … IF NOT EXISTS ON CLUSTER for
// a table (a no-op where it exists), the column's ALTER on each host lacking it for a column
// (one replica per shard for a Replicated table, whose replicas share their columns).

// HostStatement is a statement that runs on one host of the cluster alone.
type HostStatement struct {
	// Host is host:port as system.clusters lists it.
	Host      string `json:"host"`
	Statement string `json:"statement"`
}

// mergeCatalogs reads every node's catalog of db and merges them into l.
func (l *live) mergeCatalogs(ctx context.Context, nodes cluster.Nodes, db string) error {
	cats := make([]catalog, len(nodes))
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if cats[i], errs[i] = readCatalog(ctx, n.Engine, db); errs[i] != nil {
				errs[i] = fmt.Errorf("host %s: %w", n.Host, errs[i])
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	l.tables = map[string]*liveTable{}
	for i, c := range cats {
		h := nodes[i].Host
		l.hosts = append(l.hosts, h)
		if c.dbExists {
			l.dbExists = true
		} else {
			l.dbMissing = append(l.dbMissing, h)
		}
		for name, t := range c.tables {
			m := l.tables[name]
			if m == nil {
				m = &liveTable{name: name, engine: t.engine, partitionKey: t.partitionKey, sortingKey: t.sortingKey, keysKnown: t.keysKnown}
				l.tables[name] = m
			}
			for _, col := range t.columns {
				if m.column(col.name) == nil {
					m.columns = append(m.columns, liveColumn{name: col.name, typ: col.typ})
				}
			}
		}
	}
	for name, m := range l.tables {
		for i, c := range cats {
			t := c.tables[name]
			if t == nil {
				m.missing = append(m.missing, nodes[i].Host)
				continue
			}
			for j := range m.columns {
				if t.column(m.columns[j].name) == nil {
					m.columns[j].missing = append(m.columns[j].missing, nodes[i].Host)
				}
			}
		}
	}
	return nil
}

// hostList names hosts in messages: "127.0.0.1:9002 (shard 2, replica 1), …".
func hostList(hs []cluster.Host) string {
	var s []string
	for _, h := range hs {
		s = append(s, h.String())
	}
	return strings.Join(s, ", ")
}

// missingOn is the detail of an object some hosts lack: "missing on host …".
func missingOn(what string, hs []cluster.Host) string {
	return fmt.Sprintf("%s is missing on %s", what, hostList(hs))
}

// onHosts returns stmt (compiled ON CLUSTER) as it completes a column change on the hosts
// that need it: every such host for a table of its own (Distributed), or for a Replicated
// table one replica of each shard all of whose replicas need it — where only some do, they
// get the change through replication, and pending lists them.
func (pl *planner) onHosts(stmt string, need []cluster.Host, replicated bool) (out []HostStatement, pending []cluster.Host) {
	lacks := map[string]bool{}
	for _, h := range need {
		lacks[h.Addr()] = true
	}
	one := pl.a.OnOneHost(stmt)
	if !replicated {
		for _, h := range need {
			out = append(out, HostStatement{Host: h.Addr(), Statement: one})
		}
		return out, nil
	}
	shards := map[int][]cluster.Host{}
	var order []int
	for _, h := range pl.l.hosts {
		if _, ok := shards[h.Shard]; !ok {
			order = append(order, h.Shard)
		}
		shards[h.Shard] = append(shards[h.Shard], h)
	}
	for _, s := range order {
		var lacking []cluster.Host
		for _, h := range shards[s] {
			if lacks[h.Addr()] {
				lacking = append(lacking, h)
			}
		}
		switch {
		case len(lacking) == 0:
		case len(lacking) == len(shards[s]):
			out = append(out, HostStatement{Host: lacking[0].Addr(), Statement: one})
		default:
			pending = append(pending, lacking...)
		}
	}
	return out, pending
}

// hostsWith returns the hosts among all that have table t and its column col.
func (t *liveTable) hostsWith(col string, all []cluster.Host) []cluster.Host {
	lc := t.column(col)
	if lc == nil {
		return nil
	}
	skip := map[string]bool{}
	for _, h := range append(append([]cluster.Host{}, t.missing...), lc.missing...) {
		skip[h.Addr()] = true
	}
	var out []cluster.Host
	for _, h := range all {
		if !skip[h.Addr()] {
			out = append(out, h)
		}
	}
	return out
}
