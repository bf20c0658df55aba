CREATE OR REPLACE VIEW `analytics`.`events_timeseries` ON CLUSTER `main` AS
SELECT
    `__hg_b` AS `hour`,
    `__hg_m0` AS `event_count`,
    `__hg_m1` AS `unique_users`,
    `__hg_m2` AS `total_value_usd`
FROM
(
    SELECT
        `hour` AS `__hg_b`,
        sum(`event_count`) AS `__hg_m0`,
        uniqMerge(`unique_users`) AS `__hg_m1`,
        sum(`total_value_usd`) AS `__hg_m2`
    FROM `analytics`.`events_hourly`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
        AND (NOT {__hg_has_campaign_id:UInt8} OR `campaign_id` = {campaign_id:String})
    GROUP BY `__hg_b`
)
ORDER BY `hour`
