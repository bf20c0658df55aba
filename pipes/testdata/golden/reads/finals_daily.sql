DROP TABLE IF EXISTS `analytics`.`daily_final_events_hourly__hg_fill`;
CREATE TABLE IF NOT EXISTS `analytics`.`daily_final_events_hourly__hg_fill`
(
    `hour` DateTime('UTC'),
    `__hg_set` UInt8,
    `campaign_id` LowCardinality(String),
    `event_type` LowCardinality(String),
    `events` UInt64,
    `users` UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(`hour`)
ORDER BY (`__hg_set`, `campaign_id`, `hour`, `event_type`)
SETTINGS old_parts_lifetime = 0, cleanup_delay_period = 1, cleanup_delay_period_random_add = 0, index_granularity = 8;
INSERT INTO `analytics`.`daily_final_events_hourly__hg_fill` (`hour`, `__hg_set`, `campaign_id`, `event_type`, `events`, `users`)
SELECT `__hg_c0` AS `hour`, `__hg_c1` AS `__hg_set`, `__hg_c2` AS `campaign_id`, `__hg_c3` AS `event_type`, `__hg_c4` AS `events`, `__hg_c5` AS `users`
FROM
(
    SELECT
        toStartOfDay(`hour`) AS `__hg_c0`,
        toUInt8((1 - grouping(`__hg_c2`)) * 1) AS `__hg_c1`,
        `campaign_id` AS `__hg_c2`,
        `event_type` AS `__hg_c3`,
        sum(`events`) AS `__hg_c4`,
        uniqCombinedMerge(14)(`users`) AS `__hg_c5`
    FROM `analytics`.`events_hourly`
    GROUP BY GROUPING SETS ((`__hg_c0`, `__hg_c3`), (`__hg_c0`, `__hg_c2`, `__hg_c3`))
)
SETTINGS force_grouping_standard_compatibility = 1;
RENAME TABLE `analytics`.`daily_final_events_hourly__hg_fill` TO `analytics`.`daily_final_events_hourly`;
INSERT INTO `analytics`.`daily_final_events_hourly__stg_1` (`hour`, `__hg_set`, `campaign_id`, `event_type`, `events`, `users`)
SELECT `hour`, `__hg_set`, `campaign_id`, `event_type`, `events`, `users`
FROM `analytics`.`daily_final_events_hourly`
WHERE `hour` >= {partition_start:DateTime} AND `hour` < {partition_end:DateTime} AND NOT (`hour` >= {start:DateTime} AND `hour` < {end:DateTime})
UNION ALL
SELECT `__hg_c0` AS `hour`, `__hg_c1` AS `__hg_set`, `__hg_c2` AS `campaign_id`, `__hg_c3` AS `event_type`, `__hg_c4` AS `events`, `__hg_c5` AS `users`
FROM
(
    SELECT
        toStartOfDay(`hour`) AS `__hg_c0`,
        toUInt8((1 - grouping(`__hg_c2`)) * 1) AS `__hg_c1`,
        `campaign_id` AS `__hg_c2`,
        `event_type` AS `__hg_c3`,
        sum(`events`) AS `__hg_c4`,
        uniqCombinedMerge(14)(`users`) AS `__hg_c5`
    FROM `analytics`.`events_hourly`
    WHERE `hour` >= {start:DateTime} AND `hour` < {end:DateTime}
    GROUP BY GROUPING SETS ((`__hg_c0`, `__hg_c3`), (`__hg_c0`, `__hg_c2`, `__hg_c3`))
)
SETTINGS force_grouping_standard_compatibility = 1;
ALTER TABLE `analytics`.`daily_final_events_hourly` REPLACE PARTITION ID '202611' FROM `analytics`.`daily_final_events_hourly__stg_1`;
-- finished from the staging table of the version's swaps
INSERT INTO `analytics`.`daily_final_events_hourly__stg_1` (`hour`, `__hg_set`, `campaign_id`, `event_type`, `events`, `users`)
SELECT `hour`, `__hg_set`, `campaign_id`, `event_type`, `events`, `users`
FROM `analytics`.`daily_final_events_hourly`
WHERE `hour` >= {partition_start:DateTime} AND `hour` < {partition_end:DateTime} AND NOT (`hour` >= {start:DateTime} AND `hour` < {end:DateTime})
UNION ALL
SELECT `__hg_c0` AS `hour`, `__hg_c1` AS `__hg_set`, `__hg_c2` AS `campaign_id`, `__hg_c3` AS `event_type`, `__hg_c4` AS `events`, `__hg_c5` AS `users`
FROM
(
    SELECT
        toStartOfDay(`hour`) AS `__hg_c0`,
        toUInt8((1 - grouping(`__hg_c2`)) * 1) AS `__hg_c1`,
        `campaign_id` AS `__hg_c2`,
        `event_type` AS `__hg_c3`,
        sum(`events`) AS `__hg_c4`,
        uniqCombinedMerge(14)(`users`) AS `__hg_c5`
    FROM `analytics`.`events_hourly__stg_1`
    WHERE `hour` >= {start:DateTime} AND `hour` < {end:DateTime}
    GROUP BY GROUPING SETS ((`__hg_c0`, `__hg_c3`), (`__hg_c0`, `__hg_c2`, `__hg_c3`))
)
SETTINGS force_grouping_standard_compatibility = 1;
