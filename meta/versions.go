package meta

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
)

// State keys of a rollup version's table besides KeyWatermark.
const (
	// KeyDefinition is the rollup definition a version was deployed with (JSON of
	// datasources.Rollup): what keeps a version populated after the project's YAML moved on.
	KeyDefinition = "definition"
	// KeyPruned records that hourglass prune dropped the version's tables (the value says
	// when and who).
	KeyPruned = "pruned"
)

// RollupVersion is one version of a rollup as deploy recorded it: its table's latest
// deployment record, and what the state table holds about it.
type RollupVersion struct {
	Deployment
	// FirstDeployed is when the version was first deployed.
	FirstDeployed time.Time `json:"first_deployed"`
	// Newest is set on the version of the rollup's latest deployment record: the one
	// backfill, populate, validate and switch work on.
	Newest bool `json:"newest"`
	// Definition is the recorded definition (KeyDefinition), "" when none was recorded.
	Definition string `json:"-"`
	// Pruned is the KeyPruned record, "" when the version was never pruned.
	Pruned string `json:"pruned,omitempty"`
}

// RollupVersions returns every version deploy recorded for a rollup, oldest first, each with
// its table's latest deployment record, recorded definition and prune record.
func (s *Store) RollupVersions(ctx context.Context, rollup string) ([]RollupVersion, error) {
	r, err := s.e.Query(ctx, "SELECT table_name, argMax(version, seq), argMax(hash, seq), argMax(watermark, seq), min(deployed_at), argMax(deployed_at, seq), max(seq) FROM "+
		s.table(DeploymentsTable)+" WHERE object = {object:String} AND kind = 'rollup' GROUP BY table_name ORDER BY max(seq)",
		engine.Params{"object": rollup})
	if err != nil {
		return nil, fmt.Errorf("read the versions of %s: %w", rollup, err)
	}
	out := make([]RollupVersion, 0, len(r.Rows))
	var newest uint64
	var tables []string
	for _, row := range r.Rows {
		v := RollupVersion{Deployment: Deployment{Object: rollup, Kind: "rollup", Table: row[0].(string), Version: int(row[1].(uint64)),
			Hash: row[2].(string), At: row[5].(time.Time)}, FirstDeployed: row[4].(time.Time)}
		if w := row[3].(time.Time); w.Unix() > 0 {
			v.Watermark = w
		}
		newest = max(newest, row[6].(uint64))
		out = append(out, v)
		tables = append(tables, v.Table)
	}
	for i, row := range r.Rows {
		out[i].Newest = row[6].(uint64) == newest
	}
	if len(out) == 0 {
		return out, nil
	}
	st, err := s.e.Query(ctx, "SELECT object, key, argMax(value, seq) FROM "+s.table(StateTable)+
		" WHERE has({objects:Array(String)}, object) AND key IN ('"+KeyDefinition+"', '"+KeyPruned+"') GROUP BY object, key",
		engine.Params{"objects": tables})
	if err != nil {
		return nil, fmt.Errorf("read the definitions of %s's versions: %w", rollup, err)
	}
	for _, row := range st.Rows {
		for i := range out {
			if out[i].Table != row[0].(string) {
				continue
			}
			switch row[1].(string) {
			case KeyDefinition:
				out[i].Definition = row[2].(string)
			case KeyPruned:
				out[i].Pruned = row[2].(string)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}
