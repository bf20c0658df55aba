// Package generatetest sets up the default project's raw tables in a temporary database, for
// tests of packages that need generated data.
package generatetest

import (
	"context"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/engine/enginetest"
	"github.com/hourglass-dev/hourglass/generate"
	"github.com/hourglass-dev/hourglass/pipes"
)

// Project loads the default project (datasources.Scaffold) into a database unique to the test,
// compiles it and creates its raw tables, as deploy would. The database is dropped when the
// test ends.
func Project(t testing.TB, e engine.Engine) *pipes.Artifacts {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, b := range datasources.Scaffold() {
		fsys[name] = &fstest.MapFile{Data: b}
	}
	p, err := datasources.Load(fsys)
	if err != nil {
		t.Fatalf("load scaffold: %v", err)
	}
	p.Database = enginetest.TempDatabase(t, e)
	a, err := pipes.Compile(p)
	if err != nil {
		t.Fatalf("compile scaffold: %v", err)
	}
	enginetest.MustExec(t, e, a.CreateDatabase)
	for _, d := range a.Datasources {
		if d.CreateTable != "" {
			enginetest.MustExec(t, e, d.CreateTable)
		}
	}
	return a
}

// End is the fixed end of the data sets tests generate: a Monday, 00:00 UTC.
var End = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// Generate runs generate.Generate into a fresh default project and returns its artifacts.
func Generate(t testing.TB, e engine.Engine, opts generate.Options) (*pipes.Artifacts, *generate.Stats) {
	t.Helper()
	a := Project(t, e)
	if opts.End.IsZero() {
		opts.End = End
	}
	st, err := generate.Generate(context.Background(), e, a.Project, opts)
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	return a, st
}
