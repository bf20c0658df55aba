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
        `hour` AS `__hg_b`,
        `site` AS `__hg_g0`,
        sumMerge(`hits`) AS `__hg_m0`,
        sumMerge(`big_hits`) AS `__hg_m1`,
        sumMerge(`total_bytes`) AS `__hg_m2`,
        sumMerge(`total_latency`) AS `__hg_m3`,
        sumMerge(`net_delta`) AS `__hg_m4`,
        sumMerge(`big_bytes`) AS `__hg_m5`,
        sumMerge(`revenue`) AS `__hg_m6`,
        CAST(minMerge(`min_latency`) AS Float64) AS `__hg_m7`,
        CAST(maxMerge(`max_page`) AS String) AS `__hg_m8`,
        sumMerge(`avg_bytes_sum`) / sumMerge(`avg_bytes_count`) AS `__hg_m9`,
        toFloat64(sumMerge(`avg_price_sum`)) / sumMerge(`avg_price_count`) AS `__hg_m10`,
        uniqMerge(`users`) AS `__hg_m11`,
        uniqExactMerge(`exact_users`) AS `__hg_m12`,
        argMaxMerge(`last_page`) AS `__hg_m13`
    FROM `analytics`.`hits_hourly`
    WHERE `hour` >= {start:DateTime}
        AND `hour` < {end:DateTime}
    GROUP BY `__hg_b`, `__hg_g0`
)
ORDER BY `hour`, `site`;
