package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/cluster"
	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/versions"
)

// Plan compares the compiled project with the live database and returns the changes that
// bring the database in line, in dependency order. It reads system.databases, system.tables,
// system.columns and hourglass's metadata; it writes nothing. Trigger rollups to create show
// their statements at the watermark a deploy now would choose.
//
// It fails when an unmanaged datasource is missing or lacks a column a rollup reads, when the
// server is too old for the statements to run (the error names the version needed), and when
// the artifacts were compiled for another server (pipes.CompileFor with
// pipes.TargetFor(the server's version) is what every command compiles with).
//
// When the project declares a cluster it first connects to every host of the cluster and
// fails, naming them, when some host does not answer (see cluster.Connect); then it reads
// every host's tables, and plans on each what it lacks.
func Plan(ctx context.Context, e engine.Engine, store *meta.Store, a *pipes.Artifacts) (*ChangePlan, error) {
	return PlanAt(ctx, e, store, a, time.Now())
}

// PlanAt is Plan with the clock given.
func PlanAt(ctx context.Context, e engine.Engine, store *meta.Store, a *pipes.Artifacts, now time.Time) (*ChangePlan, error) {
	if a == nil || a.Project == nil {
		return nil, fmt.Errorf("no compiled project")
	}
	db := a.Project.Database
	if store.Database() != db {
		return nil, fmt.Errorf("metadata store is for database %s, the project's is %s", store.Database(), db)
	}
	var nodes cluster.Nodes
	if c := a.Project.Cluster; c != "" {
		if store.Cluster() != c {
			return nil, fmt.Errorf("the project lives on cluster %s but its metadata store is not on it (meta.Store.OnCluster)", c)
		}
		var err error
		if nodes, err = cluster.Connect(ctx, e, c); err != nil {
			return nil, err
		}
		defer nodes.Close()
		if err := store.Sync(ctx); err != nil {
			return nil, err
		}
	}
	l, err := readLive(ctx, e, store, db, nodes)
	if err != nil {
		return nil, err
	}
	if want := pipes.TargetFor(l.versionText); !a.Target.Equal(want) {
		return nil, fmt.Errorf("the project was compiled for %s, but the server runs ClickHouse %s: compile it with pipes.CompileFor(project, pipes.TargetFor(%q))",
			targetName(a.Target), l.versionText, l.versionText)
	}
	pl := &planner{a: a, l: l, now: now.UTC(), taken: map[string]bool{}, versions: map[string]*versions.Version{}}
	cp := &ChangePlan{Database: db, Server: l.versionText, Cluster: a.Project.Cluster, At: pl.now, Prunable: []*versions.Version{}}
	if l.tables[meta.DeploymentsTable] != nil && l.tables[meta.StateTable] != nil && l.tables[meta.EndpointsTable] != nil {
		vs, err := versions.List(ctx, store, versions.Names(a)...)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			pl.versions[v.Table] = v
			if v.Prunable() {
				cp.Prunable = append(cp.Prunable, v)
			}
		}
	}
	for _, d := range a.Datasources {
		pl.taken[d.Table], pl.taken[d.LocalTable] = true, true
	}
	for _, r := range a.Rollups {
		pl.taken[r.Table], pl.taken[r.LocalTable], pl.taken[r.StagingTable], pl.taken[r.TriggerView] = true, true, true, true
	}
	for _, ep := range a.Endpoints {
		pl.taken[ep.Endpoint.Name] = true
	}
	add := func(cs ...Change) { cp.Changes = append(cp.Changes, cs...) }

	switch {
	case !l.dbExists:
		add(Change{Object: db, Kind: KindDatabase, Action: ActionCreate, Statements: []string{a.CreateDatabase}})
	case len(l.dbMissing) > 0:
		add(Change{Object: db, Kind: KindDatabase, Action: ActionCreate, Statements: []string{a.CreateDatabase},
			Detail: missingOn("the database", l.dbMissing)})
	default:
		add(Change{Object: db, Kind: KindDatabase, Action: ActionUnchanged})
	}
	var missing, partial, cleanup []string
	for _, t := range metadataTables {
		switch lt := l.table(t); {
		case lt == nil:
			missing = append(missing, t)
		case len(lt.missing) > 0:
			partial = append(partial, missingOn(t, lt.missing))
		case meta.NeedsCleanup(l.versionText, len(l.hosts) > 0, lt.engineFull):
			cleanup = append(cleanup, t)
		}
	}
	switch {
	case len(missing) > 0:
		add(Change{Object: "hourglass", Kind: KindMetadata, Action: ActionCreate,
			Detail: "tables " + strings.Join(missing, ", ")})
	case len(partial) > 0:
		add(Change{Object: "hourglass", Kind: KindMetadata, Action: ActionCreate, Detail: strings.Join(partial, "; ")})
	case len(cleanup) > 0:
		add(Change{Object: "hourglass", Kind: KindMetadata, Action: ActionAlter,
			Detail: "tables " + strings.Join(cleanup, ", ") + ": drop the parts merges leave outdated at once"})
	default:
		add(Change{Object: "hourglass", Kind: KindMetadata, Action: ActionUnchanged})
	}
	for _, d := range a.Datasources {
		c, err := pl.datasource(d)
		if err != nil {
			return nil, err
		}
		add(c)
	}
	planned := map[string]bool{}
	for _, r := range a.Rollups {
		cs, err := pl.rollup(r)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			planned[c.Table] = true
		}
		add(cs...)
	}
	add(pl.relayoutOlder(planned)...)
	for _, ep := range a.Endpoints {
		add(pl.endpoint(ep))
	}
	if err := checkServer(l, cp.Changes); err != nil {
		return nil, err
	}
	return cp, nil
}

type planner struct {
	a     *pipes.Artifacts
	l     *live
	now   time.Time
	taken map[string]bool // table names the project claims
	// versions are the rollup versions deploy recorded, by table.
	versions map[string]*versions.Version
}

// targetName names a compile target in messages.
func targetName(t pipes.Target) string {
	switch {
	case t.Version != "":
		return "ClickHouse " + t.Version
	case t.Equal(pipes.Target{}):
		return "a current ClickHouse"
	}
	return "another ClickHouse"
}

// NextWatermark returns the cut-over watermark a trigger rollup created at now gets: the first
// hour boundary strictly after now.
func NextWatermark(now time.Time) time.Time {
	return now.UTC().Truncate(time.Hour).Add(time.Hour)
}

// VersionTable is the table of version v of a rollup: the rollup's name for version 1,
// "<rollup>_v<v>" after.
func VersionTable(rollup string, v int) string {
	if v <= 1 {
		return rollup
	}
	return fmt.Sprintf("%s_v%d", rollup, v)
}

// LiveRollup returns the compiled artifacts of the deployed version of a rollup, reading and
// writing the table deploy recorded (d.Table), from meta.Store.Deployments.
func LiveRollup(ra *pipes.RollupArtifacts, d meta.Deployment) (*pipes.RollupArtifacts, error) {
	if d.Table == "" {
		return ra, nil
	}
	return ra.Versioned(d.Table)
}

func hashOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func at(pos datasources.Pos) string {
	if pos.File == "" {
		return ""
	}
	return pos.String() + ": "
}

// datasource plans a raw datasource: its table (on a cluster the local table on every host,
// and the Distributed table over it).
func (pl *planner) datasource(da *pipes.DatasourceArtifacts) (Change, error) {
	d := da.Datasource
	t := pl.l.table(da.LocalTable)
	c := Change{Object: d.Name, Kind: KindDatasource, Table: da.Table}
	if !d.Managed {
		c.Action, c.Detail = ActionUnchanged, "unmanaged: exists with the columns the rollups read"
		return c, pl.unmanaged(da, t)
	}
	create := []string{da.CreateTable}
	if da.CreateDistributed != "" {
		create = append(create, da.CreateDistributed)
	}
	hash := hashOf(create...)
	c.dep = &meta.Deployment{Object: d.Name, Kind: string(KindDatasource), Version: 1, Table: da.Table, Hash: hash, Definition: da.CreateTable}
	c.Record = true
	if t == nil {
		c.Action, c.Statements = ActionCreate, create
		return c, nil
	}
	// On a cluster: the tables some hosts lack (CREATE … IF NOT EXISTS ON CLUSTER is a no-op
	// where they exist).
	var complete, notes []string
	if len(t.missing) > 0 {
		complete = append(complete, da.CreateTable)
		notes = append(notes, missingOn("table "+da.LocalTable, t.missing))
	}
	dt := pl.l.table(da.Table)
	if da.CreateDistributed != "" {
		switch {
		case dt == nil:
			complete = append(complete, da.CreateDistributed)
			notes = append(notes, "Distributed table "+da.Table+" is missing")
		case len(dt.missing) > 0:
			complete = append(complete, da.CreateDistributed)
			notes = append(notes, missingOn("Distributed table "+da.Table, dt.missing))
		}
	}
	var added, destructive, addSQL, destructiveSQL []string
	var onHosts []HostStatement
	prev := ""
	for _, col := range d.Columns {
		lc := t.column(col.Name)
		if lc == nil || len(lc.missing) > 0 {
			s, err := pl.a.AddColumnSQL(d.Name, col.Name, prev)
			if err != nil {
				return c, err
			}
			what := fmt.Sprintf("column %s added (%s)", col.Name, normType(col.Type))
			if lc != nil {
				what = fmt.Sprintf("column %s (%s) added where it is missing", col.Name, normType(col.Type))
			}
			all, hosts, pending := pl.columnOn(t, col.Name, s[0], true)
			if len(s) > 1 && dt != nil {
				dall, dhosts, _ := pl.columnOn(dt, col.Name, s[1], false)
				all, hosts = append(all, dall...), append(hosts, dhosts...)
			}
			if len(all)+len(hosts) > 0 {
				added = append(added, what)
			}
			if len(pending) > 0 {
				notes = append(notes, fmt.Sprintf("column %s is still replicating to %s", col.Name, hostList(pending)))
			}
			addSQL, onHosts = append(addSQL, all...), append(onHosts, hosts...)
		} else if !sameType(col.Type, lc.typ) {
			s, err := pl.a.ModifyColumnSQL(d.Name, col.Name)
			if err != nil {
				return c, err
			}
			destructive = append(destructive, fmt.Sprintf("column %s: type %s → %s", col.Name, lc.typ, normType(col.Type)))
			destructiveSQL = append(destructiveSQL, s...)
		}
		prev = col.Name
	}
	for _, lc := range t.columns {
		if d.Column(lc.name) == nil {
			s, err := pl.a.DropColumnSQL(d.Name, lc.name)
			if err != nil {
				return c, err
			}
			destructive = append(destructive, fmt.Sprintf("column %s dropped (the definition no longer declares it)", lc.name))
			tables := []*liveTable{t, dt}
			for i, stmt := range s {
				if i >= len(tables) || tables[i] == nil || tables[i].column(lc.name) == nil {
					continue
				}
				// Where an earlier drop went through on some hosts, drop it on the others only.
				if have := tables[i].hostsWith(lc.name, pl.l.hosts); len(have) < len(pl.l.hosts)-len(tables[i].missing) {
					hs, _ := pl.onHosts(stmt, have, i == 0)
					onHosts = append(onHosts, hs...)
					continue
				}
				destructiveSQL = append(destructiveSQL, stmt)
			}
		}
	}
	if t.keysKnown {
		if want := da.SortingKey(); normKey(want) != normKey(t.sortingKey) {
			destructive = append(destructive, fmt.Sprintf("sorting key (%s) → (%s)", showKey(t.sortingKey), showKey(want)))
			c.Manual = true
		}
		if want := d.PartitionBy; normKey(want) != normKey(t.partitionKey) {
			destructive = append(destructive, fmt.Sprintf("partition key %s → %s", showKey(t.partitionKey), showKey(want)))
			c.Manual = true
		}
	}
	dep, recorded := pl.l.deployments[d.Name]
	detail := func(parts ...[]string) string {
		var all []string
		for _, p := range parts {
			all = append(all, p...)
		}
		return strings.Join(all, "; ")
	}
	switch {
	case len(destructive) > 0:
		c.Action = ActionDestructive
		c.Detail = detail(destructive, added, notes)
		if c.Manual {
			c.Detail += ": ClickHouse cannot change a table's sorting or partition key in place — create the new table by hand (CREATE TABLE … then INSERT INTO … SELECT, EXCHANGE TABLES), then deploy again"
		}
		c.Statements = append(append(complete, addSQL...), destructiveSQL...)
		c.OnHosts = onHosts
	case len(complete) > 0:
		c.Action, c.Detail, c.Statements, c.OnHosts = ActionCreate, detail(notes, added), append(complete, addSQL...), onHosts
	case len(added) > 0:
		c.Action, c.Detail, c.Statements, c.OnHosts = ActionAlter, detail(added, notes), addSQL, onHosts
	case recorded && dep.Hash == hash:
		c = Change{Object: d.Name, Kind: KindDatasource, Table: da.Table, Action: ActionUnchanged, Detail: detail(notes)}
	case recorded && !sameBesidesColumns(dep.Definition, da.CreateTable):
		// The hash moved and the columns and keys are as declared: an engine, TTL, codec,
		// default or sample key change, which hourglass does not apply in place.
		c.Action = ActionDestructive
		c.Detail = "definition changed (engine, TTL, codec, default or sample key) without a column or key change hourglass can apply: change the table by hand; with --allow-destructive deploy only records the new definition"
	default:
		// Every host has the declared columns: a deploy that changed them (or an earlier ALTER
		// … ON CLUSTER that failed part-way and was finished by the hosts) did not record it.
		c.Action, c.Detail = ActionUnchanged, detail([]string{"exists as defined; deploy records it"}, notes)
	}
	return c, nil
}

// columnOn returns what adds column col to the live table t with stmt (compiled ON CLUSTER):
// stmt itself when no host has the column, stmt on each host lacking it when some have it
// (see onHosts), nothing when every host has it.
func (pl *planner) columnOn(t *liveTable, col, stmt string, replicated bool) (all []string, hosts []HostStatement, pending []cluster.Host) {
	lc := t.column(col)
	switch {
	case lc == nil:
		return []string{stmt}, nil, nil
	case len(lc.missing) == 0:
		return nil, nil, nil
	}
	hosts, pending = pl.onHosts(stmt, lc.missing, replicated)
	return nil, hosts, pending
}

// sameBesidesColumns reports whether two CREATE TABLE statements the compiler wrote differ
// at most in their column lists.
func sameBesidesColumns(a, b string) bool {
	strip := func(s string) string {
		open := strings.Index(s, "\n(\n")
		end := strings.Index(s, "\n)\n")
		if open < 0 || end < open {
			return s
		}
		return s[:open] + s[end:]
	}
	return a != "" && strip(a) == strip(b)
}

// unmanaged checks that a datasource hourglass only reads exists with the columns its rollups
// read, with the declared types.
func (pl *planner) unmanaged(da *pipes.DatasourceArtifacts, t *liveTable) error {
	d := da.Datasource
	db := pl.a.Project.Database
	for _, name := range []string{da.LocalTable, da.Table} {
		lt := pl.l.table(name)
		if lt != nil && len(lt.missing) == 0 {
			continue
		}
		where := "does not exist"
		if lt != nil {
			where = "is missing on " + hostList(lt.missing)
		}
		how := ""
		if name != da.Table {
			how = fmt.Sprintf(" (on cluster %s hourglass reads %s through the Distributed table %s and populates from %s, the local table on every host)", pl.a.Project.Cluster, d.Name, da.Table, da.LocalTable)
		}
		return fmt.Errorf("%sdatasource %s is unmanaged (managed: false) and %s.%s %s%s: create it, or set managed: true to let hourglass create it",
			at(d.Pos), d.Name, db, name, where, how)
	}
	var problems []string
	seen := map[string]bool{}
	check := func(rollup, col string) {
		if col == "" || seen[col] {
			return
		}
		seen[col] = true
		lc := t.column(col)
		decl := d.Column(col)
		switch {
		case lc == nil:
			problems = append(problems, fmt.Sprintf("column %s (read by rollup %s) is missing", col, rollup))
		case decl != nil && !sameType(decl.Type, lc.typ):
			problems = append(problems, fmt.Sprintf("column %s is %s, declared %s", col, lc.typ, normType(decl.Type)))
		}
	}
	for _, ra := range pl.a.Rollups {
		r := ra.Rollup
		if r.Source != d.Name {
			continue
		}
		check(r.Name, r.TimeColumn)
		for _, dim := range r.Dimensions {
			check(r.Name, dim.Column)
		}
		for _, m := range r.Metrics {
			check(r.Name, m.Column)
			check(r.Name, m.By)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%sunmanaged datasource %s (%s.%s): %s — fix the table or the definition", at(d.Pos), d.Name, db, da.Table, strings.Join(problems, "; "))
	}
	return nil
}

// rollup plans a rollup and its staging table.
func (pl *planner) rollup(ra *pipes.RollupArtifacts) ([]Change, error) {
	r := ra.Rollup
	dep, recorded := pl.l.deployments[r.Name]
	version, table := 1, r.Name
	if recorded && dep.Table != "" {
		version, table = max(dep.Version, 1), dep.Table
	}
	trigger := r.Mode == datasources.ModeTrigger
	c := Change{Object: r.Name, Kind: KindRollup, Version: version, Table: table, Record: true}
	record := func(v *pipes.RollupArtifacts, version int) {
		c.dep = &meta.Deployment{Object: r.Name, Kind: string(KindRollup), Version: version, Table: v.Table, Hash: ra.Hash, Definition: v.CreateTable}
	}
	create := func(v *pipes.RollupArtifacts, version int) error {
		c.ra, c.Version, c.Table = v, version, v.Table
		record(v, version)
		if !trigger {
			c.Statements = append(nonEmpty(v.CreateTable, v.CreateDistributed), derivedStatements(v)...)
			return nil
		}
		c.newCut = true
		s, err := cutStatements(c, NextWatermark(pl.now))
		c.Statements = s
		return err
	}
	cur, err := ra.Versioned(table)
	if err != nil {
		return nil, err
	}
	live := pl.l.table(cur.LocalTable)
	switch {
	case recorded && dep.Hash == ra.Hash:
		c.ra, c.watermark = cur, dep.Watermark
		if live == nil {
			c.Action = ActionCreate
			c.Detail = fmt.Sprintf("table %s (version %d) is missing: created again, empty", cur.LocalTable, version)
			if err := create(cur, version); err != nil {
				return nil, err
			}
			return []Change{c, pl.staging(c)}, nil
		}
		stmts, notes, err := pl.completeRollup(cur, live, dep.Watermark)
		if err != nil {
			return nil, err
		}
		relaid, relaidNotes := pl.relayout(cur)
		switch {
		case len(stmts) > 0:
			c.Action, c.Record, c.Statements, c.Detail = ActionCreate, false, append(stmts, relaid...), strings.Join(append(notes, relaidNotes...), "; ")
		case len(relaid) > 0:
			c.Action, c.Record, c.Statements, c.Detail = ActionAlter, false, relaid, strings.Join(relaidNotes, "; ")
		default:
			c.Action, c.Record = ActionUnchanged, false
		}
		if v := pl.versions[table]; v != nil && !v.HasDefinition() {
			// Deployed before definitions were kept: record it now, while the project still
			// declares it, so the version can be kept fresh after the next change.
			c.Record, c.recordDef = true, true
			c.Detail = strings.Join(nonEmpty(c.Detail, "deploy records its definition (what keeps this version populated once the definition changes)"), "; ")
		}
		if v := pl.versions[table]; v != nil && len(v.ReadBy) > 0 {
			c.Detail = strings.Join(nonEmpty(c.Detail, "read by "+strings.Join(v.ReadBy, ", ")), "; ")
		}
		return []Change{c, pl.staging(c)}, nil
	case !recorded && live == nil:
		c.Action = ActionCreate
		if err := create(ra, 1); err != nil {
			return nil, err
		}
		return []Change{c, pl.staging(c)}, nil
	}
	// The table exists but hourglass has no record of it, or the definition changed.
	diffs := rollupDiff(ra, live, trigger)
	if !recorded && len(diffs) == 0 {
		c.Action, c.Detail, c.ra = ActionUnchanged, "exists as defined; deploy records it", ra
		record(ra, 1)
		if trigger {
			// A deploy that created the table but stopped before recording it: its watermark
			// is in the table's partition key.
			w, ok := liveWatermark(live)
			if !ok {
				return nil, fmt.Errorf("rollup %s: table %s exists without a deployment record and its partition key (%s) holds no cut-over watermark: drop it (and %s) and deploy again", r.Name, live.name, live.partitionKey, ra.TriggerView)
			}
			c.watermark, c.ra = w, ra
		}
		stmts, notes, err := pl.completeRollup(ra, live, c.watermark)
		if err != nil {
			return nil, err
		}
		relaid, relaidNotes := pl.relayout(ra)
		stmts, notes = append(stmts, relaid...), append(notes, relaidNotes...)
		if len(stmts) > 0 {
			c.Action, c.Statements = ActionCreate, stmts
			c.Detail = strings.Join(append(notes, "deploy records it"), "; ")
		}
		return []Change{c, pl.staging(c)}, nil
	}
	if len(diffs) == 0 {
		diffs = []string{"populate query changed (source, filter or metric expressions)"}
	}
	next := version + 1
	for pl.versionTaken(r.Name, next) {
		next++
	}
	v, err := ra.Versioned(VersionTable(r.Name, next))
	if err != nil {
		return nil, err
	}
	c.Action = ActionDestructive
	keeps := "stays until hourglass prune drops it (no endpoint reads it)"
	if cur := pl.versions[table]; cur != nil && len(cur.ReadBy) > 0 {
		keeps = "keeps serving " + strings.Join(cur.ReadBy, ", ") + ", populated, until they are switched to the new version"
	}
	c.Detail = strings.Join(diffs, "; ") + fmt.Sprintf(" → new version %d in table %s, never backfilled, beside %s, which %s", next, v.Table, table, keeps)
	if err := create(v, next); err != nil {
		return nil, err
	}
	return []Change{c, pl.staging(c)}, nil
}

// completeRollup returns the statements creating, where they are missing, the tables of a
// rollup version whose local table exists somewhere: the local table on the hosts without it
// (on a cluster), the Distributed table, and a trigger rollup's view at watermark w.
func (pl *planner) completeRollup(v *pipes.RollupArtifacts, local *liveTable, w time.Time) (stmts, notes []string, err error) {
	trigger := v.Rollup.Mode == datasources.ModeTrigger
	if len(local.missing) > 0 {
		s := v.CreateTable
		if trigger {
			if s, err = v.CreateTableAt(w); err != nil {
				return nil, nil, err
			}
		}
		stmts, notes = append(stmts, s), append(notes, missingOn("table "+v.LocalTable, local.missing))
	}
	if v.CreateDistributed != "" {
		switch dt := pl.l.table(v.Table); {
		case dt == nil:
			stmts, notes = append(stmts, v.CreateDistributed), append(notes, "Distributed table "+v.Table+" is missing")
		case len(dt.missing) > 0:
			stmts, notes = append(stmts, v.CreateDistributed), append(notes, missingOn("Distributed table "+v.Table, dt.missing))
		}
	}
	for _, d := range derivedTables(v) {
		if t := pl.l.table(d.table); t == nil || len(t.missing) > 0 {
			stmts, notes = append(stmts, d.stmts...), append(notes, "table "+d.table+" is missing: created again, filled from "+v.Table)
		}
	}
	if trigger && !w.IsZero() {
		view := pl.l.table(v.TriggerView)
		if view == nil || len(view.missing) > 0 {
			s, err := v.TriggerViewSQL(w)
			if err != nil {
				return nil, nil, err
			}
			note := fmt.Sprintf("insert-trigger view %s is missing: created again at watermark %s", v.TriggerView, w.UTC().Format(time.DateTime))
			if view != nil {
				note = missingOn("insert-trigger view "+v.TriggerView, view.missing) + ": created there at watermark " + w.UTC().Format(time.DateTime)
			}
			stmts, notes = append(stmts, s), append(notes, note)
		}
	}
	return stmts, notes, nil
}

// derived is a grain or finals table of a rollup version and the statements creating it
// filled from the version as it is; grain is the grain's artifacts (nil for finals), which
// also lay the table out again when it exists with another partition key.
type derived struct {
	table string
	stmts []string
	grain *pipes.GrainArtifacts
}

// relaidOut reports whether the grain table t, as it exists, has another partition key than
// the compiled one: populate could not swap partitions of the compiled layout into it.
func (d derived) relaidOut(t *liveTable) bool {
	return d.grain != nil && t != nil && len(t.missing) == 0 && t.keysKnown && !d.grain.LaidOut(t.partitionKey)
}

// relayoutOlder plans, for the older versions of the project's rollups (planned is the set of
// tables the rollups' own changes cover), the rebuild of grain tables whose partition key is
// not the compiled one: populate keeps such versions fresh until they are pruned, swapping in
// partitions of the compiled layout.
func (pl *planner) relayoutOlder(planned map[string]bool) []Change {
	tables := make([]string, 0, len(pl.versions))
	for t := range pl.versions {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	var out []Change
	for _, table := range tables {
		v := pl.versions[table]
		if planned[table] || !v.Kept() || pl.l.table(table) == nil {
			continue
		}
		ra, err := v.Artifacts(pl.a)
		if err != nil {
			continue // populate says why it cannot keep this version fresh
		}
		if stmts, notes := pl.relayout(ra); len(stmts) > 0 {
			out = append(out, Change{Object: v.Rollup, Kind: KindRollup, Version: v.Version, Table: table, Action: ActionAlter,
				Statements: stmts, Detail: strings.Join(notes, "; ")})
		}
	}
	return out
}

// relayout returns the statements laying out again the grain tables of version v that exist
// with another partition key than the compiled one, and what they do.
func (pl *planner) relayout(v *pipes.RollupArtifacts) (stmts, notes []string) {
	for _, d := range derivedTables(v) {
		switch t := pl.l.table(d.table); {
		case d.relaidOut(t):
			stmts = append(stmts, d.grain.ReplaceFilled()...)
			notes = append(notes, fmt.Sprintf("table %s is partitioned by %s, hourglass now partitions it by %s: built again from %s and swapped in",
				d.table, showKey(t.partitionKey), showKey(d.grain.PartitionExpr), v.Table))
		case d.grain != nil && pl.l.table(d.grain.ReplacedTable()) != nil:
			stmts = append(stmts, d.grain.DropReplaced())
			notes = append(notes, "table "+d.grain.ReplacedTable()+" is left from an interrupted relayout of "+d.table+": dropped")
		}
	}
	return stmts, notes
}

// derivedTables lists a rollup version's grain and finals tables, day grain before week (the
// week grain is filled from the day grain).
func derivedTables(v *pipes.RollupArtifacts) []derived {
	var out []derived
	for _, g := range v.Grains {
		out = append(out, derived{table: g.Table, stmts: g.CreateFilled(), grain: g})
	}
	for _, f := range v.Finals {
		out = append(out, derived{table: f.Table, stmts: f.CreateFilled()})
	}
	return out
}

// derivedStatements are the statements creating every derived table of a version.
func derivedStatements(v *pipes.RollupArtifacts) []string {
	var out []string
	for _, d := range derivedTables(v) {
		out = append(out, d.stmts...)
	}
	return out
}

// liveWatermark reads the cut-over watermark of a trigger rollup table from its partition key
// ("(toYYYYMMDD(hour), hour >= toDateTime('2030-01-02 11:00:00', 'UTC'))").
func liveWatermark(t *liveTable) (time.Time, bool) {
	const fn = "toDateTime('"
	i := strings.Index(t.partitionKey, fn)
	if i < 0 || len(t.partitionKey) < i+len(fn)+len(time.DateTime) {
		return time.Time{}, false
	}
	w, err := time.Parse(time.DateTime, t.partitionKey[i+len(fn):i+len(fn)+len(time.DateTime)])
	return w.UTC(), err == nil
}

// nonEmpty returns the non-empty statements, in order.
func nonEmpty(stmts ...string) []string {
	var out []string
	for _, s := range stmts {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// versionTaken reports whether a version's table names are claimed by the project or exist.
func (pl *planner) versionTaken(rollup string, v int) bool {
	t := VersionTable(rollup, v)
	for _, n := range []string{t, t + datasources.LocalSuffix, t + "_staging", t + "_mv"} {
		if pl.taken[n] || pl.l.table(n) != nil {
			return true
		}
	}
	return false
}

// staging plans the staging table of the rollup version rc deploys or keeps (on a cluster,
// one on every host).
func (pl *planner) staging(rc Change) Change {
	v := rc.ra
	c := Change{Object: v.StagingTable, Kind: KindStaging, Table: v.StagingTable, Version: rc.Version, ra: v}
	st := pl.l.table(v.StagingTable)
	if st != nil && len(st.missing) == 0 {
		c.Action = ActionUnchanged
		return c
	}
	c.Action = ActionCreate
	if st != nil {
		c.Detail = missingOn("the staging table", st.missing)
	}
	switch {
	case rc.newCut:
		c.newCut = true
		c.Statements, _ = cutStatements(c, NextWatermark(pl.now))
	case v.Rollup.Mode == datasources.ModeTrigger && !rc.watermark.IsZero():
		s, err := v.CreateStagingAt(rc.watermark)
		if err != nil {
			s = v.CreateStaging
		}
		c.Statements = []string{s}
	default:
		c.Statements = []string{v.CreateStaging}
	}
	return c
}

// cutStatements writes the statements of a trigger rollup (or its staging table) created cut
// over at watermark w: the table with its partition key split at w, then the insert-trigger
// view for rows at or after w.
func cutStatements(c Change, w time.Time) ([]string, error) {
	v := c.ra
	if c.Kind == KindStaging {
		s, err := v.CreateStagingAt(w)
		return []string{s}, err
	}
	t, err := v.CreateTableAt(w)
	if err != nil {
		return nil, err
	}
	view, err := v.TriggerViewSQL(w)
	if err != nil {
		return nil, err
	}
	return nonEmpty(t, v.CreateDistributed, view), nil
}

// rollupDiff describes how a live rollup table differs from the compiled one.
func rollupDiff(ra *pipes.RollupArtifacts, t *liveTable, trigger bool) []string {
	if t == nil {
		return []string{"table " + ra.Table + " is missing"}
	}
	var out []string
	declared := map[string]bool{}
	for _, c := range ra.Columns {
		declared[c.Name] = true
		label := "column " + c.Name
		switch c.Role {
		case pipes.RoleMetric:
			label = "metric " + c.Metric
			if c.Name != c.Metric {
				label += " (column " + c.Name + ")"
			}
		case pipes.RoleDimension:
			label = "dimension " + c.Name
		}
		lc := t.column(c.Name)
		switch {
		case lc == nil:
			out = append(out, fmt.Sprintf("%s added (%s)", label, normType(c.Type)))
		case !sameType(c.Type, lc.typ):
			out = append(out, fmt.Sprintf("%s: type %s → %s", label, lc.typ, normType(c.Type)))
		}
	}
	for _, lc := range t.columns {
		if !declared[lc.name] {
			out = append(out, fmt.Sprintf("column %s removed", lc.name))
		}
	}
	if t.keysKnown {
		if want := ra.SortingKey(); normKey(want) != normKey(t.sortingKey) {
			out = append(out, fmt.Sprintf("sorting key (%s) → (%s)", showKey(t.sortingKey), showKey(want)))
		}
		// A trigger rollup's partition key holds its watermark: only scheduled rollups compare it.
		if !trigger && normKey(ra.PartitionExpr) != normKey(t.partitionKey) {
			out = append(out, fmt.Sprintf("partition key %s → %s", showKey(t.partitionKey), showKey(ra.PartitionExpr)))
		}
	}
	return out
}

// endpoint plans an endpoint's parameterised view.
func (pl *planner) endpoint(ea *pipes.EndpointArtifacts) Change {
	e := ea.Endpoint
	c := Change{Object: e.Name, Kind: KindEndpoint, Table: e.Name}
	if !endpointsSupported(pl.l) {
		c.Action = ActionSkip
		c.Detail = fmt.Sprintf("not published: endpoint views are parameterised views, which need ClickHouse ≥ %s (the server runs %s)", ParameterisedViews, pl.l.versionText)
		return c
	}
	hash := hashOf(ea.RawView, ea.RollupView)
	dep, recorded := pl.l.deployments[e.Name]
	st, hasState := pl.l.endpoints[e.Name]
	source := e.Rollup
	if ra := pl.a.Rollup(e.Rollup); ra != nil {
		source = ra.Rollup.Source
	}
	c.Record = true
	c.Statements = []string{ea.RawView}
	c.dep = &meta.Deployment{Object: e.Name, Kind: string(KindEndpoint), Version: 1, Table: e.Name, Hash: hash, Definition: ea.RawView}
	if !hasState || st.Target != string(pipes.SideRaw) {
		c.endpoint = &meta.EndpointState{Endpoint: e.Name, Target: string(pipes.SideRaw), Table: source, Actor: "deploy", Validation: "published on raw by deploy"}
	}
	view := pl.l.table(e.Name)
	switch {
	case view == nil:
		c.Action, c.Detail = ActionCreate, "published on its raw version (reads "+source+")"
	case len(view.missing) > 0:
		// A view replaced ON CLUSTER on some hosts only: publish the raw version everywhere.
		c.Action, c.Detail = ActionCreate, missingOn("the view", view.missing)+": published on its raw version"
	case recorded && dep.Hash == hash:
		c = Change{Object: e.Name, Kind: KindEndpoint, Table: e.Name, Action: ActionUnchanged}
		if hasState {
			c.Detail = "serving " + st.Target
			if st.Target == string(pipes.SideRollup) && st.Table != "" {
				c.Detail += " (table " + st.Table + ")"
			}
		}
	case hasState && st.Target == string(pipes.SideRollup):
		c.Action = ActionAlter
		c.Detail = "definition changed: republished on its raw version (it was switched to the rollup; validate and switch it again)"
	case !recorded && !hasState:
		c.Action, c.Detail = ActionAlter, "a view exists that hourglass has no record of: replaced by the raw version"
	default:
		c.Action, c.Detail = ActionAlter, "definition changed: view replaced (raw version)"
	}
	return c
}
