package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
)

// Plan compares the compiled project with the live database and returns the changes that
// bring the database in line, in dependency order. It reads system.databases, system.tables,
// system.columns and hourglass's metadata; it writes nothing. Trigger rollups to create show
// their statements at the watermark a deploy now would choose.
//
// It fails when an unmanaged datasource is missing or lacks a column a rollup reads, and when
// the server is too old for the statements to run (the error names the version needed).
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
	l, err := readLive(ctx, e, store, db)
	if err != nil {
		return nil, err
	}
	pl := &planner{a: a, l: l, now: now.UTC(), taken: map[string]bool{}}
	for _, d := range a.Datasources {
		pl.taken[d.Table] = true
	}
	for _, r := range a.Rollups {
		pl.taken[r.Table], pl.taken[r.StagingTable], pl.taken[r.TriggerView] = true, true, true
	}
	for _, ep := range a.Endpoints {
		pl.taken[ep.Endpoint.Name] = true
	}
	cp := &ChangePlan{Database: db, Server: l.versionText, At: pl.now}
	add := func(cs ...Change) { cp.Changes = append(cp.Changes, cs...) }

	if l.dbExists {
		add(Change{Object: db, Kind: KindDatabase, Action: ActionUnchanged})
	} else {
		add(Change{Object: db, Kind: KindDatabase, Action: ActionCreate, Statements: []string{a.CreateDatabase}})
	}
	var missing []string
	for _, t := range metadataTables {
		if l.table(t) == nil {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		add(Change{Object: "hourglass", Kind: KindMetadata, Action: ActionCreate,
			Detail: "tables " + strings.Join(missing, ", ")})
	} else {
		add(Change{Object: "hourglass", Kind: KindMetadata, Action: ActionUnchanged})
	}
	for _, d := range a.Datasources {
		c, err := pl.datasource(d)
		if err != nil {
			return nil, err
		}
		add(c)
	}
	for _, r := range a.Rollups {
		cs, err := pl.rollup(r)
		if err != nil {
			return nil, err
		}
		add(cs...)
	}
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

// datasource plans a raw datasource.
func (pl *planner) datasource(da *pipes.DatasourceArtifacts) (Change, error) {
	d := da.Datasource
	t := pl.l.table(da.Table)
	c := Change{Object: d.Name, Kind: KindDatasource, Table: da.Table}
	if !d.Managed {
		c.Action, c.Detail = ActionUnchanged, "unmanaged: exists with the columns the rollups read"
		return c, pl.unmanaged(da, t)
	}
	hash := hashOf(da.CreateTable)
	c.dep = &meta.Deployment{Object: d.Name, Kind: string(KindDatasource), Version: 1, Table: da.Table, Hash: hash, Definition: da.CreateTable}
	c.Record = true
	if t == nil {
		c.Action, c.Statements = ActionCreate, []string{da.CreateTable}
		return c, nil
	}
	dep, recorded := pl.l.deployments[d.Name]
	if recorded && dep.Hash == hash {
		c.Action, c.Record, c.dep = ActionUnchanged, false, nil
		return c, nil
	}
	var added, destructive, addSQL, destructiveSQL []string
	prev := ""
	for _, col := range d.Columns {
		lc := t.column(col.Name)
		switch {
		case lc == nil:
			s, err := pl.a.AddColumnSQL(d.Name, col.Name, prev)
			if err != nil {
				return c, err
			}
			added = append(added, fmt.Sprintf("column %s added (%s)", col.Name, normType(col.Type)))
			addSQL = append(addSQL, s...)
		case !sameType(col.Type, lc.typ):
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
			destructiveSQL = append(destructiveSQL, s...)
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
	switch {
	case len(destructive) > 0:
		c.Action = ActionDestructive
		c.Detail = strings.Join(append(destructive, added...), "; ")
		if c.Manual {
			c.Detail += ": ClickHouse cannot change a table's sorting or partition key in place — create the new table by hand (CREATE TABLE … then INSERT INTO … SELECT, EXCHANGE TABLES), then deploy again"
		}
		c.Statements = append(addSQL, destructiveSQL...)
	case len(added) > 0:
		c.Action, c.Detail, c.Statements = ActionAlter, strings.Join(added, "; "), addSQL
	case recorded:
		// The hash moved but columns and keys are as declared: an engine, TTL, codec, default
		// or sample key change, which hourglass does not apply in place.
		c.Action = ActionDestructive
		c.Detail = "definition changed (engine, TTL, codec, default or sample key) without a column or key change hourglass can apply: change the table by hand; with --allow-destructive deploy only records the new definition"
	default:
		c.Action, c.Detail = ActionUnchanged, "exists as defined; deploy records it"
	}
	return c, nil
}

// unmanaged checks that a datasource hourglass only reads exists with the columns its rollups
// read, with the declared types.
func (pl *planner) unmanaged(da *pipes.DatasourceArtifacts, t *liveTable) error {
	d := da.Datasource
	db := pl.a.Project.Database
	if t == nil {
		return fmt.Errorf("%sdatasource %s is unmanaged (managed: false) and %s.%s does not exist: create it, or set managed: true to let hourglass create it",
			at(d.Pos), d.Name, db, da.Table)
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
			c.Statements = []string{v.CreateTable}
			return nil
		}
		c.newCut = true
		s, err := cutStatements(c, NextWatermark(pl.now))
		c.Statements = s
		return err
	}
	live := pl.l.table(table)
	switch {
	case recorded && dep.Hash == ra.Hash:
		v, err := ra.Versioned(table)
		if err != nil {
			return nil, err
		}
		c.ra, c.watermark = v, dep.Watermark
		switch {
		case live == nil:
			c.Action = ActionCreate
			c.Detail = fmt.Sprintf("table %s (version %d) is missing: created again, empty", table, version)
			if err := create(v, version); err != nil {
				return nil, err
			}
		case trigger && pl.l.table(v.TriggerView) == nil && !dep.Watermark.IsZero():
			s, err := v.TriggerViewSQL(dep.Watermark)
			if err != nil {
				return nil, err
			}
			c.Action, c.Record = ActionAlter, false
			c.Detail = fmt.Sprintf("insert-trigger view %s is missing: created again at watermark %s", v.TriggerView, dep.Watermark.UTC().Format(time.DateTime))
			c.Statements = []string{s}
		default:
			c.Action, c.Record = ActionUnchanged, false
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
	c.Detail = strings.Join(diffs, "; ") + fmt.Sprintf(" → new version %d in table %s, beside %s which keeps serving until backfill and switch", next, v.Table, table)
	if err := create(v, next); err != nil {
		return nil, err
	}
	return []Change{c, pl.staging(c)}, nil
}

// versionTaken reports whether a version's table names are claimed by the project or exist.
func (pl *planner) versionTaken(rollup string, v int) bool {
	t := VersionTable(rollup, v)
	for _, n := range []string{t, t + "_staging", t + "_mv"} {
		if pl.taken[n] || pl.l.table(n) != nil {
			return true
		}
	}
	return false
}

// staging plans the staging table of the rollup version rc deploys or keeps.
func (pl *planner) staging(rc Change) Change {
	v := rc.ra
	c := Change{Object: v.StagingTable, Kind: KindStaging, Table: v.StagingTable, Version: rc.Version, ra: v}
	if pl.l.table(v.StagingTable) != nil {
		c.Action = ActionUnchanged
		return c
	}
	c.Action = ActionCreate
	switch {
	case rc.newCut:
		c.newCut = true
		c.Statements, _ = cutStatements(c, NextWatermark(pl.now))
	case v.Rollup.Mode == datasources.ModeTrigger && !rc.watermark.IsZero():
		s, err := v.CreateStagingNamedAt(v.StagingTable, rc.watermark)
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
		s, err := v.CreateStagingNamedAt(v.StagingTable, w)
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
	return []string{t, view}, nil
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
	switch {
	case pl.l.table(e.Name) == nil:
		c.Action, c.Detail = ActionCreate, "published on its raw version (reads "+source+")"
	case recorded && dep.Hash == hash:
		c = Change{Object: e.Name, Kind: KindEndpoint, Table: e.Name, Action: ActionUnchanged}
		if hasState {
			c.Detail = "serving " + st.Target
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
