SELECT
    `__hg_b` AS `hour`,
    `__hg_g0` AS `event_type`,
    `__hg_g1` AS `utm_source`,
    `__hg_g2` AS `workspace_id`,
    `__hg_g3` AS `campaign_id`,
    `__hg_g4` AS `is_paid`,
    `__hg_m0` AS `event_count`,
    `__hg_m1` AS `unique_sessions`,
    `__hg_m2` AS `unique_users`,
    `__hg_m3` AS `total_value_usd`,
    `__hg_m4` AS `page_unload_count`,
    `__hg_m5` AS `total_time_on_page`
FROM
(
    SELECT
        `hour` AS `__hg_b`,
        `event_type` AS `__hg_g0`,
        `utm_source` AS `__hg_g1`,
        `workspace_id` AS `__hg_g2`,
        `campaign_id` AS `__hg_g3`,
        `is_paid` AS `__hg_g4`,
        sum(`event_count`) AS `__hg_m0`,
        uniqMerge(`unique_sessions`) AS `__hg_m1`,
        uniqMerge(`unique_users`) AS `__hg_m2`,
        sum(`total_value_usd`) AS `__hg_m3`,
        sum(`page_unload_count`) AS `__hg_m4`,
        sum(`total_time_on_page`) AS `__hg_m5`
    FROM `analytics`.`events_hourly`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
    GROUP BY `__hg_b`, `__hg_g0`, `__hg_g1`, `__hg_g2`, `__hg_g3`, `__hg_g4`
)
ORDER BY `hour`, `event_type`, `utm_source`, `workspace_id`, `campaign_id`, `is_paid`;
