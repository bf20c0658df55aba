// Package deploy brings a ClickHouse database in line with a compiled project, plan before
// apply: Plan reads the live database (system.tables, system.columns) and hourglass's
// metadata (meta.Store deployments and endpoint states) and returns the changes, as data, in
// dependency order — the database, the metadata tables, raw datasources, rollups with their
// staging tables, endpoint views. Apply carries a plan out.
//
// Each change has an action:
//
//   - create: the object does not exist yet;
//   - unchanged: it exists as defined (a change may still carry Record when the object exists
//     but hourglass has no record of it: apply then only writes the record);
//   - alter: a compatible change applied in place — a raw datasource gained a column
//     (ALTER TABLE … ADD COLUMN), an endpoint's definition changed (its view is replaced);
//   - destructive: a column type change, a dropped column, a sorting or partition key change,
//     or a changed rollup (a new definition hash). Apply refuses a plan holding one unless
//     ApplyOptions.AllowDestructive is set (`hourglass deploy --allow-destructive`);
//   - skip: the server cannot run it (endpoint views need parameterised views, ClickHouse ≥
//     23.1); the note says so and the rest of the deploy goes on.
//
// A changed rollup is never altered in place: it is deployed as a new version beside the old
// one, in table "<rollup>_v<N>" (with "<rollup>_v<N>_staging" and, for trigger rollups,
// "<rollup>_v<N>_mv"), so endpoints reading the old version keep serving until backfill,
// validate and switch move them. meta records, per rollup, the live version, its table, its
// definition hash and (trigger rollups) its watermark, and — under the version's table — the
// definition it was deployed with (versions.RecordDefinition), from which populate keeps an
// older version endpoints still read fresh; LiveRollup resolves the compiled artifacts of the
// deployed version for the commands that read or fill it. A new version starts never
// backfilled. ChangePlan.Prunable lists the older versions no endpoint reads any more, which
// hourglass prune drops (package versions); deploy never drops a version itself.
//
// Raw datasource changes other than an added column are applied in place only with
// AllowDestructive: a type change by MODIFY COLUMN, a dropped column by DROP COLUMN. A sorting
// or partition key change cannot be applied in place at all; apply refuses it with the way to
// do it by hand. Unmanaged datasources are never created or altered: plan checks that they
// exist and hold the columns the rollups read.
//
// Trigger rollups are created cut over at one watermark T, the first hour boundary after
// ApplyOptions.Now: the rollup with the partition key split at T (RollupArtifacts.CreateTableAt),
// then the insert-trigger view for rows at or after T. Nothing is ever created with POPULATE:
// the rows before T are the backfill's.
//
// Endpoints are published on their raw version at first deploy (meta endpoint state "raw",
// actor "deploy"). An endpoint that was switched to its rollup version is left alone unless its
// definition changed, in which case it is republished on raw: the new definition has not been
// validated.
//
// Apply is idempotent: applying the plan of a database that is up to date runs no statement and
// writes no record (Result.NothingToDo).
//
// The artifacts must be compiled for the server (pipes.CompileFor with pipes.TargetFor of its
// version): Plan refuses others, since their DDL and hashes are not what every other command
// compiles.
//
// On a cluster (the project's cluster:), Plan and Apply first connect to every host of the
// cluster (package cluster) and fail at once, naming them, when some host does not answer;
// statements run ON CLUSTER through the node deploy is connected to, each waiting at most
// ApplyOptions.DDLTimeout. Plan reads every host's tables and merges them: what some hosts lack
// — an ON CLUSTER statement that failed part-way — is planned there (CREATE … IF NOT EXISTS
// ON CLUSTER for a table, Change.OnHosts for a column), never as a destructive change. See
// docs/cluster.md.
package deploy
