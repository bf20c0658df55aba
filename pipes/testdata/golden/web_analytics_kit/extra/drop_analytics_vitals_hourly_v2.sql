DROP TABLE IF EXISTS `analytics`.`analytics_vitals_hourly_v2_mv`;
DROP TABLE IF EXISTS `analytics`.`analytics_vitals_hourly_v2`;
DROP TABLE IF EXISTS `analytics`.`analytics_vitals_hourly_v2_staging`;
