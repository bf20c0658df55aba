DROP TABLE IF EXISTS `analytics`.`analytics_sessions_v2_mv`;
DROP TABLE IF EXISTS `analytics`.`analytics_sessions_v2`;
DROP TABLE IF EXISTS `analytics`.`analytics_sessions_v2_staging`;
