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
        toStartOfHour(`timestamp`, 'UTC') AS `__hg_b`,
        `pathname` AS `__hg_g0`,
        `location` AS `__hg_g1`,
        toString(multiIf(match(user_agent, 'iPhone|Android'), 'mobile', 'desktop')) AS `__hg_g2`,
        uniqExact(CAST((coalesce(session_id, '0')) AS String)) AS `__hg_m0`,
        count() AS `__hg_m1`
    FROM `analytics`.`analytics_events`
    WHERE `timestamp` >= {start:DateTime}
        AND `timestamp` < {end:DateTime}
        AND (action = 'page_hit')
    GROUP BY `__hg_b`, `__hg_g0`, `__hg_g1`, `__hg_g2`
)
ORDER BY `hour`, `pathname`, `location`, `device`
