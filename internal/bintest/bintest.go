// Package bintest builds the hourglass binary for tests that run it as a child process: a
// daemon with commands beside it, a process killed mid-run.
package bintest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Binary builds ./cmd/hourglass once per test process, on first use. Declare one per test
// package and call Remove from TestMain after the tests ran.
type Binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// Path returns the built binary, building it (CGO_ENABLED=0, as `make build` does) the first
// time; a build failure fails the test.
func (b *Binary) Path(t testing.TB) string {
	t.Helper()
	b.once.Do(b.build)
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

func (b *Binary) build() {
	b.dir, b.err = os.MkdirTemp("", "hourglass-bin-")
	if b.err != nil {
		return
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	b.path = filepath.Join(b.dir, "hourglass")
	cmd := exec.Command("go", "build", "-o", b.path, "./cmd/hourglass")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.err = fmt.Errorf("go build ./cmd/hourglass: %v\n%s", err, out)
	}
}

// Remove deletes the built binary.
func (b *Binary) Remove() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}
