package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/deploy"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
)

// project is a loaded and compiled project.
type project struct {
	def       *datasources.Project
	artifacts *pipes.Artifacts
}

// loadProject reads and compiles the project in --project for a current server (build, lint:
// commands without an engine). Bad definitions come back as one error listing every
// diagnostic (file:line:col: message), before anything touches a database.
func (g *globals) loadProject() (*project, error) {
	def, err := g.loadDefinitions()
	if err != nil {
		return nil, err
	}
	return g.compile(def, pipes.Target{})
}

// loadDefinitions reads the project in --project without compiling it.
func (g *globals) loadDefinitions() (*datasources.Project, error) {
	dir := g.path(g.project)
	if _, err := os.Stat(filepath.Join(dir, datasources.ProjectFile)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no %s in %s: run hourglass init %s, or pass --project DIR", datasources.ProjectFile, g.project, g.project)
		}
		return nil, err
	}
	def, err := datasources.Load(os.DirFS(dir))
	if err != nil {
		var diags *datasources.Errors
		if errors.As(err, &diags) && len(*diags) > 1 {
			return nil, &multiLineError{head: fmt.Sprintf("%d problems in the definitions", len(*diags)), err: err}
		}
		return nil, err
	}
	def.Dir = dir
	return def, nil
}

// compile compiles the definitions for a server (pipes.TargetFor its version).
func (g *globals) compile(def *datasources.Project, target pipes.Target) (*project, error) {
	a, err := pipes.CompileFor(def, target)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", def.Dir, err)
	}
	return &project{def: def, artifacts: a}, nil
}

// multiLineError is an error that Main prints as its first line followed by details, one per
// line: a list of definition diagnostics.
type multiLineError struct {
	head string
	err  error
}

func (e *multiLineError) Error() string { return e.head + ":\n" + e.err.Error() }
func (e *multiLineError) Unwrap() error { return e.err }

// session is a compiled project with its engine and metadata store open.
type session struct {
	*project
	engine engine.Engine
	store  *meta.Store
}

// openSession loads the project, opens its engine and compiles the project for that
// engine's server, so every command on one server compiles the same DDL and hashes. On a
// cluster the metadata store is the cluster's, synced with the other nodes first. The caller
// must call close.
func (g *globals) openSession(ctx context.Context, now func() time.Time) (*session, error) {
	def, err := g.loadDefinitions()
	if err != nil {
		return nil, err
	}
	e, err := g.open(ctx, g.resolveDSN(def.DSN))
	if err != nil {
		return nil, err
	}
	info, err := e.Info(ctx)
	if err == nil {
		var p *project
		if p, err = g.compile(def, pipes.TargetFor(info.Version)); err == nil {
			s := &session{project: p, engine: e, store: meta.New(e, def.Database, now).OnCluster(def.Cluster)}
			err = s.store.Sync(ctx)
			var behind *meta.BehindError
			if errors.As(err, &behind) {
				// A node that is down holds records this one lacks: go on with what it has
				// (every write is idempotent), and say so.
				fmt.Fprintln(g.io.Err, "warning: "+err.Error())
				err = nil
			}
			if err == nil {
				return s, nil
			}
		}
	}
	e.Close()
	return nil, err
}

func (s *session) close() { s.engine.Close() }

// openLiveSession is openSession for commands that read or write rollup data: each rollup's
// artifacts are those of its deployed version ("<rollup>_vN" after an incompatible change), so
// backfill, populate, reconcile, validate and status all work on the table deploy recorded.
func (g *globals) openLiveSession(ctx context.Context, now func() time.Time) (*session, error) {
	s, err := g.openSession(ctx, now)
	if err != nil {
		return nil, err
	}
	if err := s.useLiveVersions(ctx); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *session) useLiveVersions(ctx context.Context) error {
	ok, err := s.store.Exists(ctx)
	if err != nil || !ok {
		return err
	}
	deps, err := s.store.Deployments(ctx)
	if err != nil {
		return err
	}
	for i, ra := range s.artifacts.Rollups {
		d, ok := deps[ra.Rollup.Name]
		if !ok {
			continue
		}
		live, err := deploy.LiveRollup(ra, d)
		if err != nil {
			return fmt.Errorf("rollup %s version %d (%s): %w", ra.Rollup.Name, d.Version, d.Table, err)
		}
		s.artifacts.Rollups[i] = live
	}
	// A rollup over a rollup reads the version of its source deploy recorded.
	for i, ra := range s.artifacts.Rollups {
		src := s.artifacts.Rollup(ra.SourceRollup())
		if src == nil || src.Table == ra.SourceTable() {
			continue
		}
		reading, err := ra.ReadingSource(src.Table)
		if err != nil {
			return fmt.Errorf("rollup %s reads %s: %w", ra.Rollup.Name, src.Table, err)
		}
		s.artifacts.Rollups[i] = reading
	}
	return nil
}
