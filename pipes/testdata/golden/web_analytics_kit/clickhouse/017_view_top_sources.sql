CREATE OR REPLACE VIEW `analytics`.`top_sources` AS
SELECT
    `__hg_g0` AS `referrer`,
    `__hg_m0` AS `visits`,
    `__hg_m1` AS `hits`
FROM
(
    SELECT
        `referrer` AS `__hg_g0`,
        uniqExact(CAST((coalesce(session_id, '0')) AS String)) AS `__hg_m0`,
        count() AS `__hg_m1`
    FROM `analytics`.`analytics_events`
    WHERE `timestamp` >= {start:DateTime}
        AND `timestamp` < {end:DateTime}
        AND (action = 'page_hit')
        AND (NOT {__hg_has_referrer:UInt8} OR `referrer` = {referrer:String})
        AND (NOT {__hg_has_locations:UInt8} OR has({locations:Array(String)}, `location`))
    GROUP BY `__hg_g0`
)
ORDER BY `visits` DESC, `referrer`
LIMIT {limit:UInt64} OFFSET {skip:UInt64};
