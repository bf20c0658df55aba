package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hourglass-dev/hourglass/daemon"
	"github.com/hourglass-dev/hourglass/engine"
)

// annotLocal marks commands that never open an engine: they always run in the calling process.
const annotLocal = "hourglass.local"

// local marks c as a command that never opens an engine.
func local(c *cobra.Command) *cobra.Command {
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[annotLocal] = "true"
	return c
}

// forwardTo is returned by checkDaemon when a daemon holds the command's data folder: Main hands
// the command line to it instead of running it here.
type forwardTo struct{ socket string }

func (f *forwardTo) Error() string { return "forward to the daemon on " + f.socket }

// isDaemon reports whether c runs the daemon (serve, or its alias schedule without --once).
func isDaemon(c *cobra.Command) bool {
	if c.Name() != "serve" {
		return false
	}
	once, _ := c.Flags().GetBool("once")
	return !once
}

// checkDaemon decides, before a command runs, whether a `hourglass serve` holds the embedded data
// folder the command would open. If so, the command is handed to it (forwardTo), except a
// second daemon, which is refused with the PID of the first.
func (g *globals) checkDaemon(c *cobra.Command) error {
	if !g.host.Forward || c.Annotations[annotLocal] != "" || c.Name() == "help" {
		return nil
	}
	dir, ok := engine.EmbeddedDir(g.resolveDSN(g.projectDSN()))
	if !ok {
		return nil
	}
	pid, held := engine.FolderHolder(dir)
	if !held {
		return nil
	}
	socket := daemon.Find(dir)
	if socket == "" {
		return nil // held by a command, not a daemon: opening the engine says by which PID
	}
	if isDaemon(c) {
		return fmt.Errorf("data folder %s is already served by PID %s (hourglass serve): stop it before starting another; every other command runs through it", dir, pid)
	}
	return &forwardTo{socket: socket}
}

// forward hands the command line to the daemon and relays its input, output and exit code.
func (g *globals) forward(ctx context.Context, socket string, args []string) int {
	cwd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(g.io.Err, "hourglass: "+oneLine(err.Error()))
		return ExitError
	}
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "HOURGLASS_") {
			env[k] = v
		}
	}
	req := daemon.Request{Args: args, Cwd: cwd, Env: env, Terminal: isTerminal(g.io.Err)}
	code, err := daemon.Forward(ctx, socket, req, g.io.In, g.io.Out, g.io.Err)
	if err != nil {
		fmt.Fprintln(g.io.Err, "hourglass: "+oneLine(err.Error()))
		return ExitError
	}
	return code
}

// borrowed is the daemon's engine lent to a forwarded command: closing it is the daemon's job.
type borrowed struct{ engine.Engine }

func (borrowed) Close() error { return nil }

// terminal is a forwarded command's standard error when the client's is a terminal.
type terminal struct{ io.Writer }

func (terminal) IsTerminal() bool { return true }

// daemonHandler runs forwarded commands in this process on e, the engine holding dataDir, with
// the client's working directory and HOURGLASS_* environment.
func (g *globals) daemonHandler(e engine.Engine, dataDir string) daemon.Handler {
	return func(ctx context.Context, req daemon.Request, stdin io.Reader, stdout, stderr io.Writer) int {
		if req.Terminal {
			stderr = terminal{stderr}
		}
		host := Host{
			Cwd:    req.Cwd,
			Getenv: func(k string) string { return req.Env[k] },
			Open: func(ctx context.Context, dsn string) (engine.Engine, error) {
				if dir, ok := engine.EmbeddedDir(dsn); ok && dir == dataDir {
					return borrowed{e}, nil
				}
				return engine.Open(ctx, dsn)
			},
		}
		return MainIn(ctx, req.Args, IO{In: stdin, Out: stdout, Err: stderr}, g.build, host)
	}
}
