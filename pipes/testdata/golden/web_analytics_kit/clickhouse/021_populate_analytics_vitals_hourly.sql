INSERT INTO `analytics`.`analytics_vitals_hourly_staging` (`hour`, `pathname`, `samples`, `lcp`, `slow_sessions`)
SELECT
    `__hg_c0` AS `hour`,
    `__hg_c1` AS `pathname`,
    `__hg_c2` AS `samples`,
    `__hg_c3` AS `lcp`,
    `__hg_c4` AS `slow_sessions`
FROM
(
    SELECT
        toStartOfHour(`timestamp`, 'UTC') AS `__hg_c0`,
        `pathname` AS `__hg_c1`,
        count() AS `__hg_c2`,
        quantilesDDState(0.01, 0.75, 0.95)(CAST((JSONExtractFloat(payload, 'value')) AS Float64)) AS `__hg_c3`,
        uniqStateIf(CAST((coalesce(session_id, '0')) AS String), JSONExtractFloat(payload, 'value') > 4000) AS `__hg_c4`
    FROM `analytics`.`analytics_events`
    WHERE `timestamp` >= {start:DateTime}
        AND `timestamp` < {end:DateTime}
        AND (action = 'web_vital')
    GROUP BY `__hg_c0`, `__hg_c1`
);
