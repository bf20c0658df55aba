package endpoints

import (
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hourglass-dev/hourglass/ident"
)

// RowsDiff returns "" when two result sets hold the same rows in the same order (floats equal
// within the relative tolerance tol), else a go-cmp diff (-a +b).
func RowsDiff(a, b [][]any, tol float64) string {
	return cmp.Diff(a, b, cmpopts.EquateApprox(tol, 0), cmpopts.EquateNaNs(), cmpopts.EquateEmpty())
}

// sameRowsAnyOrder reports whether a and b hold the same rows once both are sorted the same
// way: endpoints ordered by a metric may list tied rows in either order.
func sameRowsAnyOrder(a, b [][]any, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	return RowsDiff(canonical(a), canonical(b), tol) == ""
}

// canonical sorts rows by their non-float values, then by their floats.
func canonical(rows [][]any) [][]any {
	out := append([][]any{}, rows...)
	keyOf := func(r []any) (string, []float64) {
		var parts []string
		var floats []float64
		for _, v := range r {
			if f, ok := v.(float64); ok {
				floats = append(floats, f)
				continue
			}
			parts = append(parts, fmt.Sprintf("%T:%v", v, v))
		}
		return strings.Join(parts, "\x00"), floats
	}
	sort.SliceStable(out, func(i, j int) bool {
		ki, fi := keyOf(out[i])
		kj, fj := keyOf(out[j])
		if ki != kj {
			return ki < kj
		}
		for x := range fi {
			if x < len(fj) && fi[x] != fj[x] {
				return fi[x] < fj[x]
			}
		}
		return false
	})
	return out
}

func qualified(db, name string) string { return ident.Qualified(db, name) }
