CREATE TABLE IF NOT EXISTS `analytics`.`hits_hourly_staging` ON CLUSTER `two_shards`
(
    `hour` DateTime('UTC'),
    `site` String,
    `hits` AggregateFunction(sum, UInt64),
    `big_hits` AggregateFunction(sum, UInt64),
    `total_bytes` AggregateFunction(sum, UInt64),
    `total_latency` AggregateFunction(sum, Float64),
    `net_delta` AggregateFunction(sum, Int64),
    `big_bytes` AggregateFunction(sum, UInt64),
    `revenue` AggregateFunction(sum, Decimal(38, 2)),
    `min_latency` AggregateFunction(min, Float64),
    `max_page` AggregateFunction(max, String),
    `avg_bytes_sum` AggregateFunction(sum, UInt64),
    `avg_bytes_count` AggregateFunction(sum, UInt64),
    `avg_price_sum` AggregateFunction(sum, Decimal(38, 2)),
    `avg_price_count` AggregateFunction(sum, UInt64),
    `users` AggregateFunction(uniq, String),
    `exact_users` AggregateFunction(uniqExact, String),
    `last_page` AggregateFunction(argMax, String, DateTime)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(`hour`)
ORDER BY (`hour`, `site`)
SETTINGS old_parts_lifetime = 0, cleanup_delay_period = 1, cleanup_delay_period_random_add = 0, index_granularity = 256;
