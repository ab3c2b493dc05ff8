-- Calendar subscription feeds (GET /feeds/{token}.ics). Only the SHA-256 of a feed's token is
-- stored. A rotated or deleted feed's hash moves to feed_dead_tokens, so its URL answers 410 Gone
-- (Thunderbird then stops polling) while a token that was never issued stays a 404.
CREATE TABLE `feeds` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` integer NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_fetched_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `feeds_token_hash_unique` ON `feeds` (`token_hash`);
--> statement-breakpoint
CREATE INDEX `feeds_user_idx` ON `feeds` (`user_id`, `id`);
--> statement-breakpoint
CREATE TABLE `feed_dead_tokens` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`feed_id` integer NOT NULL,
	`died_at` integer NOT NULL
);
