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
        sum(`visits`) AS `__hg_m0`,
        sum(`pageviews`) AS `__hg_m1`,
        if((sum(`visits`)) = 0, 0, (sum(`bounces`)) / (sum(`visits`))) AS `__hg_m2`,
        if((sum(`visits`)) = 0, 0, (sum(`session_seconds`)) / (sum(`visits`))) AS `__hg_m3`
    FROM `analytics`.`analytics_sessions_hourly`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
) AS __hg_c
CROSS JOIN
(
    SELECT
        sum(`visits`) AS `__hg_m0`,
        sum(`pageviews`) AS `__hg_m1`,
        if((sum(`visits`)) = 0, 0, (sum(`bounces`)) / (sum(`visits`))) AS `__hg_m2`,
        if((sum(`visits`)) = 0, 0, (sum(`session_seconds`)) / (sum(`visits`))) AS `__hg_m3`
    FROM `analytics`.`analytics_sessions_hourly`
    WHERE `hour` >= ({start:DateTime} - toIntervalSecond(dateDiff('second', {start:DateTime}, {end:DateTime})))
        AND `hour` < {start:DateTime}
) AS __hg_p
SETTINGS join_use_nulls = 0
