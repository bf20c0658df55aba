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
        count() AS `__hg_m0`,
        countIf(duration < 3) AS `__hg_m1`,
        avg(`duration`) AS `__hg_m2`,
        uniqExact(`user_id`) AS `__hg_m3`
    FROM `analytics`.`sessions`
    WHERE `started_at` >= {start:DateTime}
        AND `started_at` < {end:DateTime}
        AND (NOT {__hg_has_workspace_id:UInt8} OR `workspace_id` = {workspace_id:String})
    GROUP BY `__hg_g0`, `__hg_g1`
)
ORDER BY `session_count` DESC, `country`
LIMIT 10;
