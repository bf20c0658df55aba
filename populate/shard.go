package populate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hourglass-dev/hourglass/cluster"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/pipes"
)

// Where units run. On a single server a run has one shard, the server itself (id ""). On a
// cluster (the project declares cluster:) every unit runs once per shard of the cluster, on
// one replica of that shard that answers, and works on the shard's local tables only (the
// statements pipes.RollupArtifacts.Local compiles): local raw → local staging → local
// REPLACE PARTITION. The shard's other replicas get the swap through ZooKeeper, as for any
// ALTER of a Replicated table, so a shard's rollup holds exactly its own raw rows and the
// Distributed table merges the shards' states. The topology is read from system.clusters at
// the start of every run (cluster.ConnectLive): a shard none of whose replicas answers fails
// its units, naming its hosts, while the other shards do theirs.
//
// This is the layer every unit step runs inside: a step gets the shard's engine and the
// rollup compiled for the shard, and never needs to know whether there is a cluster.

// shard is where a run's units execute.
type shard struct {
	// id is the shard's number as system.clusters gives it ("1", "2" …), "" on one server; it
	// is the Shard of the units and run-log rows of the shard.
	id string
	// host is the replica the units run on (host:port), "" on one server.
	host string
	// e is that replica's connection; ra the rollup version compiled for the shard.
	e  engine.Engine
	ra *pipes.RollupArtifacts
	// others are the shard's other replicas that answer: each must have applied the swap and
	// purged the parts it replaced before a unit is durable (see waitPurged).
	others []replica
	// down says why no replica of the shard answers; every unit of the shard fails with it.
	down error
}

// replica is one other replica of a shard.
type replica struct {
	host string
	e    engine.Engine
}

// String names the shard in messages: "shard 2 (127.0.0.1:9002)", "" on one server.
func (s *shard) String() string {
	if s.id == "" {
		return "the server"
	}
	if s.host == "" {
		return "shard " + s.id
	}
	return "shard " + s.id + " (" + s.host + ")"
}

// shardDownError says that no replica of a shard answers.
type shardDownError struct {
	shard string
	hosts []cluster.Host
	errs  []error
}

func (e *shardDownError) Error() string {
	var what []string
	for i, h := range e.hosts {
		what = append(what, fmt.Sprintf("host %s does not answer: %v", h, e.errs[i]))
	}
	return fmt.Sprintf("shard %s: no replica answers (%s): its units were not run; start it and run the command again", e.shard, strings.Join(what, "; "))
}

// topology returns the shards a run of rollup version ra executes on and a function that
// closes the connections it opened.
func (r *Runner) topology(ctx context.Context, ra *pipes.RollupArtifacts) ([]*shard, func(), error) {
	name := r.artifacts.Project.Cluster
	if name == "" {
		return []*shard{{e: r.e, ra: ra}}, func() {}, nil
	}
	local, err := ra.Local()
	if err != nil {
		return nil, nil, err
	}
	hosts, err := cluster.Hosts(ctx, r.e, name)
	if err != nil {
		return nil, nil, err
	}
	nodes, down, err := cluster.ConnectLive(ctx, r.e, name)
	if err != nil {
		return nil, nil, err
	}
	// The node hourglass is connected to works for its own shard: one connection fewer
	// doing the work, and its shard is never the one left out when it alone answers.
	self := ""
	if info, err := r.e.Info(ctx); err == nil {
		self = info.Location
	}
	byShard := map[int]*shard{}
	var out []*shard
	for _, h := range hosts {
		s := byShard[h.Shard]
		if s == nil {
			s = &shard{id: strconv.Itoa(h.Shard), ra: local}
			byShard[h.Shard] = s
			out = append(out, s)
		}
		n := nodes.Node(h.Addr())
		if n == nil {
			continue
		}
		if s.e == nil || h.Addr() == self {
			if s.e != nil {
				s.others = append(s.others, replica{host: s.host, e: s.e})
			}
			s.e, s.host = n.Engine, h.Addr()
			continue
		}
		s.others = append(s.others, replica{host: h.Addr(), e: n.Engine})
	}
	for _, s := range out {
		if s.e != nil {
			continue
		}
		de := &shardDownError{shard: s.id}
		if down != nil {
			for i, h := range down.Hosts {
				if strconv.Itoa(h.Shard) == s.id {
					de.hosts, de.errs = append(de.hosts, h), append(de.errs, down.Errs[i])
				}
			}
		}
		s.down = de
	}
	sort.SliceStable(out, func(i, j int) bool { return byShardNum(out[i].id) < byShardNum(out[j].id) })
	return out, nodes.Close, nil
}

func byShardNum(id string) int {
	n, _ := strconv.Atoi(id)
	return n
}

// ShardReport is what a run did on one shard of a cluster.
type ShardReport struct {
	Shard string `json:"shard"`
	// Host is the replica the shard's units ran on ("" when none answered).
	Host        string `json:"host,omitempty"`
	Units       int    `json:"units"`
	Done        int    `json:"done"`
	Skipped     int    `json:"skipped"`
	Failed      int    `json:"failed"`
	RowsRead    uint64 `json:"rows_read"`
	RowsWritten uint64 `json:"rows_written"`
	// Error is why the shard's units stopped (its first failure), "" when they did not.
	Error string `json:"error,omitempty"`
}

// ShardError is a run on a cluster that failed on some shards: their failures are listed
// (Shard, Err), the other shards' units are done and recorded. Report tells what each shard
// did. Running the same command again (a backfill with --resume) redoes only what is missing.
type ShardError struct {
	Report *Report
	Errs   []ShardFailure
}

// ShardFailure is why one shard's units stopped.
type ShardFailure struct {
	Shard string
	Host  string
	Err   error
}

func (e *ShardError) Error() string {
	var what []string
	for _, f := range e.Errs {
		var down *shardDownError
		switch {
		case errors.As(f.Err, &down):
			what = append(what, f.Err.Error())
		case f.Host != "":
			what = append(what, fmt.Sprintf("shard %s (%s): %v", f.Shard, f.Host, f.Err))
		default:
			what = append(what, fmt.Sprintf("shard %s: %v", f.Shard, f.Err))
		}
	}
	done := e.Report.Done + e.Report.Skipped
	return fmt.Sprintf("%s %s: %d of %d units failed on %d of %d shards, %d done: %s", e.Report.Kind, e.Report.Rollup,
		e.Report.Failed, e.Report.Units, len(e.Errs), len(e.Report.Shards), done, strings.Join(what, "; "))
}

// Unwrap returns the shards' errors.
func (e *ShardError) Unwrap() []error {
	out := make([]error, len(e.Errs))
	for i, f := range e.Errs {
		out[i] = f.Err
	}
	return out
}
