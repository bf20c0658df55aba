package cli

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/hourglass-dev/hourglass/pipes"
)

func newBuildCmd(g *globals) *cobra.Command {
	var target, out string
	c := &cobra.Command{
		Use:   "build",
		Short: "Write the compiled artifacts: ClickHouse .sql files or Tinybird datafiles",
		Long: `build compiles the project and writes its artifacts into --out (default PROJECT/build/TARGET):
numbered ClickHouse .sql files in dependency order, or Tinybird .datasource and .pipe files
(copy pipes with COPY_SCHEDULE, materialized pipes for trigger rollups, endpoint pipes). The
same definitions always give byte-identical files. Nothing talks to a database.`,
		Example: `  hourglass build --target clickhouse --out build/clickhouse
  hourglass build --target tinybird --out tinybird
  hourglass build --target tinybird --project demo --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var files map[string][]byte
			switch target {
			case "clickhouse", "tinybird":
			default:
				return fmt.Errorf("--target %q: use clickhouse or tinybird", target)
			}
			p, err := g.loadProject()
			if err != nil {
				return err
			}
			printLint(g, p)
			if target == "clickhouse" {
				files = pipes.ClickHouseFiles(p.artifacts)
			} else if files, err = pipes.Tinybird(p.artifacts); err != nil {
				return err
			}
			dir := out
			if dir == "" {
				dir = filepath.Join(g.project, "build", target)
			}
			written, err := writeFiles(dir, files)
			if err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(g.io.Out, map[string]any{"target": target, "out": dir, "files": written})
			}
			for _, p := range written {
				fmt.Fprintln(g.io.Out, "wrote "+p)
			}
			_, err = fmt.Fprintf(g.io.Out, "%d %s file(s) in %s\n", len(written), target, dir)
			return err
		},
	}
	c.Flags().StringVar(&target, "target", "clickhouse", "what to build: clickhouse or tinybird")
	c.Flags().StringVar(&out, "out", "", "folder to write into (default PROJECT/build/TARGET)")
	return c
}
