INSERT INTO `analytics`.`analytics_sources_hourly_staging` (`hour`, `referrer`, `location`, `visits`, `hits`)
SELECT
    `__hg_c0` AS `hour`,
    `__hg_c1` AS `referrer`,
    `__hg_c2` AS `location`,
    `__hg_c3` AS `visits`,
    `__hg_c4` AS `hits`
FROM
(
    SELECT
        toStartOfHour(`timestamp`, 'UTC') AS `__hg_c0`,
        `referrer` AS `__hg_c1`,
        `location` AS `__hg_c2`,
        uniqExactState(CAST((coalesce(session_id, '0')) AS String)) AS `__hg_c3`,
        count() AS `__hg_c4`
    FROM `analytics`.`analytics_events`
    WHERE `timestamp` >= {start:DateTime}
        AND `timestamp` < {end:DateTime}
        AND (action = 'page_hit')
    GROUP BY `__hg_c0`, `__hg_c1`, `__hg_c2`
);
