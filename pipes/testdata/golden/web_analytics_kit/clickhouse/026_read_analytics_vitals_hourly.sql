SELECT
    `__hg_b` AS `hour`,
    `__hg_g0` AS `pathname`,
    `__hg_m0` AS `samples`,
    `__hg_m1` AS `lcp`,
    `__hg_m2` AS `slow_sessions`
FROM
(
    SELECT
        `hour` AS `__hg_b`,
        `pathname` AS `__hg_g0`,
        sum(`samples`) AS `__hg_m0`,
        quantilesDDMerge(0.01, 0.75, 0.95)(`lcp`) AS `__hg_m1`,
        uniqMerge(`slow_sessions`) AS `__hg_m2`
    FROM `analytics`.`analytics_vitals_hourly`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
    GROUP BY `__hg_b`, `__hg_g0`
)
ORDER BY `hour`, `pathname`;
