SELECT
    `__hg_b` AS `hour`,
    `__hg_g0` AS `session_id`,
    `__hg_m0` AS `first_hit`,
    `__hg_m1` AS `latest_hit`,
    `__hg_m2` AS `hits`,
    `__hg_m3` AS `device`,
    `__hg_m4` AS `browser`,
    `__hg_m5` AS `location`,
    `__hg_m6` AS `referrer`
FROM
(
    SELECT
        toStartOfHour(`timestamp`, 'UTC') AS `__hg_b`,
        toString(coalesce(session_id, '0')) AS `__hg_g0`,
        min(`timestamp`) AS `__hg_m0`,
        max(`timestamp`) AS `__hg_m1`,
        count() AS `__hg_m2`,
        any(CAST((multiIf(match(user_agent, 'iPhone|Android'), 'mobile', 'desktop')) AS String)) AS `__hg_m3`,
        any(CAST((multiIf(match(user_agent, 'Firefox'), 'firefox', match(user_agent, 'Safari') AND NOT match(user_agent, 'Chrome'), 'safari', 'chrome')) AS String)) AS `__hg_m4`,
        any(`location`) AS `__hg_m5`,
        anyLast(`referrer`) AS `__hg_m6`
    FROM `analytics`.`analytics_events`
    WHERE `timestamp` >= {start:DateTime}
        AND `timestamp` < {end:DateTime}
        AND (action = 'page_hit')
    GROUP BY `__hg_b`, `__hg_g0`
)
ORDER BY `hour`, `session_id`
