package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/hourglass-dev/hourglass/engine"
)

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print hourglass's version and the pinned engine version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := map[string]string{"hourglass": g.build.Version, "go": runtime.Version(), "chdb": engine.ChdbVersion}
			if g.output == "json" {
				return writeJSON(g.io.Out, v)
			}
			_, err := fmt.Fprintf(g.io.Out, "hourglass %s (%s, embedded engine chDB %s)\n", v["hourglass"], v["go"], v["chdb"])
			return err
		},
	}
}

func newSQLCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "sql QUERY|-",
		Short: "Run one SQL statement on the engine and print its result",
		Long: `sql runs one statement on the engine: the argument, or standard input when it is -.

The result prints as an aligned table with the rows and bytes read, or as JSON with
--output json. A statement with its own FORMAT clause (FORMAT JSON, Vertical, CSVWithNames,
Parquet …) prints the engine's output in that format unchanged, ready to redirect to a file.
To load data, use hourglass load.`,
		Example: `  hourglass sql "SELECT version()"
  hourglass sql "SELECT count() FROM analytics.events" --output json
  hourglass sql "SELECT * FROM analytics.events LIMIT 2 FORMAT Vertical"
  hourglass sql "SELECT event_type, count() AS n FROM analytics.events GROUP BY event_type FORMAT CSVWithNames" > counts.csv
  hourglass sql - < report.sql
  echo "SHOW TABLES FROM analytics" | hourglass sql - --dsn clickhouse://default:@127.0.0.1:9000/default`,
		Args: exactArgs(1, `give the query as one quoted argument, or - to read it from standard input`),
		RunE: func(cmd *cobra.Command, args []string) error {
			query := args[0]
			if query == "-" {
				b, err := io.ReadAll(g.io.In)
				if err != nil {
					return fmt.Errorf("sql -: read standard input: %w", err)
				}
				if query = strings.TrimSpace(string(b)); query == "" {
					return errors.New(`sql -: standard input holds no SQL: pipe a statement in (echo "SELECT 1" | hourglass sql -)`)
				}
			}
			ctx := cmd.Context()
			e, err := g.openEngine(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			r := &engine.Result{}
			switch {
			case engine.FormatClause(query) != "":
				_, err := e.QueryFormat(ctx, query, nil, g.io.Out)
				return err
			case engine.InlineData(query):
				_, err = e.QueryFormat(ctx, query, nil, io.Discard)
			case engine.ReturnsRows(query):
				r, err = e.Query(ctx, query, nil)
			default:
				err = e.Exec(ctx, query, nil)
			}
			if err != nil {
				return err
			}
			return writeResult(g.io.Out, g.output, r)
		},
	}
}

func newEngineCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "engine",
		Short: "Inspect the ClickHouse engine hourglass runs on",
	}
	c.AddCommand(&cobra.Command{
		Use:   "info",
		Short: "Show the engine kind, ClickHouse version and data folder",
		Example: `  hourglass engine info
  hourglass engine info --dsn chdb://:memory: --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, err := g.openEngine(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			info, err := e.Info(ctx)
			if err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(g.io.Out, info)
			}
			rows := [][]string{{"kind", info.Kind}, {"version", info.Version}, {"location", info.Location}, {"database", info.Database}}
			if info.Library != "" {
				rows = append(rows, []string{"library", info.Library})
			}
			return writeTable(g.io.Out, []string{"property", "value"}, rows)
		},
	})
	return c
}

// exactArgs is cobra.ExactArgs with a hint on what to pass.
func exactArgs(n int, hint string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return fmt.Errorf("%s takes %d argument(s), got %d: %s (see %s --help)", cmd.CommandPath(), n, len(args), hint, cmd.CommandPath())
		}
		return nil
	}
}

// projectDSN reads the dsn a project's hourglass.yaml declares, if any.
func (g *globals) projectDSN() string {
	b, err := os.ReadFile(filepath.Join(g.path(g.project), "hourglass.yaml"))
	if err != nil {
		return ""
	}
	var p struct {
		DSN     string `yaml:"dsn"`
		Project struct {
			DSN string `yaml:"dsn"`
		} `yaml:"project"`
	}
	if yaml.Unmarshal(b, &p) != nil {
		return ""
	}
	return strings.TrimSpace(p.DSN + p.Project.DSN)
}
