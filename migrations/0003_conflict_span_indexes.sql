CREATE INDEX `events_owner_start_idx` ON `events` (`owner_id`,`start_time`);--> statement-breakpoint
CREATE INDEX `events_owner_span_idx` ON `events` (`owner_id`,series_end - start_time);