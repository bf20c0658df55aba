CREATE TABLE IF NOT EXISTS `analytics`.`sessions_live` ON CLUSTER `main` AS `analytics`.`sessions_live_local`
ENGINE = Distributed('main', 'analytics', 'sessions_live_local');
