-- Single-occurrence exceptions live with their series, as part of its versioned content: a JSON
-- array sorted by original start (see src/exceptions/model.ts for the shape and its bounds). A
-- series split by "this and following" names the series it was split from.
ALTER TABLE `events` ADD COLUMN `exceptions` text DEFAULT '[]' NOT NULL;
--> statement-breakpoint
ALTER TABLE `events` ADD COLUMN `split_from` integer;
