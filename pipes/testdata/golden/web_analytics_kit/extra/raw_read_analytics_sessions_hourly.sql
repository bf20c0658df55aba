SELECT
    `__hg_b` AS `hour`,
    `__hg_g0` AS `device`,
    `__hg_g1` AS `browser`,
    `__hg_g2` AS `location`,
    `__hg_m0` AS `visits`,
    `__hg_m1` AS `pageviews`,
    `__hg_m2` AS `bounces`,
    `__hg_m3` AS `session_seconds`
FROM
(
    SELECT
        toStartOfHour(`first_hit`, 'UTC') AS `__hg_b`,
        `device` AS `__hg_g0`,
        `browser` AS `__hg_g1`,
        `location` AS `__hg_g2`,
        count() AS `__hg_m0`,
        sum(`hits`) AS `__hg_m1`,
        countIf(hits = 1) AS `__hg_m2`,
        sum(CAST((dateDiff('second', first_hit, latest_hit)) AS Int64)) AS `__hg_m3`
    FROM (
    SELECT `__hg_e0` AS `session_id`, `__hg_e1` AS `first_hit`, `__hg_e2` AS `latest_hit`, `__hg_e3` AS `hits`, `__hg_e4` AS `device`, `__hg_e5` AS `browser`, `__hg_e6` AS `location`, `__hg_e7` AS `referrer`
    FROM
    (
        SELECT toString(coalesce(session_id, '0')) AS `__hg_e0`, min(`timestamp`) AS `__hg_e1`, max(`timestamp`) AS `__hg_e2`, count() AS `__hg_e3`, any(CAST((multiIf(match(user_agent, 'iPhone|Android'), 'mobile', 'desktop')) AS String)) AS `__hg_e4`, any(CAST((multiIf(match(user_agent, 'Firefox'), 'firefox', match(user_agent, 'Safari') AND NOT match(user_agent, 'Chrome'), 'safari', 'chrome')) AS String)) AS `__hg_e5`, any(`location`) AS `__hg_e6`, anyLast(`referrer`) AS `__hg_e7`
        FROM `analytics`.`analytics_events`
        WHERE `timestamp` >= {start:DateTime} - INTERVAL 14400 SECOND AND `timestamp` < {end:DateTime} + INTERVAL 14400 SECOND AND (action = 'page_hit')
        GROUP BY `__hg_e0`
    )
)
    WHERE `first_hit` >= {start:DateTime}
        AND `first_hit` < {end:DateTime}
    GROUP BY `__hg_b`, `__hg_g0`, `__hg_g1`, `__hg_g2`
)
ORDER BY `hour`, `device`, `browser`, `location`
