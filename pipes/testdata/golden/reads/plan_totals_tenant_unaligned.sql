-- totals over [2026-11-02 07:20:00, 2026-11-20 09:00:00), watermark 2026-11-20 10:00:00: week×1 + day×10 + hour×25 + raw h×1
-- week events_hourly_week [[2026-11-09 00:00:00, 2026-11-16 00:00:00)] previous=false
-- day events_hourly_day [[2026-11-03 00:00:00, 2026-11-09 00:00:00) [2026-11-16 00:00:00, 2026-11-20 00:00:00)] previous=false
-- hour events_hourly [[2026-11-02 08:00:00, 2026-11-03 00:00:00) [2026-11-20 00:00:00, 2026-11-20 09:00:00)] previous=false
-- raw events [[2026-11-02 07:20:00, 2026-11-02 08:00:00)] previous=false
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
        SELECT `hour`, `events`, `users`, `value`
        FROM `analytics`.`events_hourly_week`
        WHERE `hour` >= {__hg_s0_0:DateTime} AND `hour` < {__hg_e0_0:DateTime}
            AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})
        UNION ALL
        SELECT `hour`, `events`, `users`, `value`
        FROM `analytics`.`events_hourly_day`
        WHERE (`hour` >= {__hg_s1_0:DateTime} AND `hour` < {__hg_e1_0:DateTime} OR `hour` >= {__hg_s1_1:DateTime} AND `hour` < {__hg_e1_1:DateTime})
            AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})
        UNION ALL
        SELECT `hour`, `events`, `users`, `value`
        FROM `analytics`.`events_hourly`
        WHERE (`hour` >= {__hg_s2_0:DateTime} AND `hour` < {__hg_e2_0:DateTime} OR `hour` >= {__hg_s2_1:DateTime} AND `hour` < {__hg_e2_1:DateTime})
            AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})
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
            WHERE `ts` >= {__hg_s3_0:DateTime}
                AND `ts` < {__hg_e3_0:DateTime}
                AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})
            GROUP BY `__hg_c0`
        )
    )
);
