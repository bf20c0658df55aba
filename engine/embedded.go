package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"
)

// ChdbVersion is the pinned chDB build `make engine` installs.
const ChdbVersion = "26.5.3"

// LibraryEnv names the environment variable that points at libchdb.so.
const LibraryEnv = "HOURGLASS_CHDB_LIB"

// LibraryPath returns where the embedded engine's library is looked for: $HOURGLASS_CHDB_LIB,
// or the cache folder `make engine` installs into (~/.cache/hourglass/chdb-<version>/libchdb.so).
func LibraryPath() string {
	if p := os.Getenv(LibraryEnv); p != "" {
		return p
	}
	return DefaultLibraryPath()
}

// DefaultLibraryPath is the cache location `make engine` installs libchdb.so into.
func DefaultLibraryPath() string {
	dir, err := os.UserCacheDir()
	if err != nil || dir == "" {
		dir = filepath.Join(os.TempDir(), "hourglass-cache")
	}
	return filepath.Join(dir, "hourglass", "chdb-"+ChdbVersion, "libchdb.so")
}

// The chDB library is process-wide: it can be loaded once and holds one engine (one data
// folder) at a time. This guard is the only package-level state in hourglass and exists because
// the C library's own state is process-wide; it turns a second Open into a clear error instead
// of undefined behaviour inside the engine.
var embeddedGuard struct {
	sync.Mutex
	open string // the data folder of the open engine, "" when none
}

// chdbAPI holds the C functions hourglass calls.
type chdbAPI struct {
	connect          func(argc int32, argv **byte) unsafe.Pointer
	closeConn        func(conn unsafe.Pointer)
	query            func(conn unsafe.Pointer, query string, format string) unsafe.Pointer
	resultBuffer     func(res unsafe.Pointer) unsafe.Pointer
	resultLength     func(res unsafe.Pointer) uintptr
	resultError      func(res unsafe.Pointer) unsafe.Pointer
	storageRowsRead  func(res unsafe.Pointer) uint64
	storageBytesRead func(res unsafe.Pointer) uint64
	rowsWritten      func(res unsafe.Pointer) uint64
	bytesWritten     func(res unsafe.Pointer) uint64
	elapsed          func(res unsafe.Pointer) float64
	destroyResult    func(res unsafe.Pointer)
	setSignalHandler func(enabled bool)
}

func loadChdb(path string) (*chdbAPI, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("embedded ClickHouse engine not found at %s: run `make engine`, or set %s to the path of libchdb.so", path, LibraryEnv)
	}
	if fi.IsDir() || fi.Size() < 1<<20 {
		return nil, fmt.Errorf("embedded ClickHouse engine at %s is not a valid libchdb.so (%d bytes): run `make engine` again, or set %s to a good copy", path, fi.Size(), LibraryEnv)
	}
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("cannot load the embedded ClickHouse engine %s (%v): run `make engine` again, or set %s to a good copy of libchdb.so", path, oneLine(err.Error()), LibraryEnv)
	}
	api := &chdbAPI{}
	for _, f := range []struct {
		ptr  any
		name string
	}{
		{&api.connect, "chdb_connect"},
		{&api.closeConn, "chdb_close_conn"},
		{&api.query, "chdb_query"},
		{&api.resultBuffer, "chdb_result_buffer"},
		{&api.resultLength, "chdb_result_length"},
		{&api.resultError, "chdb_result_error"},
		{&api.storageRowsRead, "chdb_result_storage_rows_read"},
		{&api.storageBytesRead, "chdb_result_storage_bytes_read"},
		{&api.rowsWritten, "chdb_result_rows_written"},
		{&api.bytesWritten, "chdb_result_bytes_written"},
		{&api.elapsed, "chdb_result_elapsed"},
		{&api.destroyResult, "chdb_destroy_query_result"},
		{&api.setSignalHandler, "chdb_set_signal_handlers_enabled"},
	} {
		sym, err := purego.Dlsym(h, f.name)
		if err != nil || sym == 0 {
			return nil, fmt.Errorf("the library %s lacks %s: it is not chDB %s; run `make engine`", path, f.name, ChdbVersion)
		}
		purego.RegisterFunc(f.ptr, sym)
	}
	return api, nil
}

// embedded is the in-process engine.
type embedded struct {
	api     *chdbAPI
	dir     string
	library string
	lock    *os.File
	// args are the arguments every connection is opened with.
	args []string
	// mu guards closed: calls hold it shared, so they run concurrently, and Close takes it
	// exclusively, so no connection is closed under a running call.
	mu     sync.RWMutex
	closed bool
	// pool holds the connections no call is using. chDB runs one statement of a connection at a
	// time, but the connections of one data folder run theirs in parallel: a call takes an
	// idle connection, or opens one more while there are fewer than maxConns, or waits for one.
	// Calls never mutate session state (parameters are bound into the SQL text, see run; every
	// connection gets the same SETs when it opens), so any connection serves any call.
	pool     chan *chConn
	poolMu   sync.Mutex
	conns    []*chConn // every connection open, the first one opened with the engine
	maxConns int
	database string
}

// chConn is one chDB connection to the engine's data folder.
type chConn struct {
	ptr  unsafe.Pointer // chdb_connection*
	conn unsafe.Pointer // chdb_connection
}

// maxEmbeddedConns bounds the connections of an engine on a data folder: the statements the
// parallel workers of a backfill, the derived tables' rebuilds and the reads of hourglass serve
// run at once. An in-memory engine keeps one connection: each connection to ":memory:" would
// not be guaranteed to see the others' tables.
func maxEmbeddedConns(memory bool) int {
	if memory {
		return 1
	}
	return max(4, runtime.NumCPU())
}

func openEmbedded(ctx context.Context, dir, library string) (Engine, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	memory := dir == ":memory:"
	if dir == "" {
		return nil, fmt.Errorf("chdb:// needs a data folder (chdb://.hourglass/data) or :memory:")
	}
	if !memory {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("data folder %s: %w", dir, err)
		}
		dir = abs
	}

	api, err := loadChdb(library)
	if err != nil {
		return nil, err
	}
	embeddedGuard.Lock()
	defer embeddedGuard.Unlock()
	if embeddedGuard.open != "" {
		return nil, fmt.Errorf("the embedded engine is already open on %s in this process: close it first (chDB holds one engine per process)", embeddedGuard.open)
	}
	e := &embedded{api: api, dir: dir, library: library}
	if !memory {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create data folder %s: %w", dir, err)
		}
		lock, err := lockFolder(dir)
		if err != nil {
			return nil, err
		}
		e.lock = lock
	}

	// Let Go keep its own signal handling (SIGINT/SIGTERM reach signal.NotifyContext).
	api.setSignalHandler(false)
	args := []string{"clickhouse"}
	if !memory {
		args = append(args, "--path="+dir)
	}
	// A dropped table's files go at once instead of 480 s later: populate drops one staging
	// table per unit, and every table waiting in metadata_dropped slows the next engine open.
	// (DROP TABLE … SYNC would do it per statement, but chDB never finishes it for a table of
	// a database created by the same process: it waits forever.)
	args = append(args, "--", "--database_atomic_delay_before_drop_table_sec=0",
		// Threads a query leaves idle go at once instead of waiting in the global pool (up to
		// 1000 of them by default), each holding its stack and its allocator cache: a 90-day
		// backfill ended with 80 threads and ~60 MB more resident than with 21 (measured).
		"--max_thread_pool_free_size=0")
	e.args = args
	e.maxConns = maxEmbeddedConns(memory)
	e.pool = make(chan *chConn, e.maxConns)
	// chDB starting in a process that just stopped it can fail once in a long while (seen
	// once in CI, in a process that had opened and closed the engine many times: a table's
	// load job failed on "recursive_mutex lock failed"); a failed start leaves nothing
	// behind, and a start after it succeeds, so the engine is started again a few times
	// before the folder is declared unusable.
	var c *chConn
	for pause := 100 * time.Millisecond; ; pause *= 3 {
		if c, err = e.connect(); err == nil || pause > time.Second || ctx.Err() != nil {
			break
		}
		time.Sleep(pause)
	}
	if err != nil {
		e.unlock()
		return nil, err
	}
	e.conns = append(e.conns, c)
	e.pool <- c
	e.database = "default"
	embeddedGuard.open = dir
	return e, nil
}

// connect opens one more connection to the engine and configures its session.
func (e *embedded) connect() (*chConn, error) {
	cargs := make([]*byte, len(e.args))
	for i, a := range e.args {
		cargs[i] = cString(a)
	}
	ptr := e.api.connect(int32(len(e.args)), &cargs[0])
	if ptr == nil || *(*unsafe.Pointer)(ptr) == nil {
		return nil, fmt.Errorf("the embedded engine could not open %s: check that the folder is writable and not used by another ClickHouse", e.dir)
	}
	c := &chConn{ptr: ptr, conn: *(*unsafe.Pointer)(ptr)}
	for _, q := range []string{
		"SET session_timezone = 'UTC'",
		"SET output_format_json_quote_64bit_integers = 1",
		"SET output_format_json_quote_denormals = 1",
		"SET output_format_json_escape_forward_slashes = 0",
	} {
		if _, _, err := e.run(c, q, nil); err != nil {
			e.api.closeConn(ptr)
			return nil, fmt.Errorf("configure embedded engine: %w", err)
		}
	}
	return c, nil
}

// acquire takes an idle connection, opens one more when none is idle and fewer than maxConns
// are open, or waits for one; the caller holds mu shared and gives it back with release.
func (e *embedded) acquire(ctx context.Context) (*chConn, error) {
	select {
	case c := <-e.pool:
		return c, nil
	default:
	}
	e.poolMu.Lock()
	if len(e.conns) < e.maxConns {
		c, err := e.connect()
		if err == nil {
			e.conns = append(e.conns, c)
		}
		e.poolMu.Unlock()
		if err != nil {
			// The engine still has its other connections: wait for one of them.
			return e.wait(ctx)
		}
		return c, nil
	}
	e.poolMu.Unlock()
	return e.wait(ctx)
}

func (e *embedded) wait(ctx context.Context) (*chConn, error) {
	select {
	case c := <-e.pool:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (e *embedded) release(c *chConn) { e.pool <- c }

// lockFolder takes an exclusive lock on the data folder so that a second process gets a clear
// error instead of two engines writing the same files.
func lockFolder(dir string) (*os.File, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock data folder %s: %w (is it writable?)", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid := readPID(f)
		f.Close()
		return nil, &FolderBusyError{Dir: dir, PID: pid}
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

func (e *embedded) unlock() {
	if e.lock != nil {
		_ = e.lock.Truncate(0)
		_ = syscall.Flock(int(e.lock.Fd()), syscall.LOCK_UN)
		_ = e.lock.Close()
		e.lock = nil
	}
}

func (e *embedded) Exec(ctx context.Context, query string, params Params) error {
	_, _, err := e.do(ctx, query, params)
	return err
}

func (e *embedded) Query(ctx context.Context, query string, params Params) (*Result, error) {
	out, st, err := e.do(ctx, query, params)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return &Result{Stats: st}, nil
	}
	res, err := decodeJSONCompact(out)
	if err != nil {
		return nil, err
	}
	res.Stats.RowsWritten, res.Stats.BytesWritten, res.Stats.WritesKnown = st.RowsWritten, st.BytesWritten, true
	return res, nil
}

func (e *embedded) do(ctx context.Context, query string, params Params) ([]byte, Stats, error) {
	if err := ctx.Err(); err != nil {
		return nil, Stats{}, err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, Stats{}, errors.New("embedded engine is closed")
	}
	c, err := e.acquire(ctx)
	if err != nil {
		return nil, Stats{}, err
	}
	defer e.release(c)
	return e.run(c, query, params)
}

// run executes one statement on connection c, which the caller holds (acquire, or the engine
// is opening it). Parameters are bound into the SQL text as typed literals (bindLiterals),
// never set on the connection: chDB's query parameters are session state, which libchdb does
// not keep apart between connections running at once. The statistics are the engine's own: rows and bytes read
// from storage, rows and bytes written (an INSERT's), elapsed time.
func (e *embedded) run(c *chConn, query string, params Params) ([]byte, Stats, error) {
	if len(params) > 0 {
		q, err := bindLiterals(query, params)
		if err != nil {
			return nil, Stats{}, err
		}
		query = q
	}
	res := e.api.query(c.conn, query, "JSONCompact")
	if res == nil {
		return nil, Stats{}, errors.New("embedded engine returned no result (out of memory?)")
	}
	defer e.api.destroyResult(res)
	if p := e.api.resultError(res); p != nil {
		if msg := goString(p); msg != "" {
			return nil, Stats{}, parseErrorText(msg)
		}
	}
	st := Stats{
		RowsRead: e.api.storageRowsRead(res), BytesRead: e.api.storageBytesRead(res),
		RowsWritten: e.api.rowsWritten(res), BytesWritten: e.api.bytesWritten(res), WritesKnown: true,
		Elapsed: time.Duration(e.api.elapsed(res) * float64(time.Second)),
	}
	n := e.api.resultLength(res)
	if n == 0 {
		return nil, st, nil
	}
	buf := e.api.resultBuffer(res)
	out := make([]byte, n)
	copy(out, unsafe.Slice((*byte)(buf), n))
	return out, st, nil
}

func (e *embedded) Info(ctx context.Context) (Info, error) {
	r, err := e.Query(ctx, "SELECT version(), currentDatabase()", nil)
	if err != nil {
		return Info{}, fmt.Errorf("engine info: %w", err)
	}
	row := r.Row()
	return Info{Kind: "embedded", Version: row[0].(string), Database: row[1].(string), Location: e.dir, Library: e.library}, nil
}

func (e *embedded) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	// The first connection, opened with the engine, closes last: the engine lives as long as
	// one of its connections.
	for i := len(e.conns) - 1; i >= 0; i-- {
		e.api.closeConn(e.conns[i].ptr)
	}
	e.conns = nil
	e.unlock()
	embeddedGuard.Lock()
	embeddedGuard.open = ""
	embeddedGuard.Unlock()
	return nil
}

// cString returns a NUL-terminated copy of s. The Go slice stays reachable from the caller's
// pointer slice for the duration of the call.
func cString(s string) *byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return &b[0]
}

func goString(p unsafe.Pointer) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(p, n)) != 0 {
		n++
	}
	return string(unsafe.Slice((*byte)(p), n))
}

// paramStrings renders parameter values in the text form ClickHouse parses for {name:Type}
// placeholders, in name order.
func paramStrings(params Params) (names, values []string, err error) {
	for name := range params {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v, err := paramText(params[name], true)
		if err != nil {
			return nil, nil, fmt.Errorf("parameter %s: %w", name, err)
		}
		values = append(values, v)
	}
	return names, values, nil
}

// paramText renders one value. top is false inside arrays, where strings are quoted.
func paramText(v any, top bool) (string, error) {
	switch x := v.(type) {
	case nil:
		return "\\N", nil
	case string:
		if top {
			return escapeParam(x), nil
		}
		return quoteString(x), nil
	case bool:
		if x {
			return "true", nil
		}
		return "false", nil
	case time.Time:
		t := x.UTC()
		if t.Nanosecond() != 0 {
			return t.Format("2006-01-02 15:04:05.999999999"), nil
		}
		return t.Format(time.DateTime), nil
	case int:
		return strconv.FormatInt(int64(x), 10), nil
	case int8:
		return strconv.FormatInt(int64(x), 10), nil
	case int16:
		return strconv.FormatInt(int64(x), 10), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint8:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint16:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint32:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case []string:
		parts := make([]string, len(x))
		for i, s := range x {
			parts[i] = quoteString(s)
		}
		return "[" + strings.Join(parts, ",") + "]", nil
	case []any:
		parts := make([]string, len(x))
		for i, s := range x {
			p, err := paramText(s, false)
			if err != nil {
				return "", err
			}
			parts[i] = p
		}
		return "[" + strings.Join(parts, ",") + "]", nil
	}
	return "", fmt.Errorf("unsupported parameter type %T", v)
}

// escapeParam escapes a top-level string parameter value: ClickHouse reads parameter values
// in its escaped text format, where a backslash starts an escape sequence.
func escapeParam(s string) string {
	return strings.NewReplacer("\\", "\\\\", "\t", "\\t", "\n", "\\n", "\r", "\\r", "\x00", "\\0").Replace(s)
}

// quoteString renders s as a ClickHouse string literal.
func quoteString(s string) string {
	return "'" + strings.NewReplacer("\\", "\\\\", "'", "\\'", "\n", "\\n", "\t", "\\t", "\r", "\\r", "\x00", "\\0").Replace(s) + "'"
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
