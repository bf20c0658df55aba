CREATE OR REPLACE VIEW `analytics`.`web_vitals` AS
SELECT
    `__hg_g0` AS `pathname`,
    `__hg_m0` AS `samples`,
    `__hg_m1` AS `lcp_p75`,
    `__hg_m2` AS `lcp_p95`,
    `__hg_m3` AS `slow_sessions`
FROM
(
    SELECT
        `pathname` AS `__hg_g0`,
        sum(`samples`) AS `__hg_m0`,
        (quantilesDDMerge(0.01, 0.75, 0.95)(`lcp`))[1] AS `__hg_m1`,
        (quantilesDDMerge(0.01, 0.75, 0.95)(`lcp`))[2] AS `__hg_m2`,
        uniqMerge(`slow_sessions`) AS `__hg_m3`
    FROM `analytics`.`analytics_vitals_hourly`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
        AND (NOT {__hg_has_min_path:UInt8} OR `pathname` >= {min_path:String})
    GROUP BY `__hg_g0`
)
ORDER BY `pathname`
