CREATE OR REPLACE VIEW `analytics`.`trend` AS
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
        toDate(toStartOfHour(`ts`, 'UTC')) AS `__hg_b`,
        count() AS `__hg_m0`,
        uniqCombined(14)(`user_id`) AS `__hg_m1`,
        if((count()) = 0, 0, (sum(`value`)) / (count())) AS `__hg_m2`
    FROM `analytics`.`events`
    WHERE `ts` >= {start:DateTime}
        AND `ts` < {end:DateTime}
        AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})
        AND (NOT {__hg_has_types:UInt8} OR has({types:Array(String)}, `event_type`))
    GROUP BY `__hg_b`
) AS __hg_c
FULL OUTER JOIN
(
    SELECT
        toDate(toStartOfHour(`ts`, 'UTC')) + toIntervalDay(intDiv(dateDiff('second', {start:DateTime}, {end:DateTime}), 86400)) AS `__hg_b`,
        count() AS `__hg_m0`,
        uniqCombined(14)(`user_id`) AS `__hg_m1`,
        if((count()) = 0, 0, (sum(`value`)) / (count())) AS `__hg_m2`
    FROM `analytics`.`events`
    WHERE `ts` >= ({start:DateTime} - toIntervalSecond(dateDiff('second', {start:DateTime}, {end:DateTime})))
        AND `ts` < {start:DateTime}
        AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})
        AND (NOT {__hg_has_types:UInt8} OR has({types:Array(String)}, `event_type`))
    GROUP BY `__hg_b`
) AS __hg_p USING (`__hg_b`)
ORDER BY `day` WITH FILL FROM toDate({start:DateTime}) TO toDate({end:DateTime} - toIntervalSecond(1)) + 1 STEP toIntervalDay(1)
SETTINGS join_use_nulls = 0;
