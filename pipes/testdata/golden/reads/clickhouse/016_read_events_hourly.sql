SELECT
    `__hg_b` AS `hour`,
    `__hg_g0` AS `campaign_id`,
    `__hg_g1` AS `event_type`,
    `__hg_m0` AS `events`,
    `__hg_m1` AS `users`,
    `__hg_m2` AS `users_default`,
    `__hg_m3` AS `users_uniq`,
    `__hg_m4` AS `users_exact`,
    `__hg_m5` AS `value`
FROM
(
    SELECT
        `hour` AS `__hg_b`,
        `campaign_id` AS `__hg_g0`,
        `event_type` AS `__hg_g1`,
        sum(`events`) AS `__hg_m0`,
        uniqCombinedMerge(14)(`users`) AS `__hg_m1`,
        uniqCombinedMerge(17)(`users_default`) AS `__hg_m2`,
        uniqMerge(`users_uniq`) AS `__hg_m3`,
        uniqExactMerge(`users_exact`) AS `__hg_m4`,
        sum(`value`) AS `__hg_m5`
    FROM `analytics`.`events_hourly`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
    GROUP BY `__hg_b`, `__hg_g0`, `__hg_g1`
)
ORDER BY `hour`, `campaign_id`, `event_type`;
