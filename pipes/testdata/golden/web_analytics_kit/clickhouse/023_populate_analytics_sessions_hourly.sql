INSERT INTO `analytics`.`analytics_sessions_hourly_staging` (`hour`, `device`, `browser`, `location`, `visits`, `pageviews`, `bounces`, `session_seconds`)
SELECT
    `__hg_c0` AS `hour`,
    `__hg_c1` AS `device`,
    `__hg_c2` AS `browser`,
    `__hg_c3` AS `location`,
    `__hg_c4` AS `visits`,
    `__hg_c5` AS `pageviews`,
    `__hg_c6` AS `bounces`,
    `__hg_c7` AS `session_seconds`
FROM
(
    SELECT
        toStartOfHour(`first_hit`, 'UTC') AS `__hg_c0`,
        `device` AS `__hg_c1`,
        `browser` AS `__hg_c2`,
        `location` AS `__hg_c3`,
        count() AS `__hg_c4`,
        sum(`hits`) AS `__hg_c5`,
        countIf(hits = 1) AS `__hg_c6`,
        sum(CAST((dateDiff('second', first_hit, latest_hit)) AS Int64)) AS `__hg_c7`
    FROM (
    SELECT `__hg_e0` AS `session_id`, `__hg_e1` AS `first_hit`, `__hg_e2` AS `latest_hit`, `__hg_e3` AS `hits`, `__hg_e4` AS `device`, `__hg_e5` AS `browser`, `__hg_e6` AS `location`, `__hg_e7` AS `referrer`
    FROM
    (
        SELECT `session_id` AS `__hg_e0`, CAST(min(`first_hit`) AS DateTime) AS `__hg_e1`, CAST(max(`latest_hit`) AS DateTime) AS `__hg_e2`, sum(`hits`) AS `__hg_e3`, CAST(any(`device`) AS String) AS `__hg_e4`, CAST(any(`browser`) AS String) AS `__hg_e5`, CAST(any(`location`) AS String) AS `__hg_e6`, CAST(anyLast(`referrer`) AS String) AS `__hg_e7`
        FROM `analytics`.`analytics_sessions`
        WHERE `hour` >= {start:DateTime} - INTERVAL 14400 SECOND AND `hour` < {end:DateTime} + INTERVAL 14400 SECOND
        GROUP BY `__hg_e0`
    )
)
    WHERE `first_hit` >= {start:DateTime}
        AND `first_hit` < {end:DateTime}
    GROUP BY `__hg_c0`, `__hg_c1`, `__hg_c2`, `__hg_c3`
);
