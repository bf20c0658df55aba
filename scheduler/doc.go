// Package scheduler is hourglass's embedded cron: the long-lived process that keeps every
// scheduled rollup fresh, hour after hour, without losing or doubling an hour.
//
// # Entries
//
// Every rollup with mode "scheduled" gets one entry, fired at the times of its cron line
// (Rollup.Schedule, default "5 * * * *", always UTC; parsed with robfig/cron's ParseStandard,
// whose Schedule.Next gives the fire times). The scheduler does not use cron's runner, which
// reads the wall clock: time comes from an injected Clock, so tests move time by hand and
// never sleep.
//
// # One tick
//
// A tick of a rollup is one call of populate's PopulateOne: recompute from the watermark minus
// the lookback to the last closed hour, partition by partition (idempotent swaps), record each
// unit in the run log, and advance the watermark. Because the range always starts at the
// watermark, a tick after downtime or after a failed tick catches up every missed hour, in
// order. When the scheduler starts (or takes the lease over) it runs a catch-up tick for
// every rollup that is behind; a rollup that is up to date waits for its next fire time.
//
// After a changed rollup was deployed as a new version, a tick populates every version of it
// that must be kept fresh: each older version an endpoint still reads (from the definition it
// was deployed with), then the new one (populate.Runner.PopulateOne). The scheduler reads
// which older versions endpoints read at every tick and refresh (a switch moves endpoints
// while it runs): a rollup whose new version waits for its backfill runs while one of them
// serves, its watermark (lag, hours behind, catch-up) is the lowest of its versions kept
// fresh, and their suspect partitions count in health and metrics.
//
// A rollup never runs twice at once: when its fire time comes while its previous run (or that
// run's retries) is still going, the tick is skipped, logged and counted
// (hourglass_skipped_ticks_total); the running tick covers the same hours.
//
// # Failures and retries
//
// A failed tick is retried with exponential backoff and jitter (RetryPolicy) while the retry
// still starts inside the retry window: Window after the fire time, and never after the
// rollup's next fire time, which catches up anyway. Failed units are in the run log (populate
// records them); failed attempts are counted (hourglass_failures_total). A panic in a run is
// recovered and handled as a failure: one rollup never takes the daemon down. A rollup that
// was never backfilled is not retried: Check (and the CLI, before starting) names the backfill
// to run.
//
// # One runner: the lease
//
// Work is done by the holder of a lease kept in the metadata state table (object "scheduler",
// key "lease", value "holder|expiry"). A scheduler takes the lease when there is none, when it
// expired, or when it is already its own, and Run renews it every third of its TTL. A
// scheduler that cannot get it stands by, logs who holds it, keeps its metrics current from
// the watermarks and takes over (with a catch-up) once it expires or is released. The embedded
// engine also locks its data folder, so a second process on the same folder fails at open
// ("in use by PID"). The lease is an optimisation, not the safety net: populate units replace
// whole partitions, so even two schedulers running the same hour at once cannot double-count.
//
// # Shutdown
//
// Run returns nil when its context is cancelled (SIGINT/SIGTERM in the CLI): no new tick or
// unit starts, the unit in progress finishes (populate runs it on a context that is not
// cancelled), the lease is released, and the next start resumes from the watermark.
//
// # Observability
//
// Logs are log/slog records with a "rollup" attribute. Handler serves:
//
//   - /healthz: 200 when every rollup's last tick succeeded, has not run yet, or failed but is
//     still inside its retry window; 503 otherwise, the body naming each unhealthy rollup and
//     why.
//   - /metrics: Prometheus text format, per rollup (label rollup="…"):
//     hourglass_last_success_timestamp_seconds, hourglass_watermark_lag_seconds (now −
//     watermark), hourglass_closed_hours_behind, hourglass_run_duration_seconds,
//     hourglass_rows_written_total, hourglass_runs_total, hourglass_failures_total,
//     hourglass_skipped_ticks_total, hourglass_healthy; and hourglass_scheduler_leader.
package scheduler
