package engine

import "context"

// DecodeJSONCompact exposes the embedded engine's result decoder to the benchmarks.
var DecodeJSONCompact = decodeJSONCompact

// RawOutput runs a query on the embedded engine and returns its JSONCompact output undecoded.
func RawOutput(ctx context.Context, e Engine, query string) ([]byte, error) {
	out, _, err := e.(*embedded).do(ctx, query, nil)
	return out, err
}
