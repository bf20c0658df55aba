-- trend over [2026-11-06 00:00:00, 2026-11-21 00:00:00), watermark 2026-11-20 10:00:00: final h×336 + hour×10 + raw h×14; previous: final h×360
-- final trend_final_events_hourly [[2026-11-06 00:00:00, 2026-11-20 00:00:00)] previous=false
-- hour events_hourly [[2026-11-20 00:00:00, 2026-11-20 10:00:00)] previous=false
-- raw events [[2026-11-20 10:00:00, 2026-11-21 00:00:00)] previous=false
-- final trend_final_events_hourly [[2026-10-22 00:00:00, 2026-11-06 00:00:00)] previous=true
-- note: grain week not used: it is coarser than the endpoint's bucket, day
SELECT
    `__hg_b` AS `day`,
    __hg_c.`__hg_m0` AS `events`,
    __hg_p.`__hg_m0` AS `events_previous`,
    if(__hg_p.`__hg_m0` = 0, NULL, (toFloat64(__hg_c.`__hg_m0`) - toFloat64(__hg_p.`__hg_m0`)) / toFloat64(__hg_p.`__hg_m0`)) AS `events_change`,
    __hg_c.`__hg_m1` AS `users`,
    __hg_p.`__hg_m1` AS `users_previous`,
    if(__hg_p.`__hg_m1` = 0, NULL, (toFloat64(__hg_c.`__hg_m1`) - toFloat64(__hg_p.`__hg_m1`)) / toFloat64(__hg_p.`__hg_m1`)) AS `users_change`,
    __hg_c.`__hg_m2` AS `value_per_event`,
    __hg_p.`__hg_m2` AS `value_per_event_previous`,
    if(__hg_p.`__hg_m2` = 0, NULL, (toFloat64(__hg_c.`__hg_m2`) - toFloat64(__hg_p.`__hg_m2`)) / toFloat64(__hg_p.`__hg_m2`)) AS `value_per_event_change`
FROM
(
    SELECT
        toDate(`hour`) AS `__hg_b`,
        `events` AS `__hg_m0`,
        `users` AS `__hg_m1`,
        if((`events`) = 0, 0, (`value`) / (`events`)) AS `__hg_m2`
    FROM `analytics`.`trend_final_events_hourly`
    WHERE `__hg_set` = {__hg_set0:UInt8}
        AND `hour` >= {__hg_s0_0:DateTime} AND `hour` < {__hg_e0_0:DateTime}
        AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})
    UNION ALL
    SELECT
        toDate(`hour`) AS `__hg_b`,
        sum(`events`) AS `__hg_m0`,
        uniqCombinedMerge(14)(`users`) AS `__hg_m1`,
        if((sum(`events`)) = 0, 0, (sum(`value`)) / (sum(`events`))) AS `__hg_m2`
    FROM (
        SELECT `hour`, `events`, `users`, `value`
        FROM `analytics`.`events_hourly`
        WHERE `hour` >= {__hg_s1_0:DateTime} AND `hour` < {__hg_e1_0:DateTime}
            AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})
            AND (NOT {__hg_has_types:UInt8} OR has({types:Array(String)}, `event_type`))
        UNION ALL
        SELECT
            `__hg_c0` AS `hour`,
            `__hg_c1` AS `events`,
            `__hg_c2` AS `users`,
            `__hg_c3` AS `value`
        FROM
        (
            SELECT
                toStartOfHour(`ts`, 'UTC') AS `__hg_c0`,
                count() AS `__hg_c1`,
                uniqCombinedState(14)(`user_id`) AS `__hg_c2`,
                sum(`value`) AS `__hg_c3`
            FROM `analytics`.`events`
            WHERE `ts` >= {__hg_s2_0:DateTime}
                AND `ts` < {__hg_e2_0:DateTime}
                AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})
                AND (NOT {__hg_has_types:UInt8} OR has({types:Array(String)}, `event_type`))
            GROUP BY `__hg_c0`
        )
    )
    GROUP BY `__hg_b`
) AS __hg_c
FULL OUTER JOIN
(
    SELECT
        toDate(`hour`) + toIntervalDay(intDiv(dateDiff('second', {start:DateTime}, {end:DateTime}), 86400)) AS `__hg_b`,
        `events` AS `__hg_m0`,
        `users` AS `__hg_m1`,
        if((`events`) = 0, 0, (`value`) / (`events`)) AS `__hg_m2`
    FROM `analytics`.`trend_final_events_hourly`
    WHERE `__hg_set` = {__hg_set3:UInt8}
        AND `hour` >= {__hg_s3_0:DateTime} AND `hour` < {__hg_e3_0:DateTime}
        AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})
    UNION ALL
    SELECT
        toDate(`hour`) + toIntervalDay(intDiv(dateDiff('second', {start:DateTime}, {end:DateTime}), 86400)) AS `__hg_b`,
        sum(`events`) AS `__hg_m0`,
        uniqCombinedMerge(14)(`users`) AS `__hg_m1`,
        if((sum(`events`)) = 0, 0, (sum(`value`)) / (sum(`events`))) AS `__hg_m2`
    FROM (
        SELECT `hour`, `events`, `users`, `value`
        FROM `analytics`.`events_hourly`
        WHERE 0
            AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})
            AND (NOT {__hg_has_types:UInt8} OR has({types:Array(String)}, `event_type`))
    )
    GROUP BY `__hg_b`
) AS __hg_p USING (`__hg_b`)
ORDER BY `day` WITH FILL FROM toDate({start:DateTime}) TO toDate({end:DateTime} - toIntervalSecond(1)) + 1 STEP toIntervalDay(1)
SETTINGS join_use_nulls = 0;
