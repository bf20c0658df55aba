CREATE TABLE IF NOT EXISTS `analytics`.`events` ON CLUSTER `main` AS `analytics`.`events_local`
ENGINE = Distributed('main', 'analytics', 'events_local', cityHash64(session_id));
