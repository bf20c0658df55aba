CREATE TABLE IF NOT EXISTS `analytics`.`analytics_vitals_hourly`
(
    `hour` DateTime('UTC'),
    `pathname` String,
    `samples` SimpleAggregateFunction(sum, UInt64),
    `lcp` AggregateFunction(quantilesDD(0.01, 0.75, 0.95), Float64),
    `slow_sessions` AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(`hour`)
ORDER BY (`hour`, `pathname`)
SETTINGS old_parts_lifetime = 0, cleanup_delay_period = 1, cleanup_delay_period_random_add = 0, index_granularity = 256;
