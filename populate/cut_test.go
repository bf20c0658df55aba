package populate_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
)

// days returns whole-day units from the 1st of November 2026, the last one ending at
// lastHours into its day (24: whole).
func days(n, lastHours int) []populate.Unit {
	var us []populate.Unit
	for i := range n {
		p := timerange.Range{Start: time.Date(2026, 11, 1+i, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 2+i, 0, 0, 0, 0, time.UTC)}
		rg := p
		if i == n-1 {
			rg.End = p.Start.Add(time.Duration(lastHours) * time.Hour)
		}
		us = append(us, populate.Unit{Partition: p, Range: rg})
	}
	return us
}

func rg(from, to string) timerange.Range {
	p := func(s string) time.Time {
		t, err := time.Parse("2006-01-02 15", s)
		if err != nil {
			panic(err)
		}
		return t
	}
	return timerange.Range{Start: p(from), End: p(to)}
}

// A group's INSERTs stage at most about the row bound each, two at once: consecutive
// partitions while they fit, a partition holding more split into ranges of whole hours.
func TestCut(t *testing.T) {
	for _, c := range []struct {
		name      string
		units     []populate.Unit
		rows, max uint64 // rows per whole partition, bound on the rows an INSERT stages
		want      []timerange.Range
		at        int
	}{
		{"sizes unknown: an INSERT a unit", days(3, 24), 0, 20000, []timerange.Range{rg("2026-11-01 00", "2026-11-02 00"), rg("2026-11-02 00", "2026-11-03 00"), rg("2026-11-03 00", "2026-11-04 00")}, 1},
		{"small partitions: days while they fit", days(7, 24), 1500, 4500, []timerange.Range{rg("2026-11-01 00", "2026-11-04 00"), rg("2026-11-04 00", "2026-11-07 00"), rg("2026-11-07 00", "2026-11-08 00")}, 2},
		{"a partial last day counts its hours", days(4, 12), 1500, 4500, []timerange.Range{rg("2026-11-01 00", "2026-11-04 00"), rg("2026-11-04 00", "2026-11-04 12")}, 2},
		{"one small unit: one INSERT", days(1, 24), 1500, 4500, []timerange.Range{rg("2026-11-01 00", "2026-11-02 00")}, 1},
		{"large partitions: halves of days", days(2, 13), 20000, 10000, []timerange.Range{rg("2026-11-01 00", "2026-11-01 12"), rg("2026-11-01 12", "2026-11-02 00"), rg("2026-11-02 00", "2026-11-02 06"), rg("2026-11-02 06", "2026-11-02 13")}, 2},
		{"a bound below an hour's rows: an INSERT an hour", days(1, 3), 20000, 1, []timerange.Range{rg("2026-11-01 00", "2026-11-01 01"), rg("2026-11-01 01", "2026-11-01 02"), rg("2026-11-01 02", "2026-11-01 03")}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, at := populate.Cut(c.units, c.rows, c.max)
			if diff := cmp.Diff(c.want, got); diff != "" || at != c.at {
				t.Errorf("at %d, want %d; pieces (-want +got):\n%s", at, c.at, diff)
			}
		})
	}
}
