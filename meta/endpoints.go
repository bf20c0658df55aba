package meta

import (
	"context"
	"fmt"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
)

// EndpointState is one switch of an endpoint between its raw and rollup versions.
type EndpointState struct {
	Endpoint string `json:"endpoint"`
	// Target is "raw" or "rollup".
	Target string `json:"target"`
	// Table is the table the endpoint reads in that state.
	Table string `json:"table"`
	// Actor is who switched it (user@host).
	Actor string `json:"actor"`
	// Validation summarises the validation that allowed the switch.
	Validation string `json:"validation"`
	// Forced is true when validation was skipped with --force.
	Forced bool      `json:"forced"`
	At     time.Time `json:"at"`
}

// RecordEndpoint appends an endpoint switch.
func (s *Store) RecordEndpoint(ctx context.Context, st EndpointState) error {
	forced := uint8(0)
	if st.Forced {
		forced = 1
	}
	err := s.e.Exec(ctx, "INSERT INTO "+s.table(EndpointsTable)+
		" SELECT {endpoint:String}, {target:String}, {table:String}, {actor:String}, {validation:String}, {forced:UInt8}, {at:DateTime}, {seq:UInt64}",
		engine.Params{"endpoint": st.Endpoint, "target": st.Target, "table": st.Table, "actor": st.Actor,
			"validation": st.Validation, "forced": forced, "at": s.now().UTC().Truncate(time.Second), "seq": s.seq()})
	if err != nil {
		return fmt.Errorf("record switch of %s: %w", st.Endpoint, err)
	}
	return nil
}

// EndpointHistory returns every switch of an endpoint (all endpoints when name is ""), newest
// first.
func (s *Store) EndpointHistory(ctx context.Context, name string) ([]EndpointState, error) {
	r, err := s.e.Query(ctx, "SELECT endpoint, target, table_name, actor, validation, forced, at FROM "+s.table(EndpointsTable)+
		" WHERE {name:String} = '' OR endpoint = {name:String} ORDER BY seq DESC", engine.Params{"name": name})
	if err != nil {
		return nil, fmt.Errorf("read endpoint history: %w", err)
	}
	out := make([]EndpointState, 0, len(r.Rows))
	for _, row := range r.Rows {
		out = append(out, EndpointState{Endpoint: row[0].(string), Target: row[1].(string), Table: row[2].(string),
			Actor: row[3].(string), Validation: row[4].(string), Forced: row[5] == uint64(1), At: row[6].(time.Time)})
	}
	return out, nil
}

// Endpoints returns the current state of every endpoint that was ever switched or deployed.
func (s *Store) Endpoints(ctx context.Context) (map[string]EndpointState, error) {
	all, err := s.EndpointHistory(ctx, "")
	if err != nil {
		return nil, err
	}
	out := map[string]EndpointState{}
	for _, st := range all {
		if _, seen := out[st.Endpoint]; !seen {
			out[st.Endpoint] = st
		}
	}
	return out, nil
}
