DROP TABLE IF EXISTS `analytics`.`events_hourly_day__hg_fill`;
CREATE TABLE IF NOT EXISTS `analytics`.`events_hourly_day__hg_fill`
(
    `hour` DateTime('UTC'),
    `campaign_id` LowCardinality(String),
    `event_type` LowCardinality(String),
    `events` SimpleAggregateFunction(sum, UInt64),
    `users` AggregateFunction(uniqCombined(14), String),
    `users_default` AggregateFunction(uniqCombined(17), String),
    `users_uniq` AggregateFunction(uniq, String),
    `users_exact` AggregateFunction(uniqExact, String),
    `value` SimpleAggregateFunction(sum, Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toMonday(`hour`)
ORDER BY (`campaign_id`, `hour`, `event_type`)
SETTINGS old_parts_lifetime = 0, cleanup_delay_period = 1, cleanup_delay_period_random_add = 0, index_granularity = 8;
INSERT INTO `analytics`.`events_hourly_day__hg_fill` (`hour`, `campaign_id`, `event_type`, `events`, `users`, `users_default`, `users_uniq`, `users_exact`, `value`)
SELECT `__hg_c0` AS `hour`, `__hg_c1` AS `campaign_id`, `__hg_c2` AS `event_type`, `__hg_c3` AS `events`, `__hg_c4` AS `users`, `__hg_c5` AS `users_default`, `__hg_c6` AS `users_uniq`, `__hg_c7` AS `users_exact`, `__hg_c8` AS `value`
FROM
(
    SELECT
        toStartOfDay(`hour`) AS `__hg_c0`,
        `campaign_id` AS `__hg_c1`,
        `event_type` AS `__hg_c2`,
        sum(`events`) AS `__hg_c3`,
        uniqCombinedMergeState(14)(`users`) AS `__hg_c4`,
        uniqCombinedMergeState(17)(`users_default`) AS `__hg_c5`,
        uniqMergeState(`users_uniq`) AS `__hg_c6`,
        uniqExactMergeState(`users_exact`) AS `__hg_c7`,
        sum(`value`) AS `__hg_c8`
    FROM `analytics`.`events_hourly`
    GROUP BY `__hg_c0`, `__hg_c1`, `__hg_c2`
);
RENAME TABLE `analytics`.`events_hourly_day__hg_fill` TO `analytics`.`events_hourly_day`;
CREATE TABLE IF NOT EXISTS `analytics`.`events_hourly_day__stg_1`
(
    `hour` DateTime('UTC'),
    `campaign_id` LowCardinality(String),
    `event_type` LowCardinality(String),
    `events` SimpleAggregateFunction(sum, UInt64),
    `users` AggregateFunction(uniqCombined(14), String),
    `users_default` AggregateFunction(uniqCombined(17), String),
    `users_uniq` AggregateFunction(uniq, String),
    `users_exact` AggregateFunction(uniqExact, String),
    `value` SimpleAggregateFunction(sum, Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toMonday(`hour`)
ORDER BY (`campaign_id`, `hour`, `event_type`)
SETTINGS old_parts_lifetime = 0, cleanup_delay_period = 1, cleanup_delay_period_random_add = 0, index_granularity = 8;
INSERT INTO `analytics`.`events_hourly_day__stg_1` (`hour`, `campaign_id`, `event_type`, `events`, `users`, `users_default`, `users_uniq`, `users_exact`, `value`)
SELECT `hour`, `campaign_id`, `event_type`, `events`, `users`, `users_default`, `users_uniq`, `users_exact`, `value`
FROM `analytics`.`events_hourly_day`
WHERE `hour` >= {partition_start:DateTime} AND `hour` < {partition_end:DateTime} AND NOT (`hour` >= {start:DateTime} AND `hour` < {end:DateTime})
UNION ALL
SELECT `__hg_c0` AS `hour`, `__hg_c1` AS `campaign_id`, `__hg_c2` AS `event_type`, `__hg_c3` AS `events`, `__hg_c4` AS `users`, `__hg_c5` AS `users_default`, `__hg_c6` AS `users_uniq`, `__hg_c7` AS `users_exact`, `__hg_c8` AS `value`
FROM
(
    SELECT
        toStartOfDay(`hour`) AS `__hg_c0`,
        `campaign_id` AS `__hg_c1`,
        `event_type` AS `__hg_c2`,
        sum(`events`) AS `__hg_c3`,
        uniqCombinedMergeState(14)(`users`) AS `__hg_c4`,
        uniqCombinedMergeState(17)(`users_default`) AS `__hg_c5`,
        uniqMergeState(`users_uniq`) AS `__hg_c6`,
        uniqExactMergeState(`users_exact`) AS `__hg_c7`,
        sum(`value`) AS `__hg_c8`
    FROM `analytics`.`events_hourly`
    WHERE `hour` >= {start:DateTime} AND `hour` < {end:DateTime}
    GROUP BY `__hg_c0`, `__hg_c1`, `__hg_c2`
);
ALTER TABLE `analytics`.`events_hourly_day` REPLACE PARTITION ID '20261123' FROM `analytics`.`events_hourly_day__stg_1`;
SELECT count() FROM `analytics`.`events_hourly_day__stg_1` WHERE `hour` >= {partition_start:DateTime} AND `hour` < {partition_end:DateTime};
-- laid out again (deploy, when the table has another partition key)
DROP TABLE IF EXISTS `analytics`.`events_hourly_day__hg_old`;
DROP TABLE IF EXISTS `analytics`.`events_hourly_day__hg_fill`;
CREATE TABLE IF NOT EXISTS `analytics`.`events_hourly_day__hg_fill`
(
    `hour` DateTime('UTC'),
    `campaign_id` LowCardinality(String),
    `event_type` LowCardinality(String),
    `events` SimpleAggregateFunction(sum, UInt64),
    `users` AggregateFunction(uniqCombined(14), String),
    `users_default` AggregateFunction(uniqCombined(17), String),
    `users_uniq` AggregateFunction(uniq, String),
    `users_exact` AggregateFunction(uniqExact, String),
    `value` SimpleAggregateFunction(sum, Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toMonday(`hour`)
ORDER BY (`campaign_id`, `hour`, `event_type`)
SETTINGS old_parts_lifetime = 0, cleanup_delay_period = 1, cleanup_delay_period_random_add = 0, index_granularity = 8;
INSERT INTO `analytics`.`events_hourly_day__hg_fill` (`hour`, `campaign_id`, `event_type`, `events`, `users`, `users_default`, `users_uniq`, `users_exact`, `value`)
SELECT `__hg_c0` AS `hour`, `__hg_c1` AS `campaign_id`, `__hg_c2` AS `event_type`, `__hg_c3` AS `events`, `__hg_c4` AS `users`, `__hg_c5` AS `users_default`, `__hg_c6` AS `users_uniq`, `__hg_c7` AS `users_exact`, `__hg_c8` AS `value`
FROM
(
    SELECT
        toStartOfDay(`hour`) AS `__hg_c0`,
        `campaign_id` AS `__hg_c1`,
        `event_type` AS `__hg_c2`,
        sum(`events`) AS `__hg_c3`,
        uniqCombinedMergeState(14)(`users`) AS `__hg_c4`,
        uniqCombinedMergeState(17)(`users_default`) AS `__hg_c5`,
        uniqMergeState(`users_uniq`) AS `__hg_c6`,
        uniqExactMergeState(`users_exact`) AS `__hg_c7`,
        sum(`value`) AS `__hg_c8`
    FROM `analytics`.`events_hourly`
    GROUP BY `__hg_c0`, `__hg_c1`, `__hg_c2`
);
RENAME TABLE `analytics`.`events_hourly_day` TO `analytics`.`events_hourly_day__hg_old`, `analytics`.`events_hourly_day__hg_fill` TO `analytics`.`events_hourly_day`;
DROP TABLE IF EXISTS `analytics`.`events_hourly_day__hg_old`;
-- merged from the staging table of the finer table's swaps
INSERT INTO `analytics`.`events_hourly_day__stg_1` (`hour`, `campaign_id`, `event_type`, `events`, `users`, `users_default`, `users_uniq`, `users_exact`, `value`)
SELECT `hour`, `campaign_id`, `event_type`, `events`, `users`, `users_default`, `users_uniq`, `users_exact`, `value`
FROM `analytics`.`events_hourly_day`
WHERE `hour` >= {partition_start:DateTime} AND `hour` < {partition_end:DateTime} AND NOT (`hour` >= {start:DateTime} AND `hour` < {end:DateTime})
UNION ALL
SELECT `__hg_c0` AS `hour`, `__hg_c1` AS `campaign_id`, `__hg_c2` AS `event_type`, `__hg_c3` AS `events`, `__hg_c4` AS `users`, `__hg_c5` AS `users_default`, `__hg_c6` AS `users_uniq`, `__hg_c7` AS `users_exact`, `__hg_c8` AS `value`
FROM
(
    SELECT
        toStartOfDay(`hour`) AS `__hg_c0`,
        `campaign_id` AS `__hg_c1`,
        `event_type` AS `__hg_c2`,
        sum(`events`) AS `__hg_c3`,
        uniqCombinedMergeState(14)(`users`) AS `__hg_c4`,
        uniqCombinedMergeState(17)(`users_default`) AS `__hg_c5`,
        uniqMergeState(`users_uniq`) AS `__hg_c6`,
        uniqExactMergeState(`users_exact`) AS `__hg_c7`,
        sum(`value`) AS `__hg_c8`
    FROM `analytics`.`events_hourly__stg_1`
    WHERE `hour` >= {start:DateTime} AND `hour` < {end:DateTime}
    GROUP BY `__hg_c0`, `__hg_c1`, `__hg_c2`
);
