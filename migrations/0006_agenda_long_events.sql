-- Events that span more than a day (series, multi-day one-offs) that are still running after a
-- window start, found by one index range on series_end instead of a scan of the user's history.
-- The literal 86400000 must match the agenda query's term exactly for SQLite to use the index.
CREATE INDEX `permissions_user_long_end_idx` ON `permissions` (`user_id`,`series_end`) WHERE series_end - start_time > 86400000;
