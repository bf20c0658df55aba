package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// LockFile is the file in an embedded engine's data folder that the process holding the folder
// keeps locked, with its PID inside.
const LockFile = "hourglass.lock"

// FolderBusyError says an embedded engine's data folder is held by another process.
type FolderBusyError struct {
	// Dir is the data folder; PID the process holding it, as it recorded itself ("unknown"
	// when it did not).
	Dir, PID string
}

func (e *FolderBusyError) Error() string {
	return fmt.Sprintf("data folder %s is in use by PID %s: stop that hourglass process, or point --dsn at another folder", e.Dir, e.PID)
}

// EmbeddedDir returns the data folder a chdb:// DSN names, made absolute, and false for other
// DSNs and for chdb://:memory:.
func EmbeddedDir(dsn string) (string, bool) {
	dir, ok := strings.CutPrefix(dsn, "chdb://")
	if !ok || dir == "" || dir == ":memory:" {
		return "", false
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	return abs, true
}

// FolderHolder reports whether an engine holds the embedded data folder dir, and the PID it
// recorded. It tries the folder's lock on a file description of its own and releases it at once
// when it gets it, so it is safe to call from any process, the holder's included.
func FolderHolder(dir string) (pid string, held bool) {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDWR, 0)
	if err != nil {
		return "", false // no lock file: never opened, so nobody holds it
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return readPID(f), true
		}
		return "", false
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return "", false
}

func readPID(f *os.File) string {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	if pid := strings.TrimSpace(string(b[:n])); pid != "" {
		return pid
	}
	return "unknown"
}
