DROP TABLE IF EXISTS `analytics`.`events_hourly_mv`;
DROP TABLE IF EXISTS `analytics`.`events_hourly`;
DROP TABLE IF EXISTS `analytics`.`events_hourly_staging`;
DROP TABLE IF EXISTS `analytics`.`events_hourly_day`;
DROP TABLE IF EXISTS `analytics`.`events_hourly_week`;
DROP TABLE IF EXISTS `analytics`.`hourly_final_events_hourly`;
DROP TABLE IF EXISTS `analytics`.`daily_final_events_hourly`;
DROP TABLE IF EXISTS `analytics`.`trend_final_events_hourly`;
