DROP TABLE IF EXISTS `analytics`.`sessions_live_v2_mv`;
DROP TABLE IF EXISTS `analytics`.`sessions_live_v2`;
DROP TABLE IF EXISTS `analytics`.`sessions_live_v2_staging`;
