-- Deleting an event removes the notifications about it (all but the deletion notices); without
-- this index that delete would scan every user's inbox.
CREATE INDEX `notifications_event_idx` ON `notifications` (`event_id`);
