CREATE TABLE IF NOT EXISTS `analytics`.`events_local` ON CLUSTER `main`
(
    `timestamp` DateTime64(3, 'UTC'),
    `workspace_id` LowCardinality(String),
    `campaign_id` String,
    `event_type` LowCardinality(String),
    `session_id` String,
    `user_id` Nullable(String),
    `value_usd` Float64,
    `time_on_page` UInt32,
    `properties` String CODEC(ZSTD(3)),
    `utm_source` LowCardinality(String) MATERIALIZED JSONExtractString(`properties`, 'utm', 'source'),
    `utm_medium` LowCardinality(Nullable(String)) MATERIALIZED JSONExtract(`properties`, 'utm', 'medium', 'Nullable(String)'),
    `country` LowCardinality(String) DEFAULT 'unknown'
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/analytics/events_local', '{replica}')
PARTITION BY toYYYYMM(timestamp)
ORDER BY (`workspace_id`, `campaign_id`, toStartOfHour(timestamp), `timestamp`)
TTL toDateTime(timestamp) + INTERVAL 10 YEAR;
