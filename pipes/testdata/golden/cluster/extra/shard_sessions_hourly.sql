CREATE TABLE IF NOT EXISTS `analytics`.`sessions_hourly_local__stg_20250102_1_run`
(
    `hour` DateTime('UTC'),
    `workspace_id` LowCardinality(String),
    `campaign_id` String,
    `country` LowCardinality(String),
    `device_type` LowCardinality(String),
    `referrer` Nullable(String),
    `session_count` SimpleAggregateFunction(sum, UInt64),
    `unique_users` AggregateFunction(uniqExact, String),
    `new_sessions` SimpleAggregateFunction(sum, UInt64),
    `bounced_sessions` SimpleAggregateFunction(sum, UInt64),
    `total_duration` SimpleAggregateFunction(sum, UInt64),
    `avg_duration_sum` SimpleAggregateFunction(sum, UInt64),
    `avg_duration_count` SimpleAggregateFunction(sum, UInt64),
    `min_duration` SimpleAggregateFunction(min, UInt32),
    `max_duration` SimpleAggregateFunction(max, UInt32),
    `last_landing_page` AggregateFunction(argMax, String, DateTime('UTC')),
    `total_revenue` SimpleAggregateFunction(sum, Nullable(Int64)),
    `max_revenue` SimpleAggregateFunction(max, Nullable(Int64)),
    `returning_revenue` SimpleAggregateFunction(sum, Nullable(Int64)),
    `avg_price_sum` SimpleAggregateFunction(sum, Decimal(38, 2)),
    `avg_price_count` SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(`hour`)
ORDER BY (`workspace_id`, `campaign_id`, `hour`, `country`, `device_type`, `referrer`)
SETTINGS old_parts_lifetime = 0, cleanup_delay_period = 1, cleanup_delay_period_random_add = 0, index_granularity = 256, allow_nullable_key = 1;
SELECT count() FROM `analytics`.`sessions_local` WHERE `started_at` >= {start:DateTime} AND `started_at` < {end:DateTime};
INSERT INTO `analytics`.`sessions_hourly_local__stg_20250102_1_run` (`hour`, `workspace_id`, `campaign_id`, `country`, `device_type`, `referrer`, `session_count`, `unique_users`, `new_sessions`, `bounced_sessions`, `total_duration`, `avg_duration_sum`, `avg_duration_count`, `min_duration`, `max_duration`, `last_landing_page`, `total_revenue`, `max_revenue`, `returning_revenue`, `avg_price_sum`, `avg_price_count`)
SELECT
    `__hg_c0` AS `hour`,
    `__hg_c1` AS `workspace_id`,
    `__hg_c2` AS `campaign_id`,
    `__hg_c3` AS `country`,
    `__hg_c4` AS `device_type`,
    `__hg_c5` AS `referrer`,
    `__hg_c6` AS `session_count`,
    `__hg_c7` AS `unique_users`,
    `__hg_c8` AS `new_sessions`,
    `__hg_c9` AS `bounced_sessions`,
    `__hg_c10` AS `total_duration`,
    `__hg_c11` AS `avg_duration_sum`,
    `__hg_c12` AS `avg_duration_count`,
    `__hg_c13` AS `min_duration`,
    `__hg_c14` AS `max_duration`,
    `__hg_c15` AS `last_landing_page`,
    `__hg_c16` AS `total_revenue`,
    `__hg_c17` AS `max_revenue`,
    `__hg_c18` AS `returning_revenue`,
    `__hg_c19` AS `avg_price_sum`,
    `__hg_c20` AS `avg_price_count`
FROM
(
    SELECT
        toStartOfHour(`started_at`, 'UTC') AS `__hg_c0`,
        `workspace_id` AS `__hg_c1`,
        `campaign_id` AS `__hg_c2`,
        `country` AS `__hg_c3`,
        `device_type` AS `__hg_c4`,
        `referrer` AS `__hg_c5`,
        count() AS `__hg_c6`,
        uniqExactState(`user_id`) AS `__hg_c7`,
        countIf(is_returning = 0) AS `__hg_c8`,
        countIf(duration < 3) AS `__hg_c9`,
        sum(`duration`) AS `__hg_c10`,
        sum(`duration`) AS `__hg_c11`,
        count(`duration`) AS `__hg_c12`,
        min(`duration`) AS `__hg_c13`,
        max(`duration`) AS `__hg_c14`,
        argMaxState(`landing_page`, `started_at`) AS `__hg_c15`,
        sum(`revenue`) AS `__hg_c16`,
        max(`revenue`) AS `__hg_c17`,
        sumIf(`revenue`, is_returning = 1) AS `__hg_c18`,
        sum(`price`) AS `__hg_c19`,
        count(`price`) AS `__hg_c20`
    FROM `analytics`.`sessions_local`
    WHERE `started_at` >= {start:DateTime}
        AND `started_at` < {end:DateTime}
    GROUP BY `__hg_c0`, `__hg_c1`, `__hg_c2`, `__hg_c3`, `__hg_c4`, `__hg_c5`
);
SELECT count() FROM `analytics`.`sessions_hourly_local__stg_20250102_1_run` WHERE `hour` >= {start:DateTime} AND `hour` < {end:DateTime};
ALTER TABLE `analytics`.`sessions_hourly_local` REPLACE PARTITION ID '20250102' FROM `analytics`.`sessions_hourly_local__stg_20250102_1_run`;
ALTER TABLE `analytics`.`sessions_hourly_local` DROP PARTITION ID '197001';
DROP TABLE IF EXISTS `analytics`.`sessions_hourly_local__stg_20250102_1_run`;
SELECT
    `__hg_b` AS `hour`,
    `__hg_g0` AS `workspace_id`,
    `__hg_g1` AS `campaign_id`,
    `__hg_g2` AS `country`,
    `__hg_g3` AS `device_type`,
    `__hg_g4` AS `referrer`,
    `__hg_m0` AS `session_count`,
    `__hg_m1` AS `unique_users`,
    `__hg_m2` AS `new_sessions`,
    `__hg_m3` AS `bounced_sessions`,
    `__hg_m4` AS `total_duration`,
    `__hg_m5` AS `avg_duration`,
    `__hg_m6` AS `min_duration`,
    `__hg_m7` AS `max_duration`,
    `__hg_m8` AS `last_landing_page`,
    `__hg_m9` AS `total_revenue`,
    `__hg_m10` AS `max_revenue`,
    `__hg_m11` AS `returning_revenue`,
    `__hg_m12` AS `avg_price`
FROM
(
    SELECT
        `hour` AS `__hg_b`,
        `workspace_id` AS `__hg_g0`,
        `campaign_id` AS `__hg_g1`,
        `country` AS `__hg_g2`,
        `device_type` AS `__hg_g3`,
        `referrer` AS `__hg_g4`,
        sum(`session_count`) AS `__hg_m0`,
        uniqExactMerge(`unique_users`) AS `__hg_m1`,
        sum(`new_sessions`) AS `__hg_m2`,
        sum(`bounced_sessions`) AS `__hg_m3`,
        sum(`total_duration`) AS `__hg_m4`,
        sum(`avg_duration_sum`) / sum(`avg_duration_count`) AS `__hg_m5`,
        CAST(min(`min_duration`) AS UInt32) AS `__hg_m6`,
        CAST(max(`max_duration`) AS UInt32) AS `__hg_m7`,
        argMaxMerge(`last_landing_page`) AS `__hg_m8`,
        sum(`total_revenue`) AS `__hg_m9`,
        CAST(max(`max_revenue`) AS Nullable(Int64)) AS `__hg_m10`,
        sum(`returning_revenue`) AS `__hg_m11`,
        toFloat64(sum(`avg_price_sum`)) / sum(`avg_price_count`) AS `__hg_m12`
    FROM `analytics`.`sessions_hourly_local`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
    GROUP BY `__hg_b`, `__hg_g0`, `__hg_g1`, `__hg_g2`, `__hg_g3`, `__hg_g4`
)
ORDER BY `hour`, `workspace_id`, `campaign_id`, `country`, `device_type`, `referrer`;
