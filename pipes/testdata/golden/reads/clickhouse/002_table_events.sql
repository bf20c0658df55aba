CREATE TABLE IF NOT EXISTS `analytics`.`events`
(
    `ts` DateTime,
    `campaign_id` LowCardinality(String),
    `event_type` LowCardinality(String),
    `user_id` String,
    `value` Float64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (`campaign_id`, `ts`);
