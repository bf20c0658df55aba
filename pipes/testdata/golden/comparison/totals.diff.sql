SELECT
    count() AS __hg_rows,
    0 AS __hg_first_keys,
    countIf(__hg_x0) AS __hg_mm0,
    max(__hg_e0) AS __hg_err0,
    arraySort(groupArrayIf(tuple(__hg_in_ref, __hg_in_cand, __hg_x0, __hg_ref0, __hg_cand0), __hg_x0)) AS __hg_sample
FROM
(
    SELECT
        __hg_one, __hg_in_ref, __hg_in_cand, __hg_ref0, __hg_cand0,
        NOT ((__hg_in_ref AND __hg_in_cand) AND (ifNull(__hg_ref0 = __hg_cand0, 0) OR (isNull(__hg_ref0) AND isNull(__hg_cand0)))) AS __hg_x0,
        if((__hg_in_ref AND __hg_in_cand), if((ifNull(__hg_ref0 = __hg_cand0, 0) OR (isNull(__hg_ref0) AND isNull(__hg_cand0))), 0., ifNull(if(isFinite(abs(toFloat64(__hg_cand0) - toFloat64(__hg_ref0)) / greatest(abs(toFloat64(__hg_ref0)), abs(toFloat64(__hg_cand0)))), abs(toFloat64(__hg_cand0) - toFloat64(__hg_ref0)) / greatest(abs(toFloat64(__hg_ref0)), abs(toFloat64(__hg_cand0))), 1), 1)), 1.) AS __hg_e0
    FROM
    (
        SELECT 0 AS __hg_one, 1 AS __hg_in_ref, `n` AS __hg_ref0
        FROM
        (
            SELECT 1 AS n
        )
    ) AS __hg_reference
    FULL OUTER JOIN
    (
        SELECT 0 AS __hg_one, 1 AS __hg_in_cand, `n` AS __hg_cand0
        FROM
        (
            SELECT 2 AS n
        )
    ) AS __hg_candidate USING (__hg_one)
)
SETTINGS join_use_nulls = 0
