SELECT
    count() AS __hg_rows,
    uniqExact(__hg_kn0, __hg_kv0) AS __hg_first_keys,
    countIf(__hg_x0) AS __hg_mm0,
    max(__hg_e0) AS __hg_err0,
    countIf(__hg_x1) AS __hg_mm1,
    max(__hg_e1) AS __hg_err1,
    countIf(__hg_x2) AS __hg_mm2,
    max(__hg_e2) AS __hg_err2,
    arraySlice(arraySort(groupArrayIf(tuple(__hg_kn0, __hg_kv0, __hg_kn1, __hg_kv1, __hg_kn2, __hg_kv2, __hg_in_ref, __hg_in_cand, __hg_x0, __hg_ref0, __hg_cand0, __hg_x1, __hg_ref1, __hg_cand1, __hg_x2, __hg_ref2, __hg_cand2), __hg_x0 OR __hg_x1 OR __hg_x2)), 1, 20) AS __hg_sample
FROM
(
    SELECT
        __hg_kn0, __hg_kv0, __hg_kn1, __hg_kv1, __hg_kn2, __hg_kv2, __hg_in_ref, __hg_in_cand, __hg_ref0, __hg_cand0, __hg_ref1, __hg_cand1, __hg_ref2, __hg_cand2,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (ifNull(__hg_ref0 = __hg_cand0, 0) OR (isNull(__hg_ref0) AND isNull(__hg_cand0)))) AS __hg_x0,
        if((__hg_in_ref AND __hg_in_cand), if((ifNull(__hg_ref0 = __hg_cand0, 0) OR (isNull(__hg_ref0) AND isNull(__hg_cand0))), 0., ifNull(if(isFinite(abs(toFloat64(__hg_cand0) - toFloat64(__hg_ref0)) / greatest(abs(toFloat64(__hg_ref0)), abs(toFloat64(__hg_cand0)))), abs(toFloat64(__hg_cand0) - toFloat64(__hg_ref0)) / greatest(abs(toFloat64(__hg_ref0)), abs(toFloat64(__hg_cand0))), 1), 1)), 1.) AS __hg_e0,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (ifNull(__hg_ref1 = __hg_cand1, 0) OR (isNull(__hg_ref1) AND isNull(__hg_cand1)))) AS __hg_x1,
        if((__hg_in_ref AND __hg_in_cand), if((ifNull(__hg_ref1 = __hg_cand1, 0) OR (isNull(__hg_ref1) AND isNull(__hg_cand1))), 0., ifNull(if(isFinite(abs(toFloat64(__hg_cand1) - toFloat64(__hg_ref1)) / greatest(abs(toFloat64(__hg_ref1)), abs(toFloat64(__hg_cand1)))), abs(toFloat64(__hg_cand1) - toFloat64(__hg_ref1)) / greatest(abs(toFloat64(__hg_ref1)), abs(toFloat64(__hg_cand1))), 1), 1)), 1.) AS __hg_e1,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (ifNull(__hg_ref2 = __hg_cand2, 0) OR (isNull(__hg_ref2) AND isNull(__hg_cand2)))) AS __hg_x2,
        if((__hg_in_ref AND __hg_in_cand), if((ifNull(__hg_ref2 = __hg_cand2, 0) OR (isNull(__hg_ref2) AND isNull(__hg_cand2))), 0., 1), 1.) AS __hg_e2
    FROM
    (
        SELECT isNull(`hour`) AS __hg_kn0, assumeNotNull(`hour`) AS __hg_kv0, isNull(`workspace_id`) AS __hg_kn1, assumeNotNull(`workspace_id`) AS __hg_kv1, isNull(`device_type`) AS __hg_kn2, assumeNotNull(`device_type`) AS __hg_kv2, 1 AS __hg_in_ref, `session_count` AS __hg_ref0, `unique_users` AS __hg_ref1, `first_landing_page` AS __hg_ref2
        FROM
        (
            SELECT
                `__hg_b` AS `hour`,
                `__hg_g0` AS `workspace_id`,
                `__hg_g1` AS `device_type`,
                `__hg_m0` AS `session_count`,
                `__hg_m1` AS `unique_users`,
                `__hg_m2` AS `first_landing_page`
            FROM
            (
                SELECT
                    toStartOfHour(`started_at`, 'UTC') AS `__hg_b`,
                    `workspace_id` AS `__hg_g0`,
                    `device_type` AS `__hg_g1`,
                    count() AS `__hg_m0`,
                    uniq(`user_id`) AS `__hg_m1`,
                    argMin(`landing_page`, `started_at`) AS `__hg_m2`
                FROM `analytics`.`sessions`
                WHERE `started_at` >= {start:DateTime}
                    AND `started_at` < {end:DateTime}
                GROUP BY `__hg_b`, `__hg_g0`, `__hg_g1`
            )
            ORDER BY `hour`, `workspace_id`, `device_type`
        )
    ) AS __hg_reference
    FULL OUTER JOIN
    (
        SELECT isNull(`hour`) AS __hg_kn0, assumeNotNull(`hour`) AS __hg_kv0, isNull(`workspace_id`) AS __hg_kn1, assumeNotNull(`workspace_id`) AS __hg_kv1, isNull(`device_type`) AS __hg_kn2, assumeNotNull(`device_type`) AS __hg_kv2, 1 AS __hg_in_cand, `session_count` AS __hg_cand0, `unique_users` AS __hg_cand1, `first_landing_page` AS __hg_cand2
        FROM
        (
            SELECT
                `__hg_b` AS `hour`,
                `__hg_g0` AS `workspace_id`,
                `__hg_g1` AS `device_type`,
                `__hg_m0` AS `session_count`,
                `__hg_m1` AS `unique_users`,
                `__hg_m2` AS `first_landing_page`
            FROM
            (
                SELECT
                    `hour` AS `__hg_b`,
                    `workspace_id` AS `__hg_g0`,
                    `device_type` AS `__hg_g1`,
                    sum(`session_count`) AS `__hg_m0`,
                    uniqMerge(`unique_users`) AS `__hg_m1`,
                    argMinMerge(`first_landing_page`) AS `__hg_m2`
                FROM `analytics`.`sessions_live`
                WHERE `hour` >= {start:DateTime}
                    AND `hour` < {end:DateTime}
                GROUP BY `__hg_b`, `__hg_g0`, `__hg_g1`
            )
            ORDER BY `hour`, `workspace_id`, `device_type`
        )
    ) AS __hg_candidate USING (__hg_kn0, __hg_kv0, __hg_kn1, __hg_kv1, __hg_kn2, __hg_kv2)
)
SETTINGS join_use_nulls = 0
