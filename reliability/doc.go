// Package reliability holds hourglass's fault tests: the hourglass process SIGKILLed at every
// step of a unit of backfill, populate and reconcile --repair on the embedded engine (a child
// process whose hook kills it) and at random times (HOURGLASS_RANDOM_KILLS, default 10), the
// clickhouse-server process SIGKILLed at every step and restarted, --resume after a kill at
// 70 %, network and server errors during a unit (a closed connection, KILL QUERY, a memory
// limit), a data folder already in use, and runs racing on one rollup. Each kill is over
// partitions that already hold data; each test checks what status reports in between and ends
// by comparing the rollup with raw SQL written in the test, per hour and in total: nothing
// lost, nothing doubled. docs/guarantees.md points at these tests.
//
// The package holds tests only; run them with go test ./reliability/ (make test does).
package reliability
