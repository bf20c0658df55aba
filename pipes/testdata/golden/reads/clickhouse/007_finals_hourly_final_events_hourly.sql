CREATE TABLE IF NOT EXISTS `analytics`.`hourly_final_events_hourly`
(
    `hour` DateTime('UTC'),
    `__hg_set` UInt8,
    `campaign_id` LowCardinality(String),
    `events` UInt64,
    `users` UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(`hour`)
ORDER BY (`__hg_set`, `campaign_id`, `hour`)
SETTINGS old_parts_lifetime = 0, cleanup_delay_period = 1, cleanup_delay_period_random_add = 0, index_granularity = 8;
