CREATE OR REPLACE VIEW `analytics`.`trend` AS
SELECT
    `__hg_b` AS `hour`,
    `__hg_m0` AS `visits`
FROM
(
    SELECT
        `hour` AS `__hg_b`,
        sum(`visits`) AS `__hg_m0`
    FROM `analytics`.`analytics_sessions_hourly`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
        AND (NOT {__hg_has_browsers:UInt8} OR has({browsers:Array(String)}, `browser`))
    GROUP BY `__hg_b`
)
ORDER BY `hour` WITH FILL FROM toStartOfHour({start:DateTime}) TO {end:DateTime} STEP toIntervalHour(1)
