package datasources

import (
	"embed"
	"io/fs"
	"strings"
)

//go:embed scaffold
var scaffoldFS embed.FS

// Scaffold returns the files of the default project `hourglass init` writes: a web analytics
// project after the Tinybird materialized-views plan (raw events and sessions, four hourly
// rollups, four endpoints, a README). Keys are slash-separated paths relative to the project
// folder; the map is fresh on every call.
func Scaffold() map[string][]byte {
	out := map[string][]byte{}
	err := fs.WalkDir(scaffoldFS, "scaffold", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := scaffoldFS.ReadFile(p)
		if err != nil {
			return err
		}
		out[strings.TrimPrefix(p, "scaffold/")] = b
		return nil
	})
	if err != nil {
		panic("datasources: embedded scaffold unreadable: " + err.Error()) // cannot happen: embedded at build time
	}
	return out
}
