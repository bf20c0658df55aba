-- event_count numeric=true float=false
-- unique_sessions numeric=true float=false
-- unique_users numeric=true float=false
-- total_value_usd numeric=true float=true
-- page_unload_count numeric=true float=false
-- total_time_on_page numeric=true float=false
-- __hg_w_event_count numeric=true float=false
-- __hg_w_total_value_usd numeric=true float=true
-- __hg_w_page_unload_count numeric=true float=false
-- __hg_w_total_time_on_page numeric=true float=false

SELECT
    `__hg_f0` AS `partition`,
    `__hg_f1` AS `event_count`,
    `__hg_f2` AS `unique_sessions`,
    `__hg_f3` AS `unique_users`,
    `__hg_f4` AS `total_value_usd`,
    `__hg_f5` AS `page_unload_count`,
    `__hg_f6` AS `total_time_on_page`,
    `__hg_f7` AS `__hg_w_event_count`,
    `__hg_f8` AS `__hg_w_total_value_usd`,
    `__hg_f9` AS `__hg_w_page_unload_count`,
    `__hg_f10` AS `__hg_w_total_time_on_page`
FROM
(
    SELECT
        toStartOfDay(toStartOfHour(toDateTime(`timestamp`, 'UTC'))) AS `__hg_f0`,
        count() AS `__hg_f1`,
        uniq(`session_id`) AS `__hg_f2`,
        uniq(`user_id`) AS `__hg_f3`,
        sum(`value_usd`) AS `__hg_f4`,
        countIf(event_type = 'page_unload') AS `__hg_f5`,
        sum(`time_on_page`) AS `__hg_f6`,
        sum(bitOr(cityHash64(toStartOfHour(toDateTime(`timestamp`, 'UTC')), `event_type`, `utm_source`, `workspace_id`, `campaign_id`, toString(value_usd > 0)), 1)) AS `__hg_f7`,
        sum(toFloat64(`value_usd`) * toFloat64(bitOr(cityHash64(toStartOfHour(toDateTime(`timestamp`, 'UTC')), `event_type`, `utm_source`, `workspace_id`, `campaign_id`, toString(value_usd > 0)), 1) % 1048573 + 1)) AS `__hg_f8`,
        sum(if((event_type = 'page_unload'), bitOr(cityHash64(toStartOfHour(toDateTime(`timestamp`, 'UTC')), `event_type`, `utm_source`, `workspace_id`, `campaign_id`, toString(value_usd > 0)), 1), 0)) AS `__hg_f9`,
        sum(toUInt64(`time_on_page`) * bitOr(cityHash64(toStartOfHour(toDateTime(`timestamp`, 'UTC')), `event_type`, `utm_source`, `workspace_id`, `campaign_id`, toString(value_usd > 0)), 1)) AS `__hg_f10`
    FROM `analytics`.`events`
    WHERE `timestamp` >= {start:DateTime}
        AND `timestamp` < {end:DateTime}
        AND (event_type != 'debug')
    GROUP BY `__hg_f0`
);

SELECT
    `__hg_f0` AS `partition`,
    `__hg_f1` AS `event_count`,
    `__hg_f2` AS `unique_sessions`,
    `__hg_f3` AS `unique_users`,
    `__hg_f4` AS `total_value_usd`,
    `__hg_f5` AS `page_unload_count`,
    `__hg_f6` AS `total_time_on_page`,
    `__hg_f7` AS `__hg_w_event_count`,
    `__hg_f8` AS `__hg_w_total_value_usd`,
    `__hg_f9` AS `__hg_w_page_unload_count`,
    `__hg_f10` AS `__hg_w_total_time_on_page`
FROM
(
    SELECT
        toStartOfDay(`hour`) AS `__hg_f0`,
        sum(`event_count`) AS `__hg_f1`,
        uniqMerge(`unique_sessions`) AS `__hg_f2`,
        uniqMerge(`unique_users`) AS `__hg_f3`,
        sum(`total_value_usd`) AS `__hg_f4`,
        sum(`page_unload_count`) AS `__hg_f5`,
        sum(`total_time_on_page`) AS `__hg_f6`,
        sum(toUInt64(`event_count`) * bitOr(cityHash64(`hour`, `event_type`, `utm_source`, `workspace_id`, `campaign_id`, `is_paid`), 1)) AS `__hg_f7`,
        sum(toFloat64(`total_value_usd`) * toFloat64(bitOr(cityHash64(`hour`, `event_type`, `utm_source`, `workspace_id`, `campaign_id`, `is_paid`), 1) % 1048573 + 1)) AS `__hg_f8`,
        sum(toUInt64(`page_unload_count`) * bitOr(cityHash64(`hour`, `event_type`, `utm_source`, `workspace_id`, `campaign_id`, `is_paid`), 1)) AS `__hg_f9`,
        sum(toUInt64(`total_time_on_page`) * bitOr(cityHash64(`hour`, `event_type`, `utm_source`, `workspace_id`, `campaign_id`, `is_paid`), 1)) AS `__hg_f10`
    FROM `analytics`.`events_hourly`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
    GROUP BY `__hg_f0`
);
