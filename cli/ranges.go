package cli

import (
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/timerange"
)

// rollupRange reads --from/--to for one rollup by timerange's one rule: relative times floor
// to the hour, now is the end of the rollup's last closed hour (its delay decides), absolute
// times must be on the hour. An unknown rollup reads now with no delay; the command that runs
// next names the rollup as unknown.
func rollupRange(from, to string, opts timerange.Options, a *pipes.Artifacts, rollup string) (timerange.Range, error) {
	if ra := a.Rollup(rollup); ra != nil {
		opts.Delay = ra.Rollup.Delay
	}
	return timerange.Parse(from, to, opts)
}
