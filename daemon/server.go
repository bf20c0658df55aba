package daemon

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
)

// Handler runs one forwarded command and returns its exit code. ctx is cancelled when the
// client sends Ctrl-C, disconnects, or the server closes.
type Handler func(ctx context.Context, req Request, stdin io.Reader, stdout, stderr io.Writer) int

// Server accepts forwarded commands on a unix socket beside a data folder.
type Server struct {
	ln      net.Listener
	socket  string
	pointer string
	handler Handler
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// Listen starts a server for the data folder dataDir, which the calling process must hold (the
// engine's folder lock): a socket file left there by a daemon that died is replaced. Commands
// run on ctx, which Close cancels.
func Listen(ctx context.Context, dataDir string, h Handler) (*Server, error) {
	socket := SocketPath(dataDir)
	_ = os.Remove(socket)
	ln, err := net.Listen("unix", socket)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", socket, err)
	}
	_ = os.Chmod(socket, 0o600)
	s := &Server{ln: ln, socket: socket, handler: h}
	if filepath.Dir(socket) != dataDir {
		s.pointer = filepath.Join(dataDir, pointerName)
		if err := os.WriteFile(s.pointer, []byte(socket+"\n"), 0o644); err != nil {
			ln.Close()
			return nil, fmt.Errorf("record the socket path in %s: %w", dataDir, err)
		}
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Add(1)
	go s.accept(ctx)
	return s, nil
}

// Socket returns the socket's path.
func (s *Server) Socket() string { return s.socket }

// Close stops accepting commands, interrupts the ones running, waits for them to return and
// removes the socket.
func (s *Server) Close() error {
	s.cancel()
	err := s.ln.Close()
	s.wg.Wait()
	_ = os.Remove(s.socket)
	if s.pointer != "" {
		_ = os.Remove(s.pointer)
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (s *Server) accept(ctx context.Context) {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(ctx, conn)
		}()
	}
}

// frameWriter writes one kind of frame; writers of one connection share a lock.
type frameWriter struct {
	mu   *sync.Mutex
	conn io.Writer
	typ  byte
}

func (w *frameWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for off := 0; off < len(p); off += maxFrame {
		end := min(off+maxFrame, len(p))
		if err := writeFrame(w.conn, w.typ, p[off:end]); err != nil {
			return off, err
		}
	}
	return len(p), nil
}

// lazyStdin asks the client for its standard input on the first Read, so a client whose
// command never reads it never sends it.
type lazyStdin struct {
	once sync.Once
	ask  func()
	r    *io.PipeReader
}

func (l *lazyStdin) Read(p []byte) (int, error) {
	l.once.Do(l.ask)
	return l.r.Read(p)
}

func (s *Server) serve(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	br := bufio.NewReader(conn)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return
	}
	var req Request
	var mu sync.Mutex
	stderr := &frameWriter{mu: &mu, conn: conn, typ: frameStderr}
	if err := json.Unmarshal(line, &req); err != nil {
		fmt.Fprintf(stderr, "hourglass: the daemon could not read the command (%v): is this client another hourglass version?\n", err)
		s.exit(&mu, conn, 2)
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	stdin := &lazyStdin{r: pr, ask: func() {
		mu.Lock()
		defer mu.Unlock()
		_ = writeFrame(conn, frameWantStdin, nil)
	}}
	// Frames from the client: standard input (written to the pipe, which blocks until the
	// command reads it: back-pressure), its end, and Ctrl-C. A client that goes away
	// interrupts its command.
	go func() {
		for {
			typ, payload, err := readFrame(br)
			if err != nil {
				pw.CloseWithError(io.ErrUnexpectedEOF)
				cancel()
				return
			}
			switch typ {
			case frameStdin:
				_, _ = pw.Write(payload) // fails only once the command stopped reading
			case frameStdinEOF:
				pw.Close()
			case frameInterrupt:
				cancel()
			}
		}
	}()
	code := s.handler(ctx, req, stdin, &frameWriter{mu: &mu, conn: conn, typ: frameStdout}, stderr)
	pr.CloseWithError(io.ErrClosedPipe)
	s.exit(&mu, conn, code)
}

func (s *Server) exit(mu *sync.Mutex, conn io.Writer, code int) {
	mu.Lock()
	defer mu.Unlock()
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(int32(code)))
	_ = writeFrame(conn, frameExit, b[:])
}
