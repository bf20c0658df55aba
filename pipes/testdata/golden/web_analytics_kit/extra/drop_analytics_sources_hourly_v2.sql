DROP TABLE IF EXISTS `analytics`.`analytics_sources_hourly_v2_mv`;
DROP TABLE IF EXISTS `analytics`.`analytics_sources_hourly_v2`;
DROP TABLE IF EXISTS `analytics`.`analytics_sources_hourly_v2_staging`;
