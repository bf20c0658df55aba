-- session_count numeric=true float=false
-- unique_users numeric=true float=false
-- first_landing_page numeric=false float=false
-- __hg_w_session_count numeric=true float=false

SELECT
    `__hg_f0` AS `partition`,
    `__hg_f1` AS `session_count`,
    `__hg_f2` AS `unique_users`,
    `__hg_f3` AS `first_landing_page`,
    `__hg_f4` AS `__hg_w_session_count`
FROM
(
    SELECT
        toStartOfDay(toStartOfHour(`started_at`, 'UTC')) AS `__hg_f0`,
        count() AS `__hg_f1`,
        uniq(`user_id`) AS `__hg_f2`,
        argMin(`landing_page`, `started_at`) AS `__hg_f3`,
        sum(bitOr(cityHash64(toStartOfHour(`started_at`, 'UTC'), `workspace_id`, `device_type`), 1)) AS `__hg_f4`
    FROM `analytics`.`sessions`
    WHERE `started_at` >= {start:DateTime}
        AND `started_at` < {end:DateTime}
    GROUP BY `__hg_f0`
);

SELECT
    `__hg_f0` AS `partition`,
    `__hg_f1` AS `session_count`,
    `__hg_f2` AS `unique_users`,
    `__hg_f3` AS `first_landing_page`,
    `__hg_f4` AS `__hg_w_session_count`
FROM
(
    SELECT
        toStartOfDay(`hour`) AS `__hg_f0`,
        sum(`session_count`) AS `__hg_f1`,
        uniqMerge(`unique_users`) AS `__hg_f2`,
        argMinMerge(`first_landing_page`) AS `__hg_f3`,
        sum(toUInt64(`session_count`) * bitOr(cityHash64(`hour`, `workspace_id`, `device_type`), 1)) AS `__hg_f4`
    FROM `analytics`.`sessions_live`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
    GROUP BY `__hg_f0`
);
