CREATE OR REPLACE VIEW `analytics`.`hourly` AS
SELECT
    `__hg_b` AS `hour`,
    `__hg_m0` AS `events`,
    `__hg_m1` AS `users`
FROM
(
    SELECT
        toStartOfHour(`ts`, 'UTC') AS `__hg_b`,
        count() AS `__hg_m0`,
        uniqCombined(14)(`user_id`) AS `__hg_m1`
    FROM `analytics`.`events`
    WHERE `ts` >= {start:DateTime}
        AND `ts` < {end:DateTime}
        AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})
    GROUP BY `__hg_b`
)
ORDER BY `hour`;
