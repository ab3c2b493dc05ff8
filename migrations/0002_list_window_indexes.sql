CREATE INDEX `permissions_user_role_start_idx` ON `permissions` (`user_id`,`role`,`start_time`,`event_id`);--> statement-breakpoint
CREATE INDEX `permissions_user_span_idx` ON `permissions` (`user_id`,series_end - start_time);--> statement-breakpoint
CREATE INDEX `permissions_user_endless_idx` ON `permissions` (`user_id`,`start_time`,`event_id`) WHERE series_end IS NULL;