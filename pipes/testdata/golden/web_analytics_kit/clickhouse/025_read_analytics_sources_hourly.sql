SELECT
    `__hg_b` AS `hour`,
    `__hg_g0` AS `referrer`,
    `__hg_g1` AS `location`,
    `__hg_m0` AS `visits`,
    `__hg_m1` AS `hits`
FROM
(
    SELECT
        `hour` AS `__hg_b`,
        `referrer` AS `__hg_g0`,
        `location` AS `__hg_g1`,
        uniqExactMerge(`visits`) AS `__hg_m0`,
        sum(`hits`) AS `__hg_m1`
    FROM `analytics`.`analytics_sources_hourly`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
    GROUP BY `__hg_b`, `__hg_g0`, `__hg_g1`
)
ORDER BY `hour`, `referrer`, `location`;
