CREATE TABLE IF NOT EXISTS `analytics`.`sessions_live_staging`
(
    `hour` DateTime('UTC'),
    `workspace_id` LowCardinality(String),
    `device_type` LowCardinality(String),
    `session_count` SimpleAggregateFunction(sum, UInt64),
    `unique_users` AggregateFunction(uniq, String),
    `first_landing_page` AggregateFunction(argMin, String, DateTime('UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(`hour`)
ORDER BY (`workspace_id`, `hour`, `device_type`)
SETTINGS old_parts_lifetime = 0, cleanup_delay_period = 1, cleanup_delay_period_random_add = 0, index_granularity = 256;
