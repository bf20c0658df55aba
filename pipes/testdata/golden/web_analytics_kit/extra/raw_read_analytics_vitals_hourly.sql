SELECT
    `__hg_b` AS `hour`,
    `__hg_g0` AS `pathname`,
    `__hg_m0` AS `samples`,
    `__hg_m1` AS `lcp`,
    `__hg_m2` AS `slow_sessions`
FROM
(
    SELECT
        toStartOfHour(`timestamp`, 'UTC') AS `__hg_b`,
        `pathname` AS `__hg_g0`,
        count() AS `__hg_m0`,
        quantilesDD(0.01, 0.75, 0.95)(CAST((JSONExtractFloat(payload, 'value')) AS Float64)) AS `__hg_m1`,
        uniqIf(CAST((coalesce(session_id, '0')) AS String), JSONExtractFloat(payload, 'value') > 4000) AS `__hg_m2`
    FROM `analytics`.`analytics_events`
    WHERE `timestamp` >= {start:DateTime}
        AND `timestamp` < {end:DateTime}
        AND (action = 'web_vital')
    GROUP BY `__hg_b`, `__hg_g0`
)
ORDER BY `hour`, `pathname`
