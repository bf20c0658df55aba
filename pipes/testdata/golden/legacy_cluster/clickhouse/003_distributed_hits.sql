CREATE TABLE IF NOT EXISTS `analytics`.`hits` ON CLUSTER `two_shards` AS `analytics`.`hits_local`
ENGINE = Distributed('two_shards', 'analytics', 'hits_local', cityHash64(user_id));
