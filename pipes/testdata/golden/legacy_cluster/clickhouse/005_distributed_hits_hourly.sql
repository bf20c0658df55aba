CREATE TABLE IF NOT EXISTS `analytics`.`hits_hourly` ON CLUSTER `two_shards` AS `analytics`.`hits_hourly_local`
ENGINE = Distributed('two_shards', 'analytics', 'hits_hourly_local');
