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
	"sync"
)

// Forward runs req on the daemon listening on socket, relaying standard input (when the command
// asks for it), standard output and error, and an interrupt when ctx is cancelled (Ctrl-C). It
// returns the command's exit code. An error means the command could not be handed over or the
// connection broke; the command's own failures come back as its exit code and stderr.
func Forward(ctx context.Context, socket string, req Request, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return 0, fmt.Errorf("%w on %s (%v): if the daemon died, delete the socket file and run the command again", ErrNoDaemon, socket, err)
	}
	defer conn.Close()
	line, err := json.Marshal(req)
	if err != nil {
		return 0, err
	}
	var mu sync.Mutex
	send := func(typ byte, payload []byte) error {
		mu.Lock()
		defer mu.Unlock()
		return writeFrame(conn, typ, payload)
	}
	mu.Lock()
	_, err = conn.Write(append(line, '\n'))
	mu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("hand the command to the daemon on %s: %w", socket, err)
	}

	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			_ = send(frameInterrupt, nil)
		case <-done:
		}
	}()

	br := bufio.NewReader(conn)
	var stdinOnce sync.Once
	for {
		typ, payload, err := readFrame(br)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return 0, fmt.Errorf("the daemon on %s closed the connection before the command finished (did it stop?)", socket)
			}
			return 0, fmt.Errorf("read from the daemon on %s: %w", socket, err)
		}
		switch typ {
		case frameStdout:
			if _, err := stdout.Write(payload); err != nil {
				return 0, err
			}
		case frameStderr:
			if _, err := stderr.Write(payload); err != nil {
				return 0, err
			}
		case frameWantStdin:
			stdinOnce.Do(func() { go copyStdin(stdin, send) })
		case frameExit:
			if len(payload) != 4 {
				return 0, fmt.Errorf("the daemon on %s sent a bad exit frame", socket)
			}
			return int(int32(binary.BigEndian.Uint32(payload))), nil
		}
	}
}

// copyStdin streams r to the daemon in frames and then signals its end.
func copyStdin(r io.Reader, send func(byte, []byte) error) {
	if r == nil {
		_ = send(frameStdinEOF, nil)
		return
	}
	buf := make([]byte, 256<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if send(frameStdin, buf[:n]) != nil {
				return
			}
		}
		if err != nil {
			_ = send(frameStdinEOF, nil)
			return
		}
	}
}
