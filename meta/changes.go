package meta

import (
	"context"
	"fmt"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
)

// Changes is what the run log of a rollup version says was written after some point.
type Changes struct {
	// Seq is the latest sequence number in the version's run log (0 when it has none): the
	// point to ask from next time.
	Seq uint64
	// Any says a unit was recorded after the point asked from; Since is then the earliest
	// hour those units may have rewritten (the start of the earliest of them).
	Any   bool
	Since time.Time
}

// ChangesSince reads the run log of a rollup version's table for units recorded after seq
// (0: from the beginning). Every write to a rollup version, its grain and finals tables
// included, goes through a unit recorded there before it is done, so a reader that kept
// results of hours before Since, computed after reading Seq, knows whether they still hold.
func (s *Store) ChangesSince(ctx context.Context, table string, seq uint64) (Changes, error) {
	r, err := s.e.Query(ctx, "SELECT max(seq), countIf(seq > {after:UInt64}), minIf(unit_start, seq > {after:UInt64}) FROM "+s.table(RunsTable)+
		" WHERE rollup = {table:String}", engine.Params{"table": table, "after": seq})
	if err != nil {
		return Changes{}, fmt.Errorf("read the run log of %s: %w", table, err)
	}
	row := r.Row()
	if row == nil {
		return Changes{Seq: seq}, nil
	}
	c := Changes{Seq: max(seq, asUint(row[0]))}
	if asUint(row[1]) > 0 {
		c.Any = true
		c.Since, _ = row[2].(time.Time)
	}
	return c, nil
}

func asUint(v any) uint64 {
	switch x := v.(type) {
	case uint64:
		return x
	case int64:
		return uint64(x)
	}
	return 0
}
