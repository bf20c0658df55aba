package pipes

import (
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
)

// webProject builds the default web-analytics project in Go: raw events and sessions, two
// scheduled hourly rollups, one trigger rollup and two endpoints.
func webProject(cluster string) *datasources.Project {
	col := func(name, typ string) *datasources.Column { return &datasources.Column{Name: name, Type: typ} }
	events := &datasources.Datasource{
		Name: "events", Managed: true,
		Columns: []*datasources.Column{
			col("timestamp", "DateTime64(3, 'UTC')"),
			col("workspace_id", "LowCardinality(String)"),
			col("campaign_id", "String"),
			col("event_type", "LowCardinality(String)"),
			col("session_id", "String"),
			col("user_id", "Nullable(String)"),
			col("value_usd", "Float64"),
			col("time_on_page", "UInt32"),
			{Name: "properties", Type: "String", Codec: "ZSTD(3)"},
			{Name: "utm_source", Type: "LowCardinality(String)", JSONSource: "properties", JSONPath: []string{"utm", "source"}},
			{Name: "utm_medium", Type: "LowCardinality(Nullable(String))", JSONSource: "properties", JSONPath: []string{"utm", "medium"}},
			{Name: "country", Type: "LowCardinality(String)", Default: "'unknown'"},
		},
		Engine:      "MergeTree",
		PartitionBy: "toYYYYMM(timestamp)",
		OrderBy:     []string{"workspace_id", "campaign_id", "toStartOfHour(timestamp)", "timestamp"},
		TTL:         "toDateTime(timestamp) + INTERVAL 10 YEAR",
		ShardBy:     "cityHash64(session_id)",
	}
	sessions := &datasources.Datasource{
		Name: "sessions", Managed: true,
		Columns: []*datasources.Column{
			col("started_at", "DateTime('UTC')"),
			col("workspace_id", "LowCardinality(String)"),
			col("campaign_id", "String"),
			col("session_id", "String"),
			col("user_id", "String"),
			col("country", "LowCardinality(String)"),
			col("device_type", "LowCardinality(String)"),
			col("referrer", "Nullable(String)"),
			col("landing_page", "String"),
			col("is_returning", "UInt8"),
			col("duration", "UInt32"),
			col("revenue", "Nullable(Int64)"),
			col("price", "Decimal(10, 2)"),
			col("_timestamp", "DateTime('UTC')"),
		},
		Engine:      "ReplacingMergeTree(_timestamp)",
		PartitionBy: "toYYYYMM(started_at)",
		OrderBy:     []string{"workspace_id", "campaign_id", "started_at", "session_id"},
		ShardBy:     "cityHash64(user_id)",
	}
	dim := func(name string) *datasources.Dimension { return &datasources.Dimension{Name: name, Column: name} }
	metric := func(name string, kind datasources.MetricKind, column string) *datasources.Metric {
		return &datasources.Metric{Name: name, Kind: kind, Column: column}
	}
	eventsHourly := &datasources.Rollup{
		Name: "events_hourly", Source: "events", TimeColumn: "timestamp",
		Granularity: datasources.GranularityHour, Partition: datasources.PartitionDay,
		Mode: datasources.ModeScheduled, Schedule: "5 * * * *", Lookback: 2 * time.Hour, Delay: 5 * time.Minute,
		Dimensions: []*datasources.Dimension{
			dim("event_type"), dim("utm_source"), dim("workspace_id"), dim("campaign_id"),
			{Name: "is_paid", Expr: "value_usd > 0"},
		},
		Metrics: []*datasources.Metric{
			metric("event_count", datasources.MetricCount, ""),
			metric("unique_sessions", datasources.MetricUniq, "session_id"),
			metric("unique_users", datasources.MetricUniq, "user_id"),
			metric("total_value_usd", datasources.MetricSum, "value_usd"),
			{Name: "page_unload_count", Kind: datasources.MetricCountIf, If: "event_type = 'page_unload'"},
			metric("total_time_on_page", datasources.MetricSum, "time_on_page"),
		},
		Filter: "event_type != 'debug'",
	}
	sessionsHourly := &datasources.Rollup{
		Name: "sessions_hourly", Source: "sessions", TimeColumn: "started_at",
		Granularity: datasources.GranularityHour, Partition: datasources.PartitionMonth,
		Mode: datasources.ModeScheduled, Schedule: "5 * * * *",
		Dimensions: []*datasources.Dimension{
			dim("workspace_id"), dim("campaign_id"), dim("country"), dim("device_type"), dim("referrer"),
		},
		OrderBy: []string{"workspace_id", "campaign_id", "hour", "country"},
		Metrics: []*datasources.Metric{
			metric("session_count", datasources.MetricCount, ""),
			metric("unique_users", datasources.MetricUniqExact, "user_id"),
			{Name: "new_sessions", Kind: datasources.MetricCountIf, If: "is_returning = 0"},
			{Name: "bounced_sessions", Kind: datasources.MetricCountIf, If: "duration < 3"},
			metric("total_duration", datasources.MetricSum, "duration"),
			metric("avg_duration", datasources.MetricAvg, "duration"),
			metric("min_duration", datasources.MetricMin, "duration"),
			metric("max_duration", datasources.MetricMax, "duration"),
			{Name: "last_landing_page", Kind: datasources.MetricArgMax, Column: "landing_page", By: "started_at"},
			metric("total_revenue", datasources.MetricSum, "revenue"),
			metric("max_revenue", datasources.MetricMax, "revenue"),
			{Name: "returning_revenue", Kind: datasources.MetricSumIf, Column: "revenue", If: "is_returning = 1"},
			metric("avg_price", datasources.MetricAvg, "price"),
		},
	}
	sessionsLive := &datasources.Rollup{
		Name: "sessions_live", Source: "sessions", TimeColumn: "started_at",
		Granularity: datasources.GranularityHour, Mode: datasources.ModeTrigger,
		Dimensions: []*datasources.Dimension{dim("workspace_id"), dim("device_type")},
		Metrics: []*datasources.Metric{
			metric("session_count", datasources.MetricCount, ""),
			metric("unique_users", datasources.MetricUniq, "user_id"),
			{Name: "first_landing_page", Kind: datasources.MetricArgMin, Column: "landing_page", By: "started_at"},
		},
	}
	timeParams := func() []*datasources.Param {
		return []*datasources.Param{{Name: "start", Type: "DateTime"}, {Name: "end", Type: "DateTime"}}
	}
	return &datasources.Project{
		Name: "web", Database: "analytics", Cluster: cluster,
		Datasources: []*datasources.Datasource{events, sessions},
		Rollups:     []*datasources.Rollup{eventsHourly, sessionsHourly, sessionsLive},
		Endpoints: []*datasources.Endpoint{
			{
				Name: "events_timeseries", Rollup: "events_hourly", Bucket: "hour",
				Metrics: []string{"event_count", "unique_users", "total_value_usd"},
				Params:  append(timeParams(), &datasources.Param{Name: "campaign_id", Type: "String"}),
				Filters: []*datasources.Filter{{Dimension: "campaign_id", Param: "campaign_id"}},
			},
			{
				Name: "audience_breakdown", Rollup: "sessions_hourly",
				Metrics: []string{"session_count", "bounced_sessions", "avg_duration", "unique_users"},
				GroupBy: []string{"country", "device_type"},
				Params:  append(timeParams(), &datasources.Param{Name: "workspace_id", Type: "String"}),
				Filters: []*datasources.Filter{{Dimension: "workspace_id", Param: "workspace_id"}},
				OrderBy: []string{"session_count DESC", "country"},
				Limit:   10,
			},
		},
	}
}

// legacyProject is a project Debian's ClickHouse 18.16 can hold — no DateTime64,
// LowCardinality or Nullable sums — with every metric kind, on a cluster when cluster is set.
func legacyProject(cluster string) *datasources.Project {
	col := func(name, typ string) *datasources.Column { return &datasources.Column{Name: name, Type: typ} }
	hits := &datasources.Datasource{
		Name: "hits", Managed: true,
		Columns: []*datasources.Column{
			col("ts", "DateTime"), col("site", "String"), col("user_id", "String"), col("page", "String"),
			col("bytes", "UInt32"), col("latency", "Float64"), col("delta", "Int32"), col("price", "Decimal(10, 2)"),
		},
		Engine: "MergeTree", PartitionBy: "toYYYYMM(ts)", OrderBy: []string{"site", "ts"},
		ShardBy: "cityHash64(user_id)",
	}
	m := func(name string, kind datasources.MetricKind, column string) *datasources.Metric {
		return &datasources.Metric{Name: name, Kind: kind, Column: column}
	}
	hourly := &datasources.Rollup{
		Name: "hits_hourly", Source: "hits", TimeColumn: "ts",
		Granularity: datasources.GranularityHour, Partition: datasources.PartitionDay,
		Mode: datasources.ModeScheduled, Schedule: "5 * * * *", Lookback: 2 * time.Hour, Delay: 5 * time.Minute,
		Dimensions: []*datasources.Dimension{{Name: "site", Column: "site"}},
		Metrics: []*datasources.Metric{
			m("hits", datasources.MetricCount, ""),
			{Name: "big_hits", Kind: datasources.MetricCountIf, If: "bytes > 1000"},
			m("total_bytes", datasources.MetricSum, "bytes"),
			m("total_latency", datasources.MetricSum, "latency"),
			m("net_delta", datasources.MetricSum, "delta"),
			{Name: "big_bytes", Kind: datasources.MetricSumIf, Column: "bytes", If: "bytes > 1000"},
			m("revenue", datasources.MetricSum, "price"),
			m("min_latency", datasources.MetricMin, "latency"),
			m("max_page", datasources.MetricMax, "page"),
			m("avg_bytes", datasources.MetricAvg, "bytes"),
			m("avg_price", datasources.MetricAvg, "price"),
			m("users", datasources.MetricUniq, "user_id"),
			m("exact_users", datasources.MetricUniqExact, "user_id"),
			{Name: "last_page", Kind: datasources.MetricArgMax, Column: "page", By: "ts"},
		},
	}
	return &datasources.Project{
		Name: "legacy", Database: "analytics", Cluster: cluster,
		Datasources: []*datasources.Datasource{hits},
		Rollups:     []*datasources.Rollup{hourly},
	}
}
