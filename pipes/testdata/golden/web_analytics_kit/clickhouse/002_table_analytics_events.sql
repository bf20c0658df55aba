CREATE TABLE IF NOT EXISTS `analytics`.`analytics_events`
(
    `timestamp` DateTime,
    `session_id` Nullable(String),
    `action` LowCardinality(String),
    `version` LowCardinality(String),
    `payload` String,
    `pathname` String MATERIALIZED JSONExtractString(`payload`, 'pathname'),
    `referrer` String MATERIALIZED JSONExtractString(`payload`, 'referrer'),
    `user_agent` String MATERIALIZED JSONExtractString(`payload`, 'user-agent'),
    `location` LowCardinality(String) MATERIALIZED JSONExtractString(`payload`, 'location')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (toStartOfHour(timestamp), `action`);
