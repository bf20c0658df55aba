package pipes

import (
	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/ident"
)

// CompileVersion compiles r — a rollup's definition as deploy recorded it for an earlier
// version, which the project's YAML may have moved on from — for the project and server a was
// compiled for, reading and writing table. Its Hash is what deploy recorded for r when the
// compiler is unchanged: compare them before writing with it.
func (a *Artifacts) CompileVersion(r *datasources.Rollup, table string) (*RollupArtifacts, error) {
	ra, err := compileRollup(a.Project, r, options{target: a.Target})
	if err != nil {
		return nil, err
	}
	return ra.Versioned(table)
}

// DropVersion returns the statements that remove a rollup version for good, in order: its
// insert-trigger view (so no insert writes into it any more), its table (on a cluster the
// Distributed table, then the local table on every host), its staging table, and its grain and
// finals tables (see GrainArtifacts, FinalsArtifacts). Every
// statement is DROP TABLE IF EXISTS (ON CLUSTER on a cluster), so running them again is
// harmless; the view is dropped whatever the rollup's mode (a version may have been deployed
// as a trigger rollup) and with DROP TABLE, which drops views on every server (18.16 has no
// DROP VIEW).
func (ra *RollupArtifacts) DropVersion() []string {
	db, on := ra.plan.p.Database, ra.plan.onCluster()
	var stmts []string
	tables := []string{ra.TriggerView, ra.Table, ra.LocalTable, ra.StagingTable}
	for _, g := range ra.Grains {
		tables = append(tables, g.Table)
	}
	for _, f := range ra.Finals {
		tables = append(tables, f.Table)
	}
	for _, t := range uniq(tables...) {
		stmts = append(stmts, "DROP TABLE IF EXISTS "+ident.Qualified(db, t)+on)
	}
	return stmts
}
