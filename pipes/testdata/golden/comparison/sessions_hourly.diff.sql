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
    countIf(__hg_x6) AS __hg_mm6,
    max(__hg_e6) AS __hg_err6,
    countIf(__hg_x7) AS __hg_mm7,
    max(__hg_e7) AS __hg_err7,
    countIf(__hg_x8) AS __hg_mm8,
    max(__hg_e8) AS __hg_err8,
    countIf(__hg_x9) AS __hg_mm9,
    max(__hg_e9) AS __hg_err9,
    countIf(__hg_x10) AS __hg_mm10,
    max(__hg_e10) AS __hg_err10,
    countIf(__hg_x11) AS __hg_mm11,
    max(__hg_e11) AS __hg_err11,
    countIf(__hg_x12) AS __hg_mm12,
    max(__hg_e12) AS __hg_err12,
    arraySlice(arraySort(groupArrayIf(tuple(__hg_kn0, __hg_kv0, __hg_kn1, __hg_kv1, __hg_kn2, __hg_kv2, __hg_in_ref, __hg_in_cand, __hg_x0, __hg_ref0, __hg_cand0, __hg_x1, __hg_ref1, __hg_cand1, __hg_x2, __hg_ref2, __hg_cand2, __hg_x3, __hg_ref3, __hg_cand3, __hg_x4, __hg_ref4, __hg_cand4, __hg_x5, __hg_ref5, __hg_cand5, __hg_x6, __hg_ref6, __hg_cand6, __hg_x7, __hg_ref7, __hg_cand7, __hg_x8, __hg_ref8, __hg_cand8, __hg_x9, __hg_ref9, __hg_cand9, __hg_x10, __hg_ref10, __hg_cand10, __hg_x11, __hg_ref11, __hg_cand11, __hg_x12, __hg_ref12, __hg_cand12), __hg_x0 OR __hg_x1 OR __hg_x2 OR __hg_x3 OR __hg_x4 OR __hg_x5 OR __hg_x6 OR __hg_x7 OR __hg_x8 OR __hg_x9 OR __hg_x10 OR __hg_x11 OR __hg_x12)), 1, 20) AS __hg_sample
FROM
(
    SELECT
        __hg_kn0, __hg_kv0, __hg_kn1, __hg_kv1, __hg_kn2, __hg_kv2, __hg_in_ref, __hg_in_cand, __hg_ref0, __hg_cand0, __hg_ref1, __hg_cand1, __hg_ref2, __hg_cand2, __hg_ref3, __hg_cand3, __hg_ref4, __hg_cand4, __hg_ref5, __hg_cand5, __hg_ref6, __hg_cand6, __hg_ref7, __hg_cand7, __hg_ref8, __hg_cand8, __hg_ref9, __hg_cand9, __hg_ref10, __hg_cand10, __hg_ref11, __hg_cand11, __hg_ref12, __hg_cand12,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (ifNull(__hg_ref0 = __hg_cand0, 0) OR (isNull(__hg_ref0) AND isNull(__hg_cand0)))) AS __hg_x0,
        if((__hg_in_ref AND __hg_in_cand), if((ifNull(__hg_ref0 = __hg_cand0, 0) OR (isNull(__hg_ref0) AND isNull(__hg_cand0))), 0., ifNull(if(isFinite(abs(toFloat64(__hg_cand0) - toFloat64(__hg_ref0)) / greatest(abs(toFloat64(__hg_ref0)), abs(toFloat64(__hg_cand0)))), abs(toFloat64(__hg_cand0) - toFloat64(__hg_ref0)) / greatest(abs(toFloat64(__hg_ref0)), abs(toFloat64(__hg_cand0))), 1), 1)), 1.) AS __hg_e0,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (ifNull(__hg_ref1 = __hg_cand1, 0) OR (isNull(__hg_ref1) AND isNull(__hg_cand1)))) AS __hg_x1,
        if((__hg_in_ref AND __hg_in_cand), if((ifNull(__hg_ref1 = __hg_cand1, 0) OR (isNull(__hg_ref1) AND isNull(__hg_cand1))), 0., ifNull(if(isFinite(abs(toFloat64(__hg_cand1) - toFloat64(__hg_ref1)) / greatest(abs(toFloat64(__hg_ref1)), abs(toFloat64(__hg_cand1)))), abs(toFloat64(__hg_cand1) - toFloat64(__hg_ref1)) / greatest(abs(toFloat64(__hg_ref1)), abs(toFloat64(__hg_cand1))), 1), 1)), 1.) AS __hg_e1,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (ifNull(__hg_ref2 = __hg_cand2, 0) OR (isNull(__hg_ref2) AND isNull(__hg_cand2)))) AS __hg_x2,
        if((__hg_in_ref AND __hg_in_cand), if((ifNull(__hg_ref2 = __hg_cand2, 0) OR (isNull(__hg_ref2) AND isNull(__hg_cand2))), 0., ifNull(if(isFinite(abs(toFloat64(__hg_cand2) - toFloat64(__hg_ref2)) / greatest(abs(toFloat64(__hg_ref2)), abs(toFloat64(__hg_cand2)))), abs(toFloat64(__hg_cand2) - toFloat64(__hg_ref2)) / greatest(abs(toFloat64(__hg_ref2)), abs(toFloat64(__hg_cand2))), 1), 1)), 1.) AS __hg_e2,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (ifNull(__hg_ref3 = __hg_cand3, 0) OR (isNull(__hg_ref3) AND isNull(__hg_cand3)))) AS __hg_x3,
        if((__hg_in_ref AND __hg_in_cand), if((ifNull(__hg_ref3 = __hg_cand3, 0) OR (isNull(__hg_ref3) AND isNull(__hg_cand3))), 0., ifNull(if(isFinite(abs(toFloat64(__hg_cand3) - toFloat64(__hg_ref3)) / greatest(abs(toFloat64(__hg_ref3)), abs(toFloat64(__hg_cand3)))), abs(toFloat64(__hg_cand3) - toFloat64(__hg_ref3)) / greatest(abs(toFloat64(__hg_ref3)), abs(toFloat64(__hg_cand3))), 1), 1)), 1.) AS __hg_e3,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (ifNull(__hg_ref4 = __hg_cand4, 0) OR (isNull(__hg_ref4) AND isNull(__hg_cand4)))) AS __hg_x4,
        if((__hg_in_ref AND __hg_in_cand), if((ifNull(__hg_ref4 = __hg_cand4, 0) OR (isNull(__hg_ref4) AND isNull(__hg_cand4))), 0., ifNull(if(isFinite(abs(toFloat64(__hg_cand4) - toFloat64(__hg_ref4)) / greatest(abs(toFloat64(__hg_ref4)), abs(toFloat64(__hg_cand4)))), abs(toFloat64(__hg_cand4) - toFloat64(__hg_ref4)) / greatest(abs(toFloat64(__hg_ref4)), abs(toFloat64(__hg_cand4))), 1), 1)), 1.) AS __hg_e4,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (((ifNull(__hg_ref5 = __hg_cand5, 0) OR (isNull(__hg_ref5) AND isNull(__hg_cand5))) OR ifNull(isNaN(__hg_ref5) AND isNaN(__hg_cand5), 0)) OR ifNull(abs(toFloat64(__hg_cand5) - toFloat64(__hg_ref5)) <= 1e-09 * least(abs(toFloat64(__hg_ref5)), abs(toFloat64(__hg_cand5))), 0))) AS __hg_x5,
        if((__hg_in_ref AND __hg_in_cand), if(((ifNull(__hg_ref5 = __hg_cand5, 0) OR (isNull(__hg_ref5) AND isNull(__hg_cand5))) OR ifNull(isNaN(__hg_ref5) AND isNaN(__hg_cand5), 0)), 0., ifNull(if(isFinite(abs(toFloat64(__hg_cand5) - toFloat64(__hg_ref5)) / greatest(abs(toFloat64(__hg_ref5)), abs(toFloat64(__hg_cand5)))), abs(toFloat64(__hg_cand5) - toFloat64(__hg_ref5)) / greatest(abs(toFloat64(__hg_ref5)), abs(toFloat64(__hg_cand5))), 1), 1)), 1.) AS __hg_e5,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (ifNull(__hg_ref6 = __hg_cand6, 0) OR (isNull(__hg_ref6) AND isNull(__hg_cand6)))) AS __hg_x6,
        if((__hg_in_ref AND __hg_in_cand), if((ifNull(__hg_ref6 = __hg_cand6, 0) OR (isNull(__hg_ref6) AND isNull(__hg_cand6))), 0., ifNull(if(isFinite(abs(toFloat64(__hg_cand6) - toFloat64(__hg_ref6)) / greatest(abs(toFloat64(__hg_ref6)), abs(toFloat64(__hg_cand6)))), abs(toFloat64(__hg_cand6) - toFloat64(__hg_ref6)) / greatest(abs(toFloat64(__hg_ref6)), abs(toFloat64(__hg_cand6))), 1), 1)), 1.) AS __hg_e6,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (ifNull(__hg_ref7 = __hg_cand7, 0) OR (isNull(__hg_ref7) AND isNull(__hg_cand7)))) AS __hg_x7,
        if((__hg_in_ref AND __hg_in_cand), if((ifNull(__hg_ref7 = __hg_cand7, 0) OR (isNull(__hg_ref7) AND isNull(__hg_cand7))), 0., ifNull(if(isFinite(abs(toFloat64(__hg_cand7) - toFloat64(__hg_ref7)) / greatest(abs(toFloat64(__hg_ref7)), abs(toFloat64(__hg_cand7)))), abs(toFloat64(__hg_cand7) - toFloat64(__hg_ref7)) / greatest(abs(toFloat64(__hg_ref7)), abs(toFloat64(__hg_cand7))), 1), 1)), 1.) AS __hg_e7,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (ifNull(__hg_ref8 = __hg_cand8, 0) OR (isNull(__hg_ref8) AND isNull(__hg_cand8)))) AS __hg_x8,
        if((__hg_in_ref AND __hg_in_cand), if((ifNull(__hg_ref8 = __hg_cand8, 0) OR (isNull(__hg_ref8) AND isNull(__hg_cand8))), 0., 1), 1.) AS __hg_e8,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (ifNull(__hg_ref9 = __hg_cand9, 0) OR (isNull(__hg_ref9) AND isNull(__hg_cand9)))) AS __hg_x9,
        if((__hg_in_ref AND __hg_in_cand), if((ifNull(__hg_ref9 = __hg_cand9, 0) OR (isNull(__hg_ref9) AND isNull(__hg_cand9))), 0., ifNull(if(isFinite(abs(toFloat64(__hg_cand9) - toFloat64(__hg_ref9)) / greatest(abs(toFloat64(__hg_ref9)), abs(toFloat64(__hg_cand9)))), abs(toFloat64(__hg_cand9) - toFloat64(__hg_ref9)) / greatest(abs(toFloat64(__hg_ref9)), abs(toFloat64(__hg_cand9))), 1), 1)), 1.) AS __hg_e9,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (ifNull(__hg_ref10 = __hg_cand10, 0) OR (isNull(__hg_ref10) AND isNull(__hg_cand10)))) AS __hg_x10,
        if((__hg_in_ref AND __hg_in_cand), if((ifNull(__hg_ref10 = __hg_cand10, 0) OR (isNull(__hg_ref10) AND isNull(__hg_cand10))), 0., ifNull(if(isFinite(abs(toFloat64(__hg_cand10) - toFloat64(__hg_ref10)) / greatest(abs(toFloat64(__hg_ref10)), abs(toFloat64(__hg_cand10)))), abs(toFloat64(__hg_cand10) - toFloat64(__hg_ref10)) / greatest(abs(toFloat64(__hg_ref10)), abs(toFloat64(__hg_cand10))), 1), 1)), 1.) AS __hg_e10,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (ifNull(__hg_ref11 = __hg_cand11, 0) OR (isNull(__hg_ref11) AND isNull(__hg_cand11)))) AS __hg_x11,
        if((__hg_in_ref AND __hg_in_cand), if((ifNull(__hg_ref11 = __hg_cand11, 0) OR (isNull(__hg_ref11) AND isNull(__hg_cand11))), 0., ifNull(if(isFinite(abs(toFloat64(__hg_cand11) - toFloat64(__hg_ref11)) / greatest(abs(toFloat64(__hg_ref11)), abs(toFloat64(__hg_cand11)))), abs(toFloat64(__hg_cand11) - toFloat64(__hg_ref11)) / greatest(abs(toFloat64(__hg_ref11)), abs(toFloat64(__hg_cand11))), 1), 1)), 1.) AS __hg_e11,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (((ifNull(__hg_ref12 = __hg_cand12, 0) OR (isNull(__hg_ref12) AND isNull(__hg_cand12))) OR ifNull(isNaN(__hg_ref12) AND isNaN(__hg_cand12), 0)) OR ifNull(abs(toFloat64(__hg_cand12) - toFloat64(__hg_ref12)) <= 1e-09 * least(abs(toFloat64(__hg_ref12)), abs(toFloat64(__hg_cand12))), 0))) AS __hg_x12,
        if((__hg_in_ref AND __hg_in_cand), if(((ifNull(__hg_ref12 = __hg_cand12, 0) OR (isNull(__hg_ref12) AND isNull(__hg_cand12))) OR ifNull(isNaN(__hg_ref12) AND isNaN(__hg_cand12), 0)), 0., ifNull(if(isFinite(abs(toFloat64(__hg_cand12) - toFloat64(__hg_ref12)) / greatest(abs(toFloat64(__hg_ref12)), abs(toFloat64(__hg_cand12)))), abs(toFloat64(__hg_cand12) - toFloat64(__hg_ref12)) / greatest(abs(toFloat64(__hg_ref12)), abs(toFloat64(__hg_cand12))), 1), 1)), 1.) AS __hg_e12
    FROM
    (
        SELECT isNull(`hour`) AS __hg_kn0, assumeNotNull(`hour`) AS __hg_kv0, isNull(`workspace_id`) AS __hg_kn1, assumeNotNull(`workspace_id`) AS __hg_kv1, isNull(`campaign_id`) AS __hg_kn2, assumeNotNull(`campaign_id`) AS __hg_kv2, 1 AS __hg_in_ref, `session_count` AS __hg_ref0, `unique_users` AS __hg_ref1, `new_sessions` AS __hg_ref2, `bounced_sessions` AS __hg_ref3, `total_duration` AS __hg_ref4, `avg_duration` AS __hg_ref5, `min_duration` AS __hg_ref6, `max_duration` AS __hg_ref7, `last_landing_page` AS __hg_ref8, `total_revenue` AS __hg_ref9, `max_revenue` AS __hg_ref10, `returning_revenue` AS __hg_ref11, `avg_price` AS __hg_ref12
        FROM
        (
            SELECT
                `__hg_b` AS `hour`,
                `__hg_g0` AS `workspace_id`,
                `__hg_g1` AS `campaign_id`,
                `__hg_m0` AS `session_count`,
                `__hg_m1` AS `unique_users`,
                `__hg_m2` AS `new_sessions`,
                `__hg_m3` AS `bounced_sessions`,
                `__hg_m4` AS `total_duration`,
                `__hg_m5` AS `avg_duration`,
                `__hg_m6` AS `min_duration`,
                `__hg_m7` AS `max_duration`,
                `__hg_m8` AS `last_landing_page`,
                `__hg_m9` AS `total_revenue`,
                `__hg_m10` AS `max_revenue`,
                `__hg_m11` AS `returning_revenue`,
                `__hg_m12` AS `avg_price`
            FROM
            (
                SELECT
                    toStartOfHour(`started_at`, 'UTC') AS `__hg_b`,
                    `workspace_id` AS `__hg_g0`,
                    `campaign_id` AS `__hg_g1`,
                    count() AS `__hg_m0`,
                    uniqExact(`user_id`) AS `__hg_m1`,
                    countIf(is_returning = 0) AS `__hg_m2`,
                    countIf(duration < 3) AS `__hg_m3`,
                    sum(`duration`) AS `__hg_m4`,
                    avg(`duration`) AS `__hg_m5`,
                    min(`duration`) AS `__hg_m6`,
                    max(`duration`) AS `__hg_m7`,
                    argMax(`landing_page`, `started_at`) AS `__hg_m8`,
                    sum(`revenue`) AS `__hg_m9`,
                    max(`revenue`) AS `__hg_m10`,
                    sumIf(`revenue`, is_returning = 1) AS `__hg_m11`,
                    avg(`price`) AS `__hg_m12`
                FROM `analytics`.`sessions`
                WHERE `started_at` >= {start:DateTime}
                    AND `started_at` < {end:DateTime}
                GROUP BY `__hg_b`, `__hg_g0`, `__hg_g1`
            )
            ORDER BY `hour`, `workspace_id`, `campaign_id`
        )
    ) AS __hg_reference
    FULL OUTER JOIN
    (
        SELECT isNull(`hour`) AS __hg_kn0, assumeNotNull(`hour`) AS __hg_kv0, isNull(`workspace_id`) AS __hg_kn1, assumeNotNull(`workspace_id`) AS __hg_kv1, isNull(`campaign_id`) AS __hg_kn2, assumeNotNull(`campaign_id`) AS __hg_kv2, 1 AS __hg_in_cand, `session_count` AS __hg_cand0, `unique_users` AS __hg_cand1, `new_sessions` AS __hg_cand2, `bounced_sessions` AS __hg_cand3, `total_duration` AS __hg_cand4, `avg_duration` AS __hg_cand5, `min_duration` AS __hg_cand6, `max_duration` AS __hg_cand7, `last_landing_page` AS __hg_cand8, `total_revenue` AS __hg_cand9, `max_revenue` AS __hg_cand10, `returning_revenue` AS __hg_cand11, `avg_price` AS __hg_cand12
        FROM
        (
            SELECT
                `__hg_b` AS `hour`,
                `__hg_g0` AS `workspace_id`,
                `__hg_g1` AS `campaign_id`,
                `__hg_m0` AS `session_count`,
                `__hg_m1` AS `unique_users`,
                `__hg_m2` AS `new_sessions`,
                `__hg_m3` AS `bounced_sessions`,
                `__hg_m4` AS `total_duration`,
                `__hg_m5` AS `avg_duration`,
                `__hg_m6` AS `min_duration`,
                `__hg_m7` AS `max_duration`,
                `__hg_m8` AS `last_landing_page`,
                `__hg_m9` AS `total_revenue`,
                `__hg_m10` AS `max_revenue`,
                `__hg_m11` AS `returning_revenue`,
                `__hg_m12` AS `avg_price`
            FROM
            (
                SELECT
                    `hour` AS `__hg_b`,
                    `workspace_id` AS `__hg_g0`,
                    `campaign_id` AS `__hg_g1`,
                    sum(`session_count`) AS `__hg_m0`,
                    uniqExactMerge(`unique_users`) AS `__hg_m1`,
                    sum(`new_sessions`) AS `__hg_m2`,
                    sum(`bounced_sessions`) AS `__hg_m3`,
                    sum(`total_duration`) AS `__hg_m4`,
                    sum(`avg_duration_sum`) / sum(`avg_duration_count`) AS `__hg_m5`,
                    CAST(min(`min_duration`) AS UInt32) AS `__hg_m6`,
                    CAST(max(`max_duration`) AS UInt32) AS `__hg_m7`,
                    argMaxMerge(`last_landing_page`) AS `__hg_m8`,
                    sum(`total_revenue`) AS `__hg_m9`,
                    CAST(max(`max_revenue`) AS Nullable(Int64)) AS `__hg_m10`,
                    sum(`returning_revenue`) AS `__hg_m11`,
                    toFloat64(sum(`avg_price_sum`)) / sum(`avg_price_count`) AS `__hg_m12`
                FROM `analytics`.`sessions_hourly`
                WHERE `hour` >= {start:DateTime}
                    AND `hour` < {end:DateTime}
                GROUP BY `__hg_b`, `__hg_g0`, `__hg_g1`
            )
            ORDER BY `hour`, `workspace_id`, `campaign_id`
        )
    ) AS __hg_candidate USING (__hg_kn0, __hg_kv0, __hg_kn1, __hg_kv1, __hg_kn2, __hg_kv2)
)
SETTINGS join_use_nulls = 0
