-- totals over [2026-11-02 00:00:00, 2026-11-03 00:00:00), watermark 0001-01-01 00:00:00: raw h×24
-- raw events [[2026-11-02 00:00:00, 2026-11-03 00:00:00)] previous=false
SELECT
    `__hg_m0` AS `events`,
    `__hg_m1` AS `users`,
    `__hg_m2` AS `value`
FROM
(
    SELECT
        sum(`events`) AS `__hg_m0`,
        uniqCombinedMerge(14)(`users`) AS `__hg_m1`,
        sum(`value`) AS `__hg_m2`
    FROM (
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
            WHERE `ts` >= {__hg_s0_0:DateTime}
                AND `ts` < {__hg_e0_0:DateTime}
                AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})
            GROUP BY `__hg_c0`
        )
    )
);
