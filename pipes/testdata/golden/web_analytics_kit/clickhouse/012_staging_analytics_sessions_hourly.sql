CREATE TABLE IF NOT EXISTS `analytics`.`analytics_sessions_hourly_staging`
(
    `hour` DateTime('UTC'),
    `device` String,
    `browser` String,
    `location` String,
    `visits` SimpleAggregateFunction(sum, UInt64),
    `pageviews` SimpleAggregateFunction(sum, UInt64),
    `bounces` SimpleAggregateFunction(sum, UInt64),
    `session_seconds` SimpleAggregateFunction(sum, Int64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(`hour`)
ORDER BY (`hour`, `device`, `browser`, `location`)
SETTINGS old_parts_lifetime = 0, cleanup_delay_period = 1, cleanup_delay_period_random_add = 0, index_granularity = 256;
