CREATE TABLE IF NOT EXISTS `analytics`.`events_hourly_local` ON CLUSTER `main`
(
    `hour` DateTime('UTC'),
    `event_type` LowCardinality(String),
    `utm_source` LowCardinality(String),
    `workspace_id` LowCardinality(String),
    `campaign_id` String,
    `is_paid` String,
    `event_count` SimpleAggregateFunction(sum, UInt64),
    `unique_sessions` AggregateFunction(uniq, String),
    `unique_users` AggregateFunction(uniq, Nullable(String)),
    `total_value_usd` SimpleAggregateFunction(sum, Float64),
    `page_unload_count` SimpleAggregateFunction(sum, UInt64),
    `total_time_on_page` SimpleAggregateFunction(sum, UInt64)
)
ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/analytics/events_hourly_local', '{replica}')
PARTITION BY toYYYYMMDD(`hour`)
ORDER BY (`workspace_id`, `campaign_id`, `hour`, `event_type`, `utm_source`, `is_paid`)
SETTINGS old_parts_lifetime = 0, cleanup_delay_period = 1, cleanup_delay_period_random_add = 0, index_granularity = 256;
