package engine

import (
	"context"
	"fmt"
)

// OpenHost opens a connection to another server of e's cluster — addr is host:port as
// system.clusters lists it — with e's user, password, database and options. Only a remote
// engine can: the embedded engine has no other hosts.
//
// An engine that wraps another (a test's fault injector, say) may offer Unwrap() Engine: the
// connection is opened like the wrapped engine's.
func OpenHost(ctx context.Context, e Engine, addr string) (Engine, error) {
	if w, ok := e.(interface{ Unwrap() Engine }); ok {
		return OpenHost(ctx, w.Unwrap(), addr)
	}
	r, ok := e.(*remote)
	if !ok {
		return nil, fmt.Errorf("host %s: only a ClickHouse server (clickhouse://…) has other hosts to connect to", addr)
	}
	u := r.dsn
	u.Host = addr
	return openRemote(ctx, u.String())
}
