// Package cli is hourglass's command line: flags in, a call into a package, output out. It
// holds no domain logic. Main runs a whole command line with its output captured, so tests run
// the CLI in-process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hourglass-dev/hourglass/engine"
)

// Exit codes.
const (
	// ExitOK means the command did what was asked.
	ExitOK = 0
	// ExitCheckFailed means the command ran but its check failed (validate found a mismatch).
	ExitCheckFailed = 1
	// ExitError means bad usage, bad input or a runtime error.
	ExitError = 2
)

// IO is where a command reads and writes, and the clock it reads.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
	// Now is the clock every command reads when its --now flag is not given (time.Now when
	// nil): tests run the CLI at a fixed minute with it.
	Now func() time.Time
}

// Build describes the binary.
type Build struct {
	Version string
}

// ErrCheckFailed is returned (wrapped) by commands whose check failed; Main maps it to exit 1.
var ErrCheckFailed = errors.New("check failed")

// globals are the flags every command shares, and the process it runs in.
type globals struct {
	project string
	dsn     string
	output  string
	io      IO
	build   Build
	host    Host
	// now is the clock (IO.Now, or time.Now).
	now func() time.Time
}

// Host is what a command takes from the process it runs in: its working directory, its
// environment and how it opens engines. A command run by `hourglass serve` for another process
// (package daemon) runs with that process's directory and environment, on the daemon's engine.
type Host struct {
	// Cwd is the directory relative paths are taken from ("" for the process's own).
	Cwd string
	// Getenv reads the environment (os.Getenv when nil).
	Getenv func(string) string
	// Open opens an engine by DSN (engine.Open when nil).
	Open func(ctx context.Context, dsn string) (engine.Engine, error)
	// Terminal says standard error is a terminal even when it is not a file (a forwarded
	// command whose client runs on one).
	Terminal bool
	// Forward lets commands be handed to a daemon that holds their data folder.
	Forward bool
}

// ProcessHost is the host of a command run directly by the hourglass process: the process's
// directory, environment and engines, forwarding to a daemon when one holds the data folder.
func ProcessHost() Host { return Host{Forward: true} }

// Main runs hourglass with args (without the program name) and returns the exit code.
func Main(ctx context.Context, args []string, stdio IO, build Build) int {
	return MainIn(ctx, args, stdio, build, ProcessHost())
}

// MainIn is Main run in the given host.
func MainIn(ctx context.Context, args []string, stdio IO, build Build, host Host) int {
	g := &globals{io: stdio, build: build, host: host, now: stdio.Now}
	if g.now == nil {
		g.now = time.Now
	}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var fw *forwardTo
	if errors.As(err, &fw) {
		return g.forward(ctx, fw.socket, args)
	}
	if errors.Is(err, ErrCheckFailed) {
		if msg := strings.TrimSpace(err.Error()); msg != ErrCheckFailed.Error() {
			fmt.Fprintln(stdio.Err, "hourglass: "+oneLine(msg))
		}
		return ExitCheckFailed
	}
	var ml *multiLineError
	if errors.As(err, &ml) {
		fmt.Fprintln(stdio.Err, "hourglass: "+err.Error())
		return ExitError
	}
	fmt.Fprintln(stdio.Err, "hourglass: "+oneLine(err.Error()))
	return ExitError
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "hourglass",
		Short: "Hourly ClickHouse and Tinybird rollups as code",
		Long: `hourglass turns YAML definitions of raw datasources and hourly rollups into ClickHouse DDL,
populate queries and Tinybird datafiles; deploys them, backfills history, keeps them fresh
every hour at :05, proves they match the raw tables, and switches endpoints to them.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch g.output {
			case "text", "json":
			default:
				return fmt.Errorf("--output %q: use text or json", g.output)
			}
			return g.checkDaemon(cmd)
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	pf := root.PersistentFlags()
	pf.StringVar(&g.project, "project", ".", "project folder (where hourglass.yaml is)")
	pf.StringVar(&g.dsn, "dsn", "", "engine DSN: chdb://DIR, chdb://:memory: or clickhouse://user:pass@host:9000/db (default $HOURGLASS_DSN, then the project's dsn, then chdb://PROJECT/.hourglass/data)")
	pf.StringVarP(&g.output, "output", "o", "text", "output format: text or json")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%v (see %s --help)", err, c.CommandPath())
	})
	root.AddCommand(
		local(newVersionCmd(g)),
		newSQLCmd(g),
		newLoadCmd(g),
		newEngineCmd(g),
		local(newInitCmd(g)),
		local(newImportCmd(g)),
		local(newBuildCmd(g)),
		newPlanCmd(g),
		newDeployCmd(g),
		newBackfillCmd(g),
		newPopulateCmd(g),
		newReconcileCmd(g),
		newStatusCmd(g),
		newValidateCmd(g),
		newSwitchCmd(g),
		newPruneCmd(g),
		newEndpointCmd(g),
		newServeCmd(g),
		newGenerateCmd(g),
		newEstimateCmd(g),
		local(newDemoCmd(g)),
	)
	return root
}

// resolveDSN picks the engine DSN: --dsn, then $HOURGLASS_DSN, then the project's dsn, then
// the embedded engine in the project's .hourglass/data folder.
// A relative embedded data folder is taken from the working directory (--dsn,
// $HOURGLASS_DSN) or from the project folder (the project's dsn).
func (g *globals) resolveDSN(projectDSN string) string {
	dsn := ""
	switch {
	case g.dsn != "":
		dsn = g.dsn
	case g.getenv("HOURGLASS_DSN") != "":
		dsn = g.getenv("HOURGLASS_DSN")
	case projectDSN != "":
		if rest, ok := strings.CutPrefix(projectDSN, "chdb://"); ok && rest != ":memory:" && !filepath.IsAbs(rest) {
			return "chdb://" + g.path(filepath.Join(g.project, rest))
		}
		return projectDSN
	default:
		return "chdb://" + g.path(filepath.Join(g.project, ".hourglass", "data"))
	}
	if rest, ok := strings.CutPrefix(dsn, "chdb://"); ok && rest != "" && rest != ":memory:" {
		return "chdb://" + g.path(rest)
	}
	return dsn
}

// getenv reads the command's environment.
func (g *globals) getenv(key string) string {
	if g.host.Getenv != nil {
		return g.host.Getenv(key)
	}
	return os.Getenv(key)
}

// path resolves a path the user gave against the command's working directory: a forwarded
// command runs in the daemon's process, whose directory is not the user's.
func (g *globals) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if g.host.Cwd != "" {
		return filepath.Join(g.host.Cwd, p)
	}
	return p
}

// open opens the engine a DSN names, in the command's host.
func (g *globals) open(ctx context.Context, dsn string) (engine.Engine, error) {
	if g.host.Open != nil {
		return g.host.Open(ctx, dsn)
	}
	return engine.Open(ctx, dsn)
}

// openEngine opens the engine the flags name. The caller must Close it.
func (g *globals) openEngine(ctx context.Context) (engine.Engine, error) {
	return g.open(ctx, g.resolveDSN(g.projectDSN()))
}

// oneLine puts an error on one line: joined errors (one per line) are separated by "; ".
func oneLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "; ")
}
