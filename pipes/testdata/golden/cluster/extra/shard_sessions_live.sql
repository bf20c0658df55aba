CREATE TABLE IF NOT EXISTS `analytics`.`sessions_live_local__stg_20250102_1_run`
(
    `hour` DateTime('UTC'),
    `workspace_id` LowCardinality(String),
    `device_type` LowCardinality(String),
    `session_count` SimpleAggregateFunction(sum, UInt64),
    `unique_users` AggregateFunction(uniq, String),
    `first_landing_page` AggregateFunction(argMin, String, DateTime('UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMMDD(`hour`)
ORDER BY (`workspace_id`, `hour`, `device_type`)
SETTINGS old_parts_lifetime = 0, cleanup_delay_period = 1, cleanup_delay_period_random_add = 0, index_granularity = 256;
SELECT count() FROM `analytics`.`sessions_local` WHERE `started_at` >= {start:DateTime} AND `started_at` < {end:DateTime};
INSERT INTO `analytics`.`sessions_live_local__stg_20250102_1_run` (`hour`, `workspace_id`, `device_type`, `session_count`, `unique_users`, `first_landing_page`)
SELECT
    `__hg_c0` AS `hour`,
    `__hg_c1` AS `workspace_id`,
    `__hg_c2` AS `device_type`,
    `__hg_c3` AS `session_count`,
    `__hg_c4` AS `unique_users`,
    `__hg_c5` AS `first_landing_page`
FROM
(
    SELECT
        toStartOfHour(`started_at`, 'UTC') AS `__hg_c0`,
        `workspace_id` AS `__hg_c1`,
        `device_type` AS `__hg_c2`,
        count() AS `__hg_c3`,
        uniqState(`user_id`) AS `__hg_c4`,
        argMinState(`landing_page`, `started_at`) AS `__hg_c5`
    FROM `analytics`.`sessions_local`
    WHERE `started_at` >= {start:DateTime}
        AND `started_at` < {end:DateTime}
    GROUP BY `__hg_c0`, `__hg_c1`, `__hg_c2`
);
SELECT count() FROM `analytics`.`sessions_live_local__stg_20250102_1_run` WHERE `hour` >= {start:DateTime} AND `hour` < {end:DateTime};
ALTER TABLE `analytics`.`sessions_live_local` REPLACE PARTITION ID '20250102-0' FROM `analytics`.`sessions_live_local__stg_20250102_1_run`;
ALTER TABLE `analytics`.`sessions_live_local` DROP PARTITION ID '19700101-0';
DROP TABLE IF EXISTS `analytics`.`sessions_live_local__stg_20250102_1_run`;
SELECT
    `__hg_b` AS `hour`,
    `__hg_g0` AS `workspace_id`,
    `__hg_g1` AS `device_type`,
    `__hg_m0` AS `session_count`,
    `__hg_m1` AS `unique_users`,
    `__hg_m2` AS `first_landing_page`
FROM
(
    SELECT
        `hour` AS `__hg_b`,
        `workspace_id` AS `__hg_g0`,
        `device_type` AS `__hg_g1`,
        sum(`session_count`) AS `__hg_m0`,
        uniqMerge(`unique_users`) AS `__hg_m1`,
        argMinMerge(`first_landing_page`) AS `__hg_m2`
    FROM `analytics`.`sessions_live_local`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
    GROUP BY `__hg_b`, `__hg_g0`, `__hg_g1`
)
ORDER BY `hour`, `workspace_id`, `device_type`;
