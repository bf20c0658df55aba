INSERT INTO `analytics`.`analytics_pages_hourly_staging` (`hour`, `pathname`, `location`, `device`, `visits`, `hits`)
SELECT
    `__hg_c0` AS `hour`,
    `__hg_c1` AS `pathname`,
    `__hg_c2` AS `location`,
    `__hg_c3` AS `device`,
    `__hg_c4` AS `visits`,
    `__hg_c5` AS `hits`
FROM
(
    SELECT
        toStartOfHour(`timestamp`, 'UTC') AS `__hg_c0`,
        `pathname` AS `__hg_c1`,
        `location` AS `__hg_c2`,
        toString(multiIf(match(user_agent, 'iPhone|Android'), 'mobile', 'desktop')) AS `__hg_c3`,
        uniqExactState(CAST((coalesce(session_id, '0')) AS String)) AS `__hg_c4`,
        count() AS `__hg_c5`
    FROM `analytics`.`analytics_events`
    WHERE `timestamp` >= {start:DateTime}
        AND `timestamp` < {end:DateTime}
        AND (action = 'page_hit')
    GROUP BY `__hg_c0`, `__hg_c1`, `__hg_c2`, `__hg_c3`
);
