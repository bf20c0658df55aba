// Package enginetest helps tests run on real ClickHouse engines: it starts a clickhouse-server
// on loopback with a temporary config and data folder, opens the embedded engine, and holds the
// conformance suite both engine implementations must pass.
package enginetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
)

// ErrNoServer reports that no clickhouse-server binary is installed.
var ErrNoServer = errors.New("clickhouse-server is not installed (apt-get install clickhouse-server)")

// Server is a clickhouse-server process started for a test.
type Server struct {
	// DSN reaches the server's default database over the native protocol.
	DSN  string
	Port int
	// InterserverPort is the port replicas fetch parts from each other on (cluster nodes only).
	InterserverPort int
	dir             string
	bin             string
	cmd             *exec.Cmd
	// extra is XML added inside the server config's root element (cluster nodes: ZooKeeper,
	// remote_servers, macros, distributed DDL).
	extra string
}

// FindServer returns the clickhouse-server binary, or ErrNoServer.
func FindServer() (string, error) {
	for _, p := range []string{os.Getenv("HOURGLASS_CLICKHOUSE_SERVER"), "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return p, nil
	}
	return "", ErrNoServer
}

// StartServer starts a clickhouse-server on 127.0.0.1 on free ports, with its config and data in
// a new folder under dir, and waits until it answers. Stop it with Stop.
func StartServer(ctx context.Context, dir string) (*Server, error) {
	s, err := newServer(dir)
	if err != nil {
		return nil, err
	}
	if err := s.writeConfig(); err != nil {
		return nil, err
	}
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// newServer finds the binary and chooses free ports for a server living in dir, without
// writing or starting anything.
func newServer(dir string) (*Server, error) {
	bin, err := FindServer()
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, bin: bin}
	if s.Port, err = freePort(); err != nil {
		return nil, err
	}
	s.DSN = fmt.Sprintf("clickhouse://default:@127.0.0.1:%d/default", s.Port)
	return s, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) writeConfig() error {
	httpPort, err := freePort()
	if err != nil {
		return err
	}
	interserver := ""
	if s.InterserverPort != 0 {
		interserver = fmt.Sprintf("  <interserver_http_port>%d</interserver_http_port>\n  <interserver_http_host>127.0.0.1</interserver_http_host>\n", s.InterserverPort)
	}
	for _, d := range []string{"data", "tmp", "log", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o755); err != nil {
			return err
		}
	}
	config := fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>%[1]s/log/server.log</log><errorlog>%[1]s/log/error.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>%[2]d</tcp_port>
  <http_port>%[3]d</http_port>
  <path>%[1]s/data/</path>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <format_schema_path>%[1]s/format_schemas/</format_schema_path>
  <users_config>%[1]s/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>5368709120</mark_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
%[4]s%[5]s</yandex>
`, s.dir, s.Port, httpPort, interserver, s.extra)
	users := `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`
	if err := os.WriteFile(filepath.Join(s.dir, "config.xml"), []byte(config), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.dir, "users.xml"), []byte(users), 0o644)
}

func (s *Server) start(ctx context.Context) error {
	cmd := exec.Command(s.bin, "--config-file="+filepath.Join(s.dir, "config.xml"))
	s.cmd = cmd
	err := startProcess(ctx, cmd, filepath.Join(s.dir, "log", "stdout.log"), filepath.Join(s.dir, "log", "error.log"), func() bool {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.Port), time.Second)
		if err != nil {
			return false
		}
		c.Close()
		e, err := engine.Open(ctx, s.DSN)
		if err != nil {
			return false
		}
		e.Close()
		return true
	})
	if err != nil {
		s.Kill()
		return fmt.Errorf("clickhouse-server on port %d: %w", s.Port, err)
	}
	return nil
}

// startProcess starts cmd in a process group of its own that dies with the test process,
// its output appended to logPath, and polls ready until it says yes (nil), the process exits
// (an error quoting the end of errLog), ctx ends or a minute passes. The caller kills the
// process on error.
func startProcess(ctx context.Context, cmd *exec.Cmd, logPath, errLog string, ready func() bool) error {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	logf.Close()
	if err != nil {
		return fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			b, _ := os.ReadFile(errLog)
			return fmt.Errorf("exited at start (%v): %s", err, lastLines(string(b), 5))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if ready() {
			go func() { <-exited }() // keep reaping
			return nil
		}
	}
	return fmt.Errorf("not ready within 60s")
}

// DataDir is the server's data folder (its <path>): tables' parts are under data/DB/TABLE.
func (s *Server) DataDir() string { return filepath.Join(s.dir, "data") }

// Kill stops the server at once (SIGKILL), as a crash would.
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		_ = s.cmd.Process.Kill()
		time.Sleep(100 * time.Millisecond)
	}
}

// Restart starts the server again on the same ports and data folder after Kill.
func (s *Server) Restart(ctx context.Context) error {
	return s.start(ctx)
}

// Stop stops the server and removes nothing (the caller owns dir).
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() {
			for i := 0; i < 50; i++ {
				if err := syscall.Kill(s.cmd.Process.Pid, 0); err != nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			close(done)
		}()
		<-done
		s.Kill()
	}
}

func lastLines(s string, n int) string {
	lines := []string{}
	start := len(s)
	for i := len(s) - 1; i >= 0 && len(lines) < n; i-- {
		if s[i] == '\n' || i == 0 {
			if l := s[i:start]; len(l) > 1 {
				lines = append(lines, l)
			}
			start = i
		}
	}
	out := ""
	for i := len(lines) - 1; i >= 0; i-- {
		out += lines[i]
	}
	return out
}
