package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/timerange"
)

// isTerminal reports whether w is a character device (a terminal), where a live progress bar
// makes sense; elsewhere (CI logs, files) progress is printed as plain lines.
func isTerminal(w io.Writer) bool {
	if t, ok := w.(interface{ IsTerminal() bool }); ok {
		return t.IsTerminal()
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress renders populate events: a redrawn bar on a terminal, one line per unit elsewhere.
type progress struct {
	w       io.Writer
	tty     bool
	verb    string
	total   int
	done    int
	skipped int
	rows    uint64
	started time.Time
	now     func() time.Time
	// shards counts the units each shard finished, on a cluster.
	shards     map[string]int
	shardOrder []string
}

func newProgress(w io.Writer, verb string) *progress {
	return &progress{w: w, tty: isTerminal(w), verb: verb, now: time.Now}
}

// event is the populate.Options.Events callback.
func (p *progress) event(ev populate.Event) {
	switch ev.Kind {
	case populate.EventPlanned:
		p.total, p.started = ev.Total, p.now()
		if !p.tty {
			fmt.Fprintf(p.w, "%s: %d unit(s) to run\n", p.verb, ev.Total)
		}
		return
	case populate.EventStarted:
		p.shard(ev.Unit, 0)
		return
	case populate.EventSkipped:
		p.skipped++
		p.shard(ev.Unit, 1)
		if !p.tty {
			fmt.Fprintf(p.w, "%s %s %s: done by the interrupted run, skipped\n", p.verb, ev.Unit.Rollup, day(ev.Unit))
		}
	case populate.EventDone:
		p.done++
		p.shard(ev.Unit, 1)
		p.rows += ev.RowsRead
		if !p.tty {
			fmt.Fprintf(p.w, "%s %s %s: %d raw rows → %d rollup rows in %s (%d/%d)\n", p.verb, ev.Unit.Rollup, day(ev.Unit),
				ev.RowsRead, ev.RowsWritten, ev.Duration.Round(time.Millisecond), p.done+p.skipped, p.total)
		}
	case populate.EventFailed:
		if p.tty {
			fmt.Fprint(p.w, "\r\033[K")
		}
		fmt.Fprintf(p.w, "%s %s %s: failed after %s: %v\n", p.verb, ev.Unit.Rollup, day(ev.Unit), ev.Duration.Round(time.Millisecond), ev.Err)
		return
	default:
		return
	}
	if p.tty {
		p.draw()
	}
}

// shard counts a unit of a cluster shard: seen (n = 0) or finished (n = 1).
func (p *progress) shard(u populate.Unit, n int) {
	if u.Shard == "" {
		return
	}
	if p.shards == nil {
		p.shards = map[string]int{}
	}
	if _, ok := p.shards[u.Shard]; !ok {
		p.shardOrder = append(p.shardOrder, u.Shard)
	}
	p.shards[u.Shard] += n
}

// day names a unit: its day (or hours) and, on a cluster, its shard.
func day(u populate.Unit) string {
	s := timerange.Format(u.Range.Start)
	out := s[:10]
	if u.Range.Hours() < 24 {
		out = s[:13] + "h–" + timerange.Format(u.Range.End)[11:13] + "h"
	}
	if u.Shard != "" {
		out += " on shard " + u.Shard
	}
	return out
}

func (p *progress) draw() {
	const width = 30
	n := p.done + p.skipped
	filled := 0
	if p.total > 0 {
		filled = width * n / p.total
	}
	elapsed := p.now().Sub(p.started)
	rate, eta := "", ""
	if elapsed > 0 && p.rows > 0 {
		rate = fmt.Sprintf(" · %s rows/s", humanCount(float64(p.rows)/elapsed.Seconds()))
	}
	if p.done > 0 && n < p.total {
		per := elapsed / time.Duration(p.done)
		eta = " · ETA " + (per * time.Duration(p.total-n)).Round(time.Second).String()
	}
	per := ""
	for _, sh := range p.shardOrder {
		per += fmt.Sprintf(" · shard %s %d", sh, p.shards[sh])
	}
	fmt.Fprintf(p.w, "\r\033[K%s %s %d/%d units%s%s%s", p.verb, progressBar(filled, width), n, p.total, per, rate, eta)
}

// progressBar draws [████░░░░] with filled of width cells full.
func progressBar(filled, width int) string {
	return "[" + strings.Repeat("█", filled) + strings.Repeat("░", width-filled) + "]"
}

// finish ends the bar's line.
func (p *progress) finish() {
	if p.tty && p.total > 0 {
		fmt.Fprintln(p.w)
	}
}

func humanCount(x float64) string {
	switch {
	case x >= 1e9:
		return fmt.Sprintf("%.1f G", x/1e9)
	case x >= 1e6:
		return fmt.Sprintf("%.1f M", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1f k", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}
