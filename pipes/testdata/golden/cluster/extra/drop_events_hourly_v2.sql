DROP TABLE IF EXISTS `analytics`.`events_hourly_v2_mv` ON CLUSTER `main`;
DROP TABLE IF EXISTS `analytics`.`events_hourly_v2` ON CLUSTER `main`;
DROP TABLE IF EXISTS `analytics`.`events_hourly_v2_local` ON CLUSTER `main`;
DROP TABLE IF EXISTS `analytics`.`events_hourly_v2_staging` ON CLUSTER `main`;
