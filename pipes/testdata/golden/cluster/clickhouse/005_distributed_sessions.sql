CREATE TABLE IF NOT EXISTS `analytics`.`sessions` ON CLUSTER `main` AS `analytics`.`sessions_local`
ENGINE = Distributed('main', 'analytics', 'sessions_local', cityHash64(user_id));
