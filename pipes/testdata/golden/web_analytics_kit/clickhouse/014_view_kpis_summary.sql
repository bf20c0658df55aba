CREATE OR REPLACE VIEW `analytics`.`kpis_summary` AS
SELECT
    __hg_c.`__hg_m0` AS `visits`,
    __hg_p.`__hg_m0` AS `visits_previous`,
    if(__hg_p.`__hg_m0` = 0, NULL, (toFloat64(__hg_c.`__hg_m0`) - toFloat64(__hg_p.`__hg_m0`)) / toFloat64(__hg_p.`__hg_m0`)) AS `visits_change`,
    __hg_c.`__hg_m1` AS `pageviews`,
    __hg_p.`__hg_m1` AS `pageviews_previous`,
    if(__hg_p.`__hg_m1` = 0, NULL, (toFloat64(__hg_c.`__hg_m1`) - toFloat64(__hg_p.`__hg_m1`)) / toFloat64(__hg_p.`__hg_m1`)) AS `pageviews_change`,
    __hg_c.`__hg_m2` AS `bounce_rate`,
    __hg_p.`__hg_m2` AS `bounce_rate_previous`,
    if(__hg_p.`__hg_m2` = 0, NULL, (toFloat64(__hg_c.`__hg_m2`) - toFloat64(__hg_p.`__hg_m2`)) / toFloat64(__hg_p.`__hg_m2`)) AS `bounce_rate_change`,
    __hg_c.`__hg_m3` AS `avg_session_sec`,
    __hg_p.`__hg_m3` AS `avg_session_sec_previous`,
    if(__hg_p.`__hg_m3` = 0, NULL, (toFloat64(__hg_c.`__hg_m3`) - toFloat64(__hg_p.`__hg_m3`)) / toFloat64(__hg_p.`__hg_m3`)) AS `avg_session_sec_change`
FROM
(
    SELECT
        count() AS `__hg_m0`,
        sum(`hits`) AS `__hg_m1`,
        if((count()) = 0, 0, (countIf(hits = 1)) / (count())) AS `__hg_m2`,
        if((count()) = 0, 0, (sum(CAST((dateDiff('second', first_hit, latest_hit)) AS Int64))) / (count())) AS `__hg_m3`
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
) AS __hg_c
CROSS JOIN
(
    SELECT
        count() AS `__hg_m0`,
        sum(`hits`) AS `__hg_m1`,
        if((count()) = 0, 0, (countIf(hits = 1)) / (count())) AS `__hg_m2`,
        if((count()) = 0, 0, (sum(CAST((dateDiff('second', first_hit, latest_hit)) AS Int64))) / (count())) AS `__hg_m3`
    FROM (
    SELECT `__hg_e0` AS `session_id`, `__hg_e1` AS `first_hit`, `__hg_e2` AS `latest_hit`, `__hg_e3` AS `hits`, `__hg_e4` AS `device`, `__hg_e5` AS `browser`, `__hg_e6` AS `location`, `__hg_e7` AS `referrer`
    FROM
    (
        SELECT toString(coalesce(session_id, '0')) AS `__hg_e0`, min(`timestamp`) AS `__hg_e1`, max(`timestamp`) AS `__hg_e2`, count() AS `__hg_e3`, any(CAST((multiIf(match(user_agent, 'iPhone|Android'), 'mobile', 'desktop')) AS String)) AS `__hg_e4`, any(CAST((multiIf(match(user_agent, 'Firefox'), 'firefox', match(user_agent, 'Safari') AND NOT match(user_agent, 'Chrome'), 'safari', 'chrome')) AS String)) AS `__hg_e5`, any(`location`) AS `__hg_e6`, anyLast(`referrer`) AS `__hg_e7`
        FROM `analytics`.`analytics_events`
        WHERE `timestamp` >= ({start:DateTime} - toIntervalSecond(dateDiff('second', {start:DateTime}, {end:DateTime}))) - INTERVAL 14400 SECOND AND `timestamp` < {start:DateTime} + INTERVAL 14400 SECOND AND (action = 'page_hit')
        GROUP BY `__hg_e0`
    )
)
    WHERE `first_hit` >= ({start:DateTime} - toIntervalSecond(dateDiff('second', {start:DateTime}, {end:DateTime})))
        AND `first_hit` < {start:DateTime}
) AS __hg_p
SETTINGS join_use_nulls = 0;
