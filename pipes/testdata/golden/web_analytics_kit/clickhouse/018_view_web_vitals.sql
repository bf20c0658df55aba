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
        count() AS `__hg_m0`,
        (quantilesDD(0.01, 0.75, 0.95)(CAST((JSONExtractFloat(payload, 'value')) AS Float64)))[1] AS `__hg_m1`,
        (quantilesDD(0.01, 0.75, 0.95)(CAST((JSONExtractFloat(payload, 'value')) AS Float64)))[2] AS `__hg_m2`,
        uniqIf(CAST((coalesce(session_id, '0')) AS String), JSONExtractFloat(payload, 'value') > 4000) AS `__hg_m3`
    FROM `analytics`.`analytics_events`
    WHERE `timestamp` >= {start:DateTime}
        AND `timestamp` < {end:DateTime}
        AND (action = 'web_vital')
        AND (NOT {__hg_has_min_path:UInt8} OR `pathname` >= {min_path:String})
    GROUP BY `__hg_g0`
)
ORDER BY `pathname`;
