package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/tinybird"
)

func newImportCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:     "import",
		Short:   "Bring an existing project in: import tinybird DIR",
		Example: `  hourglass import tinybird ../my-tinybird-project --out shop`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return fmt.Errorf("name what to import: hourglass import tinybird DIR (see %s --help)", cmd.CommandPath())
		},
	}
	c.AddCommand(newImportTinybirdCmd(g))
	return c
}

func newImportTinybirdCmd(g *globals) *cobra.Command {
	var out, name string
	var force bool
	c := &cobra.Command{
		Use:   "tinybird DIR",
		Short: "Write an hourglass project from a Tinybird project's datafiles",
		Long: `import tinybird reads the .datasource and .pipe files under DIR and writes an hourglass
project into --out (default the --project folder): raw datasources, a rollup for each
materialized or copy pipe that aggregates by hour (named after the datasource it fills), and
an endpoint for each endpoint pipe over such a rollup.

What cannot be translated is listed as file:line: what and why, and the rest is still
written. A file Tinybird would not read (a syntax error, an unknown engine, a pipe reading a
pipe that does not exist) is listed as file:line: error: …, and nothing of it is written.
Exit 0 when the project was written (warnings or not), 1 when nothing usable came out, 2
when DIR or one of its files could not be read (the rest is still written).

Building the imported project with build --target tinybird and importing that again gives
the same project.`,
		Example: `  hourglass import tinybird ../my-tinybird-project --out shop
  hourglass import tinybird tinybird/ --out . --force      # overwrite the imported files
  hourglass import tinybird tinybird/ --out shop --name shop -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("%s takes one argument, the Tinybird project folder, got %d (see %s --help)", cmd.CommandPath(), len(args), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			src := args[0]
			if st, err := os.Stat(src); err != nil || !st.IsDir() {
				if err == nil {
					err = errors.New("not a folder")
				}
				return fmt.Errorf("cannot read the Tinybird project %s: %v", src, unwrapFS(err))
			}
			dir := out
			if dir == "" {
				dir = g.project
			}
			abs, _ := filepath.Abs(src)
			res, err := tinybird.Import(os.DirFS(src), tinybird.Options{Name: name, Folder: filepath.Base(abs)})
			if err != nil {
				return fmt.Errorf("cannot read the Tinybird project %s: %v", src, unwrapFS(err))
			}
			var written []string
			if res.Usable() {
				if _, err := os.Stat(filepath.Join(dir, datasources.ProjectFile)); err == nil && !force {
					return fmt.Errorf("%s already holds a project (%s): import into an empty folder, or pass --force to overwrite the files it writes", dir, datasources.ProjectFile)
				}
				if written, err = writeFiles(dir, res.Files); err != nil {
					return err
				}
			}
			if g.output == "json" {
				diags := res.Diagnostics
				if diags == nil {
					diags = []tinybird.Diagnostic{}
				}
				if written == nil {
					written = []string{}
				}
				err = writeJSON(g.io.Out, map[string]any{"out": dir, "files": written, "diagnostics": diags, "summary": importSummary(res)})
			} else {
				for _, d := range res.Diagnostics {
					fmt.Fprintln(g.io.Err, filepath.Join(src, d.File)+d.String()[len(d.File):])
				}
				for _, p := range written {
					fmt.Fprintln(g.io.Out, "wrote "+p)
				}
				if res.Usable() {
					s := importSummary(res)
					fmt.Fprintf(g.io.Out, "imported %d datasource(s), %d rollup(s), %d endpoint(s) into %s (%d warning(s), %d file(s) not read)\n",
						s["datasources"], s["rollups"], s["endpoints"], dir, s["warnings"], s["errors"])
				}
			}
			if err != nil {
				return err
			}
			switch {
			case res.Errors():
				return fmt.Errorf("%d file(s) of %s could not be read (listed above); the rest was imported", importSummary(res)["errors"], src)
			case !res.Usable():
				return fmt.Errorf("%w: nothing in %s could be imported (see the reasons above)", ErrCheckFailed, src)
			}
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "folder to write the hourglass project into (default the --project folder)")
	c.Flags().StringVar(&name, "name", "", "the project's name (default the name in the project's TOKEN lines, else DIR's name)")
	c.Flags().BoolVar(&force, "force", false, "overwrite the files of a project already in --out")
	return c
}

func importSummary(res *tinybird.Result) map[string]int {
	s := map[string]int{}
	if res.Project != nil {
		s["datasources"], s["rollups"], s["endpoints"] = len(res.Project.Datasources), len(res.Project.Rollups), len(res.Project.Endpoints)
	}
	for _, d := range res.Diagnostics {
		if d.Error {
			s["errors"]++
		} else {
			s["warnings"]++
		}
	}
	return s
}

func unwrapFS(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
