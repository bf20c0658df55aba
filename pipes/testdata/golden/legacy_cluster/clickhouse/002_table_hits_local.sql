CREATE TABLE IF NOT EXISTS `analytics`.`hits_local` ON CLUSTER `two_shards`
(
    `ts` DateTime,
    `site` String,
    `user_id` String,
    `page` String,
    `bytes` UInt32,
    `latency` Float64,
    `delta` Int32,
    `price` Decimal(10, 2)
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/analytics/hits_local', '{replica}')
PARTITION BY toYYYYMM(ts)
ORDER BY (`site`, `ts`);
