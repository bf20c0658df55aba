-- session_count numeric=true float=false
-- unique_users numeric=true float=false
-- new_sessions numeric=true float=false
-- bounced_sessions numeric=true float=false
-- total_duration numeric=true float=false
-- avg_duration numeric=true float=true
-- min_duration numeric=true float=false
-- max_duration numeric=true float=false
-- last_landing_page numeric=false float=false
-- total_revenue numeric=true float=false
-- max_revenue numeric=true float=false
-- returning_revenue numeric=true float=false
-- avg_price numeric=true float=true
-- __hg_w_session_count numeric=true float=false
-- __hg_w_new_sessions numeric=true float=false
-- __hg_w_bounced_sessions numeric=true float=false
-- __hg_w_total_duration numeric=true float=false
-- __hg_w_avg_duration_sum numeric=true float=false
-- __hg_w_avg_duration_count numeric=true float=false
-- __hg_w_total_revenue numeric=true float=false
-- __hg_w_returning_revenue numeric=true float=false
-- __hg_w_avg_price_sum numeric=true float=true
-- __hg_w_avg_price_count numeric=true float=false

SELECT
    `__hg_f0` AS `partition`,
    `__hg_f1` AS `session_count`,
    `__hg_f2` AS `unique_users`,
    `__hg_f3` AS `new_sessions`,
    `__hg_f4` AS `bounced_sessions`,
    `__hg_f5` AS `total_duration`,
    `__hg_f6` AS `avg_duration`,
    `__hg_f7` AS `min_duration`,
    `__hg_f8` AS `max_duration`,
    `__hg_f9` AS `last_landing_page`,
    `__hg_f10` AS `total_revenue`,
    `__hg_f11` AS `max_revenue`,
    `__hg_f12` AS `returning_revenue`,
    `__hg_f13` AS `avg_price`,
    `__hg_f14` AS `__hg_w_session_count`,
    `__hg_f15` AS `__hg_w_new_sessions`,
    `__hg_f16` AS `__hg_w_bounced_sessions`,
    `__hg_f17` AS `__hg_w_total_duration`,
    `__hg_f18` AS `__hg_w_avg_duration_sum`,
    `__hg_f19` AS `__hg_w_avg_duration_count`,
    `__hg_f20` AS `__hg_w_total_revenue`,
    `__hg_f21` AS `__hg_w_returning_revenue`,
    `__hg_f22` AS `__hg_w_avg_price_sum`,
    `__hg_f23` AS `__hg_w_avg_price_count`
FROM
(
    SELECT
        toDateTime(toStartOfMonth(toStartOfHour(`started_at`, 'UTC')), 'UTC') AS `__hg_f0`,
        count() AS `__hg_f1`,
        uniqExact(`user_id`) AS `__hg_f2`,
        countIf(is_returning = 0) AS `__hg_f3`,
        countIf(duration < 3) AS `__hg_f4`,
        sum(`duration`) AS `__hg_f5`,
        avg(`duration`) AS `__hg_f6`,
        min(`duration`) AS `__hg_f7`,
        max(`duration`) AS `__hg_f8`,
        argMax(`landing_page`, `started_at`) AS `__hg_f9`,
        sum(`revenue`) AS `__hg_f10`,
        max(`revenue`) AS `__hg_f11`,
        sumIf(`revenue`, is_returning = 1) AS `__hg_f12`,
        avg(`price`) AS `__hg_f13`,
        sum(bitOr(cityHash64(toStartOfHour(`started_at`, 'UTC'), `workspace_id`, `campaign_id`, `country`, `device_type`, isNull(`referrer`), assumeNotNull(`referrer`)), 1)) AS `__hg_f14`,
        sum(if((is_returning = 0), bitOr(cityHash64(toStartOfHour(`started_at`, 'UTC'), `workspace_id`, `campaign_id`, `country`, `device_type`, isNull(`referrer`), assumeNotNull(`referrer`)), 1), 0)) AS `__hg_f15`,
        sum(if((duration < 3), bitOr(cityHash64(toStartOfHour(`started_at`, 'UTC'), `workspace_id`, `campaign_id`, `country`, `device_type`, isNull(`referrer`), assumeNotNull(`referrer`)), 1), 0)) AS `__hg_f16`,
        sum(toUInt64(`duration`) * bitOr(cityHash64(toStartOfHour(`started_at`, 'UTC'), `workspace_id`, `campaign_id`, `country`, `device_type`, isNull(`referrer`), assumeNotNull(`referrer`)), 1)) AS `__hg_f17`,
        sum(toUInt64(`duration`) * bitOr(cityHash64(toStartOfHour(`started_at`, 'UTC'), `workspace_id`, `campaign_id`, `country`, `device_type`, isNull(`referrer`), assumeNotNull(`referrer`)), 1)) AS `__hg_f18`,
        sum(if(isNotNull(`duration`), bitOr(cityHash64(toStartOfHour(`started_at`, 'UTC'), `workspace_id`, `campaign_id`, `country`, `device_type`, isNull(`referrer`), assumeNotNull(`referrer`)), 1), 0)) AS `__hg_f19`,
        sum(toUInt64(`revenue`) * bitOr(cityHash64(toStartOfHour(`started_at`, 'UTC'), `workspace_id`, `campaign_id`, `country`, `device_type`, isNull(`referrer`), assumeNotNull(`referrer`)), 1)) AS `__hg_f20`,
        sum(toUInt64(if(is_returning = 1, `revenue`, 0)) * bitOr(cityHash64(toStartOfHour(`started_at`, 'UTC'), `workspace_id`, `campaign_id`, `country`, `device_type`, isNull(`referrer`), assumeNotNull(`referrer`)), 1)) AS `__hg_f21`,
        sum(toFloat64(`price`) * toFloat64(bitOr(cityHash64(toStartOfHour(`started_at`, 'UTC'), `workspace_id`, `campaign_id`, `country`, `device_type`, isNull(`referrer`), assumeNotNull(`referrer`)), 1) % 1048573 + 1)) AS `__hg_f22`,
        sum(if(isNotNull(`price`), bitOr(cityHash64(toStartOfHour(`started_at`, 'UTC'), `workspace_id`, `campaign_id`, `country`, `device_type`, isNull(`referrer`), assumeNotNull(`referrer`)), 1), 0)) AS `__hg_f23`
    FROM `analytics`.`sessions`
    WHERE `started_at` >= {start:DateTime}
        AND `started_at` < {end:DateTime}
    GROUP BY `__hg_f0`
);

SELECT
    `__hg_f0` AS `partition`,
    `__hg_f1` AS `session_count`,
    `__hg_f2` AS `unique_users`,
    `__hg_f3` AS `new_sessions`,
    `__hg_f4` AS `bounced_sessions`,
    `__hg_f5` AS `total_duration`,
    `__hg_f6` AS `avg_duration`,
    `__hg_f7` AS `min_duration`,
    `__hg_f8` AS `max_duration`,
    `__hg_f9` AS `last_landing_page`,
    `__hg_f10` AS `total_revenue`,
    `__hg_f11` AS `max_revenue`,
    `__hg_f12` AS `returning_revenue`,
    `__hg_f13` AS `avg_price`,
    `__hg_f14` AS `__hg_w_session_count`,
    `__hg_f15` AS `__hg_w_new_sessions`,
    `__hg_f16` AS `__hg_w_bounced_sessions`,
    `__hg_f17` AS `__hg_w_total_duration`,
    `__hg_f18` AS `__hg_w_avg_duration_sum`,
    `__hg_f19` AS `__hg_w_avg_duration_count`,
    `__hg_f20` AS `__hg_w_total_revenue`,
    `__hg_f21` AS `__hg_w_returning_revenue`,
    `__hg_f22` AS `__hg_w_avg_price_sum`,
    `__hg_f23` AS `__hg_w_avg_price_count`
FROM
(
    SELECT
        toDateTime(toStartOfMonth(`hour`), 'UTC') AS `__hg_f0`,
        sum(`session_count`) AS `__hg_f1`,
        uniqExactMerge(`unique_users`) AS `__hg_f2`,
        sum(`new_sessions`) AS `__hg_f3`,
        sum(`bounced_sessions`) AS `__hg_f4`,
        sum(`total_duration`) AS `__hg_f5`,
        sum(`avg_duration_sum`) / sum(`avg_duration_count`) AS `__hg_f6`,
        CAST(min(`min_duration`) AS UInt32) AS `__hg_f7`,
        CAST(max(`max_duration`) AS UInt32) AS `__hg_f8`,
        argMaxMerge(`last_landing_page`) AS `__hg_f9`,
        sum(`total_revenue`) AS `__hg_f10`,
        CAST(max(`max_revenue`) AS Nullable(Int64)) AS `__hg_f11`,
        sum(`returning_revenue`) AS `__hg_f12`,
        toFloat64(sum(`avg_price_sum`)) / sum(`avg_price_count`) AS `__hg_f13`,
        sum(toUInt64(`session_count`) * bitOr(cityHash64(`hour`, `workspace_id`, `campaign_id`, `country`, `device_type`, isNull(`referrer`), assumeNotNull(`referrer`)), 1)) AS `__hg_f14`,
        sum(toUInt64(`new_sessions`) * bitOr(cityHash64(`hour`, `workspace_id`, `campaign_id`, `country`, `device_type`, isNull(`referrer`), assumeNotNull(`referrer`)), 1)) AS `__hg_f15`,
        sum(toUInt64(`bounced_sessions`) * bitOr(cityHash64(`hour`, `workspace_id`, `campaign_id`, `country`, `device_type`, isNull(`referrer`), assumeNotNull(`referrer`)), 1)) AS `__hg_f16`,
        sum(toUInt64(`total_duration`) * bitOr(cityHash64(`hour`, `workspace_id`, `campaign_id`, `country`, `device_type`, isNull(`referrer`), assumeNotNull(`referrer`)), 1)) AS `__hg_f17`,
        sum(toUInt64(`avg_duration_sum`) * bitOr(cityHash64(`hour`, `workspace_id`, `campaign_id`, `country`, `device_type`, isNull(`referrer`), assumeNotNull(`referrer`)), 1)) AS `__hg_f18`,
        sum(toUInt64(`avg_duration_count`) * bitOr(cityHash64(`hour`, `workspace_id`, `campaign_id`, `country`, `device_type`, isNull(`referrer`), assumeNotNull(`referrer`)), 1)) AS `__hg_f19`,
        sum(toUInt64(`total_revenue`) * bitOr(cityHash64(`hour`, `workspace_id`, `campaign_id`, `country`, `device_type`, isNull(`referrer`), assumeNotNull(`referrer`)), 1)) AS `__hg_f20`,
        sum(toUInt64(`returning_revenue`) * bitOr(cityHash64(`hour`, `workspace_id`, `campaign_id`, `country`, `device_type`, isNull(`referrer`), assumeNotNull(`referrer`)), 1)) AS `__hg_f21`,
        sum(toFloat64(`avg_price_sum`) * toFloat64(bitOr(cityHash64(`hour`, `workspace_id`, `campaign_id`, `country`, `device_type`, isNull(`referrer`), assumeNotNull(`referrer`)), 1) % 1048573 + 1)) AS `__hg_f22`,
        sum(toUInt64(`avg_price_count`) * bitOr(cityHash64(`hour`, `workspace_id`, `campaign_id`, `country`, `device_type`, isNull(`referrer`), assumeNotNull(`referrer`)), 1)) AS `__hg_f23`
    FROM `analytics`.`sessions_hourly`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
    GROUP BY `__hg_f0`
);
