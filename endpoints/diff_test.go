package endpoints

import "testing"

func TestSameRowsAnyOrder(t *testing.T) {
	a := [][]any{{"DE", uint64(3), 1.0}, {"US", uint64(3), 2.0}}
	b := [][]any{{"US", uint64(3), 2.0 + 1e-12}, {"DE", uint64(3), 1.0}}
	if RowsDiff(a, b, 1e-9) == "" {
		t.Fatal("rows in another order compare equal in order")
	}
	if !sameRowsAnyOrder(a, b, 1e-9) {
		t.Fatal("the same rows in another order are not the same rows")
	}
	if sameRowsAnyOrder(a, [][]any{{"US", uint64(4), 2.0}, {"DE", uint64(3), 1.0}}, 1e-9) {
		t.Fatal("different rows compare equal")
	}
	if sameRowsAnyOrder(a, [][]any{{"US", uint64(3), 2.1}, {"DE", uint64(3), 1.0}}, 1e-9) {
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
