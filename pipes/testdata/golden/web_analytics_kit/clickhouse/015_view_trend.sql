CREATE OR REPLACE VIEW `analytics`.`trend` AS
SELECT
    `__hg_b` AS `hour`,
    `__hg_m0` AS `visits`
FROM
(
    SELECT
        toStartOfHour(`first_hit`, 'UTC') AS `__hg_b`,
        count() AS `__hg_m0`
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
        AND (NOT {__hg_has_browsers:UInt8} OR has({browsers:Array(String)}, `browser`))
    GROUP BY `__hg_b`
)
ORDER BY `hour` WITH FILL FROM toStartOfHour({start:DateTime}) TO {end:DateTime} STEP toIntervalHour(1);
