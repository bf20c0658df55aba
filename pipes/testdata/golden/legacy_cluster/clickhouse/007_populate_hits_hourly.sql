INSERT INTO `analytics`.`hits_hourly_staging` (`hour`, `site`, `hits`, `big_hits`, `total_bytes`, `total_latency`, `net_delta`, `big_bytes`, `revenue`, `min_latency`, `max_page`, `avg_bytes_sum`, `avg_bytes_count`, `avg_price_sum`, `avg_price_count`, `users`, `exact_users`, `last_page`)
SELECT
    `__hg_c0` AS `hour`,
    `__hg_c1` AS `site`,
    `__hg_c2` AS `hits`,
    `__hg_c3` AS `big_hits`,
    `__hg_c4` AS `total_bytes`,
    `__hg_c5` AS `total_latency`,
    `__hg_c6` AS `net_delta`,
    `__hg_c7` AS `big_bytes`,
    `__hg_c8` AS `revenue`,
    `__hg_c9` AS `min_latency`,
    `__hg_c10` AS `max_page`,
    `__hg_c11` AS `avg_bytes_sum`,
    `__hg_c12` AS `avg_bytes_count`,
    `__hg_c13` AS `avg_price_sum`,
    `__hg_c14` AS `avg_price_count`,
    `__hg_c15` AS `users`,
    `__hg_c16` AS `exact_users`,
    `__hg_c17` AS `last_page`
FROM
(
    SELECT
        toStartOfHour(`ts`, 'UTC') AS `__hg_c0`,
        `site` AS `__hg_c1`,
        arrayReduce('sumState', [count()]) AS `__hg_c2`,
        arrayReduce('sumState', [countIf(bytes > 1000)]) AS `__hg_c3`,
        arrayReduce('sumState', [sum(`bytes`)]) AS `__hg_c4`,
        arrayReduce('sumState', [sum(`latency`)]) AS `__hg_c5`,
        arrayReduce('sumState', [sum(`delta`)]) AS `__hg_c6`,
        arrayReduce('sumState', [sumIf(`bytes`, bytes > 1000)]) AS `__hg_c7`,
        arrayReduce('sumState', [sum(`price`)]) AS `__hg_c8`,
        arrayReduce('minState', [min(`latency`)]) AS `__hg_c9`,
        arrayReduce('maxState', [max(`page`)]) AS `__hg_c10`,
        arrayReduce('sumState', [sum(`bytes`)]) AS `__hg_c11`,
        arrayReduce('sumState', [count(`bytes`)]) AS `__hg_c12`,
        arrayReduce('sumState', [sum(`price`)]) AS `__hg_c13`,
        arrayReduce('sumState', [count(`price`)]) AS `__hg_c14`,
        uniqState(`user_id`) AS `__hg_c15`,
        uniqExactState(`user_id`) AS `__hg_c16`,
        argMaxState(`page`, `ts`) AS `__hg_c17`
    FROM `analytics`.`hits_local`
    WHERE `ts` >= {start:DateTime}
        AND `ts` < {end:DateTime}
    GROUP BY `__hg_c0`, `__hg_c1`
);
