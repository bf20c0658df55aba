INSERT INTO `analytics`.`sessions_hourly_staging` (`hour`, `workspace_id`, `campaign_id`, `country`, `device_type`, `referrer`, `session_count`, `unique_users`, `new_sessions`, `bounced_sessions`, `total_duration`, `avg_duration_sum`, `avg_duration_count`, `min_duration`, `max_duration`, `last_landing_page`, `total_revenue`, `max_revenue`, `returning_revenue`, `avg_price_sum`, `avg_price_count`)
SELECT
    `__hg_c0` AS `hour`,
    `__hg_c1` AS `workspace_id`,
    `__hg_c2` AS `campaign_id`,
    `__hg_c3` AS `country`,
    `__hg_c4` AS `device_type`,
    `__hg_c5` AS `referrer`,
    `__hg_c6` AS `session_count`,
    `__hg_c7` AS `unique_users`,
    `__hg_c8` AS `new_sessions`,
    `__hg_c9` AS `bounced_sessions`,
    `__hg_c10` AS `total_duration`,
    `__hg_c11` AS `avg_duration_sum`,
    `__hg_c12` AS `avg_duration_count`,
    `__hg_c13` AS `min_duration`,
    `__hg_c14` AS `max_duration`,
    `__hg_c15` AS `last_landing_page`,
    `__hg_c16` AS `total_revenue`,
    `__hg_c17` AS `max_revenue`,
    `__hg_c18` AS `returning_revenue`,
    `__hg_c19` AS `avg_price_sum`,
    `__hg_c20` AS `avg_price_count`
FROM
(
    SELECT
        toStartOfHour(`started_at`, 'UTC') AS `__hg_c0`,
        `workspace_id` AS `__hg_c1`,
        `campaign_id` AS `__hg_c2`,
        `country` AS `__hg_c3`,
        `device_type` AS `__hg_c4`,
        `referrer` AS `__hg_c5`,
        count() AS `__hg_c6`,
        uniqExactState(`user_id`) AS `__hg_c7`,
        countIf(is_returning = 0) AS `__hg_c8`,
        countIf(duration < 3) AS `__hg_c9`,
        sum(`duration`) AS `__hg_c10`,
        sum(`duration`) AS `__hg_c11`,
        count(`duration`) AS `__hg_c12`,
        min(`duration`) AS `__hg_c13`,
        max(`duration`) AS `__hg_c14`,
        argMaxState(`landing_page`, `started_at`) AS `__hg_c15`,
        sum(`revenue`) AS `__hg_c16`,
        max(`revenue`) AS `__hg_c17`,
        sumIf(`revenue`, is_returning = 1) AS `__hg_c18`,
        sum(`price`) AS `__hg_c19`,
        count(`price`) AS `__hg_c20`
    FROM `analytics`.`sessions_local`
    WHERE `started_at` >= {start:DateTime}
        AND `started_at` < {end:DateTime}
    GROUP BY `__hg_c0`, `__hg_c1`, `__hg_c2`, `__hg_c3`, `__hg_c4`, `__hg_c5`
);
