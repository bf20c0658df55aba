package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/populate"
	"github.com/hourglass-dev/hourglass/scheduler"
	"github.com/hourglass-dev/hourglass/timerange"
)

// scheduleFlags are the flags of hourglass schedule.
type scheduleFlags struct {
	listen    string
	once      bool
	now       string
	logFormat string
	holder    string
}

func newScheduleCmd(g *globals) *cobra.Command {
	var f scheduleFlags
	c := &cobra.Command{
		Use:   "schedule",
		Short: "Run the scheduler daemon: every scheduled rollup's populate on its cron, with catch-up, retries and metrics",
		Long: `schedule keeps every scheduled rollup fresh: each rollup runs on its cron line (default
"5 * * * *", UTC). On start, and on every tick, the populate fills every closed hour since the
watermark, so downtime and failed ticks are caught up in order. A failed tick is retried with
exponential backoff inside the hour; a rollup never runs twice at once. One scheduler works at a
time: the others stand by on the lease in the metadata tables.

It serves /healthz (503 when a rollup's last tick failed and its retry window passed) and
/metrics (Prometheus) on --listen, logs with log/slog to stderr, and on SIGINT/SIGTERM
finishes the unit in progress and exits 0.

With --once it runs one tick of every scheduled rollup and exits: for an external crontab or a
Kubernetes CronJob. Exit 2 when a rollup fails for good or was never backfilled.`,
		Example: `  hourglass schedule
  hourglass schedule --listen 0.0.0.0:9109 --log-format json
  hourglass schedule --once                      # from cron: 5 * * * *
  hourglass schedule --once --now "2026-11-22 10:05"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSchedule(cmd.Context(), g, f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:9109", "address of /healthz and /metrics (empty: no HTTP)")
	fl.BoolVar(&f.once, "once", false, "run one tick of every scheduled rollup and exit")
	fl.StringVar(&f.now, "now", "", "start the clock at this time (UTC) instead of now, for tests and replays: 2026-11-22T10:05:00Z")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format on stderr: text or json")
	fl.StringVar(&f.holder, "holder", "", "name of this scheduler in the lease (default hostname:pid)")
	return c
}

func runSchedule(ctx context.Context, g *globals, f scheduleFlags) error {
	var h slog.Handler
	switch f.logFormat {
	case "text":
		h = slog.NewTextHandler(g.io.Err, nil)
	case "json":
		h = slog.NewJSONHandler(g.io.Err, nil)
	default:
		return fmt.Errorf("--log-format %q: use text or json", f.logFormat)
	}
	log := slog.New(h)
	clock := scheduler.SystemClock()
	if f.now != "" {
		t, err := timerange.ParseTime(f.now, time.Now())
		if err != nil {
			return fmt.Errorf("--now: %w", err)
		}
		clock = scheduler.OffsetClock(t)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	s, err := g.openLiveSession(ctx, clock.Now)
	if err != nil {
		return err
	}
	defer s.close()
	// The scheduler queries from several goroutines; engines are safe for concurrent use.
	e := s.engine
	store := meta.New(e, s.store.Database(), clock.Now)
	var rollups []*datasources.Rollup
	tables := map[string]string{}
	for _, ra := range s.artifacts.Rollups {
		rollups = append(rollups, ra.Rollup)
		tables[ra.Rollup.Name] = ra.Table
	}
	runner := populate.New(e, store, s.artifacts, populate.Options{Now: clock.Now})
	sch, err := scheduler.New(scheduler.Options{Runner: runner, Store: store, Rollups: rollups, Tables: tables, Clock: clock, Logger: log, Holder: f.holder})
	if err != nil {
		return err
	}
	if err := sch.Check(ctx); err != nil {
		return err
	}

	if f.once {
		err := sch.Tick(ctx, clock.Now())
		if rerr := sch.Release(context.WithoutCancel(ctx)); rerr != nil {
			log.Warn("could not release the scheduler lease; it expires by itself", "err", rerr)
		}
		if errors.Is(err, scheduler.ErrLeaseHeld) {
			log.Info("nothing to do: " + err.Error())
			err = nil
		}
		if werr := writeScheduleStatus(g, sch); werr != nil {
			return werr
		}
		return err
	}

	if f.listen != "" {
		ln, err := net.Listen("tcp", f.listen)
		if err != nil {
			return fmt.Errorf("--listen %s: %w", f.listen, err)
		}
		srv := &http.Server{Handler: sch.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server stopped", "err", err)
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		log.Info("serving /healthz and /metrics", "addr", ln.Addr().String())
	}
	return sch.Run(ctx)
}

// writeScheduleStatus prints what --once did, one row per rollup.
func writeScheduleStatus(g *globals, sch *scheduler.Scheduler) error {
	st, _, _ := sch.Status()
	if g.output == "json" {
		return writeJSON(g.io.Out, st)
	}
	rows := make([][]string, 0, len(st))
	for _, r := range st {
		w := "-"
		if !r.Watermark.IsZero() {
			w = timerange.Format(r.Watermark)
		}
		rows = append(rows, []string{r.Rollup, r.State, w, fmt.Sprint(r.HoursBehind), fmt.Sprint(r.RowsWritten), fmt.Sprint(r.Failures), r.LastError})
	}
	return writeTable(g.io.Out, []string{"rollup", "state", "watermark", "hours behind", "rows written", "failures", "error"}, rows)
}
