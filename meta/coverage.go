package meta

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/timerange"
)

// Coverage is what the run log and the watermark say a rollup version's table holds.
type Coverage struct {
	// Table is the version's table the run log and watermark are keyed by.
	Table string `json:"table"`
	// Done are the hours recomputed by units recorded done, merged into ranges in time order.
	// Each partition counts with the range of its latest done unit: a swap replaces the whole
	// partition, so a later unit that recomputed fewer hours leaves fewer hours in it.
	Done []timerange.Range `json:"done"`
	// Pending are the unit ranges whose latest record is "started": a unit running now, or one a
	// process that died left, whose partition may hold its old and new rows at once.
	Pending []timerange.Range `json:"pending"`
	// Watermark is the end of the hours the table holds completely; HasWatermark is false when
	// none was ever recorded.
	Watermark    time.Time `json:"watermark,omitzero"`
	HasWatermark bool      `json:"has_watermark"`
}

// Coverage reads the run log and watermark of a rollup version's table (the table's name is
// what the run log and the watermark are keyed by). With hash set, only units run with that
// definition hash count.
func (s *Store) Coverage(ctx context.Context, table, hash string) (*Coverage, error) {
	c := &Coverage{Table: table, Done: []timerange.Range{}, Pending: []timerange.Range{}}
	params := engine.Params{"table": table, "hash": hash}
	where := " WHERE rollup = {table:String} AND ({hash:String} = '' OR hash = {hash:String})"
	// On a cluster every shard's units are recorded apart (Unit.Shard): a partition is done
	// only when every shard the run log knows has a done unit of it, up to the end the
	// shards' latest done units all reach.
	r, err := s.e.Query(ctx, "SELECT uniqExact(shard) FROM "+s.table(RunsTable)+where, params)
	if err != nil {
		return nil, fmt.Errorf("read the run log of %s: %w", table, err)
	}
	shards := r.Row()[0].(uint64)
	// Latest record of every (run, shard, unit), then per shard and unit (partition start)
	// across runs: the latest done unit's end, and the latest record's status and end; then
	// per unit across shards.
	r, err = s.e.Query(ctx, "SELECT unit_start, minIf(d_end, n_done > 0), countIf(n_done > 0), countIf(l_status = 'started'), maxIf(l_end, l_status = 'started') FROM ("+
		"SELECT shard, unit_start, argMaxIf(u_end, s, u_status = 'done') AS d_end, countIf(u_status = 'done') AS n_done, argMax(u_status, s) AS l_status, argMax(u_end, s) AS l_end FROM ("+
		"SELECT run_id, shard, unit_start, argMax(unit_end, seq) AS u_end, argMax(status, seq) AS u_status, max(seq) AS s FROM "+s.table(RunsTable)+where+
		" GROUP BY run_id, shard, unit_start) GROUP BY shard, unit_start"+
		") GROUP BY unit_start ORDER BY unit_start", params)
	if err != nil {
		return nil, fmt.Errorf("read the run log of %s: %w", table, err)
	}
	for _, row := range r.Rows {
		start := row[0].(time.Time)
		if row[2].(uint64) == shards {
			c.Done = append(c.Done, timerange.Range{Start: start, End: row[1].(time.Time)})
		}
		if row[3].(uint64) > 0 {
			c.Pending = append(c.Pending, timerange.Range{Start: start, End: row[4].(time.Time)})
		}
	}
	c.Done = merge(c.Done)
	if c.Watermark, c.HasWatermark, err = s.Watermark(ctx, table); err != nil {
		return nil, err
	}
	return c, nil
}

// merge sorts ranges and joins those that overlap or touch; empty ranges are dropped.
func merge(rs []timerange.Range) []timerange.Range {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Start.Before(rs[j].Start) })
	out := []timerange.Range{}
	for _, r := range rs {
		if r.Empty() {
			continue
		}
		if n := len(out); n > 0 && !r.Start.After(out[n-1].End) {
			if r.End.After(out[n-1].End) {
				out[n-1].End = r.End
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// First is the first hour any done unit covers (zero when none).
func (c *Coverage) First() time.Time {
	if len(c.Done) == 0 {
		return time.Time{}
	}
	return c.Done[0].Start
}

// Through returns the hours the table holds without a gap up to end (the watermark, or a
// trigger rollup's cut-over): the done range that starts before end, cut at end. It is empty
// when no done unit starts before end; its End is before end when the hours just before end
// were never done.
func (c *Coverage) Through(end time.Time) timerange.Range {
	for i := len(c.Done) - 1; i >= 0; i-- {
		d := c.Done[i]
		if d.Start.Before(end) {
			if d.End.After(end) {
				d.End = end
			}
			return d
		}
	}
	return timerange.Range{}
}

// Gaps returns the hours between the first done hour and before that are not done.
func (c *Coverage) Gaps(before time.Time) []timerange.Range {
	out := []timerange.Range{}
	for i := 1; i < len(c.Done); i++ {
		g := timerange.Range{Start: c.Done[i-1].End, End: c.Done[i].Start}
		if g.Start.Before(before) {
			if g.End.After(before) {
				g.End = before
			}
			out = append(out, g)
		}
	}
	return out
}
