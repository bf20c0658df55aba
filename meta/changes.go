package meta

import (
	"context"
	"fmt"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
)

// Changes is what the run log of a rollup version says was written after some point.
type Changes struct {
	// Seq is the latest sequence number in the version's run log and Count how many rows it
	// holds (0 when it has none): together, the point to ask from next time.
	Seq, Count uint64
	// Any says the run log changed since the point asked from; Since is then the earliest hour
	// the units recorded since may have rewritten.
	Any   bool
	Since time.Time
}

// ChangesMargin is how far before the point asked from ChangesSince looks for a row that
// landed late: a unit's sequence number is read from the writer's clock a moment before its
// row lands, so with parallel writers a row may land after one with a higher number was seen.
const ChangesMargin = 30 * time.Second

// ChangesSince reads the run log of a rollup version's table for what was recorded after the
// point seen (a Changes read earlier; the zero value for the beginning). Every write to a
// rollup version, its grain and finals tables included, goes through a unit recorded there
// before it is done, so a reader that kept results of hours before Since, computed after
// reading the point, knows whether they still hold. The run log only grows, so an unchanged
// latest number and count mean nothing was written. When every row added since has a number
// above the point, Since is the earliest start of their units; when a row landed late (the
// count grew by more), of the units recorded since ChangesMargin before the point, or of every
// unit when none is.
func (s *Store) ChangesSince(ctx context.Context, table string, seen Changes) (Changes, error) {
	margin := uint64(0)
	if m := uint64(ChangesMargin); seen.Seq > m {
		margin = seen.Seq - m
	}
	r, err := s.e.Query(ctx, "SELECT max(seq), count(), countIf(seq > {after:UInt64}), minIf(unit_start, seq > {after:UInt64}),"+
		" minIf(unit_start, seq > {margin:UInt64}), min(unit_start) FROM "+s.table(RunsTable)+
		" WHERE rollup = {table:String}", engine.Params{"table": table, "after": seen.Seq, "margin": margin})
	if err != nil {
		return Changes{}, fmt.Errorf("read the run log of %s: %w", table, err)
	}
	row := r.Row()
	if row == nil {
		return Changes{}, nil
	}
	c := Changes{Seq: asUint(row[0]), Count: asUint(row[1])}
	if c.Seq == seen.Seq && c.Count == seen.Count {
		return c, nil
	}
	c.Any = true
	after := asUint(row[2])
	switch {
	case after > 0 && c.Count == seen.Count+after:
		c.Since, _ = row[3].(time.Time)
	case seen.Seq > 0 && seen.Count > 0:
		if c.Since, _ = row[4].(time.Time); c.Since.IsZero() || c.Since.Year() < 2000 {
			c.Since, _ = row[5].(time.Time)
		}
	default:
		c.Since, _ = row[5].(time.Time)
	}
	return c, nil
}

// asUint reads a count or sequence number (0 when it is not one).
func asUint(v any) uint64 {
	n, _ := engine.Uint(v)
	return n
}
