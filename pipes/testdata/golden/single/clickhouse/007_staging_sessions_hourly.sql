CREATE TABLE IF NOT EXISTS `analytics`.`sessions_hourly_staging`
(
    `hour` DateTime('UTC'),
    `workspace_id` LowCardinality(String),
    `campaign_id` String,
    `country` LowCardinality(String),
    `device_type` LowCardinality(String),
    `referrer` Nullable(String),
    `session_count` SimpleAggregateFunction(sum, UInt64),
    `unique_users` AggregateFunction(uniqExact, String),
    `new_sessions` SimpleAggregateFunction(sum, UInt64),
    `bounced_sessions` SimpleAggregateFunction(sum, UInt64),
    `total_duration` SimpleAggregateFunction(sum, UInt64),
    `avg_duration_sum` SimpleAggregateFunction(sum, UInt64),
    `avg_duration_count` SimpleAggregateFunction(sum, UInt64),
    `min_duration` SimpleAggregateFunction(min, UInt32),
    `max_duration` SimpleAggregateFunction(max, UInt32),
    `last_landing_page` AggregateFunction(argMax, String, DateTime('UTC')),
    `total_revenue` SimpleAggregateFunction(sum, Nullable(Int64)),
    `max_revenue` SimpleAggregateFunction(max, Nullable(Int64)),
    `returning_revenue` SimpleAggregateFunction(sum, Nullable(Int64)),
    `avg_price_sum` SimpleAggregateFunction(sum, Decimal(38, 2)),
    `avg_price_count` SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(`hour`)
ORDER BY (`workspace_id`, `campaign_id`, `hour`, `country`, `device_type`, `referrer`)
SETTINGS old_parts_lifetime = 0, cleanup_delay_period = 1, cleanup_delay_period_random_add = 0, index_granularity = 256, allow_nullable_key = 1;
