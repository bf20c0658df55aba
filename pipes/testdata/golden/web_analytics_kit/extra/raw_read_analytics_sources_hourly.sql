SELECT
    `__hg_b` AS `hour`,
    `__hg_g0` AS `referrer`,
    `__hg_g1` AS `location`,
    `__hg_m0` AS `visits`,
    `__hg_m1` AS `hits`
FROM
(
    SELECT
        toStartOfHour(`timestamp`, 'UTC') AS `__hg_b`,
        `referrer` AS `__hg_g0`,
        `location` AS `__hg_g1`,
        uniqExact(CAST((coalesce(session_id, '0')) AS String)) AS `__hg_m0`,
        count() AS `__hg_m1`
    FROM `analytics`.`analytics_events`
    WHERE `timestamp` >= {start:DateTime}
        AND `timestamp` < {end:DateTime}
        AND (action = 'page_hit')
    GROUP BY `__hg_b`, `__hg_g0`, `__hg_g1`
)
ORDER BY `hour`, `referrer`, `location`
