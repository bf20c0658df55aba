package engine

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/hourglass-dev/hourglass/chtype"
)

// revisionWithParameters is the first native-protocol revision that carries query parameters.
// Older servers (Debian's 18.16 among them) get parameters bound on the client instead, as typed
// literals produced by one escaping function.
const revisionWithParameters = 54459

// revisionWithWriteInfo is the first native-protocol revision whose progress packets carry the
// rows and bytes a statement wrote.
const revisionWithWriteInfo = 54420

// remote is a ClickHouse server over the native protocol.
type remote struct {
	conn         driver.Conn
	dsn          url.URL // as opened, with the timeouts filled in (see OpenHost)
	addr         string
	database     string
	version      string
	serverParams bool
	http         *httpInterface // for QueryFormat and InsertFormat (http.go)
	writeInfo    bool
	mu           sync.Mutex
	closed       bool
}

func openRemote(ctx context.Context, dsn string) (Engine, error) {
	if strings.HasPrefix(dsn, "tcp://") {
		dsn = "clickhouse://" + strings.TrimPrefix(dsn, "tcp://")
	}
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("bad DSN %q: write clickhouse://user:password@host:9000/database", redact(dsn))
	}
	q := u.Query()
	httpPort := q.Get(HTTPPortParam)
	q.Del(HTTPPortParam)
	if q.Get("dial_timeout") == "" {
		q.Set("dial_timeout", "5s")
	}
	if q.Get("read_timeout") == "" {
		q.Set("read_timeout", "3600s")
	}
	u.RawQuery = q.Encode()
	opts, err := clickhouse.ParseDSN(u.String())
	if err != nil {
		return nil, fmt.Errorf("bad DSN %q: %v", redact(dsn), oneLine(err.Error()))
	}
	opts.MaxOpenConns = 8
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", u.Host, wrapRemote(err))
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := conn.Ping(pctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("connect to %s: %w", u.Host, wrapRemote(err))
	}
	sv, err := conn.ServerVersion()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("connect to %s: %w", u.Host, wrapRemote(err))
	}
	db := opts.Auth.Database
	if db == "" {
		db = "default"
	}
	return &remote{
		conn:         conn,
		dsn:          *u,
		addr:         u.Host,
		database:     db,
		version:      fmt.Sprintf("%d.%d.%d", sv.Version.Major, sv.Version.Minor, sv.Version.Patch),
		serverParams: sv.Revision >= revisionWithParameters,
		http:         newHTTPInterface(u.Hostname(), httpPort, opts),
		writeInfo:    sv.Revision >= revisionWithWriteInfo,
	}, nil
}

// prepare binds parameters: on the server where it supports them, otherwise as typed literals.
func (r *remote) prepare(ctx context.Context, query string, params Params, stats *Stats) (context.Context, string, error) {
	opts := []clickhouse.QueryOption{clickhouse.WithProgress(func(p *clickhouse.Progress) {
		stats.RowsRead += p.Rows
		stats.BytesRead += p.Bytes
		stats.RowsWritten += p.WroteRows
		stats.BytesWritten += p.WroteBytes
	})}
	stats.WritesKnown = r.writeInfo
	if len(params) > 0 {
		if r.serverParams {
			names, values, err := paramStrings(params)
			if err != nil {
				return nil, "", err
			}
			ps := clickhouse.Parameters{}
			for i := range names {
				ps[names[i]] = values[i]
			}
			opts = append(opts, clickhouse.WithParameters(ps))
		} else {
			q, err := bindLiterals(query, params)
			if err != nil {
				return nil, "", err
			}
			query = q
		}
	}
	return clickhouse.Context(ctx, opts...), query, nil
}

func (r *remote) Exec(ctx context.Context, query string, params Params) error {
	var stats Stats
	ctx, query, err := r.prepare(ctx, query, params, &stats)
	if err != nil {
		return err
	}
	return wrapRemote(r.conn.Exec(ctx, query))
}

func (r *remote) Query(ctx context.Context, query string, params Params) (*Result, error) {
	var stats Stats
	qctx, query, err := r.prepare(ctx, query, params, &stats)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	rows, err := r.conn.Query(qctx, query)
	if err != nil {
		return nil, wrapRemote(err)
	}
	defer rows.Close()
	cts := rows.ColumnTypes()
	res := &Result{Columns: make([]Column, len(cts)), Rows: [][]any{}}
	types := make([]*chtype.Type, len(cts))
	for i, ct := range cts {
		res.Columns[i] = Column{Name: ct.Name(), Type: ct.DatabaseTypeName()}
		t, err := chtype.Parse(ct.DatabaseTypeName())
		if err != nil {
			t = &chtype.Type{Name: "String"}
		}
		types[i] = t
	}
	for rows.Next() {
		dest := make([]any, len(cts))
		for i, ct := range cts {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("read result: %w", wrapRemote(err))
		}
		row := make([]any, len(cts))
		for i := range dest {
			row[i] = normalize(types[i], reflect.ValueOf(dest[i]).Elem())
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapRemote(err)
	}
	res.Stats = stats
	res.Stats.Elapsed = time.Since(start)
	return res, nil
}

func (r *remote) Info(ctx context.Context) (Info, error) {
	return Info{Kind: "remote", Version: r.version, Location: r.addr, Database: r.database}, nil
}

func (r *remote) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	return r.conn.Close()
}

// normalize converts a scanned clickhouse-go value to the Go value documented on Result.
func normalize(t *chtype.Type, v reflect.Value) any {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	base := t
	for (base.Name == "Nullable" || base.Name == "LowCardinality") && len(base.Args) == 1 {
		base = base.Args[0]
	}
	if tm, ok := v.Interface().(time.Time); ok {
		return tm.UTC()
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if strings.HasPrefix(base.Name, "Enum") {
			return fmt.Sprint(v.Interface())
		}
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint()
	case reflect.Float32:
		return float64(float32(v.Float()))
	case reflect.Float64:
		return v.Float()
	case reflect.Bool:
		return v.Bool()
	case reflect.String:
		return v.String()
	case reflect.Slice, reflect.Array:
		if base.Name == "FixedString" || base.Name == "UUID" || base.Name == "IPv6" {
			return fmt.Sprint(v.Interface())
		}
		out := make([]any, v.Len())
		for i := range out {
			et := base
			if len(base.Args) > 0 {
				et = base.Args[0]
				if base.Name == "Tuple" && i < len(base.Args) {
					et = base.Args[i]
				}
			}
			out[i] = normalize(et, v.Index(i))
		}
		return out
	case reflect.Map:
		out := make(map[string]any, v.Len())
		vt := base
		if len(base.Args) == 2 {
			vt = base.Args[1]
		}
		iter := v.MapRange()
		for iter.Next() {
			out[fmt.Sprint(iter.Key().Interface())] = normalize(vt, iter.Value())
		}
		return out
	}
	return fmt.Sprint(v.Interface())
}

// wrapRemote turns a server exception into an *Error and keeps other errors on one line.
func wrapRemote(err error) error {
	if err == nil {
		return nil
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		name := ex.Name
		if name == "DB::Exception" {
			name = ""
		}
		return &Error{Code: int(ex.Code), Name: name, Message: oneLine(ex.Message)}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return errors.New(oneLine(err.Error()))
}
