package meta

import (
	"context"
	"fmt"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
)

// Unit statuses, in the order a unit goes through them.
const (
	StatusStarted = "started"
	StatusDone    = "done"
	StatusFailed  = "failed"
)

// Unit is one row of the run log: one populate unit (a rollup partition's range) in one run.
type Unit struct {
	RunID  string `json:"run_id"`
	Rollup string `json:"rollup"`
	Hash   string `json:"hash"`
	// Kind is "backfill", "populate" or "reconcile".
	Kind        string        `json:"kind"`
	Start       time.Time     `json:"start"`
	End         time.Time     `json:"end"`
	Status      string        `json:"status"`
	RowsRead    uint64        `json:"rows_read"`
	RowsWritten uint64        `json:"rows_written"`
	Duration    time.Duration `json:"duration_ns"`
	Error       string        `json:"error,omitempty"`
	Attempt     int           `json:"attempt"`
	At          time.Time     `json:"at"`
}

// RecordUnit appends a run-log row.
func (s *Store) RecordUnit(ctx context.Context, u Unit) error {
	if u.At.IsZero() {
		u.At = s.now()
	}
	err := s.e.Exec(ctx, "INSERT INTO "+s.table(RunsTable)+
		" SELECT {run:String}, {rollup:String}, {hash:String}, {kind:String}, {start:DateTime}, {end:DateTime}, {status:String},"+
		" {read:UInt64}, {written:UInt64}, {ms:UInt64}, {err:String}, {attempt:UInt32}, {at:DateTime}, {seq:UInt64}",
		engine.Params{"run": u.RunID, "rollup": u.Rollup, "hash": u.Hash, "kind": u.Kind, "start": u.Start, "end": u.End,
			"status": u.Status, "read": u.RowsRead, "written": u.RowsWritten, "ms": uint64(u.Duration.Milliseconds()),
			"err": u.Error, "attempt": uint32(u.Attempt), "at": u.At.UTC().Truncate(time.Second), "seq": s.seq()})
	if err != nil {
		return fmt.Errorf("record run of %s %s: %w", u.Rollup, u.Start.UTC().Format(time.DateTime), err)
	}
	return nil
}

const unitColumns = "run_id, rollup, argMax(hash, seq), argMax(kind, seq), unit_start, argMax(unit_end, seq), argMax(status, seq), argMax(rows_read, seq), argMax(rows_written, seq), argMax(duration_ms, seq), argMax(error, seq), argMax(attempt, seq), argMax(at, seq)"

func unitsFrom(r *engine.Result) []Unit {
	out := make([]Unit, 0, len(r.Rows))
	for _, row := range r.Rows {
		out = append(out, Unit{
			RunID: row[0].(string), Rollup: row[1].(string), Hash: row[2].(string), Kind: row[3].(string),
			Start: row[4].(time.Time), End: row[5].(time.Time), Status: row[6].(string),
			RowsRead: row[7].(uint64), RowsWritten: row[8].(uint64), Duration: time.Duration(row[9].(uint64)) * time.Millisecond,
			Error: row[10].(string), Attempt: int(row[11].(uint64)), At: row[12].(time.Time),
		})
	}
	return out
}

// RunUnits returns the latest state of every unit of one run, in time order.
func (s *Store) RunUnits(ctx context.Context, runID string) ([]Unit, error) {
	r, err := s.e.Query(ctx, "SELECT "+unitColumns+" FROM "+s.table(RunsTable)+
		" WHERE run_id = {run:String} GROUP BY run_id, rollup, unit_start ORDER BY unit_start", engine.Params{"run": runID})
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", runID, err)
	}
	return unitsFrom(r), nil
}

// History returns every run-log row of a rollup (latest state per run and unit) whose unit
// starts in [from, to), in time order then run order.
func (s *Store) History(ctx context.Context, rollup string, from, to time.Time) ([]Unit, error) {
	r, err := s.e.Query(ctx, "SELECT "+unitColumns+" FROM "+s.table(RunsTable)+
		" WHERE rollup = {rollup:String} AND unit_start >= {from:DateTime} AND unit_start < {to:DateTime}"+
		" GROUP BY run_id, rollup, unit_start ORDER BY unit_start, max(seq)",
		engine.Params{"rollup": rollup, "from": from, "to": to})
	if err != nil {
		return nil, fmt.Errorf("read run log of %s: %w", rollup, err)
	}
	return unitsFrom(r), nil
}

// LastRun returns the id of the latest run of a rollup of the given kind, or "" when none.
func (s *Store) LastRun(ctx context.Context, rollup, kind string) (string, error) {
	r, err := s.e.Query(ctx, "SELECT argMax(run_id, seq) FROM "+s.table(RunsTable)+
		" WHERE rollup = {rollup:String} AND kind = {kind:String}", engine.Params{"rollup": rollup, "kind": kind})
	if err != nil {
		return "", fmt.Errorf("find last %s run of %s: %w", kind, rollup, err)
	}
	if len(r.Rows) == 0 {
		return "", nil
	}
	id, _ := r.Row()[0].(string)
	return id, nil
}

// RecentUnits returns the latest n run-log rows of a rollup (latest state per unit), newest first.
func (s *Store) RecentUnits(ctx context.Context, rollup string, n int) ([]Unit, error) {
	r, err := s.e.Query(ctx, "SELECT "+unitColumns+" FROM "+s.table(RunsTable)+
		" WHERE rollup = {rollup:String} GROUP BY run_id, rollup, unit_start ORDER BY max(seq) DESC LIMIT {n:UInt64}",
		engine.Params{"rollup": rollup, "n": uint64(n)})
	if err != nil {
		return nil, fmt.Errorf("read run log of %s: %w", rollup, err)
	}
	return unitsFrom(r), nil
}

// State keys.
const (
	// KeyWatermark is the end (exclusive) of the last hour a rollup holds completely.
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

// Watermark returns the rollup's watermark: every hour before it is populated. ok is false
// when the rollup was never populated.
func (s *Store) Watermark(ctx context.Context, rollup string) (t time.Time, ok bool, err error) {
	v, ok, err := s.Get(ctx, rollup, KeyWatermark)
	if err != nil || !ok {
		return time.Time{}, ok, err
	}
	t, err = time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("watermark of %s is %q: %w", rollup, v, err)
	}
	return t.UTC(), true, nil
}

// SetWatermark records the rollup's watermark.
func (s *Store) SetWatermark(ctx context.Context, rollup string, t time.Time) error {
	return s.Set(ctx, rollup, KeyWatermark, t.UTC().Format(time.RFC3339))
}
