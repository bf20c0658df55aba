CREATE OR REPLACE VIEW `analytics`.`audience_breakdown` ON CLUSTER `main` AS
SELECT
    `__hg_g0` AS `country`,
    `__hg_g1` AS `device_type`,
    `__hg_m0` AS `session_count`,
    `__hg_m1` AS `bounced_sessions`,
    `__hg_m2` AS `avg_duration`,
    `__hg_m3` AS `unique_users`
FROM
(
    SELECT
        `country` AS `__hg_g0`,
        `device_type` AS `__hg_g1`,
        sum(`session_count`) AS `__hg_m0`,
        sum(`bounced_sessions`) AS `__hg_m1`,
        sum(`avg_duration_sum`) / sum(`avg_duration_count`) AS `__hg_m2`,
        uniqExactMerge(`unique_users`) AS `__hg_m3`
    FROM `analytics`.`sessions_hourly`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
        AND (NOT {__hg_has_workspace_id:UInt8} OR `workspace_id` = {workspace_id:String})
    GROUP BY `__hg_g0`, `__hg_g1`
)
ORDER BY `session_count` DESC, `country`
LIMIT 10
