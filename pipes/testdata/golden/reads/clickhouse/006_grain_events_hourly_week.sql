CREATE TABLE IF NOT EXISTS `analytics`.`events_hourly_week`
(
    `hour` DateTime('UTC'),
    `campaign_id` LowCardinality(String),
    `event_type` LowCardinality(String),
    `events` SimpleAggregateFunction(sum, UInt64),
    `users` AggregateFunction(uniqCombined(14), String),
    `users_default` AggregateFunction(uniqCombined(17), String),
    `users_uniq` AggregateFunction(uniq, String),
    `users_exact` AggregateFunction(uniqExact, String),
    `value` SimpleAggregateFunction(sum, Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toMonday(`hour`)
ORDER BY (`campaign_id`, `hour`, `event_type`)
SETTINGS old_parts_lifetime = 0, cleanup_delay_period = 1, cleanup_delay_period_random_add = 0, index_granularity = 8;
