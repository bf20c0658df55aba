// Package datasources reads, validates and lints hourglass project definitions. This comment
// is the manual of the format.
//
// # Project layout
//
// A project is a folder with hourglass.yaml at its root. Definitions live either inline in
// hourglass.yaml (keys datasources, rollups, endpoints, each a list) or in files:
//
//	hourglass.yaml
//	datasources/*.yaml   raw tables
//	rollups/*.yaml       hourly rollups of raw tables
//	endpoints/*.yaml     analytics queries over rollups
//
// The folder decides the kind. A file holds one definition (a mapping) or several (a list of
// mappings), and may hold several YAML documents separated by ---. Files ending in .yml are
// read too; other folders are ignored. YAML anchors and aliases work (the scaffold shares one
// metric list between two rollups). [Load] reads the whole folder from an fs.FS; [Scaffold]
// returns the default project `hourglass init` writes.
//
// # hourglass.yaml
//
//	name: web_analytics        # required, an identifier
//	database: analytics        # default "analytics"
//	dsn: ""                    # default engine DSN (overridden by --dsn / HOURGLASS_DSN)
//	cluster: my_cluster        # optional: a cluster of the servers' remote_servers; hourglass
//	                           # then creates Replicated local tables and a Distributed table
//	                           # over each, ON CLUSTER (see docs/cluster.md)
//	defaults:                  # optional defaults for every rollup
//	  partition: day           # day (default) or month
//	  schedule: "5 * * * *"    # five-field cron, UTC (default "5 * * * *")
//	  lookback: 2h             # default 2h
//	  delay: 5m                # default 5m
//	tokens:                    # optional: read-only tokens for `hourglass serve`'s HTTP API
//	  - name: dashboard
//	    env: HOURGLASS_TOKEN_DASHBOARD       # the secret, read from the environment at start
//	    endpoints: [sum_primitives]          # the endpoints it reads; ["*"] for all
//
// An endpoint that a token names needs one of its tokens (Authorization: Bearer …); the others
// are served to loopback clients only unless serve runs with --insecure-public.
//
// # Datasources
//
//	name: events
//	managed: true                        # default true; false: hourglass only reads the table
//	engine: MergeTree                    # default MergeTree; any MergeTree-family engine,
//	                                     # e.g. ReplacingMergeTree(version), Replicated…
//	partition_by: toYYYYMM(timestamp)    # optional SQL expression (lint warns when absent)
//	order_by: [workspace_id, toStartOfHour(timestamp), event_type]  # required when managed
//	sample_by: cityHash64(user_id)       # optional
//	ttl: timestamp + INTERVAL 1 YEAR     # optional
//	shard_by: cityHash64(user_id)        # on a cluster: the sharding key of the Distributed
//	                                     # table rows are inserted through (required there)
//	columns:
//	  - {name: timestamp, type: DateTime}
//	  - {name: workspace_id, type: LowCardinality(String)}
//	  - {name: value_usd, type: Float64, default: "0", codec: ZSTD(3)}
//	  - {name: properties, type: String}
//	  - {name: utm_content, type: String, json: properties.$.utm.content}
//	  - {name: payload, type: String}
//	  - {name: pathname, type: String, json: $.payload.pathname}
//
// Column types are ClickHouse types (package chtype). A column with json is extracted from
// JSON held by another String column of the datasource, and json says which shape the
// ingested events have:
//
//	properties.$.utm.content   properties is a string whose text is JSON ("{\"utm\": …}")
//	$.payload.pathname         payload is a JSON object ({"pathname": …})
//
// Both compile to the same values on every target. ClickHouse stores an object as its JSON
// text in the String column and extracts the column from it (a MATERIALIZED JSONExtract…
// column). Tinybird reads an object path at ingestion (`json:$.payload.pathname`), and, since
// its JSON paths cannot look inside a string, extracts from a string in every pipe that reads
// the datasource. The extracted column's type must be String, LowCardinality(String), a
// number, Bool, or Nullable of those, and it takes no default.
//
// # Rollups
//
//	name: events_hourly
//	source: events              # required: a datasource (or a rollup: see below)
//	time_column: timestamp      # DateTime/DateTime64 column; default: the source's only one
//	granularity: hour           # the only granularity (default)
//	partition: day              # day or month; default from defaults, else day
//	mode: scheduled             # scheduled (default) or trigger (insert-trigger view)
//	schedule: "5 * * * *"       # at most hourly; default from defaults, else "5 * * * *"
//	lookback: 2h                # default from defaults, else 2h; "0s" for none
//	delay: 5m                   # under 1h; default from defaults, else 5m
//	filter: event_type != 'bot' # optional WHERE condition on source rows
//	grains: [day, week]         # optional: also store day and week tables (see below)
//	dimensions:
//	  - workspace_id                             # a source column
//	  - {name: country_code, column: country}    # a source column, renamed
//	  - {name: hour_of_day, expr: toHour(timestamp)}  # a computed dimension
//	metrics:
//	  - {name: event_count, kind: count}
//	  - {name: unload_count, kind: count_if, if: "is_page_unload = 1"}
//	  - {name: total_value_usd, kind: sum, column: value_usd}
//	  - {name: paid_value_usd, kind: sum_if, column: value_usd, if: "value_usd > 0"}
//	  - {name: unique_users, kind: uniq, column: user_id}
//	  - {name: visitors, kind: uniq_combined, precision: 14, column: user_id}
//	  - {name: last_page, kind: arg_max, column: page_path, by: timestamp}
//	  - {name: device, kind: any, column: device_type}
//	  - {name: lcp, kind: quantiles, column: lcp_ms, levels: [0.75, 0.95], accuracy: 0.01}
//	  - {name: buyers, kind: count_distinct_if, column: user_id, if: "value_usd > 0"}
//	  - {name: sessions, kind: uniq_exact, expr: "coalesce(session_id, '0')", type: String}
//	derived:                                   # computed after the merge, never stored
//	  - {name: bounce_rate, expr: "if(event_count = 0, 0, unload_count / event_count)"}
//	  - {name: lcp_p75, expr: "lcp[1]"}
//	order_by: [workspace_id, hour, country_code, hour_of_day]   # optional
//
// Durations are written with a unit: 2h, 90m, 0s. Metric kinds and what they take:
//
//	count, count_if          no column; count_if needs if
//	sum, sum_if, avg         a numeric column; sum_if needs if
//	min, max                 a comparable column (number, string, date, time, UUID, enum)
//	uniq, uniq_exact         any column that is not an aggregate state
//	uniq_combined            the same; precision 12…20 (default 17)
//	uniq_if                  like uniq, of the rows meeting if
//	count_distinct_if        like uniq_exact, of the rows meeting if
//	arg_min, arg_max         a column and by, a comparable column
//	any, any_last            any column: one of the group's values (which one is unspecified)
//	quantiles                a numeric column and levels (each in (0, 1)); accuracy, the
//	                         relative accuracy of its DDSketch state, defaults to 0.01
//
// Only count_if, sum_if, uniq_if and count_distinct_if take if; only arg_min and arg_max take
// by; only quantiles takes levels and accuracy; only uniq_combined takes precision. Every kind
// that takes a column takes expr in its place — a SQL expression over the source's columns —
// with type, the expression's ClickHouse type: the state is declared with it and the
// expression is cast to it. "hour" is the rollup's time bucket column and cannot name a
// dimension or metric; dimension, metric and derived metric names share one namespace.
//
// Distinct counts keep their function on every side: uniq is ClickHouse's uniq (adaptive
// sampling, about 0.8 % error), uniq_exact uniqExact, uniq_combined uniqCombined(precision), a
// sketch of 2^precision cells whose merges cost the same whatever the count: precision 14 errs
// about as much as uniq and merges several times faster, which is what makes long ranges fast
// (measure your data with hourglass estimate ROLLUP --reads). Validation compares rollup and
// raw with the same function, so it stays exact, with one exception measured and stated:
// uniqCombined keeps the values themselves until it holds 2^(precision−5) of them
// (2^(precision−4) for 32-bit arguments) and becomes a HyperLogLog at the next value, even a
// repeated one, so a group of exactly that many distinct values counts either exactly or as the
// HyperLogLog's estimate depending on the order rows and states arrive — in raw SQL too. There,
// and only there, validate accepts both (pipes.Sketch).
//
// grains: [day] or [day, week] stores, beside the hourly table T, the tables T_day and T_week
// with the same columns, one row per day (ISO week, Monday 00:00 UTC) and dimension values,
// merged from T's states (never from raw rows) and kept in step by every populate and backfill
// unit. Reads of long ranges take their whole days and weeks from them (see Endpoints). A
// trigger rollup cannot have grains; grains are not supported on a cluster yet.
//
// Metrics are stored as mergeable states and validated against raw rows by their kind's rule:
// counts, sums of integers, min/max and distinct counts exactly; float sums and averages
// within a relative 1e-9; quantiles within twice their accuracy (a quantiles metric's value
// is an Array(Float64), one element per level); any and any_last must be one of the values of
// their group. A derived metric is an expression over the rollup's metrics and the derived
// metrics declared before it: every read computes it from its inputs' merged values, and
// validate proves its inputs. Endpoints use derived metrics like any metric (metrics,
// order_by).
//
// A rollup may read another rollup instead of a datasource: a derived table, such as sessions
// built from events.
//
//	# rollups/sessions.yaml
//	- name: sessions                 # one row per session and hour it has hits in
//	  source: events
//	  dimensions: [session_id]
//	  metrics:
//	    - {name: first_hit, kind: min, column: timestamp}
//	    - {name: latest_hit, kind: max, column: timestamp}
//	    - {name: hits, kind: count}
//	    - {name: device, kind: any, column: device_type}
//	- name: sessions_hourly          # sessions per hour they start in
//	  source: sessions
//	  time_column: first_hit          # a metric or dimension of the source, DateTime
//	  span: 4h                        # required: the longest a session lasts
//	  dimensions: [device]
//	  metrics:
//	    - {name: visits, kind: count}
//	    - {name: bounces, kind: count_if, if: "hits = 1"}
//	    - {name: seconds, kind: sum, expr: "dateDiff('second', first_hit, latest_hit)", type: Int64}
//
// The reading rollup sees one row per value of the source's dimensions (an entity), with
// every metric of the source finalised and named after it; it buckets entities by its
// time_column, so a session belongs to the hour it starts in. A populate of hours [a, b)
// reads the source's hours [a − span, b + span); an hour is final span after it closes. The
// source must read a datasource and be scheduled; the reading rollup is scheduled, and not
// on a cluster.
//
// The sorting key (order_by) is made of dimension names and hour, and must hold every
// dimension: an AggregatingMergeTree merges rows whose sorting keys are equal. The default is
// the tenant-like dimensions ([TenantDimensions]: workspace_id, team_id, tenant_id,
// project_id, campaign_id, environment, account_id, org_id) in declared order, then hour, then
// the other dimensions in declared order. The key is not capped, since leaving a dimension
// out would merge distinct rows; [Rollup.PrimaryKey] gives a prefix of at most
// [MaxPrimaryKey] elements (always through hour) for a shorter PRIMARY KEY.
//
// # Endpoints
//
//	name: conversions_breakdown
//	rollup: events_hourly          # required: a rollup
//	metrics: [event_count, unique_users]   # required: metric names of the rollup
//	group_by: [event_id, event_type]       # optional: dimension names of the rollup
//	bucket: day                    # optional: hour (a DateTime) or day (a Date) column
//	fill: true                     # optional, with a bucket: every bucket of the range
//	params:
//	  - {name: campaign_id, type: String}              # type defaults to String
//	  - {name: event_type, type: String}
//	  - {name: countries, type: Array(String)}         # a list: countries=DE,FR
//	filters:
//	  - {dimension: campaign_id, param: campaign_id}   # dimension = {param}, when given
//	  - event_type                                     # shorthand: dimension and param alike
//	  - {dimension: country, param: countries, op: in} # =, !=, in, not in, >=, >, <=, <
//	order_by: [event_count DESC]   # output columns (metrics, group_by, bucket), ASC/DESC
//	limit: 100                     # optional, 0 or absent: no limit; or from a parameter:
//	# limit: {param: limit, default: 100, max: 1000}
//	# offset: {param: skip, max: 10000}
//	# compare: previous_period     # each metric m also as m_previous and m_change
//	current_sql: |                 # optional: the query this endpoint replaces
//	  SELECT event_id, event_type, count() AS event_count, uniq(user_id) AS unique_users
//	  FROM events
//	  WHERE timestamp >= {start:DateTime} AND timestamp < {end:DateTime}
//	    AND ({campaign_id:String} = '' OR campaign_id = {campaign_id:String})
//	  GROUP BY event_id, event_type ORDER BY event_count DESC LIMIT 100
//	# current_sql_file: sql/conversions.sql   # or the same, read from a project file
//	tests:                         # optional parameter sets to check it with
//	  - {campaign_id: c1}                           # start/end left out: the whole history
//	  - {campaign_id: c2, start: -7d, end: now}
//	fresh: true                    # default; false: stop at the rollup's watermark
//	finals: true                   # time series only: store finished numbers per bucket
//	                               # for every combination of the filters, or a list of
//	                               # combinations, e.g. [[], [campaign_id]]
//
// Every endpoint has a time range: the DateTime params start and end, the half-open range
// [start, end), added first when not declared; or the params range names, Date or DateTime:
//
//	range: {from: date_from, to: date_to}
//	params:
//	  - {name: date_from, type: Date, default: -7d}    # a day: 2026-11-01, today, -7d
//	  - {name: date_to, type: Date, default: today}    # a Date to includes its whole day
//
// A range param without a default is required. A filter applies when its param is given, in
// the call or by a default, and not otherwise: an empty string is a value like any other
// (campaign_id= keeps the rows whose campaign is the empty string). A list param (Array) is called
// comma-separated and filters with op in or not in. limit and offset may take a parameter
// (declared for them, UInt64) with a default and a cap: a call above the cap is an error. A
// filled time series (fill) orders by group_by then the bucket. compare: previous_period adds,
// for each metric m, m_previous over the period of the same length just before the range, and
// m_change = (m − m_previous) / m_previous (NULL when m_previous is 0; not for lists of
// quantiles or non-numbers); with a bucket the range must be whole buckets. A filter's param
// must be declared under params, and every declared param must be used by a filter, the range,
// limit or offset: a call giving a param nothing reads would be silently ignored. A call giving
// a param the endpoint does not declare is an error.
//
// Served reads are planned per call: the hours after the rollup's watermark — those no
// populate has stored yet, the still-open hour included — come from raw rows turned into
// states, unless fresh: false; the whole weeks and days before it from the rollup's grains
// (never a grain coarser than the bucket); the rest from the hourly table; all merged once. With
// finals, a time series also stores the finished numbers of each closed bucket per combination
// of its filters (one table, "<endpoint>_final_<rollup table>", filled by GROUPING SETS and
// kept in step by populate), and a call whose given filters are one of the combinations reads
// them for its whole buckets. Grains and finals are part of the rollup version: adding or
// changing them deploys a new version.
//
// current_sql is the SQL of the query the endpoint replaces, with the endpoint's parameters
// written as ClickHouse query parameters ({name:Type}; using one the endpoint does not declare
// is an error) and returning the endpoint's columns by name (the bucket, the group_by
// dimensions and the metrics; alias them with AS). The project's tables it names after FROM or
// JOIN without a database are read in the project's database. hourglass validate --endpoint and the
// switch gate run it and the endpoint's rollup version with the same parameters — each tests
// entry as written and over the whole history the rollup holds, or without tests the whole
// history with every parameter at its default — and compare them row by row inside the
// engine, with the tolerance rules of validate. Without current_sql the endpoint's raw
// version is the reference.
//
// # Names and SQL
//
// Every name (project, database, datasource, column, rollup, dimension, metric, endpoint,
// param) must pass ident.Check: ASCII letters, digits and underscores, starting with a letter
// or underscore. Datasources, rollups and endpoints share one namespace; on a cluster a
// datasource or rollup x also takes x_local, its local table ([LocalSuffix]). Free SQL
// expressions (partition_by, order_by items of datasources, sample_by, ttl, shard_by, engine, codec, default,
// dimension expr, metric expr and if, derived metric expr, rollup filter) may not hold ";",
// "--", "/*" or a backtick; the engine verifies the rest at deploy.
//
// # Diagnostics
//
// [Load] collects every problem across all files and returns them as [*Errors], sorted by
// file, line and column, printed one per line as "file:line:col: message". Each [Diagnostic]
// has a stable code (HG001…HG155, see the Code… constants); [Lint] returns warnings coded
// HGW001…HGW003 (Warn… constants): a rollup sorting key not starting with its tenant
// dimensions then hour, a datasource partition key making more than [MaxPartitionsPerYear]
// partitions a year, a managed datasource without a time-based partition key.
package datasources
