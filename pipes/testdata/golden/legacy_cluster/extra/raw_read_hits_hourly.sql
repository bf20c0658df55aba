SELECT
    `__hg_b` AS `hour`,
    `__hg_g0` AS `site`,
    `__hg_m0` AS `hits`,
    `__hg_m1` AS `big_hits`,
    `__hg_m2` AS `total_bytes`,
    `__hg_m3` AS `total_latency`,
    `__hg_m4` AS `net_delta`,
    `__hg_m5` AS `big_bytes`,
    `__hg_m6` AS `revenue`,
    `__hg_m7` AS `min_latency`,
    `__hg_m8` AS `max_page`,
    `__hg_m9` AS `avg_bytes`,
    `__hg_m10` AS `avg_price`,
    `__hg_m11` AS `users`,
    `__hg_m12` AS `exact_users`,
    `__hg_m13` AS `last_page`
FROM
(
    SELECT
        toStartOfHour(`ts`, 'UTC') AS `__hg_b`,
        `site` AS `__hg_g0`,
        count() AS `__hg_m0`,
        countIf(bytes > 1000) AS `__hg_m1`,
        sum(`bytes`) AS `__hg_m2`,
        sum(`latency`) AS `__hg_m3`,
        sum(`delta`) AS `__hg_m4`,
        sumIf(`bytes`, bytes > 1000) AS `__hg_m5`,
        sum(`price`) AS `__hg_m6`,
        min(`latency`) AS `__hg_m7`,
        max(`page`) AS `__hg_m8`,
        avg(`bytes`) AS `__hg_m9`,
        avg(`price`) AS `__hg_m10`,
        uniq(`user_id`) AS `__hg_m11`,
        uniqExact(`user_id`) AS `__hg_m12`,
        argMax(`page`, `ts`) AS `__hg_m13`
    FROM `analytics`.`hits`
    WHERE `ts` >= {start:DateTime}
        AND `ts` < {end:DateTime}
    GROUP BY `__hg_b`, `__hg_g0`
)
ORDER BY `hour`, `site`
