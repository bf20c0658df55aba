-- closed_only over [2026-11-01 00:00:00, 2026-11-20 12:00:00), watermark 2026-11-20 10:00:00: week×2 + day×5 + hour×10
-- week events_hourly_week [[2026-11-02 00:00:00, 2026-11-16 00:00:00)] previous=false
-- day events_hourly_day [[2026-11-01 00:00:00, 2026-11-02 00:00:00) [2026-11-16 00:00:00, 2026-11-20 00:00:00)] previous=false
-- hour events_hourly [[2026-11-20 00:00:00, 2026-11-20 10:00:00)] previous=false
-- note: fresh: false: the range ends at the watermark
SELECT
    `__hg_m0` AS `events`
FROM
(
    SELECT
        sum(`events`) AS `__hg_m0`
    FROM (
        SELECT `hour`, `events`
        FROM `analytics`.`events_hourly_week`
        WHERE `hour` >= {__hg_s0_0:DateTime} AND `hour` < {__hg_e0_0:DateTime}
        UNION ALL
        SELECT `hour`, `events`
        FROM `analytics`.`events_hourly_day`
        WHERE (`hour` >= {__hg_s1_0:DateTime} AND `hour` < {__hg_e1_0:DateTime} OR `hour` >= {__hg_s1_1:DateTime} AND `hour` < {__hg_e1_1:DateTime})
        UNION ALL
        SELECT `hour`, `events`
        FROM `analytics`.`events_hourly`
        WHERE `hour` >= {__hg_s2_0:DateTime} AND `hour` < {__hg_e2_0:DateTime}
    )
);
