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

// TestAcceptSketchedDerived: a derived column (a rate over distinct sessions) takes the served
// value only in a row where its uniq_combined input differs by the sketch's rule — 512 vs
// 511 — and is compared as it is everywhere else.
func TestAcceptSketchedDerived(t *testing.T) {
	sk := pipes.SketchOf(&datasources.Metric{Kind: datasources.MetricUniqCombined, Precision: 14})
	sketches, derived := map[int]*pipes.Sketch{1: sk}, map[int][]int{2: {1}}
	raw := [][]any{{"h1", uint64(512), 204.0 / 512}, {"h2", uint64(400), 0.5}, {"h3", uint64(300), 0.25}}
	served := [][]any{{"h1", uint64(511), 204.0 / 511}, {"h2", uint64(401), 0.6}, {"h3", uint64(300), 0.26}}
	want := AcceptSketched(raw, served, sketches, derived)
	if d := RowsDiff(want[:1], served[:1], 1e-9, sketches); d != "" {
		t.Errorf("the row at the set size: %s", d)
	}
	for i := 1; i < 3; i++ {
		if RowsDiff(want[i:i+1], served[i:i+1], 1e-9, sketches) == "" {
			t.Errorf("row %d (inputs equal, or differing away from the set size) compares equal", i)
		}
	}
	if raw[0][2] != 204.0/512 {
		t.Error("AcceptSketched changed its input")
	}
}
