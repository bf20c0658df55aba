package meta

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
)

// Unit statuses. A unit writes StatusSwapping just before its REPLACE PARTITION and
// StatusDone once the swap is durable (the parts it replaced are gone from disk); a unit that
// fails before its swap writes StatusFailed (its partition is untouched), one that fails after
// issuing it StatusSwapFailed. A unit whose latest status is InDoubt and whose run is no longer
// alive leaves its partition suspect (see Suspect) until a later run redoes the partition and
// records StatusRecovered for it.
const (
	// StatusStarted is what hourglass wrote before a unit staged, until runs recorded
	// StatusSwapping instead; a unit left in it by a dead run is in doubt.
	StatusStarted    = "started"
	StatusSwapping   = "swapping"
	StatusDone       = "done"
	StatusFailed     = "failed"
	StatusSwapFailed = "swap_failed"
	StatusRecovered  = "recovered"
)

// InDoubt reports whether a unit whose latest status is status may have left its partition
// doubled: its swap was (or may have been) issued and was never confirmed durable.
func InDoubt(status string) bool {
	return status == StatusStarted || status == StatusSwapping || status == StatusSwapFailed
}

// Durable reports whether a unit whose latest status is status left its partition replaced
// for good: done, or redone by a later run after its own run died.
func Durable(status string) bool { return status == StatusDone || status == StatusRecovered }

// Unit is one row of the run log: one populate unit (a rollup partition) in one run.
type Unit struct {
	RunID string `json:"run_id"`
	// Rollup is the table of the rollup version the unit wrote ("<rollup>" for version 1,
	// "<rollup>_vN" after): every runtime record is keyed by the table the data lives in.
	Rollup string `json:"rollup"`
	Hash   string `json:"hash"`
	// Kind is "backfill", "populate", "reconcile" or "recover".
	Kind string `json:"kind"`
	// Start is the start of the unit's partition (for runs before swap records, the start of
	// its recomputed range); End is the end of the hours its swap wrote.
	Start       time.Time     `json:"start"`
	End         time.Time     `json:"end"`
	Status      string        `json:"status"`
	RowsRead    uint64        `json:"rows_read"`
	RowsWritten uint64        `json:"rows_written"`
	Duration    time.Duration `json:"duration_ns"`
	Error       string        `json:"error,omitempty"`
	Attempt     int           `json:"attempt"`
	At          time.Time     `json:"at"`
	// Shard is the cluster shard the unit ran on ("1", "2", … as system.clusters numbers
	// them), "" on a single server: on a cluster a unit is one partition on one shard, and
	// every shard's units are recorded apart.
	Shard string `json:"shard,omitempty"`
}

// RecordUnit appends a run-log row.
func (s *Store) RecordUnit(ctx context.Context, u Unit) error { return s.RecordUnits(ctx, u) }

// RecordUnits appends run-log rows in one INSERT: a SELECT of the values per row for a few
// rows, one array per column unnested by the engine for more (a SELECT per row joined by
// UNION ALL took 72 ms to plan for a group of 91 units, the arrays 12 ms; for one row the
// SELECT takes 3 ms, the arrays 5 ms).
func (s *Store) RecordUnits(ctx context.Context, units ...Unit) error {
	if len(units) == 0 {
		return nil
	}
	if len(units) < fewRows {
		return s.recordRows(ctx, units)
	}
	n := len(units)
	run, rollup, hash, kind, status, errs, shard := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	start, end, at, attempt := make([]any, n), make([]any, n), make([]any, n), make([]any, n)
	read, written, ms, seq := make([]any, n), make([]any, n), make([]any, n), make([]any, n)
	for i, u := range units {
		if u.At.IsZero() {
			u.At = s.now()
		}
		run[i], rollup[i], hash[i], kind[i], status[i], errs[i], shard[i] = u.RunID, u.Rollup, u.Hash, u.Kind, u.Status, u.Error, u.Shard
		start[i], end[i], at[i] = uint32(u.Start.Unix()), uint32(u.End.Unix()), uint32(u.At.Unix())
		read[i], written[i], ms[i], attempt[i], seq[i] = u.RowsRead, u.RowsWritten, uint64(u.Duration.Milliseconds()), uint32(u.Attempt), s.seq()
	}
	q := "INSERT INTO " + s.table(RunsTable) + ` (run_id, rollup, hash, kind, unit_start, unit_end, status, rows_read, rows_written, duration_ms, error, attempt, at, seq, shard)
SELECT {run:Array(String)}[i], {rollup:Array(String)}[i], {hash:Array(String)}[i], {kind:Array(String)}[i],
    toDateTime({start:Array(UInt32)}[i]), toDateTime({end:Array(UInt32)}[i]), {status:Array(String)}[i],
    {read:Array(UInt64)}[i], {written:Array(UInt64)}[i], {ms:Array(UInt64)}[i], {err:Array(String)}[i],
    {attempt:Array(UInt32)}[i], toDateTime({at:Array(UInt32)}[i]), {seq:Array(UInt64)}[i], {shard:Array(String)}[i]
FROM (SELECT arrayJoin(range({n:UInt32})) + 1 AS i)`
	params := engine.Params{"run": run, "rollup": rollup, "hash": hash, "kind": kind, "start": start, "end": end, "status": status,
		"read": read, "written": written, "ms": ms, "err": errs, "attempt": attempt, "at": at, "seq": seq, "shard": shard, "n": uint32(n)}
	if err := s.e.Exec(ctx, q, params); err != nil {
		return fmt.Errorf("record run of %s %s: %w", units[0].Rollup, units[0].Start.UTC().Format(time.DateTime), err)
	}
	return nil
}

// fewRows is the number of run-log rows from which RecordUnits sends arrays.
const fewRows = 8

// recordRows appends a few run-log rows, a SELECT of the values of each.
func (s *Store) recordRows(ctx context.Context, units []Unit) error {
	selects := make([]string, len(units))
	params := engine.Params{}
	for i, u := range units {
		if u.At.IsZero() {
			u.At = s.now()
		}
		p := func(name string, v any, typ string) string {
			key := fmt.Sprintf("%s%d", name, i)
			params[key] = v
			return "{" + key + ":" + typ + "}"
		}
		selects[i] = "SELECT " + strings.Join([]string{p("run", u.RunID, "String"), p("rollup", u.Rollup, "String"), p("hash", u.Hash, "String"),
			p("kind", u.Kind, "String"), p("start", u.Start, "DateTime"), p("end", u.End, "DateTime"), p("status", u.Status, "String"),
			p("read", u.RowsRead, "UInt64"), p("written", u.RowsWritten, "UInt64"), p("ms", uint64(u.Duration.Milliseconds()), "UInt64"),
			p("err", u.Error, "String"), p("attempt", uint32(u.Attempt), "UInt32"), p("at", u.At.UTC().Truncate(time.Second), "DateTime"),
			p("seq", s.seq(), "UInt64"), p("shard", u.Shard, "String")}, ", ")
	}
	if err := s.e.Exec(ctx, "INSERT INTO "+s.table(RunsTable)+" "+strings.Join(selects, " UNION ALL "), params); err != nil {
		return fmt.Errorf("record run of %s %s: %w", units[0].Rollup, units[0].Start.UTC().Format(time.DateTime), err)
	}
	return nil
}

// unitColumns are the latest state of a unit; group by unitKey.
const unitColumns = "run_id, rollup, argMax(hash, seq), argMax(kind, seq), unit_start, argMax(unit_end, seq), argMax(status, seq), argMax(rows_read, seq), argMax(rows_written, seq), argMax(duration_ms, seq), argMax(error, seq), argMax(attempt, seq), argMax(at, seq), shard"

// unitKey identifies a unit in the run log: one partition of one rollup version, on one
// shard, in one run.
const unitKey = "run_id, rollup, shard, unit_start"

func unitsFrom(r *engine.Result) []Unit {
	out := make([]Unit, 0, len(r.Rows))
	for _, row := range r.Rows {
		out = append(out, Unit{
			RunID: row[0].(string), Rollup: row[1].(string), Hash: row[2].(string), Kind: row[3].(string),
			Start: row[4].(time.Time), End: row[5].(time.Time), Status: row[6].(string),
			RowsRead: row[7].(uint64), RowsWritten: row[8].(uint64), Duration: time.Duration(row[9].(uint64)) * time.Millisecond,
			Error: row[10].(string), Attempt: int(row[11].(uint64)), At: row[12].(time.Time), Shard: row[13].(string),
		})
	}
	return out
}

// RunUnits returns the latest state of every unit of one run, in time order.
func (s *Store) RunUnits(ctx context.Context, runID string) ([]Unit, error) {
	r, err := s.e.Query(ctx, "SELECT "+unitColumns+" FROM "+s.table(RunsTable)+
		" WHERE run_id = {run:String} GROUP BY "+unitKey+" ORDER BY unit_start, shard", engine.Params{"run": runID})
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", runID, err)
	}
	return unitsFrom(r), nil
}

// History returns every run-log row of a rollup version's table (latest state per run and
// unit) whose unit starts in [from, to), in time order then run order.
func (s *Store) History(ctx context.Context, table string, from, to time.Time) ([]Unit, error) {
	r, err := s.e.Query(ctx, "SELECT "+unitColumns+" FROM "+s.table(RunsTable)+
		" WHERE rollup = {rollup:String} AND unit_start >= {from:DateTime} AND unit_start < {to:DateTime}"+
		" GROUP BY "+unitKey+" ORDER BY unit_start, max(seq)",
		engine.Params{"rollup": table, "from": from, "to": to})
	if err != nil {
		return nil, fmt.Errorf("read run log of %s: %w", table, err)
	}
	return unitsFrom(r), nil
}

// LastRun returns the id of the latest run of the given kind on a rollup version's table, or
// "" when none.
func (s *Store) LastRun(ctx context.Context, table, kind string) (string, error) {
	r, err := s.e.Query(ctx, "SELECT argMax(run_id, seq) FROM "+s.table(RunsTable)+
		" WHERE rollup = {rollup:String} AND kind = {kind:String}", engine.Params{"rollup": table, "kind": kind})
	if err != nil {
		return "", fmt.Errorf("find last %s run of %s: %w", kind, table, err)
	}
	if len(r.Rows) == 0 {
		return "", nil
	}
	id, _ := r.Row()[0].(string)
	return id, nil
}

// RecentUnits returns the latest n run-log rows of a rollup version's table (latest state per
// unit), newest first.
func (s *Store) RecentUnits(ctx context.Context, table string, n int) ([]Unit, error) {
	// The limit is written into the SQL: ClickHouse 18.16 takes no expression (such as a bound
	// parameter's CAST) in LIMIT.
	r, err := s.e.Query(ctx, "SELECT "+unitColumns+" FROM "+s.table(RunsTable)+
		" WHERE rollup = {rollup:String} GROUP BY "+unitKey+" ORDER BY max(seq) DESC LIMIT "+strconv.Itoa(max(n, 0)),
		engine.Params{"rollup": table})
	if err != nil {
		return nil, fmt.Errorf("read run log of %s: %w", table, err)
	}
	return unitsFrom(r), nil
}

// State keys.
const (
	// KeyWatermark is the end (exclusive) of the last hour a rollup version's table holds
	// completely.
	KeyWatermark = "watermark"
)

// Get returns the latest value of an object's key.
func (s *Store) Get(ctx context.Context, object, key string) (string, bool, error) {
	r, err := s.e.Query(ctx, "SELECT argMax(value, seq), count() FROM "+s.table(StateTable)+
		" WHERE object = {object:String} AND key = {key:String}", engine.Params{"object": object, "key": key})
	if err != nil {
		return "", false, fmt.Errorf("read %s of %s: %w", key, object, err)
	}
	if len(r.Rows) == 0 || r.Row()[1] == uint64(0) {
		return "", false, nil
	}
	return r.Row()[0].(string), true, nil
}

// Set records a new value of an object's key.
func (s *Store) Set(ctx context.Context, object, key, value string) error {
	err := s.e.Exec(ctx, "INSERT INTO "+s.table(StateTable)+" SELECT {object:String}, {key:String}, {value:String}, {at:DateTime}, {seq:UInt64}",
		engine.Params{"object": object, "key": key, "value": value, "at": s.now().UTC().Truncate(time.Second), "seq": s.seq()})
	if err != nil {
		return fmt.Errorf("record %s of %s: %w", key, object, err)
	}
	return nil
}

// Latest returns the latest value of every key of an object that starts with prefix.
func (s *Store) Latest(ctx context.Context, object, prefix string) (map[string]string, error) {
	r, err := s.e.Query(ctx, "SELECT key, argMax(value, seq) FROM "+s.table(StateTable)+
		" WHERE object = {object:String} AND startsWith(key, {prefix:String}) GROUP BY key", engine.Params{"object": object, "prefix": prefix})
	if err != nil {
		return nil, fmt.Errorf("read %s* of %s: %w", prefix, object, err)
	}
	out := make(map[string]string, len(r.Rows))
	for _, row := range r.Rows {
		out[row[0].(string)] = row[1].(string)
	}
	return out, nil
}

// Values returns every value ever recorded for an object's key, distinct, in no order.
func (s *Store) Values(ctx context.Context, object, key string) ([]string, error) {
	r, err := s.e.Query(ctx, "SELECT DISTINCT value FROM "+s.table(StateTable)+
		" WHERE object = {object:String} AND key = {key:String}", engine.Params{"object": object, "key": key})
	if err != nil {
		return nil, fmt.Errorf("read %s of %s: %w", key, object, err)
	}
	out := make([]string, len(r.Rows))
	for i, row := range r.Rows {
		out[i] = row[0].(string)
	}
	return out, nil
}

// Watermark returns the watermark of a rollup version's table: every hour before it is
// populated. ok is false when the table was never populated.
func (s *Store) Watermark(ctx context.Context, table string) (t time.Time, ok bool, err error) {
	v, ok, err := s.Get(ctx, table, KeyWatermark)
	if err != nil || !ok {
		return time.Time{}, ok, err
	}
	t, err = time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("watermark of %s is %q: %w", table, v, err)
	}
	return t.UTC(), true, nil
}

// SetWatermark records the watermark of a rollup version's table.
func (s *Store) SetWatermark(ctx context.Context, table string, t time.Time) error {
	return s.Set(ctx, table, KeyWatermark, t.UTC().Format(time.RFC3339))
}
