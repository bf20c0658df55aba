package meta

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
)

// A run lease says a populate run is alive. A run takes one before its first unit, renews it
// while it works and releases it when it ends; it lives in the state table under the rollup
// version's table (object) and "run:<run id>" (key). Suspect reads it to tell a unit in
// doubt of a dead run (its partition may be doubled) from one of a run still working (its
// swap is in flight, atomic for readers).
//
// A run is dead when its lease was released or expired, when the engine it wrote to has
// restarted since it took the lease, or when it was taken by a process of this host that no
// longer exists. The restart is read from LiveRunsTable, a Memory table holding the id of every
// run that took a lease since the engine started: its rows die with the server process (or
// with the process of an embedded engine), which is exactly when the parts a swap in flight
// replaced may have been loaded again.

// leaseKeyPrefix starts the state key of a run lease.
const leaseKeyPrefix = "run:"

// LiveRunsTable is the Memory table of the runs that took a lease since the engine started.
const LiveRunsTable = "_hourglass_live_runs"

// RunLease is one run's lease.
type RunLease struct {
	Table string
	RunID string
	// Owner identifies the process that holds the lease.
	Owner Owner
	// Until is when the lease expires (wall clock); at or before now it is released.
	Until time.Time
}

// Owner identifies a process: its host, the host's boot, its PID and the PID's start time,
// so a PID reused after the process died is not taken for it.
type Owner struct {
	Host     string
	HostBoot string
	PID      int
	Started  string
}

// ErrEngineRestarted is returned by RenewRunLease when the engine restarted since the lease
// was taken: the run's swaps in flight may have been undone and other runs now treat its
// units as dead, so it must stop swapping.
var ErrEngineRestarted = errors.New("the engine restarted during the run")

// CurrentOwner returns this process's identity.
func CurrentOwner() Owner {
	host, _ := os.Hostname()
	b, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return Owner{Host: host, HostBoot: strings.TrimSpace(string(b)), PID: os.Getpid(), Started: processStart(os.Getpid())}
}

// processStart returns a process's start time in clock ticks since the host booted, or "" when
// it is unknown (no such process, or no /proc).
func processStart(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name (field 2) is in parentheses and may hold spaces: fields count from
	// after its closing parenthesis, where field 3 starts; the start time is field 22.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

// gone reports whether the process o is known to have exited: it ran on this host since its
// last boot and no process with its PID and start time exists now.
func (o Owner) gone(here Owner) bool {
	if o.Host != here.Host || o.HostBoot == "" || o.HostBoot != here.HostBoot || o.Started == "" {
		return false
	}
	return processStart(o.PID) != o.Started
}

func (l *RunLease) value() string {
	return strings.Join([]string{"v1", l.Owner.Host, l.Owner.HostBoot, strconv.Itoa(l.Owner.PID), l.Owner.Started,
		strconv.FormatInt(l.Until.UnixNano(), 10)}, "|")
}

func parseLease(table, runID, v string) (*RunLease, error) {
	f := strings.Split(v, "|")
	if len(f) != 6 || f[0] != "v1" {
		return nil, fmt.Errorf("run lease of %s is %q", runID, v)
	}
	pid, err1 := strconv.Atoi(f[3])
	until, err2 := strconv.ParseInt(f[5], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("run lease of %s is %q: %w", runID, v, err)
	}
	return &RunLease{Table: table, RunID: runID, Owner: Owner{Host: f[1], HostBoot: f[2], PID: pid, Started: f[4]},
		Until: time.Unix(0, until).UTC()}, nil
}

// ensureLiveRuns creates LiveRunsTable if it does not exist: the first run lease does.
func (s *Store) ensureLiveRuns(ctx context.Context) error {
	if err := s.e.Exec(ctx, liveRunsDDL(s.table(LiveRunsTable)), nil); err != nil {
		return fmt.Errorf("create %s: %w", LiveRunsTable, err)
	}
	return nil
}

func liveRunsDDL(table string) string {
	return "CREATE TABLE IF NOT EXISTS " + table + " (table_name String, run_id String) ENGINE = Memory"
}

// liveRuns returns which of the runs ids took a lease since the engine started.
func (s *Store) liveRuns(ctx context.Context, ids []string) (map[string]bool, error) {
	if err := s.ensureLiveRuns(ctx); err != nil {
		return nil, err
	}
	r, err := s.e.Query(ctx, "SELECT DISTINCT run_id FROM "+s.table(LiveRunsTable)+" WHERE has({ids:Array(String)}, run_id)", engine.Params{"ids": ids})
	if err != nil {
		return nil, fmt.Errorf("read the runs alive since the engine started: %w", err)
	}
	live := map[string]bool{}
	for _, row := range r.Rows {
		live[row[0].(string)] = true
	}
	return live, nil
}

// TakeRunLease records that run runID, writing to table, is alive for ttl.
func (s *Store) TakeRunLease(ctx context.Context, table, runID string, ttl time.Duration) (*RunLease, error) {
	if err := s.ensureLiveRuns(ctx); err != nil {
		return nil, err
	}
	if err := s.e.Exec(ctx, "INSERT INTO "+s.table(LiveRunsTable)+" SELECT {table:String}, {run:String}", engine.Params{"table": table, "run": runID}); err != nil {
		return nil, fmt.Errorf("record run %s alive: %w", runID, err)
	}
	l := &RunLease{Table: table, RunID: runID, Owner: CurrentOwner(), Until: time.Now().Add(ttl)}
	if err := s.Set(ctx, table, leaseKeyPrefix+runID, l.value()); err != nil {
		return nil, err
	}
	return l, nil
}

// RenewRunLease extends l by ttl. It returns an error wrapping ErrEngineRestarted, and leaves
// the lease as it was, when the engine restarted since the lease was taken.
func (s *Store) RenewRunLease(ctx context.Context, l *RunLease, ttl time.Duration) error {
	live, err := s.liveRuns(ctx, []string{l.RunID})
	if err != nil {
		return err
	}
	if !live[l.RunID] {
		return fmt.Errorf("run %s: %w", l.RunID, ErrEngineRestarted)
	}
	next := *l
	next.Until = time.Now().Add(ttl)
	if err := s.Set(ctx, l.Table, leaseKeyPrefix+l.RunID, next.value()); err != nil {
		return err
	}
	l.Until = next.Until
	return nil
}

// ReleaseRunLease records that the run ended.
func (s *Store) ReleaseRunLease(ctx context.Context, l *RunLease) error {
	next := *l
	next.Until = time.Unix(0, 0)
	return s.Set(ctx, l.Table, leaseKeyPrefix+l.RunID, next.value())
}

// SuspectPartition is a partition of a rollup version's table that may hold its data twice:
// a unit of a run that is no longer alive issued (or may have issued) a swap of it and never
// saw the replaced parts leave the disk, so an engine restart may have loaded them again. It
// stays suspect until a later run redoes the partition (every command that writes to the
// table does that first) and records the unit recovered.
type SuspectPartition struct {
	Table string `json:"table"`
	// Start is the partition's start; every hour in [Start, End) may be counted twice. End is
	// the end of the hours the unit's swap wrote (the last closed hour of the partition then).
	// For units recorded before swap records existed, Start is the start of the hours the unit
	// recomputed.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// RunID, Kind and Status are the dead run's, and At when it recorded the unit.
	RunID  string    `json:"run_id"`
	Kind   string    `json:"kind"`
	Status string    `json:"status"`
	At     time.Time `json:"at"`
	// Reason says, in one line, why the partition is suspect.
	Reason string `json:"reason"`
}

// Suspect returns the suspect partitions of a rollup version's table (one entry per unit in
// doubt of a dead run; several may name the same partition), in partition order. A unit of a
// run that is still alive is not suspect: its swap is in flight, and atomic for readers.
func (s *Store) Suspect(ctx context.Context, table string) ([]SuspectPartition, error) {
	r, err := s.e.Query(ctx, "SELECT run_id, unit_start, argMax(unit_end, seq), argMax(status, seq) AS st, argMax(kind, seq), argMax(at, seq), argMax(error, seq)"+
		" FROM "+s.table(RunsTable)+" WHERE rollup = {table:String} GROUP BY run_id, unit_start"+
		" HAVING st IN ('"+StatusStarted+"', '"+StatusSwapping+"', '"+StatusSwapFailed+"') ORDER BY unit_start, run_id",
		engine.Params{"table": table})
	if err != nil {
		return nil, fmt.Errorf("read units in doubt of %s: %w", table, err)
	}
	if len(r.Rows) == 0 {
		return nil, nil
	}
	var keys, ids []string
	seen := map[string]bool{}
	for _, row := range r.Rows {
		if id := row[0].(string); !seen[id] {
			seen[id] = true
			ids = append(ids, id)
			keys = append(keys, leaseKeyPrefix+id)
		}
	}
	lr, err := s.e.Query(ctx, "SELECT key, argMax(value, seq) FROM "+s.table(StateTable)+
		" WHERE object = {table:String} AND has({keys:Array(String)}, key) GROUP BY key", engine.Params{"table": table, "keys": keys})
	if err != nil {
		return nil, fmt.Errorf("read run leases of %s: %w", table, err)
	}
	leases := map[string]*RunLease{}
	for _, row := range lr.Rows {
		id := strings.TrimPrefix(row[0].(string), leaseKeyPrefix)
		if l, err := parseLease(table, id, row[1].(string)); err == nil {
			leases[id] = l
		}
	}
	live, err := s.liveRuns(ctx, ids)
	if err != nil {
		return nil, err
	}
	here, now := CurrentOwner(), time.Now()
	var out []SuspectPartition
	for _, row := range r.Rows {
		sp := SuspectPartition{Table: table, RunID: row[0].(string), Start: row[1].(time.Time), End: row[2].(time.Time),
			Status: row[3].(string), Kind: row[4].(string), At: row[5].(time.Time)}
		reason, dead := deadReason(sp.Status, row[6].(string), leases[sp.RunID], live[sp.RunID], here, now)
		if !dead {
			continue
		}
		sp.Reason = fmt.Sprintf("%s run %s %s", sp.Kind, sp.RunID, reason)
		out = append(out, sp)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out, nil
}

// deadReason says whether a unit in doubt belongs to a run that is no longer alive, and why;
// live says whether the run took its lease since the engine started.
func deadReason(status, unitErr string, l *RunLease, live bool, here Owner, now time.Time) (string, bool) {
	switch {
	case status == StatusSwapFailed:
		return "failed after issuing its swap: " + unitErr, true
	case l == nil:
		return "stopped during its swap (no run lease)", true
	case !l.Until.After(now):
		if l.Until.Unix() == 0 {
			return "ended with its swap unconfirmed", true
		}
		return "stopped during its swap (lease expired " + l.Until.Format(time.RFC3339) + ")", true
	case !live:
		return "was cut off during its swap: the engine has restarted since (a server restart, or the process of an embedded engine died)", true
	case l.Owner.gone(here):
		return fmt.Sprintf("died during its swap (process %d on %s is gone)", l.Owner.PID, l.Owner.Host), true
	}
	return "", false
}
