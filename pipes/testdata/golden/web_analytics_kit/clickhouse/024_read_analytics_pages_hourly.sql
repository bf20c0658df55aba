SELECT
    `__hg_b` AS `hour`,
    `__hg_g0` AS `pathname`,
    `__hg_g1` AS `location`,
    `__hg_g2` AS `device`,
    `__hg_m0` AS `visits`,
    `__hg_m1` AS `hits`
FROM
(
    SELECT
        `hour` AS `__hg_b`,
        `pathname` AS `__hg_g0`,
        `location` AS `__hg_g1`,
        `device` AS `__hg_g2`,
        uniqExactMerge(`visits`) AS `__hg_m0`,
        sum(`hits`) AS `__hg_m1`
    FROM `analytics`.`analytics_pages_hourly`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
    GROUP BY `__hg_b`, `__hg_g0`, `__hg_g1`, `__hg_g2`
)
ORDER BY `hour`, `pathname`, `location`, `device`;
