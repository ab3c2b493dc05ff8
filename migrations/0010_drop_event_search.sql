-- Search matches the caller's bounded slice of rows in code (src/events/search.ts), so the FTS5
-- trigram index of 0004 no longer earns its keep: a phrase of common trigrams made every probe
-- read doclists spanning all users' events (about 50-90 list pages of CPU a search page), and each
-- write paid for indexing every 3-character window of up to 10 KB of text.
DROP TRIGGER IF EXISTS `events_fts_after_insert`;
--> statement-breakpoint
DROP TRIGGER IF EXISTS `events_fts_after_delete`;
--> statement-breakpoint
DROP TRIGGER IF EXISTS `events_fts_after_update`;
--> statement-breakpoint
DROP TABLE IF EXISTS `events_fts`;
