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
    FROM `analytics`.`sessions_live`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
    GROUP BY `__hg_b`, `__hg_g0`, `__hg_g1`
)
ORDER BY `hour`, `workspace_id`, `device_type`;
