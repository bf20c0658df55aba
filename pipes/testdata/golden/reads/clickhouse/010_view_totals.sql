CREATE OR REPLACE VIEW `analytics`.`totals` AS
SELECT
    `__hg_m0` AS `events`,
    `__hg_m1` AS `users`,
    `__hg_m2` AS `value`
FROM
(
    SELECT
        count() AS `__hg_m0`,
        uniqCombined(14)(`user_id`) AS `__hg_m1`,
        sum(`value`) AS `__hg_m2`
    FROM `analytics`.`events`
    WHERE `ts` >= {start:DateTime}
        AND `ts` < {end:DateTime}
        AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})
);
