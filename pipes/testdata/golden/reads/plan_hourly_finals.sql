-- hourly over [2026-11-01 00:00:00, 2026-11-20 12:00:00), watermark 2026-11-20 10:00:00: final h×466 + raw h×2
-- final hourly_final_events_hourly [[2026-11-01 00:00:00, 2026-11-20 10:00:00)] previous=false
-- raw events [[2026-11-20 10:00:00, 2026-11-20 12:00:00)] previous=false
-- note: grain week not used: it is coarser than the endpoint's bucket, hour
-- note: grain day not used: it is coarser than the endpoint's bucket, hour
SELECT
    `__hg_b` AS `hour`,
    `__hg_m0` AS `events`,
    `__hg_m1` AS `users`
FROM
(
    SELECT
        `hour` AS `__hg_b`,
        `events` AS `__hg_m0`,
        `users` AS `__hg_m1`
    FROM `analytics`.`hourly_final_events_hourly`
    WHERE `__hg_set` = {__hg_set0:UInt8}
        AND `hour` >= {__hg_s0_0:DateTime} AND `hour` < {__hg_e0_0:DateTime}
        AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})
    UNION ALL
    SELECT
        `hour` AS `__hg_b`,
        sum(`events`) AS `__hg_m0`,
        uniqCombinedMerge(14)(`users`) AS `__hg_m1`
    FROM (
        SELECT
            `__hg_c0` AS `hour`,
            `__hg_c1` AS `events`,
            `__hg_c2` AS `users`
        FROM
        (
            SELECT
                toStartOfHour(`ts`, 'UTC') AS `__hg_c0`,
                count() AS `__hg_c1`,
                uniqCombinedState(14)(`user_id`) AS `__hg_c2`
            FROM `analytics`.`events`
            WHERE `ts` >= {__hg_s1_0:DateTime}
                AND `ts` < {__hg_e1_0:DateTime}
                AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})
            GROUP BY `__hg_c0`
        )
    )
    GROUP BY `__hg_b`
)
ORDER BY `hour`;
