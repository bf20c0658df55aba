INSERT INTO `analytics`.`events_hourly_staging` (`hour`, `event_type`, `utm_source`, `workspace_id`, `campaign_id`, `is_paid`, `event_count`, `unique_sessions`, `unique_users`, `total_value_usd`, `page_unload_count`, `total_time_on_page`)
SELECT
    `__hg_c0` AS `hour`,
    `__hg_c1` AS `event_type`,
    `__hg_c2` AS `utm_source`,
    `__hg_c3` AS `workspace_id`,
    `__hg_c4` AS `campaign_id`,
    `__hg_c5` AS `is_paid`,
    `__hg_c6` AS `event_count`,
    `__hg_c7` AS `unique_sessions`,
    `__hg_c8` AS `unique_users`,
    `__hg_c9` AS `total_value_usd`,
    `__hg_c10` AS `page_unload_count`,
    `__hg_c11` AS `total_time_on_page`
FROM
(
    SELECT
        toStartOfHour(toDateTime(`timestamp`, 'UTC')) AS `__hg_c0`,
        `event_type` AS `__hg_c1`,
        `utm_source` AS `__hg_c2`,
        `workspace_id` AS `__hg_c3`,
        `campaign_id` AS `__hg_c4`,
        toString(value_usd > 0) AS `__hg_c5`,
        count() AS `__hg_c6`,
        uniqState(`session_id`) AS `__hg_c7`,
        uniqState(`user_id`) AS `__hg_c8`,
        sum(`value_usd`) AS `__hg_c9`,
        countIf(event_type = 'page_unload') AS `__hg_c10`,
        sum(`time_on_page`) AS `__hg_c11`
    FROM `analytics`.`events_local`
    WHERE `timestamp` >= {start:DateTime}
        AND `timestamp` < {end:DateTime}
        AND (event_type != 'debug')
    GROUP BY `__hg_c0`, `__hg_c1`, `__hg_c2`, `__hg_c3`, `__hg_c4`, `__hg_c5`
);
