package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/hourglass-dev/hourglass/datasources"
)

func newInitCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "init [DIR]",
		Short: "Scaffold the default web-analytics project into DIR (default .)",
		Long: `init writes the default project: raw events and sessions, their hourly rollups and four
endpoints, after the Tinybird materialized-views plan. It never overwrites an existing project.`,
		Example: `  hourglass init demo && cd demo && hourglass deploy
  hourglass init            # into the current folder
  hourglass init demo --output json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return fmt.Errorf("%s takes at most one argument, the project folder, got %d (see %s --help)", cmd.CommandPath(), len(args), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			files := datasources.Scaffold()
			names := make([]string, 0, len(files))
			for name := range files {
				names = append(names, name)
			}
			sort.Strings(names)
			// Refuse before writing anything, naming hourglass.yaml first when it is there.
			check := append([]string{datasources.ProjectFile}, names...)
			for _, name := range check {
				path := filepath.Join(dir, filepath.FromSlash(name))
				if _, err := os.Stat(path); err == nil {
					if name == datasources.ProjectFile {
						return fmt.Errorf("%s already exists: %s already holds a project, and init never overwrites one", path, dir)
					}
					return fmt.Errorf("%s already exists: init never overwrites files; pick an empty folder", path)
				} else if !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
			written, err := writeFiles(dir, files)
			if err != nil {
				return err
			}
			next := []string{"cd " + dir + " && hourglass deploy", "hourglass plan", "hourglass build --target tinybird"}
			if dir == "." {
				next[0] = "hourglass deploy"
			}
			if g.output == "json" {
				return writeJSON(g.io.Out, map[string]any{"dir": dir, "files": written, "next": next})
			}
			for _, p := range written {
				fmt.Fprintln(g.io.Out, "wrote "+p)
			}
			fmt.Fprintf(g.io.Out, "\nnext: %s\n", next[0])
			_, err = fmt.Fprintf(g.io.Out, "      then `hourglass plan` after editing the definitions, `hourglass build --target tinybird` for Tinybird datafiles\n")
			return err
		},
	}
}
