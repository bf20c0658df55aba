CREATE OR REPLACE VIEW `analytics`.`daily` AS
SELECT
    `__hg_b` AS `day`,
    `__hg_g0` AS `event_type`,
    `__hg_m0` AS `events`,
    `__hg_m1` AS `users`
FROM
(
    SELECT
        toDate(toStartOfHour(`ts`, 'UTC')) AS `__hg_b`,
        `event_type` AS `__hg_g0`,
        count() AS `__hg_m0`,
        uniqCombined(14)(`user_id`) AS `__hg_m1`
    FROM `analytics`.`events`
    WHERE `ts` >= {start:DateTime}
        AND `ts` < {end:DateTime}
        AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})
        AND (NOT {__hg_has_event_type:UInt8} OR `event_type` = {event_type:String})
    GROUP BY `__hg_b`, `__hg_g0`
)
ORDER BY `day`, `event_type`;
