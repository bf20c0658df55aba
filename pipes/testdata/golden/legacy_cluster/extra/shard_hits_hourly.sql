CREATE TABLE IF NOT EXISTS `analytics`.`hits_hourly_local__stg_20250102_1_run`
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
SELECT count() FROM `analytics`.`hits_local` WHERE `ts` >= {start:DateTime} AND `ts` < {end:DateTime};
INSERT INTO `analytics`.`hits_hourly_local__stg_20250102_1_run` (`hour`, `site`, `hits`, `big_hits`, `total_bytes`, `total_latency`, `net_delta`, `big_bytes`, `revenue`, `min_latency`, `max_page`, `avg_bytes_sum`, `avg_bytes_count`, `avg_price_sum`, `avg_price_count`, `users`, `exact_users`, `last_page`)
SELECT
    `__hg_c0` AS `hour`,
    `__hg_c1` AS `site`,
    `__hg_c2` AS `hits`,
    `__hg_c3` AS `big_hits`,
    `__hg_c4` AS `total_bytes`,
    `__hg_c5` AS `total_latency`,
    `__hg_c6` AS `net_delta`,
    `__hg_c7` AS `big_bytes`,
    `__hg_c8` AS `revenue`,
    `__hg_c9` AS `min_latency`,
    `__hg_c10` AS `max_page`,
    `__hg_c11` AS `avg_bytes_sum`,
    `__hg_c12` AS `avg_bytes_count`,
    `__hg_c13` AS `avg_price_sum`,
    `__hg_c14` AS `avg_price_count`,
    `__hg_c15` AS `users`,
    `__hg_c16` AS `exact_users`,
    `__hg_c17` AS `last_page`
FROM
(
    SELECT
        toStartOfHour(`ts`, 'UTC') AS `__hg_c0`,
        `site` AS `__hg_c1`,
        arrayReduce('sumState', [count()]) AS `__hg_c2`,
        arrayReduce('sumState', [countIf(bytes > 1000)]) AS `__hg_c3`,
        arrayReduce('sumState', [sum(`bytes`)]) AS `__hg_c4`,
        arrayReduce('sumState', [sum(`latency`)]) AS `__hg_c5`,
        arrayReduce('sumState', [sum(`delta`)]) AS `__hg_c6`,
        arrayReduce('sumState', [sumIf(`bytes`, bytes > 1000)]) AS `__hg_c7`,
        arrayReduce('sumState', [sum(`price`)]) AS `__hg_c8`,
        arrayReduce('minState', [min(`latency`)]) AS `__hg_c9`,
        arrayReduce('maxState', [max(`page`)]) AS `__hg_c10`,
        arrayReduce('sumState', [sum(`bytes`)]) AS `__hg_c11`,
        arrayReduce('sumState', [count(`bytes`)]) AS `__hg_c12`,
        arrayReduce('sumState', [sum(`price`)]) AS `__hg_c13`,
        arrayReduce('sumState', [count(`price`)]) AS `__hg_c14`,
        uniqState(`user_id`) AS `__hg_c15`,
        uniqExactState(`user_id`) AS `__hg_c16`,
        argMaxState(`page`, `ts`) AS `__hg_c17`
    FROM `analytics`.`hits_local`
    WHERE `ts` >= {start:DateTime}
        AND `ts` < {end:DateTime}
    GROUP BY `__hg_c0`, `__hg_c1`
);
SELECT count() FROM `analytics`.`hits_hourly_local__stg_20250102_1_run` WHERE `hour` >= {start:DateTime} AND `hour` < {end:DateTime};
ALTER TABLE `analytics`.`hits_hourly_local` REPLACE PARTITION ID '20250102' FROM `analytics`.`hits_hourly_local__stg_20250102_1_run`;
ALTER TABLE `analytics`.`hits_hourly_local` DROP PARTITION ID '19700101';
DROP TABLE IF EXISTS `analytics`.`hits_hourly_local__stg_20250102_1_run`;
SELECT
    `__hg_b` AS `hour`,
    `__hg_g0` AS `site`,
    `__hg_m0` AS `hits`,
    `__hg_m1` AS `big_hits`,
    `__hg_m2` AS `total_bytes`,
    `__hg_m3` AS `total_latency`,
    `__hg_m4` AS `net_delta`,
    `__hg_m5` AS `big_bytes`,
    `__hg_m6` AS `revenue`,
    `__hg_m7` AS `min_latency`,
    `__hg_m8` AS `max_page`,
    `__hg_m9` AS `avg_bytes`,
    `__hg_m10` AS `avg_price`,
    `__hg_m11` AS `users`,
    `__hg_m12` AS `exact_users`,
    `__hg_m13` AS `last_page`
FROM
(
    SELECT
        `hour` AS `__hg_b`,
        `site` AS `__hg_g0`,
        sumMerge(`hits`) AS `__hg_m0`,
        sumMerge(`big_hits`) AS `__hg_m1`,
        sumMerge(`total_bytes`) AS `__hg_m2`,
        sumMerge(`total_latency`) AS `__hg_m3`,
        sumMerge(`net_delta`) AS `__hg_m4`,
        sumMerge(`big_bytes`) AS `__hg_m5`,
        sumMerge(`revenue`) AS `__hg_m6`,
        CAST(minMerge(`min_latency`) AS Float64) AS `__hg_m7`,
        CAST(maxMerge(`max_page`) AS String) AS `__hg_m8`,
        sumMerge(`avg_bytes_sum`) / sumMerge(`avg_bytes_count`) AS `__hg_m9`,
        toFloat64(sumMerge(`avg_price_sum`)) / sumMerge(`avg_price_count`) AS `__hg_m10`,
        uniqMerge(`users`) AS `__hg_m11`,
        uniqExactMerge(`exact_users`) AS `__hg_m12`,
        argMaxMerge(`last_page`) AS `__hg_m13`
    FROM `analytics`.`hits_hourly_local`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
    GROUP BY `__hg_b`, `__hg_g0`
)
ORDER BY `hour`, `site`;
