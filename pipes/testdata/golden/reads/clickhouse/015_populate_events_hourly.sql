INSERT INTO `analytics`.`events_hourly_staging` (`hour`, `campaign_id`, `event_type`, `events`, `users`, `users_default`, `users_uniq`, `users_exact`, `value`)
SELECT
    `__hg_c0` AS `hour`,
    `__hg_c1` AS `campaign_id`,
    `__hg_c2` AS `event_type`,
    `__hg_c3` AS `events`,
    `__hg_c4` AS `users`,
    `__hg_c5` AS `users_default`,
    `__hg_c6` AS `users_uniq`,
    `__hg_c7` AS `users_exact`,
    `__hg_c8` AS `value`
FROM
(
    SELECT
        toStartOfHour(`ts`, 'UTC') AS `__hg_c0`,
        `campaign_id` AS `__hg_c1`,
        `event_type` AS `__hg_c2`,
        count() AS `__hg_c3`,
        uniqCombinedState(14)(`user_id`) AS `__hg_c4`,
        uniqCombinedState(17)(`user_id`) AS `__hg_c5`,
        uniqState(`user_id`) AS `__hg_c6`,
        uniqExactState(`user_id`) AS `__hg_c7`,
        sum(`value`) AS `__hg_c8`
    FROM `analytics`.`events`
    WHERE `ts` >= {start:DateTime}
        AND `ts` < {end:DateTime}
    GROUP BY `__hg_c0`, `__hg_c1`, `__hg_c2`
);
