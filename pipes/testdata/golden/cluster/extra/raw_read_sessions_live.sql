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
        toStartOfHour(`started_at`, 'UTC') AS `__hg_b`,
        `workspace_id` AS `__hg_g0`,
        `device_type` AS `__hg_g1`,
        count() AS `__hg_m0`,
        uniq(`user_id`) AS `__hg_m1`,
        argMin(`landing_page`, `started_at`) AS `__hg_m2`
    FROM `analytics`.`sessions`
    WHERE `started_at` >= {start:DateTime}
        AND `started_at` < {end:DateTime}
    GROUP BY `__hg_b`, `__hg_g0`, `__hg_g1`
)
ORDER BY `hour`, `workspace_id`, `device_type`
