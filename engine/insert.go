package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// InsertFormat has the embedded engine read data itself: a regular file by its path, anything
// else (standard input, a pipe, a generated stream) through a named pipe that Go feeds as the
// engine reads, so neither side ever holds the whole input.
func (e *embedded) InsertFormat(ctx context.Context, table, format string, data io.Reader) error {
	if path, ok := regularFile(data); ok {
		return e.Exec(ctx, insertFromFile(table, path, format), nil)
	}
	dir, err := os.MkdirTemp("", "hourglass-insert-")
	if err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	defer os.RemoveAll(dir)
	fifo := filepath.Join(dir, "data")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		return fmt.Errorf("insert into %s: named pipe: %w", table, err)
	}
	f := startFeed(ctx, fifo, data)
	err = e.Exec(ctx, insertFromFile(table, fifo, format), nil)
	f.stop()
	if err != nil {
		return err
	}
	// The engine read to the end: the input must have ended too, not failed or been cut short.
	return f.wait(ctx)
}

// strictInput is the setting that, at 0, makes a field or column the table lacks an error
// rather than silently dropped data (26.x skips them by default, 18.16 does not).
const strictInput = "input_format_skip_unknown_fields"

// insertFromFile has the engine read a file with the table's own structure (so omitted
// fields take the table's defaults). Not INSERT … FROM INFILE: in chDB that statement also
// drains the process's standard input, whatever file it names.
func insertFromFile(table, path, format string) string {
	return "INSERT INTO " + table + " SELECT * FROM file(" + quoteString(path) + ", " + quoteString(format) + ")" +
		" SETTINGS use_structure_from_insertion_table_in_table_functions = 1, " + strictInput + " = 0"
}

// regularFile returns the absolute path of data when it is an unread regular file.
func regularFile(data io.Reader) (string, bool) {
	f, ok := data.(*os.File)
	if !ok {
		return "", false
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return "", false
	}
	if off, err := f.Seek(0, io.SeekCurrent); err != nil || off != 0 {
		return "", false
	}
	path, err := filepath.Abs(f.Name())
	return path, err == nil
}

// feed copies data into a named pipe the engine reads.
type feed struct {
	path    string
	done    chan error
	stopped chan struct{}
}

func startFeed(ctx context.Context, path string, data io.Reader) *feed {
	f := &feed{path: path, done: make(chan error, 1), stopped: make(chan struct{})}
	go func() {
		w, err := os.OpenFile(path, os.O_WRONLY, 0) // waits for the engine to open it
		if err != nil {
			f.done <- err
			return
		}
		closed := make(chan struct{})
		go func() { // a cancelled context ends the input, so the engine stops reading
			select {
			case <-ctx.Done():
			case <-f.stopped:
			case <-closed:
				return
			}
			w.Close()
		}()
		_, err = io.Copy(w, data)
		close(closed)
		if cerr := w.Close(); err == nil && !errors.Is(cerr, os.ErrClosed) {
			err = cerr
		}
		if err == nil {
			err = ctx.Err()
		}
		f.done <- err
	}()
	return f
}

// stop unblocks the copy once the engine no longer reads: a writer still waiting for a reader
// gets one that closes at once, and a writer blocked on a full pipe gets its file closed.
func (f *feed) stop() {
	close(f.stopped)
	if r, err := os.OpenFile(f.path, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
		r.Close()
	}
}

// wait returns the copy's error, or the context's when it was cancelled.
func (f *feed) wait(ctx context.Context) error {
	select {
	case err := <-f.done:
		if err != nil {
			return fmt.Errorf("read the input: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
