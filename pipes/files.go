package pipes

import (
	"fmt"
	"time"
)

// DefaultSchedule is the populate schedule of rollups that declare none: five past every hour.
const DefaultSchedule = "5 * * * *"

// defaultDelay is how long after its end an hour counts as closed when a rollup declares no
// delay.
const defaultDelay = 5 * time.Minute

// ClickHouseFiles renders the project's ClickHouse statements as numbered .sql files, one
// statement each, in dependency order: the database, raw tables, rollups and their staging
// tables (on a cluster each local table followed by its Distributed table) with their grain and
// finals tables, endpoint views
// (reading the raw side until validate switches them), then the populate query and the
// hourly read of each rollup. Insert-trigger views are not included:
// their watermark is chosen at deploy time (RollupArtifacts.TriggerViewSQL).
func ClickHouseFiles(a *Artifacts) map[string][]byte {
	files := map[string][]byte{}
	n := 0
	add := func(kind, name, sql string) {
		n++
		files[fmt.Sprintf("%03d_%s_%s.sql", n, kind, name)] = []byte(sql + ";\n")
	}
	add("database", a.Project.Database, a.CreateDatabase)
	for _, d := range a.Datasources {
		if d.CreateTable != "" {
			add("table", d.LocalTable, d.CreateTable)
		}
		if d.CreateDistributed != "" {
			add("distributed", d.Table, d.CreateDistributed)
		}
	}
	for _, r := range a.Rollups {
		add("rollup", r.LocalTable, r.CreateTable)
		if r.CreateDistributed != "" {
			add("distributed", r.Table, r.CreateDistributed)
		}
		add("staging", r.Table, r.CreateStaging)
		for _, g := range r.Grains {
			add("grain", g.Table, g.CreateTable)
		}
		for _, f := range r.Finals {
			add("finals", f.Table, f.CreateTable)
		}
	}
	for _, e := range a.Endpoints {
		add("view", e.Endpoint.Name, e.RawView)
	}
	for _, r := range a.Rollups {
		add("populate", r.Table, r.Populate)
	}
	for _, r := range a.Rollups {
		add("read", r.Table, r.Read)
	}
	return files
}
