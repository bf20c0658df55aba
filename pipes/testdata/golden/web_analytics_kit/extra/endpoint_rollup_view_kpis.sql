CREATE OR REPLACE VIEW `analytics`.`kpis` AS
SELECT
    `__hg_b` AS `day`,
    `__hg_m0` AS `visits`,
    `__hg_m1` AS `pageviews`,
    `__hg_m2` AS `bounce_rate`,
    `__hg_m3` AS `avg_session_sec`
FROM
(
    SELECT
        toDate(`hour`) AS `__hg_b`,
        sum(`visits`) AS `__hg_m0`,
        sum(`pageviews`) AS `__hg_m1`,
        if((sum(`visits`)) = 0, 0, (sum(`bounces`)) / (sum(`visits`))) AS `__hg_m2`,
        if((sum(`visits`)) = 0, 0, (sum(`session_seconds`)) / (sum(`visits`))) AS `__hg_m3`
    FROM `analytics`.`analytics_sessions_hourly`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
        AND (NOT {__hg_has_device:UInt8} OR `device` = {device:String})
    GROUP BY `__hg_b`
)
ORDER BY `day` WITH FILL FROM toDate({start:DateTime}) TO toDate({end:DateTime} - toIntervalSecond(1)) + 1 STEP toIntervalDay(1)
