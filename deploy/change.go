package deploy

import (
	"fmt"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
	"github.com/hourglass-dev/hourglass/versions"
)

// Kind is the kind of object a change is about.
type Kind string

// Kinds, in the order a plan lists them.
const (
	KindDatabase   Kind = "database"
	KindMetadata   Kind = "metadata"
	KindDatasource Kind = "datasource"
	KindRollup     Kind = "rollup"
	KindStaging    Kind = "staging"
	KindEndpoint   Kind = "endpoint"
)

// Action is what applying a change does.
type Action string

// Actions.
const (
	ActionCreate      Action = "create"
	ActionUnchanged   Action = "unchanged"
	ActionAlter       Action = "alter"
	ActionDestructive Action = "destructive"
	// ActionSkip is a change the server cannot run; Detail says why.
	ActionSkip Action = "skip"
)

// Change is one object's difference between the definitions and the live database, with the
// statements that resolve it.
type Change struct {
	// Object is the object's name: the database, "hourglass" (the metadata tables), a
	// datasource, rollup or endpoint, or a rollup's staging table.
	Object string `json:"object"`
	Kind   Kind   `json:"kind"`
	Action Action `json:"action"`
	// Detail says what changes and why, e.g. "metric unique_users: type
	// AggregateFunction(uniq, String) → AggregateFunction(uniqExact, String)".
	Detail string `json:"detail,omitempty"`
	// Statements run in order when the change is applied. For trigger rollups they show the
	// watermark the plan would choose now; Apply chooses it again from ApplyOptions.Now. On a
	// cluster they run ON CLUSTER, through the node deploy is connected to.
	Statements []string `json:"statements,omitempty"`
	// OnHosts run after Statements, each on its host alone: on a cluster, the part of a change
	// an earlier ON CLUSTER statement applied on some hosts and not on these.
	OnHosts []HostStatement `json:"on_hosts,omitempty"`
	// Table is the table the object lives in once applied (rollups: the version's table).
	Table string `json:"table,omitempty"`
	// Version is the rollup version the change deploys or keeps.
	Version int `json:"version,omitempty"`
	// Record is set when applying writes hourglass metadata (a deployment or endpoint record).
	Record bool `json:"record,omitempty"`
	// Manual is set on changes hourglass cannot apply in place (a sorting or partition key
	// change of a raw datasource): Apply refuses them even with AllowDestructive.
	Manual bool `json:"manual,omitempty"`

	// What Apply needs beyond the statements.
	ra        *pipes.RollupArtifacts // rollups and staging: the artifacts of the deployed version
	watermark time.Time              // trigger rollups kept or staging of a kept version
	newCut    bool                   // trigger rollup created now: choose the watermark at apply
	dep       *meta.Deployment       // deployment to record (Watermark filled at apply)
	recordDef bool                   // rollups: record the version's definition (versions.RecordDefinition)
	endpoint  *meta.EndpointState    // endpoint state to record
}

// Pending reports whether applying the change does anything.
func (c Change) Pending() bool {
	if len(c.OnHosts) > 0 && c.Action != ActionSkip {
		return true
	}
	switch c.Action {
	case ActionUnchanged:
		return c.Record
	case ActionSkip:
		return false
	}
	return true
}

// ChangePlan is the list of changes that brings the database in line with the definitions,
// as Plan returns it and Apply carries it out.
type ChangePlan struct {
	// Database is the project database.
	Database string `json:"database"`
	// Server is the ClickHouse version of the engine the plan was made on.
	Server string `json:"server"`
	// Cluster is the project's cluster ("" on a single server): Apply checks that each of its
	// hosts answers before it runs anything.
	Cluster string `json:"cluster,omitempty"`
	// Changes are in dependency order.
	Changes []Change `json:"changes"`
	// At is when the plan was made (the trigger watermarks its statements show follow it).
	At time.Time `json:"planned_at"`
	// Prunable are the older rollup versions no endpoint reads any more: hourglass prune
	// drops them (see versions.Prune). Deploy never drops them itself.
	Prunable []*versions.Version `json:"prunable"`
}

// NothingToDo reports whether applying the plan would change nothing.
func (p *ChangePlan) NothingToDo() bool {
	for _, c := range p.Changes {
		if c.Pending() {
			return false
		}
	}
	return true
}

// Destructive returns the destructive changes.
func (p *ChangePlan) Destructive() []Change {
	var out []Change
	for _, c := range p.Changes {
		if c.Action == ActionDestructive {
			out = append(out, c)
		}
	}
	return out
}

// Counts returns how many changes have each action.
func (p *ChangePlan) Counts() map[Action]int {
	n := map[Action]int{}
	for _, c := range p.Changes {
		n[c.Action]++
	}
	return n
}

// Summary is a one-line count of the plan's changes, e.g. "3 to create, 1 to alter,
// 1 destructive, 12 unchanged, 4 skipped".
func (p *ChangePlan) Summary() string {
	n := p.Counts()
	var parts []string
	add := func(a Action, label string) {
		if n[a] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[a], label))
		}
	}
	add(ActionCreate, "to create")
	add(ActionAlter, "to alter")
	add(ActionDestructive, "destructive")
	add(ActionUnchanged, "unchanged")
	add(ActionSkip, "skipped")
	records := 0
	for _, c := range p.Changes {
		if c.Action == ActionUnchanged && c.Record {
			records++
		}
	}
	if records > 0 {
		parts = append(parts, fmt.Sprintf("%d to record", records))
	}
	if len(parts) == 0 {
		return "no objects"
	}
	return strings.Join(parts, ", ")
}

// RefusedError is returned by Apply, before it runs anything, when the plan holds destructive
// changes that were not allowed or changes that cannot be applied in place.
type RefusedError struct {
	// Changes are the refused changes.
	Changes []Change
	// Manual is set when at least one change cannot be applied by hourglass at all.
	Manual bool
}

func (e *RefusedError) Error() string {
	var what []string
	for _, c := range e.Changes {
		s := string(c.Kind) + " " + c.Object
		if c.Detail != "" {
			s += " (" + c.Detail + ")"
		}
		what = append(what, s)
	}
	n := len(e.Changes)
	plural := ""
	if n > 1 {
		plural = "s"
	}
	if e.Manual {
		return fmt.Sprintf("cannot apply %d change%s in place: %s; nothing was applied", n, plural, strings.Join(what, "; "))
	}
	return fmt.Sprintf("refusing %d destructive change%s: %s; nothing was applied — re-run with --allow-destructive "+
		"(a changed rollup is deployed as a new version beside the old one, which keeps serving; a raw column change rewrites or drops data)",
		n, plural, strings.Join(what, "; "))
}
