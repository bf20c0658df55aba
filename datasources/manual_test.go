package datasources

import "testing"

// TestManualExample loads the examples of doc.go.
func TestManualExample(t *testing.T) {
	_, err := Load(mapFS(map[string]string{
		"hourglass.yaml": "name: web_analytics\ndatabase: analytics\ndsn: \"\"\ncluster: my_cluster\ndefaults:\n  partition: day\n  schedule: \"5 * * * *\"\n  lookback: 2h\n  delay: 5m\n",
		"datasources/e.yaml": `name: events
managed: true
engine: MergeTree
partition_by: toYYYYMM(timestamp)
order_by: [workspace_id, toStartOfHour(timestamp), event_type]
sample_by: cityHash64(user_id)
ttl: timestamp + INTERVAL 1 YEAR
shard_by: cityHash64(user_id)
columns:
  - {name: timestamp, type: DateTime}
  - {name: workspace_id, type: LowCardinality(String)}
  - {name: value_usd, type: Float64, default: "0", codec: ZSTD(3)}
  - {name: properties, type: String}
  - {name: utm_content, type: String, json: properties.$.utm.content}
  - {name: event_type, type: String}
  - {name: event_id, type: String}
  - {name: user_id, type: String}
  - {name: country, type: String}
  - {name: page_path, type: String}
  - {name: is_page_unload, type: UInt8}
  - {name: campaign_id, type: String}
`,
		"rollups/r.yaml": `name: events_hourly
source: events              # required: a datasource (not a rollup)
time_column: timestamp      # DateTime/DateTime64 column; default: the source's only one
granularity: hour           # the only granularity (default)
partition: day              # day or month; default from defaults, else day
mode: scheduled             # scheduled (default) or trigger (insert-trigger view)
schedule: "5 * * * *"       # at most hourly; default from defaults, else "5 * * * *"
lookback: 2h                # default from defaults, else 2h; "0s" for none
delay: 5m                   # under 1h; default from defaults, else 5m
filter: event_type != 'bot' # optional WHERE condition on source rows
dimensions:
  - workspace_id                             # a source column
  - {name: country_code, column: country}    # a source column, renamed
  - {name: hour_of_day, expr: toHour(timestamp)}  # a computed dimension
  - event_id
  - event_type
  - campaign_id
metrics:
  - {name: event_count, kind: count}
  - {name: unload_count, kind: count_if, if: "is_page_unload = 1"}
  - {name: total_value_usd, kind: sum, column: value_usd}
  - {name: paid_value_usd, kind: sum_if, column: value_usd, if: "value_usd > 0"}
  - {name: unique_users, kind: uniq, column: user_id}
  - {name: last_page, kind: arg_max, column: page_path, by: timestamp}
`,
		"endpoints/e.yaml": `name: conversions_breakdown
rollup: events_hourly          # required: a rollup
metrics: [event_count, unique_users]   # required: metric names of the rollup
group_by: [event_id, event_type]       # optional: dimension names of the rollup
bucket: day                    # optional: hour or day, adds a column of that name
params:
  - {name: campaign_id, type: String}              # type defaults to String
  - {name: event_type, type: String, default: ""}
filters:
  - {dimension: campaign_id, param: campaign_id}   # dimension = {param}, skipped when empty
  - event_type                                     # shorthand: dimension and param alike
order_by: [event_count DESC]   # output columns (metrics, group_by, bucket), ASC/DESC
limit: 100                     # optional, 0 or absent: no limit
`}))
	if err != nil {
		t.Fatal(err)
	}
}
