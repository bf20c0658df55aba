package endpoints

import (
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hourglass-dev/hourglass/ident"
	"github.com/hourglass-dev/hourglass/pipes"
)

// RowsDiff returns "" when two result sets hold the same rows in the same order (floats equal
// within the relative tolerance tol; the uniq_combined counts of the columns sketches names by
// index under their sketch's rule, see pipes.Sketch), else a go-cmp diff (-a +b).
func RowsDiff(a, b [][]any, tol float64, sketches ...map[int]*pipes.Sketch) string {
	opts := []cmp.Option{cmpopts.EquateApprox(tol, 0), cmpopts.EquateNaNs(), cmpopts.EquateEmpty()}
	for _, sk := range sketches {
		opts = append(opts, SketchEqual(sk))
	}
	return cmp.Diff(a, b, opts...)
}

// SketchEqual is the go-cmp option comparing the uniq_combined counts of rows ([][]any) in the
// columns sketches names by index with their sketch's rule.
func SketchEqual(sketches map[int]*pipes.Sketch) cmp.Option {
	var opts cmp.Options
	for col, sk := range sketches {
		inColumn := func(p cmp.Path) bool {
			if len(p) < 2 {
				return false
			}
			c, ok := p.Last().(cmp.SliceIndex)
			_, row := p.Index(-2).(cmp.SliceIndex)
			return ok && row && c.Key() == col
		}
		opts = append(opts, cmp.FilterPath(inColumn, cmp.Comparer(func(x, y any) bool {
			a, ok1 := x.(uint64)
			b, ok2 := y.(uint64)
			if ok1 && ok2 {
				return sk.Equal(a, b)
			}
			return cmp.Equal(x, y)
		})))
	}
	return opts
}

// sameRowsAnyOrder reports whether a and b hold the same rows once both are sorted the same
// way: endpoints ordered by a metric may list tied rows in either order.
func sameRowsAnyOrder(a, b [][]any, tol float64, sketches map[int]*pipes.Sketch) bool {
	if len(a) != len(b) {
		return false
	}
	return RowsDiff(canonical(a), canonical(b), tol, sketches) == ""
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
