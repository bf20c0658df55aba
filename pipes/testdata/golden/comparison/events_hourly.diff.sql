SELECT
    count() AS __hg_rows,
    uniqExact(__hg_kn0, __hg_kv0) AS __hg_first_keys,
    countIf(__hg_x0) AS __hg_mm0,
    max(__hg_e0) AS __hg_err0,
    countIf(__hg_x1) AS __hg_mm1,
    max(__hg_e1) AS __hg_err1,
    countIf(__hg_x2) AS __hg_mm2,
    max(__hg_e2) AS __hg_err2,
    countIf(__hg_x3) AS __hg_mm3,
    max(__hg_e3) AS __hg_err3,
    countIf(__hg_x4) AS __hg_mm4,
    max(__hg_e4) AS __hg_err4,
    countIf(__hg_x5) AS __hg_mm5,
    max(__hg_e5) AS __hg_err5,
    arraySlice(arraySort(groupArrayIf(tuple(__hg_kn0, __hg_kv0, __hg_kn1, __hg_kv1, __hg_kn2, __hg_kv2, __hg_in_ref, __hg_in_cand, __hg_x0, __hg_ref0, __hg_cand0, __hg_x1, __hg_ref1, __hg_cand1, __hg_x2, __hg_ref2, __hg_cand2, __hg_x3, __hg_ref3, __hg_cand3, __hg_x4, __hg_ref4, __hg_cand4, __hg_x5, __hg_ref5, __hg_cand5), __hg_x0 OR __hg_x1 OR __hg_x2 OR __hg_x3 OR __hg_x4 OR __hg_x5)), 1, 20) AS __hg_sample
FROM
(
    SELECT
        __hg_kn0, __hg_kv0, __hg_kn1, __hg_kv1, __hg_kn2, __hg_kv2, __hg_in_ref, __hg_in_cand, __hg_ref0, __hg_cand0, __hg_ref1, __hg_cand1, __hg_ref2, __hg_cand2, __hg_ref3, __hg_cand3, __hg_ref4, __hg_cand4, __hg_ref5, __hg_cand5,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (ifNull(__hg_ref0 = __hg_cand0, 0) OR (isNull(__hg_ref0) AND isNull(__hg_cand0)))) AS __hg_x0,
        if((__hg_in_ref AND __hg_in_cand), if((ifNull(__hg_ref0 = __hg_cand0, 0) OR (isNull(__hg_ref0) AND isNull(__hg_cand0))), 0., ifNull(if(isFinite(abs(toFloat64(__hg_cand0) - toFloat64(__hg_ref0)) / greatest(abs(toFloat64(__hg_ref0)), abs(toFloat64(__hg_cand0)))), abs(toFloat64(__hg_cand0) - toFloat64(__hg_ref0)) / greatest(abs(toFloat64(__hg_ref0)), abs(toFloat64(__hg_cand0))), 1), 1)), 1.) AS __hg_e0,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (ifNull(__hg_ref1 = __hg_cand1, 0) OR (isNull(__hg_ref1) AND isNull(__hg_cand1)))) AS __hg_x1,
        if((__hg_in_ref AND __hg_in_cand), if((ifNull(__hg_ref1 = __hg_cand1, 0) OR (isNull(__hg_ref1) AND isNull(__hg_cand1))), 0., ifNull(if(isFinite(abs(toFloat64(__hg_cand1) - toFloat64(__hg_ref1)) / greatest(abs(toFloat64(__hg_ref1)), abs(toFloat64(__hg_cand1)))), abs(toFloat64(__hg_cand1) - toFloat64(__hg_ref1)) / greatest(abs(toFloat64(__hg_ref1)), abs(toFloat64(__hg_cand1))), 1), 1)), 1.) AS __hg_e1,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (ifNull(__hg_ref2 = __hg_cand2, 0) OR (isNull(__hg_ref2) AND isNull(__hg_cand2)))) AS __hg_x2,
        if((__hg_in_ref AND __hg_in_cand), if((ifNull(__hg_ref2 = __hg_cand2, 0) OR (isNull(__hg_ref2) AND isNull(__hg_cand2))), 0., ifNull(if(isFinite(abs(toFloat64(__hg_cand2) - toFloat64(__hg_ref2)) / greatest(abs(toFloat64(__hg_ref2)), abs(toFloat64(__hg_cand2)))), abs(toFloat64(__hg_cand2) - toFloat64(__hg_ref2)) / greatest(abs(toFloat64(__hg_ref2)), abs(toFloat64(__hg_cand2))), 1), 1)), 1.) AS __hg_e2,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (((ifNull(__hg_ref3 = __hg_cand3, 0) OR (isNull(__hg_ref3) AND isNull(__hg_cand3))) OR ifNull(isNaN(__hg_ref3) AND isNaN(__hg_cand3), 0)) OR ifNull(abs(toFloat64(__hg_cand3) - toFloat64(__hg_ref3)) <= 1e-09 * least(abs(toFloat64(__hg_ref3)), abs(toFloat64(__hg_cand3))), 0))) AS __hg_x3,
        if((__hg_in_ref AND __hg_in_cand), if(((ifNull(__hg_ref3 = __hg_cand3, 0) OR (isNull(__hg_ref3) AND isNull(__hg_cand3))) OR ifNull(isNaN(__hg_ref3) AND isNaN(__hg_cand3), 0)), 0., ifNull(if(isFinite(abs(toFloat64(__hg_cand3) - toFloat64(__hg_ref3)) / greatest(abs(toFloat64(__hg_ref3)), abs(toFloat64(__hg_cand3)))), abs(toFloat64(__hg_cand3) - toFloat64(__hg_ref3)) / greatest(abs(toFloat64(__hg_ref3)), abs(toFloat64(__hg_cand3))), 1), 1)), 1.) AS __hg_e3,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (ifNull(__hg_ref4 = __hg_cand4, 0) OR (isNull(__hg_ref4) AND isNull(__hg_cand4)))) AS __hg_x4,
        if((__hg_in_ref AND __hg_in_cand), if((ifNull(__hg_ref4 = __hg_cand4, 0) OR (isNull(__hg_ref4) AND isNull(__hg_cand4))), 0., ifNull(if(isFinite(abs(toFloat64(__hg_cand4) - toFloat64(__hg_ref4)) / greatest(abs(toFloat64(__hg_ref4)), abs(toFloat64(__hg_cand4)))), abs(toFloat64(__hg_cand4) - toFloat64(__hg_ref4)) / greatest(abs(toFloat64(__hg_ref4)), abs(toFloat64(__hg_cand4))), 1), 1)), 1.) AS __hg_e4,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (ifNull(__hg_ref5 = __hg_cand5, 0) OR (isNull(__hg_ref5) AND isNull(__hg_cand5)))) AS __hg_x5,
        if((__hg_in_ref AND __hg_in_cand), if((ifNull(__hg_ref5 = __hg_cand5, 0) OR (isNull(__hg_ref5) AND isNull(__hg_cand5))), 0., ifNull(if(isFinite(abs(toFloat64(__hg_cand5) - toFloat64(__hg_ref5)) / greatest(abs(toFloat64(__hg_ref5)), abs(toFloat64(__hg_cand5)))), abs(toFloat64(__hg_cand5) - toFloat64(__hg_ref5)) / greatest(abs(toFloat64(__hg_ref5)), abs(toFloat64(__hg_cand5))), 1), 1)), 1.) AS __hg_e5
    FROM
    (
        SELECT isNull(`hour`) AS __hg_kn0, assumeNotNull(`hour`) AS __hg_kv0, isNull(`event_type`) AS __hg_kn1, assumeNotNull(`event_type`) AS __hg_kv1, isNull(`utm_source`) AS __hg_kn2, assumeNotNull(`utm_source`) AS __hg_kv2, 1 AS __hg_in_ref, `event_count` AS __hg_ref0, `unique_sessions` AS __hg_ref1, `unique_users` AS __hg_ref2, `total_value_usd` AS __hg_ref3, `page_unload_count` AS __hg_ref4, `total_time_on_page` AS __hg_ref5
        FROM
        (
            SELECT
                `__hg_b` AS `hour`,
                `__hg_g0` AS `event_type`,
                `__hg_g1` AS `utm_source`,
                `__hg_m0` AS `event_count`,
                `__hg_m1` AS `unique_sessions`,
                `__hg_m2` AS `unique_users`,
                `__hg_m3` AS `total_value_usd`,
                `__hg_m4` AS `page_unload_count`,
                `__hg_m5` AS `total_time_on_page`
            FROM
            (
                SELECT
                    toStartOfHour(toDateTime(`timestamp`, 'UTC')) AS `__hg_b`,
                    `event_type` AS `__hg_g0`,
                    `utm_source` AS `__hg_g1`,
                    count() AS `__hg_m0`,
                    uniq(`session_id`) AS `__hg_m1`,
                    uniq(`user_id`) AS `__hg_m2`,
                    sum(`value_usd`) AS `__hg_m3`,
                    countIf(event_type = 'page_unload') AS `__hg_m4`,
                    sum(`time_on_page`) AS `__hg_m5`
                FROM `analytics`.`events`
                WHERE `timestamp` >= {start:DateTime}
                    AND `timestamp` < {end:DateTime}
                    AND (event_type != 'debug')
                GROUP BY `__hg_b`, `__hg_g0`, `__hg_g1`
            )
            ORDER BY `hour`, `event_type`, `utm_source`
        )
    ) AS __hg_reference
    FULL OUTER JOIN
    (
        SELECT isNull(`hour`) AS __hg_kn0, assumeNotNull(`hour`) AS __hg_kv0, isNull(`event_type`) AS __hg_kn1, assumeNotNull(`event_type`) AS __hg_kv1, isNull(`utm_source`) AS __hg_kn2, assumeNotNull(`utm_source`) AS __hg_kv2, 1 AS __hg_in_cand, `event_count` AS __hg_cand0, `unique_sessions` AS __hg_cand1, `unique_users` AS __hg_cand2, `total_value_usd` AS __hg_cand3, `page_unload_count` AS __hg_cand4, `total_time_on_page` AS __hg_cand5
        FROM
        (
            SELECT
                `__hg_b` AS `hour`,
                `__hg_g0` AS `event_type`,
                `__hg_g1` AS `utm_source`,
                `__hg_m0` AS `event_count`,
                `__hg_m1` AS `unique_sessions`,
                `__hg_m2` AS `unique_users`,
                `__hg_m3` AS `total_value_usd`,
                `__hg_m4` AS `page_unload_count`,
                `__hg_m5` AS `total_time_on_page`
            FROM
            (
                SELECT
                    `hour` AS `__hg_b`,
                    `event_type` AS `__hg_g0`,
                    `utm_source` AS `__hg_g1`,
                    sum(`event_count`) AS `__hg_m0`,
                    uniqMerge(`unique_sessions`) AS `__hg_m1`,
                    uniqMerge(`unique_users`) AS `__hg_m2`,
                    sum(`total_value_usd`) AS `__hg_m3`,
                    sum(`page_unload_count`) AS `__hg_m4`,
                    sum(`total_time_on_page`) AS `__hg_m5`
                FROM `analytics`.`events_hourly`
                WHERE `hour` >= {start:DateTime}
                    AND `hour` < {end:DateTime}
                GROUP BY `__hg_b`, `__hg_g0`, `__hg_g1`
            )
            ORDER BY `hour`, `event_type`, `utm_source`
        )
    ) AS __hg_candidate USING (__hg_kn0, __hg_kv0, __hg_kn1, __hg_kv1, __hg_kn2, __hg_kv2)
)
SETTINGS join_use_nulls = 0
