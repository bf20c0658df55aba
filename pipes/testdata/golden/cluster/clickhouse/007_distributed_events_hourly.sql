CREATE TABLE IF NOT EXISTS `analytics`.`events_hourly` ON CLUSTER `main` AS `analytics`.`events_hourly_local`
ENGINE = Distributed('main', 'analytics', 'events_hourly_local');
