package endpoints

import (
	"testing"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/pipes"
)

func TestSameRowsAnyOrder(t *testing.T) {
	a := [][]any{{"DE", uint64(3), 1.0}, {"US", uint64(3), 2.0}}
	b := [][]any{{"US", uint64(3), 2.0 + 1e-12}, {"DE", uint64(3), 1.0}}
	if RowsDiff(a, b, 1e-9) == "" {
		t.Fatal("rows in another order compare equal in order")
	}
	if !sameRowsAnyOrder(a, b, 1e-9, nil) {
		t.Fatal("the same rows in another order are not the same rows")
	}
	if sameRowsAnyOrder(a, [][]any{{"US", uint64(4), 2.0}, {"DE", uint64(3), 1.0}}, 1e-9, nil) {
		t.Fatal("different rows compare equal")
	}
	if sameRowsAnyOrder(a, [][]any{{"US", uint64(3), 2.1}, {"DE", uint64(3), 1.0}}, 1e-9, nil) {
		t.Fatal("a float beyond tolerance compares equal")
	}
}

func TestParseVersion(t *testing.T) {
	for v, want := range map[string][2]int{"26.5.1.1": {26, 5}, "18.16.1": {18, 16}, "23.1": {23, 1}} {
		ma, mi, ok := parseVersion(v)
		if !ok || ma != want[0] || mi != want[1] {
			t.Errorf("%s → %d.%d %v", v, ma, mi, ok)
		}
	}
	if _, _, ok := parseVersion("dev"); ok {
		t.Error("parsed dev")
	}
}

// TestSketchRule: a uniq_combined(14) count compares exactly, except at the sketch's set sizes
// (512 and 1024) where the other side may be the HyperLogLog's estimate of the same values;
// the rule applies only to the columns named.
func TestSketchRule(t *testing.T) {
	sk := pipes.SketchOf(&datasources.Metric{Kind: datasources.MetricUniqCombined, Precision: 14})
	a := [][]any{{"s1", uint64(512), uint64(512)}, {"s2", uint64(700), uint64(1024)}}
	b := [][]any{{"s1", uint64(517), uint64(512)}, {"s2", uint64(700), uint64(1019)}}
	if d := RowsDiff(a, b, 0, map[int]*pipes.Sketch{1: sk, 2: sk}); d != "" {
		t.Fatalf("estimate at the set size rejected:\n%s", d)
	}
	if RowsDiff(a, b, 0, map[int]*pipes.Sketch{2: sk}) == "" {
		t.Fatal("a count column without the rule compared loosely")
	}
	for _, c := range [][2]uint64{{511, 510}, {700, 701}, {512, 600}, {2048, 2047}} {
		if sk.Equal(c[0], c[1]) {
			t.Errorf("%d and %d compare equal", c[0], c[1])
		}
	}
	if (*pipes.Sketch)(nil).Equal(512, 517) || !(*pipes.Sketch)(nil).Equal(5, 5) {
		t.Error("a nil rule is not exact")
	}
}
