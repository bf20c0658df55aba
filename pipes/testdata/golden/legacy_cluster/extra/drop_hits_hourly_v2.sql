DROP TABLE IF EXISTS `analytics`.`hits_hourly_v2_mv` ON CLUSTER `two_shards`;
DROP TABLE IF EXISTS `analytics`.`hits_hourly_v2` ON CLUSTER `two_shards`;
DROP TABLE IF EXISTS `analytics`.`hits_hourly_v2_local` ON CLUSTER `two_shards`;
DROP TABLE IF EXISTS `analytics`.`hits_hourly_v2_staging` ON CLUSTER `two_shards`;
