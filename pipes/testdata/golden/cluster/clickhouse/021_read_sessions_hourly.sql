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
    FROM `analytics`.`sessions_hourly`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
    GROUP BY `__hg_b`, `__hg_g0`, `__hg_g1`, `__hg_g2`, `__hg_g3`, `__hg_g4`
)
ORDER BY `hour`, `workspace_id`, `campaign_id`, `country`, `device_type`, `referrer`;
