CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`owner_id` integer NOT NULL,
	`title` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`location` text,
	`start_time` integer NOT NULL,
	`end_time` integer NOT NULL,
	`series_end` integer,
	`is_recurring` integer DEFAULT false NOT NULL,
	`recurrence_pattern` text,
	`timezone` text DEFAULT 'UTC' NOT NULL,
	`version` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `events_owner_span_idx` ON `events` (`owner_id`,`start_time`,`series_end`);--> statement-breakpoint
CREATE TABLE `notifications` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` integer NOT NULL,
	`type` text NOT NULL,
	`event_id` integer,
	`actor_id` integer NOT NULL,
	`message` text NOT NULL,
	`data` text NOT NULL,
	`is_read` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `notifications_user_idx` ON `notifications` (`user_id`,`id`);--> statement-breakpoint
CREATE INDEX `notifications_user_unread_idx` ON `notifications` (`user_id`,`is_read`,`id`);--> statement-breakpoint
CREATE TABLE `permissions` (
	`event_id` integer NOT NULL,
	`user_id` integer NOT NULL,
	`role` text NOT NULL,
	`granted_by` integer NOT NULL,
	`granted_at` integer NOT NULL,
	`start_time` integer NOT NULL,
	`series_end` integer,
	PRIMARY KEY(`event_id`, `user_id`)
);
--> statement-breakpoint
CREATE INDEX `permissions_user_start_idx` ON `permissions` (`user_id`,`start_time`,`event_id`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` integer NOT NULL,
	`refresh_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE INDEX `sessions_user_idx` ON `sessions` (`user_id`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`username` text NOT NULL,
	`email` text NOT NULL,
	`password_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`calendar_version` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_username_unique` ON `users` (lower("username"));--> statement-breakpoint
CREATE UNIQUE INDEX `users_email_unique` ON `users` (lower("email"));--> statement-breakpoint
CREATE TABLE `versions` (
	`event_id` integer NOT NULL,
	`version` integer NOT NULL,
	`action` text NOT NULL,
	`changed_by` integer NOT NULL,
	`changed_at` integer NOT NULL,
	`snapshot` text NOT NULL,
	`changes` text NOT NULL,
	`restored_from` integer,
	PRIMARY KEY(`event_id`, `version`)
);
--> statement-breakpoint
CREATE INDEX `versions_event_time_idx` ON `versions` (`event_id`,`changed_at`);