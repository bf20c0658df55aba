SELECT
    `__hg_b` AS `hour`,
    `__hg_g0` AS `session_id`,
    `__hg_m0` AS `first_hit`,
    `__hg_m1` AS `latest_hit`,
    `__hg_m2` AS `hits`,
    `__hg_m3` AS `device`,
    `__hg_m4` AS `browser`,
    `__hg_m5` AS `location`,
    `__hg_m6` AS `referrer`
FROM
(
    SELECT
        `hour` AS `__hg_b`,
        `session_id` AS `__hg_g0`,
        CAST(min(`first_hit`) AS DateTime) AS `__hg_m0`,
        CAST(max(`latest_hit`) AS DateTime) AS `__hg_m1`,
        sum(`hits`) AS `__hg_m2`,
        CAST(any(`device`) AS String) AS `__hg_m3`,
        CAST(any(`browser`) AS String) AS `__hg_m4`,
        CAST(any(`location`) AS String) AS `__hg_m5`,
        CAST(anyLast(`referrer`) AS String) AS `__hg_m6`
    FROM `analytics`.`analytics_sessions`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
    GROUP BY `__hg_b`, `__hg_g0`
)
ORDER BY `hour`, `session_id`;
