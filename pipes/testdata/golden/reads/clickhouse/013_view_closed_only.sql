CREATE OR REPLACE VIEW `analytics`.`closed_only` AS
SELECT
    `__hg_m0` AS `events`
FROM
(
    SELECT
        count() AS `__hg_m0`
    FROM `analytics`.`events`
    WHERE `ts` >= {start:DateTime}
        AND `ts` < {end:DateTime}
);
