CREATE MATERIALIZED VIEW IF NOT EXISTS `analytics`.`sessions_live_mv` ON CLUSTER `main` TO `analytics`.`sessions_live_local`
AS SELECT
    `__hg_c0` AS `hour`,
    `__hg_c1` AS `workspace_id`,
    `__hg_c2` AS `device_type`,
    `__hg_c3` AS `session_count`,
    `__hg_c4` AS `unique_users`,
    `__hg_c5` AS `first_landing_page`
FROM
(
    SELECT
        toStartOfHour(`started_at`, 'UTC') AS `__hg_c0`,
        `workspace_id` AS `__hg_c1`,
        `device_type` AS `__hg_c2`,
        count() AS `__hg_c3`,
        uniqState(`user_id`) AS `__hg_c4`,
        argMinState(`landing_page`, `started_at`) AS `__hg_c5`
    FROM `analytics`.`sessions_local`
    WHERE `started_at` >= toDateTime('2025-01-02 03:00:00', 'UTC')
    GROUP BY `__hg_c0`, `__hg_c1`, `__hg_c2`
)
DROP VIEW IF EXISTS `analytics`.`sessions_live_mv` ON CLUSTER `main`
