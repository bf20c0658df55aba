// Package daemon lets hourglass commands run inside a long-running hourglass process (`hourglass
// serve`) on the engine that process already holds open.
//
// The embedded engine is one per process and one data folder is held by one process at a time.
// While `serve` holds a folder, every other command started on it is carried out by the daemon:
// the command line, working directory and environment travel over a unix socket beside the data
// folder, the daemon runs the same command code in-process on its open engine, and standard
// output, standard error, standard input, Ctrl-C and the exit code travel back and forth. To the
// user it is the same command with the same output and the same exit code.
//
// The protocol is private to one hourglass build: a JSON request line, then frames of one type
// byte, a 4-byte big-endian length and the payload.
package daemon

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// SocketName is the unix socket a daemon listens on, in the data folder it holds.
const SocketName = "hourglass.sock"

// pointerName is the file beside the data folder that names the socket when the folder's path
// is too long for a unix socket address.
const pointerName = "hourglass.sock.path"

// maxSocketPath is the longest socket path the kernel accepts (sun_path is 108 bytes with its
// terminating NUL), with a margin.
const maxSocketPath = 100

// Frame types. Daemon to client: stdout, stderr, a request for standard input, the exit code.
// Client to daemon: standard input, its end, and an interrupt (Ctrl-C).
const (
	frameStdout    byte = 'o'
	frameStderr    byte = 'e'
	frameWantStdin byte = 'r'
	frameExit      byte = 'x'
	frameStdin     byte = 'i'
	frameStdinEOF  byte = 'I'
	frameInterrupt byte = 'c'
)

// maxFrame bounds one frame's payload: a peer that sends more is broken or hostile.
const maxFrame = 1 << 20

// Request is what a client sends to run one command.
type Request struct {
	// Args is the command line without the program name.
	Args []string `json:"args"`
	// Cwd is the client's working directory: relative paths in Args are relative to it.
	Cwd string `json:"cwd"`
	// Env holds the client's HOURGLASS_* environment variables.
	Env map[string]string `json:"env"`
	// Terminal says whether the client's standard error is a terminal (live progress bars).
	Terminal bool `json:"terminal"`
}

// SocketPath returns the socket address of the daemon holding dataDir: the socket inside it,
// or, when that path is too long for a unix socket, one in the system's temporary folder named
// by a hash of dataDir (PointerPath then records it).
func SocketPath(dataDir string) string {
	p := filepath.Join(dataDir, SocketName)
	if len(p) <= maxSocketPath {
		return p
	}
	sum := sha256.Sum256([]byte(dataDir))
	return filepath.Join(os.TempDir(), "hourglass-"+hex.EncodeToString(sum[:8])+".sock")
}

// Find returns the socket of a daemon that announced itself for dataDir, or "" when there is
// none. A socket file left by a daemon that died is found too; Forward then fails to connect
// and says so.
func Find(dataDir string) string {
	if p := filepath.Join(dataDir, SocketName); exists(p) {
		return p
	}
	if b, err := os.ReadFile(filepath.Join(dataDir, pointerName)); err == nil {
		if p := strings.TrimSpace(string(b)); p != "" && exists(p) {
			return p
		}
	}
	return ""
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func writeFrame(w io.Writer, typ byte, payload []byte) error {
	var hdr [5]byte
	hdr[0] = typ
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	if len(payload) > 0 {
		if _, err := w.Write(payload); err != nil {
			return err
		}
	}
	return nil
}

func readFrame(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("frame of %d bytes: the peer is not an hourglass of this build", n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	return hdr[0], payload, nil
}

// ErrNoDaemon says a socket was found but no daemon answered on it.
var ErrNoDaemon = errors.New("no hourglass daemon answers")
