// Package cluster is hourglass's view of a ClickHouse cluster: its hosts as the servers'
// system.clusters lists them, one connection to each, and the check that every host answers
// and reaches ZooKeeper before anything runs ON CLUSTER. A host that is down makes ON CLUSTER
// statements wait for it (distributed_ddl_task_timeout, 180 s by default) and then leaves them
// queued: commands check first and name the host instead.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/hourglass-dev/hourglass/engine"
)

// Host is one server of a cluster.
type Host struct {
	// Shard and Replica are the host's shard_num and replica_num in system.clusters (from 1).
	Shard, Replica int
	// Name and Port are the host_name and native port the cluster's servers reach it on.
	Name string
	Port int
}

// Addr is host:port.
func (h Host) Addr() string { return h.Name + ":" + strconv.Itoa(h.Port) }

// String names the host in messages: "127.0.0.1:9002 (shard 2, replica 1)".
func (h Host) String() string {
	return fmt.Sprintf("%s (shard %d, replica %d)", h.Addr(), h.Shard, h.Replica)
}

// Hosts returns the hosts of the named cluster as the server e is connected to knows them,
// by shard then replica. A cluster the server does not know is an error that says so.
func Hosts(ctx context.Context, e engine.Engine, name string) ([]Host, error) {
	r, err := e.Query(ctx, "SELECT shard_num, replica_num, host_name, port FROM system.clusters WHERE cluster = {cluster:String} ORDER BY shard_num, replica_num",
		engine.Params{"cluster": name})
	if err != nil {
		return nil, fmt.Errorf("read the hosts of cluster %s: %w", name, err)
	}
	if len(r.Rows) == 0 {
		info, _ := e.Info(ctx)
		return nil, fmt.Errorf("cluster %s is not defined on the server hourglass is connected to (%s: system.clusters has no such cluster): point --dsn at a node of the cluster, or fix cluster: in hourglass.yaml", name, info.Location)
	}
	var out []Host
	for _, row := range r.Rows {
		out = append(out, Host{Shard: int(row[0].(uint64)), Replica: int(row[1].(uint64)), Name: row[2].(string), Port: int(row[3].(uint64))})
	}
	return out, nil
}

// Node is a host with a connection to it.
type Node struct {
	Host
	engine.Engine
}

// Nodes are connections to every host of a cluster, by shard then replica.
type Nodes []*Node

// Close closes every connection.
func (ns Nodes) Close() {
	for _, n := range ns {
		n.Engine.Close()
	}
}

// Shards groups the nodes by shard, in shard order.
func (ns Nodes) Shards() [][]*Node {
	var out [][]*Node
	for _, n := range ns {
		if len(out) == 0 || out[len(out)-1][0].Shard != n.Shard {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], n)
	}
	return out
}

// DownError reports the hosts of a cluster that do not answer or cannot reach ZooKeeper.
type DownError struct {
	Cluster string
	Hosts   []Host
	Errs    []error
}

func (e *DownError) Error() string {
	var what []string
	for i, h := range e.Hosts {
		what = append(what, fmt.Sprintf("host %s does not answer: %v", h, e.Errs[i]))
	}
	return fmt.Sprintf("cluster %s: %s — ON CLUSTER statements would wait for it; start it (or take it out of the cluster's remote_servers) and run again",
		e.Cluster, strings.Join(what, "; "))
}

// Connect opens a connection to every host of the named cluster, through the DSN of e with
// each host's address (engine.OpenHost), and checks that each answers and reaches ZooKeeper.
// When a host does not, it fails before anything ran, with a *DownError naming every such
// host. The caller closes the nodes.
func Connect(ctx context.Context, e engine.Engine, name string) (Nodes, error) {
	nodes, down, err := ConnectLive(ctx, e, name)
	if err != nil {
		return nil, err
	}
	if down != nil {
		nodes.Close()
		return nil, down
	}
	return nodes, nil
}

// ConnectLive is Connect for commands that work with the hosts that answer: it returns the
// nodes that answer and reach ZooKeeper and, when some do not, a *DownError naming them
// (nil when every host is live). err is set only when the cluster's hosts cannot be read.
// The caller closes the nodes.
func ConnectLive(ctx context.Context, e engine.Engine, name string) (Nodes, *DownError, error) {
	hosts, err := Hosts(ctx, e, name)
	if err != nil {
		return nil, nil, err
	}
	nodes := make(Nodes, len(hosts))
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			he, err := engine.OpenHost(ctx, e, h.Addr())
			if err == nil {
				// Distributed DDL and Replicated tables run through ZooKeeper: a host cut off
				// from it never runs its share of an ON CLUSTER statement, and its replicated
				// tables are read-only.
				if _, err = he.Query(ctx, "SELECT count() FROM system.zookeeper WHERE path = '/'", nil); err != nil {
					he.Close()
					err = fmt.Errorf("ZooKeeper: %w", err)
				}
			}
			if err != nil {
				errs[i] = err
				return
			}
			nodes[i] = &Node{Host: h, Engine: he}
		}()
	}
	wg.Wait()
	down := &DownError{Cluster: name}
	var ok Nodes
	for i, n := range nodes {
		if errs[i] != nil {
			down.Hosts, down.Errs = append(down.Hosts, hosts[i]), append(down.Errs, errs[i])
			continue
		}
		ok = append(ok, n)
	}
	if len(down.Hosts) == 0 {
		down = nil
	}
	return ok, down, nil
}

// IsDown reports whether err is a *DownError.
func IsDown(err error) bool {
	var d *DownError
	return errors.As(err, &d)
}

// Node returns the node of host:port addr, or nil.
func (ns Nodes) Node(addr string) *Node {
	for _, n := range ns {
		if n.Addr() == addr {
			return n
		}
	}
	return nil
}
