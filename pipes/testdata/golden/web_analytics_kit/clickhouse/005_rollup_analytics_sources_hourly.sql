CREATE TABLE IF NOT EXISTS `analytics`.`analytics_sources_hourly`
(
    `hour` DateTime('UTC'),
    `referrer` String,
    `location` LowCardinality(String),
    `visits` AggregateFunction(uniqExact, String),
    `hits` SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(`hour`)
ORDER BY (`hour`, `referrer`, `location`)
SETTINGS old_parts_lifetime = 0, cleanup_delay_period = 1, cleanup_delay_period_random_add = 0, index_granularity = 256;
