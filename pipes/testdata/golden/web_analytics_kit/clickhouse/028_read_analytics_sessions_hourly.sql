SELECT
    `__hg_b` AS `hour`,
    `__hg_g0` AS `device`,
    `__hg_g1` AS `browser`,
    `__hg_g2` AS `location`,
    `__hg_m0` AS `visits`,
    `__hg_m1` AS `pageviews`,
    `__hg_m2` AS `bounces`,
    `__hg_m3` AS `session_seconds`
FROM
(
    SELECT
        `hour` AS `__hg_b`,
        `device` AS `__hg_g0`,
        `browser` AS `__hg_g1`,
        `location` AS `__hg_g2`,
        sum(`visits`) AS `__hg_m0`,
        sum(`pageviews`) AS `__hg_m1`,
        sum(`bounces`) AS `__hg_m2`,
        sum(`session_seconds`) AS `__hg_m3`
    FROM `analytics`.`analytics_sessions_hourly`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
    GROUP BY `__hg_b`, `__hg_g0`, `__hg_g1`, `__hg_g2`
)
ORDER BY `hour`, `device`, `browser`, `location`;
