CREATE TABLE IF NOT EXISTS `analytics`.`analytics_sessions`
(
    `hour` DateTime('UTC'),
    `session_id` String,
    `first_hit` SimpleAggregateFunction(min, DateTime),
    `latest_hit` SimpleAggregateFunction(max, DateTime),
    `hits` SimpleAggregateFunction(sum, UInt64),
    `device` SimpleAggregateFunction(any, String),
    `browser` SimpleAggregateFunction(any, String),
    `location` SimpleAggregateFunction(any, String),
    `referrer` SimpleAggregateFunction(anyLast, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(`hour`)
ORDER BY (`hour`, `session_id`)
SETTINGS old_parts_lifetime = 0, cleanup_delay_period = 1, cleanup_delay_period_random_add = 0, index_granularity = 256;
