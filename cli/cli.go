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

// IO is where a command reads and writes.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
}

// Build describes the binary.
type Build struct {
	Version string
}

// ErrCheckFailed is returned (wrapped) by commands whose check failed; Main maps it to exit 1.
var ErrCheckFailed = errors.New("check failed")

// globals are the flags every command shares.
type globals struct {
	project string
	dsn     string
	output  string
	io      IO
	build   Build
}

// Main runs hourglass with args (without the program name) and returns the exit code.
func Main(ctx context.Context, args []string, stdio IO, build Build) int {
	g := &globals{io: stdio, build: build}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
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
			return nil
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
		newVersionCmd(g),
		newSQLCmd(g),
		newLoadCmd(g),
		newEngineCmd(g),
		newInitCmd(g),
		newBuildCmd(g),
		newPlanCmd(g),
		newDeployCmd(g),
		newBackfillCmd(g),
		newPopulateCmd(g),
		newReconcileCmd(g),
		newStatusCmd(g),
		newValidateCmd(g),
		newSwitchCmd(g),
		newEndpointCmd(g),
		newScheduleCmd(g),
		newGenerateCmd(g),
		newEstimateCmd(g),
		newDemoCmd(g),
	)
	return root
}

// resolveDSN picks the engine DSN: --dsn, then $HOURGLASS_DSN, then the project's dsn, then
// the embedded engine in the project's .hourglass/data folder.
func (g *globals) resolveDSN(projectDSN string) string {
	switch {
	case g.dsn != "":
		return g.dsn
	case os.Getenv("HOURGLASS_DSN") != "":
		return os.Getenv("HOURGLASS_DSN")
	case projectDSN != "":
		if rest, ok := strings.CutPrefix(projectDSN, "chdb://"); ok && rest != ":memory:" && !filepath.IsAbs(rest) {
			return "chdb://" + filepath.Join(g.project, rest)
		}
		return projectDSN
	}
	return "chdb://" + filepath.Join(g.project, ".hourglass", "data")
}

// openEngine opens the engine the flags name. The caller must Close it.
func (g *globals) openEngine(ctx context.Context) (engine.Engine, error) {
	return engine.Open(ctx, g.resolveDSN(g.projectDSN()))
}

// oneLine puts an error on one line: joined errors (one per line) are separated by "; ".
func oneLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "; ")
}
