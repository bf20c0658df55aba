package generate

import "time"

// hourOfDay is the relative traffic of each UTC hour: a quiet night, a morning ramp, a
// plateau through the working day and an evening decline.
var hourOfDay = [24]float64{
	0.35, 0.28, 0.24, 0.22, 0.24, 0.32, 0.50, 0.75, 0.95, 1.05, 1.10, 1.12,
	1.10, 1.08, 1.10, 1.15, 1.20, 1.22, 1.18, 1.10, 0.98, 0.85, 0.65, 0.48,
}

// dayOfWeek is the relative traffic of each weekday, Sunday first (time.Weekday order).
var dayOfWeek = [7]float64{0.65, 1.00, 1.04, 1.05, 1.03, 0.95, 0.70}

// dayWeights returns the relative traffic of every day of the range: the weekly curve, a 40 %
// growth over the range and ±8 % day-to-day noise drawn from the seed.
func dayWeights(days int, start time.Time, seed uint64) []float64 {
	w := make([]float64, days)
	for d := range w {
		t := start.AddDate(0, 0, d)
		noise := 0.92 + 0.16*float64(splitmix64(seed^0xD1B54A32D192ED03^uint64(d))>>11)/float64(uint64(1)<<53)
		trend := 1 + 0.4*(float64(d)+0.5)/float64(days)
		w[d] = dayOfWeek[t.Weekday()] * trend * noise
	}
	return w
}

// Sizes of the inverse CDF tables: about 8 equal-probability pieces per day (at least 1024,
// at most 32768) and 512 pieces over the 24 hours of a day.
func dayTableSize(days int) int { return min(max(days*8, 1024), 32768) }

const hourTableSize = 512

// inverseCDF returns m+1 positions: entry k is where the cumulative weight of units of the
// given length (w[i] spreads uniformly over [i·unit, (i+1)·unit)) reaches k/m of the total.
// Entry 0 is 0 and entry m is len(w)·unit. A uniform q in [0, 1) maps to a position by
// interpolating between entries ⌊qm⌋ and ⌊qm⌋+1, which draws positions with density w.
func inverseCDF(w []float64, unit float64, m int) []float64 {
	total := 0.0
	for _, x := range w {
		total += x
	}
	out := make([]float64, m+1)
	i, cum := 0, 0.0 // cum is the weight of units before i
	for k := 1; k < m; k++ {
		q := float64(k) / float64(m) * total
		for i < len(w)-1 && cum+w[i] <= q {
			cum += w[i]
			i++
		}
		out[k] = max(out[k-1], (float64(i)+(q-cum)/w[i])*unit)
	}
	out[m] = float64(len(w)) * unit
	return out
}

// packed returns the table as UInt64s holding entry k in the low 32 bits and entry k+1 in the
// high 32 bits (positions floored to integers), so one array lookup gives both ends of a
// piece.
func packed(t []float64) []any {
	out := make([]any, len(t)-1)
	for k := range out {
		out[k] = uint64(t[k]) | uint64(t[k+1])<<32
	}
	return out
}

// dayTable maps a quantile of the range's traffic to seconds since its start, spreading each
// day uniformly (the hour table then reshapes time within the day).
func dayTable(days int, start time.Time, seed uint64) []any {
	return packed(inverseCDF(dayWeights(days, start, seed), 86400, dayTableSize(days)))
}

// hourTable maps a fraction of a day to a second of the day along the daily curve.
func hourTable() []any {
	return packed(inverseCDF(hourOfDay[:], 3600, hourTableSize))
}
