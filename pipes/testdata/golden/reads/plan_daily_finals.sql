-- daily over [2026-11-01 05:00:00, 2026-11-20 12:00:00), watermark 2026-11-20 10:00:00: final h×432 + hour×29 + raw h×2
-- final daily_final_events_hourly [[2026-11-02 00:00:00, 2026-11-20 00:00:00)] previous=false
-- hour events_hourly [[2026-11-01 05:00:00, 2026-11-02 00:00:00) [2026-11-20 00:00:00, 2026-11-20 10:00:00)] previous=false
-- raw events [[2026-11-20 10:00:00, 2026-11-20 12:00:00)] previous=false
-- note: grain week not used: it is coarser than the endpoint's bucket, day
SELECT
    `__hg_b` AS `day`,
    `__hg_g0` AS `event_type`,
    `__hg_m0` AS `events`,
    `__hg_m1` AS `users`
FROM
(
    SELECT
        toDate(`hour`) AS `__hg_b`,
        `event_type` AS `__hg_g0`,
        `events` AS `__hg_m0`,
        `users` AS `__hg_m1`
    FROM `analytics`.`daily_final_events_hourly`
    WHERE `__hg_set` = {__hg_set0:UInt8}
        AND `hour` >= {__hg_s0_0:DateTime} AND `hour` < {__hg_e0_0:DateTime}
    UNION ALL
    SELECT
        toDate(`hour`) AS `__hg_b`,
        `event_type` AS `__hg_g0`,
        sum(`events`) AS `__hg_m0`,
        uniqCombinedMerge(14)(`users`) AS `__hg_m1`
    FROM (
        SELECT `hour`, `event_type`, `events`, `users`
        FROM `analytics`.`events_hourly`
        WHERE (`hour` >= {__hg_s1_0:DateTime} AND `hour` < {__hg_e1_0:DateTime} OR `hour` >= {__hg_s1_1:DateTime} AND `hour` < {__hg_e1_1:DateTime})
            AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})
            AND (NOT {__hg_has_event_type:UInt8} OR `event_type` = {event_type:String})
        UNION ALL
        SELECT
            `__hg_c0` AS `hour`,
            `__hg_c1` AS `event_type`,
            `__hg_c2` AS `events`,
            `__hg_c3` AS `users`
        FROM
        (
            SELECT
                toStartOfHour(`ts`, 'UTC') AS `__hg_c0`,
                `event_type` AS `__hg_c1`,
                count() AS `__hg_c2`,
                uniqCombinedState(14)(`user_id`) AS `__hg_c3`
            FROM `analytics`.`events`
            WHERE `ts` >= {__hg_s2_0:DateTime}
                AND `ts` < {__hg_e2_0:DateTime}
                AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})
                AND (NOT {__hg_has_event_type:UInt8} OR `event_type` = {event_type:String})
            GROUP BY `__hg_c0`, `__hg_c1`
        )
    )
    GROUP BY `__hg_b`, `__hg_g0`
)
ORDER BY `day`, `event_type`;
