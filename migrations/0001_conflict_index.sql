DROP INDEX `events_owner_span_idx`;--> statement-breakpoint
CREATE INDEX `events_owner_series_end_idx` ON `events` (`owner_id`,`series_end`,`start_time`);