package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// handler is a command stand-in: "echo" copies standard input to standard output upper-cased
// and exits 3; "wait" blocks until interrupted and exits 130; anything else writes to stderr.
func handler(started chan<- struct{}) Handler {
	return func(ctx context.Context, req Request, stdin io.Reader, stdout, stderr io.Writer) int {
		switch req.Args[0] {
		case "echo":
			b, err := io.ReadAll(stdin)
			if err != nil {
				fmt.Fprintln(stderr, "read:", err)
				return 2
			}
			stdout.Write(bytes.ToUpper(b))
			fmt.Fprintf(stderr, "cwd=%s env=%s\n", req.Cwd, req.Env["HOURGLASS_DSN"])
			return 3
		case "wait":
			if started != nil {
				close(started)
			}
			<-ctx.Done()
			fmt.Fprintln(stderr, "interrupted")
			return 130
		}
		fmt.Fprintln(stderr, "no such command")
		return 2
	}
}

func listen(t *testing.T, dir string, h Handler) *Server {
	t.Helper()
	s, err := Listen(context.Background(), dir, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestForwardRelaysInputOutputAndExitCode(t *testing.T) {
	dir := t.TempDir()
	listen(t, dir, handler(nil))
	socket := Find(dir)
	if socket == "" {
		t.Fatal("Find found no daemon after Listen")
	}
	// More than one frame of input, so the relay's chunking is exercised too.
	in := strings.Repeat("select 1;\n", 300_000)
	var out, errb bytes.Buffer
	code, err := Forward(context.Background(), socket, Request{Args: []string{"echo"}, Cwd: "/somewhere", Env: map[string]string{"HOURGLASS_DSN": "chdb://x"}},
		strings.NewReader(in), &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	if code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
	if out.String() != strings.ToUpper(in) {
		t.Errorf("stdout: %d bytes, want the %d bytes of input upper-cased", out.Len(), len(in))
	}
	if got := errb.String(); got != "cwd=/somewhere env=chdb://x\n" {
		t.Errorf("stderr %q", got)
	}
}

func TestCommandThatNeverReadsStdinIsNotSentIt(t *testing.T) {
	dir := t.TempDir()
	listen(t, dir, handler(nil))
	// A reader that fails the test if read: the client must not read standard input unless
	// the command asks for it (a terminal's input would otherwise be swallowed).
	var out, errb bytes.Buffer
	code, err := Forward(context.Background(), Find(dir), Request{Args: []string{"other"}}, failReader{t}, &out, &errb)
	if err != nil || code != 2 || errb.String() != "no such command\n" {
		t.Fatalf("code %d err %v stderr %q", code, err, errb.String())
	}
}

type failReader struct{ t *testing.T }

func (f failReader) Read([]byte) (int, error) {
	f.t.Error("standard input was read, though the command never asked for it")
	return 0, io.EOF
}

func TestInterruptReachesTheCommand(t *testing.T) {
	dir := t.TempDir()
	started := make(chan struct{})
	listen(t, dir, handler(started))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel() // what Ctrl-C does to the client's context
	}()
	var out, errb bytes.Buffer
	code, err := Forward(ctx, Find(dir), Request{Args: []string{"wait"}}, nil, &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	if code != 130 || errb.String() != "interrupted\n" {
		t.Errorf("code %d stderr %q, want 130 and the command's own message", code, errb.String())
	}
}

func TestCloseInterruptsRunningCommandsAndRemovesTheSocket(t *testing.T) {
	dir := t.TempDir()
	started := make(chan struct{})
	s, err := Listen(context.Background(), dir, handler(started))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Forward(context.Background(), Find(dir), Request{Args: []string{"wait"}}, nil, io.Discard, io.Discard)
		done <- err
	}()
	<-started
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("client: %v (the command was interrupted and should have sent its exit code)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("client still waiting 10 s after the server closed")
	}
	if Find(dir) != "" {
		t.Error("socket still announced after Close")
	}
	if _, err := Forward(context.Background(), SocketPath(dir), Request{Args: []string{"echo"}}, nil, io.Discard, io.Discard); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("Forward to a closed daemon: %v, want ErrNoDaemon", err)
	}
}

func TestLongDataFolderPathUsesAPointerFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("a-long-folder-name/", 6), "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := listen(t, dir, handler(nil))
	if filepath.Dir(s.Socket()) == dir {
		t.Fatalf("socket %s inside a folder whose path is %d bytes long", s.Socket(), len(dir))
	}
	if Find(dir) != s.Socket() {
		t.Fatalf("Find(%s) = %q, want %q", dir, Find(dir), s.Socket())
	}
	var out bytes.Buffer
	if code, err := Forward(context.Background(), Find(dir), Request{Args: []string{"echo"}}, strings.NewReader("x"), &out, io.Discard); err != nil || code != 3 || out.String() != "X" {
		t.Fatalf("code %d err %v out %q", code, err, out.String())
	}
}
