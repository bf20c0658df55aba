// Package reliability holds hourglass's fault tests: a clickhouse-server killed (SIGKILL) in
// the middle of a backfill or of a scheduled populate, network and server errors during a unit
// (a closed connection, KILL QUERY, a memory limit), the hourglass process killed mid-backfill
// on the embedded engine, a data folder already in use, and runs racing on one rollup. Each
// test ends by checking the rollup against the raw table, per hour and per dimension: nothing
// lost, nothing doubled. docs/guarantees.md points at these tests.
//
// The package holds tests only; run them with go test ./reliability/ (make test does).
package reliability
