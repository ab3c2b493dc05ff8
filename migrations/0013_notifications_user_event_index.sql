-- Sync (GET /api/sync) shows each changed event once, at its latest change: for every change-log
-- row it reads, one probe of this index tells whether a later row of the same event follows.
CREATE INDEX `notifications_user_event_idx` ON `notifications` (`user_id`,`event_id`,`id`);
