DROP TABLE IF EXISTS `analytics`.`sessions_hourly_v2_mv`;
DROP TABLE IF EXISTS `analytics`.`sessions_hourly_v2`;
DROP TABLE IF EXISTS `analytics`.`sessions_hourly_v2_staging`;
