CREATE OR REPLACE VIEW `analytics`.`events_timeseries` AS
SELECT
    `__hg_b` AS `hour`,
    `__hg_m0` AS `event_count`,
    `__hg_m1` AS `unique_users`,
    `__hg_m2` AS `total_value_usd`
FROM
(
    SELECT
        toStartOfHour(toDateTime(`timestamp`, 'UTC')) AS `__hg_b`,
        count() AS `__hg_m0`,
        uniq(`user_id`) AS `__hg_m1`,
        sum(`value_usd`) AS `__hg_m2`
    FROM `analytics`.`events`
    WHERE `timestamp` >= {start:DateTime}
        AND `timestamp` < {end:DateTime}
        AND (event_type != 'debug')
        AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})
    GROUP BY `__hg_b`
)
ORDER BY `hour`;
