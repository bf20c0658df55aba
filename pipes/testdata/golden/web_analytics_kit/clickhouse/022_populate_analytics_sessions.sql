INSERT INTO `analytics`.`analytics_sessions_staging` (`hour`, `session_id`, `first_hit`, `latest_hit`, `hits`, `device`, `browser`, `location`, `referrer`)
SELECT
    `__hg_c0` AS `hour`,
    `__hg_c1` AS `session_id`,
    `__hg_c2` AS `first_hit`,
    `__hg_c3` AS `latest_hit`,
    `__hg_c4` AS `hits`,
    `__hg_c5` AS `device`,
    `__hg_c6` AS `browser`,
    `__hg_c7` AS `location`,
    `__hg_c8` AS `referrer`
FROM
(
    SELECT
        toStartOfHour(`timestamp`, 'UTC') AS `__hg_c0`,
        toString(coalesce(session_id, '0')) AS `__hg_c1`,
        min(`timestamp`) AS `__hg_c2`,
        max(`timestamp`) AS `__hg_c3`,
        count() AS `__hg_c4`,
        any(CAST((multiIf(match(user_agent, 'iPhone|Android'), 'mobile', 'desktop')) AS String)) AS `__hg_c5`,
        any(CAST((multiIf(match(user_agent, 'Firefox'), 'firefox', match(user_agent, 'Safari') AND NOT match(user_agent, 'Chrome'), 'safari', 'chrome')) AS String)) AS `__hg_c6`,
        any(`location`) AS `__hg_c7`,
        anyLast(`referrer`) AS `__hg_c8`
    FROM `analytics`.`analytics_events`
    WHERE `timestamp` >= {start:DateTime}
        AND `timestamp` < {end:DateTime}
        AND (action = 'page_hit')
    GROUP BY `__hg_c0`, `__hg_c1`
);
