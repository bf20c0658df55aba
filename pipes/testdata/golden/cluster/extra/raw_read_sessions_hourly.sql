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
        toStartOfHour(`started_at`, 'UTC') AS `__hg_b`,
        `workspace_id` AS `__hg_g0`,
        `campaign_id` AS `__hg_g1`,
        `country` AS `__hg_g2`,
        `device_type` AS `__hg_g3`,
        `referrer` AS `__hg_g4`,
        count() AS `__hg_m0`,
        uniqExact(`user_id`) AS `__hg_m1`,
        countIf(is_returning = 0) AS `__hg_m2`,
        countIf(duration < 3) AS `__hg_m3`,
        sum(`duration`) AS `__hg_m4`,
        avg(`duration`) AS `__hg_m5`,
        min(`duration`) AS `__hg_m6`,
        max(`duration`) AS `__hg_m7`,
        argMax(`landing_page`, `started_at`) AS `__hg_m8`,
        sum(`revenue`) AS `__hg_m9`,
        max(`revenue`) AS `__hg_m10`,
        sumIf(`revenue`, is_returning = 1) AS `__hg_m11`,
        avg(`price`) AS `__hg_m12`
    FROM `analytics`.`sessions`
    WHERE `started_at` >= {start:DateTime}
        AND `started_at` < {end:DateTime}
    GROUP BY `__hg_b`, `__hg_g0`, `__hg_g1`, `__hg_g2`, `__hg_g3`, `__hg_g4`
)
ORDER BY `hour`, `workspace_id`, `campaign_id`, `country`, `device_type`, `referrer`
