CREATE TABLE IF NOT EXISTS `analytics`.`analytics_pages_hourly`
(
    `hour` DateTime('UTC'),
    `pathname` String,
    `location` LowCardinality(String),
    `device` String,
    `visits` AggregateFunction(uniqExact, String),
    `hits` SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(`hour`)
ORDER BY (`hour`, `pathname`, `location`, `device`)
SETTINGS old_parts_lifetime = 0, cleanup_delay_period = 1, cleanup_delay_period_random_add = 0, index_granularity = 256;
