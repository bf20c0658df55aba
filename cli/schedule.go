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

	"github.com/hourglass-dev/hourglass/daemon"
	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/httpapi"
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
	public    bool
}

func newServeCmd(g *globals) *cobra.Command {
	var f scheduleFlags
	c := &cobra.Command{
		Use:     "serve",
		Aliases: []string{"schedule"},
		Short:   "Run the daemon: every scheduled rollup's populate on its cron, and every other command beside it",
		Long: `serve keeps every scheduled rollup fresh: each rollup runs on its cron line (default
"5 * * * *", UTC). On start, and on every tick, the populate fills every closed hour since the
watermark, so downtime and failed ticks are caught up in order. A failed tick is retried with
exponential backoff inside the hour; a rollup never runs twice at once. One scheduler works at a
time: the others stand by on the lease in the metadata tables. "schedule" is another name for it.

On the embedded engine the daemon holds the data folder, and every other hourglass command
started on that folder (status, validate, backfill, sql …) is carried out by the daemon on its
open engine, through a unix socket in the data folder: same output, same exit code, Ctrl-C
stops it. A second daemon on the same folder is refused with the first one's PID.

On --listen it serves the endpoints over HTTP in Tinybird's API shape
(GET /v0/pipes/NAME.json, .csv or .ndjson, with the endpoint's parameters in the query string;
each endpoint runs on whatever it is switched to), /healthz (503 when a rollup's last tick
failed and its retry window passed) and /metrics (Prometheus). An endpoint that a token of
hourglass.yaml names needs that token (Authorization: Bearer …); the others answer loopback
clients only, unless --insecure-public. It logs with log/slog to stderr, and on SIGINT/SIGTERM
finishes the unit in progress and exits 0.

With --once it runs one tick of every scheduled rollup and exits: for an external crontab or a
Kubernetes CronJob. Exit 2 when a rollup fails for good or was never backfilled.`,
		Example: `  hourglass serve
  curl 'localhost:9109/v0/pipes/sum_primitives.json?start=-7d&end=now'
  hourglass serve --listen 0.0.0.0:9109 --log-format json     # tokens from hourglass.yaml
  hourglass status                              # in another terminal: runs through the daemon
  hourglass serve --once                        # from cron: 5 * * * *
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
	fl.BoolVar(&f.public, "insecure-public", false, "serve endpoints that no token protects to every client, not only loopback ones")
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
	if g.io.Now != nil { // a fixed clock (tests): start there and run on
		clock = scheduler.OffsetClock(g.now())
	}
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
	store := meta.New(e, s.store.Database(), clock.Now).OnCluster(s.store.Cluster())
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
		tokens, err := g.tokens(s.def)
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle(httpapi.Prefix, httpapi.New(&httpapi.ProjectRunner{E: e, Store: store, Artifacts: s.artifacts, Now: clock.Now},
			httpapi.Options{Tokens: tokens, Public: f.public}))
		mux.Handle("/status", g.statusHandler(e))
		mux.Handle("/status.json", g.statusHandler(e))
		mux.Handle("/", sch.Handler())
		ln, err := net.Listen("tcp", f.listen)
		if err != nil {
			return fmt.Errorf("--listen %s: %w", f.listen, err)
		}
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
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
		log.Info("serving /v0/pipes/, /status, /healthz and /metrics", "addr", ln.Addr().String())
	}
	if info, err := e.Info(ctx); err == nil && info.Kind == "embedded" && info.Location != ":memory:" {
		// Every other command on this data folder now runs here, on this engine.
		srv, err := daemon.Listen(ctx, info.Location, g.daemonHandler(e, info.Location))
		if err != nil {
			return err
		}
		defer srv.Close()
		log.Info("commands on this data folder run through the daemon", "socket", srv.Socket())
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

// tokens reads the secret of every token the project declares from the environment.
func (g *globals) tokens(def *datasources.Project) ([]httpapi.Token, error) {
	var out []httpapi.Token
	for _, t := range def.Tokens {
		secret := g.getenv(t.Env)
		if secret == "" {
			return nil, fmt.Errorf("token %s: $%s is empty: export the token's secret before starting hourglass serve", t.Name, t.Env)
		}
		out = append(out, httpapi.Token{Name: t.Name, Secret: secret, Endpoints: t.Endpoints})
	}
	return out, nil
}
