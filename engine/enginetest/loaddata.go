package enginetest

import (
	"io"
	"strconv"
)

// LoadTableColumns are the columns of the table the load tests fill, in SQL that both the
// embedded engine and clickhouse-server 18.16 understand.
const LoadTableColumns = "(id UInt64, user String, value UInt32, ts DateTime('UTC'))"

// LoadTableEngine partitions the load tests' table by day, so a load spans partitions.
const LoadTableEngine = "ENGINE = MergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY id"

// NDJSON generates rows for LoadTableColumns as newline-delimited JSON, one row per line, in
// bounded memory: row i (from 1) has id i, user "u<i mod 1000>", value i mod 100 and a time i
// seconds after 2026-11-01 00:00:00 UTC. Line BadLine (when > 0) is a row whose id is not a
// number. Expected sums come from LoadSums, by formula, not by reading the data back.
type NDJSON struct {
	// Rows is the number of lines to generate.
	Rows int
	// BadLine is the line (from 1) that does not parse, or 0.
	BadLine int
	next    int
	row     []byte // the current row, reused
	off     int    // how much of row was read
}

// Read fills p with the next rows.
func (g *NDJSON) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if g.off == len(g.row) {
			if g.next >= g.Rows {
				if n == 0 {
					return 0, io.EOF
				}
				break
			}
			g.next++
			g.row, g.off = g.appendRow(g.row[:0], g.next), 0
		}
		c := copy(p[n:], g.row[g.off:])
		n += c
		g.off += c
	}
	return n, nil
}

func (g *NDJSON) appendRow(b []byte, i int) []byte {
	if i == g.BadLine {
		return append(b, `{"id":"not a number","user":"bad","value":0,"ts":"2026-11-01 00:00:00"}`+"\n"...)
	}
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `,"user":"u`...)
	b = strconv.AppendInt(b, int64(i%1000), 10)
	b = append(b, `","value":`...)
	b = strconv.AppendInt(b, int64(i%100), 10)
	b = append(b, `,"ts":"2026-11-`...)
	for k, v := range []int{1 + i/86400, i / 3600 % 24, i / 60 % 60, i % 60} {
		if v < 10 {
			b = append(b, '0')
		}
		b = strconv.AppendInt(b, int64(v), 10)
		b = append(b, " ::\"}\n"[k:k+1]...)
	}
	return append(b, "}\n"...)
}

// LoadSums are the count, sum(id), sum(value) and uniqExact(user) of the first n rows NDJSON
// generates, computed by formula.
func LoadSums(n uint64) []any {
	r := n % 100
	sumValue := (n/100)*4950 + r*(r+1)/2
	users := min(n, 1000)
	return []any{n, n * (n + 1) / 2, sumValue, users}
}

// LoadSumsQuery reads what LoadSums predicts from a table.
const LoadSumsQuery = "SELECT count(), sum(id), sum(value), uniqExact(user) FROM "
