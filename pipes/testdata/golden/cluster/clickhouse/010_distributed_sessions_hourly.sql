CREATE TABLE IF NOT EXISTS `analytics`.`sessions_hourly` ON CLUSTER `main` AS `analytics`.`sessions_hourly_local`
ENGINE = Distributed('main', 'analytics', 'sessions_hourly_local');
