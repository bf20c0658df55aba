CREATE TABLE IF NOT EXISTS `analytics`.`sessions_local` ON CLUSTER `main`
(
    `started_at` DateTime('UTC'),
    `workspace_id` LowCardinality(String),
    `campaign_id` String,
    `session_id` String,
    `user_id` String,
    `country` LowCardinality(String),
    `device_type` LowCardinality(String),
    `referrer` Nullable(String),
    `landing_page` String,
    `is_returning` UInt8,
    `duration` UInt32,
    `revenue` Nullable(Int64),
    `price` Decimal(10, 2),
    `_timestamp` DateTime('UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/analytics/sessions_local', '{replica}', _timestamp)
PARTITION BY toYYYYMM(started_at)
ORDER BY (`workspace_id`, `campaign_id`, `started_at`, `session_id`);
