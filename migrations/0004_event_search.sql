-- Substring search over title, description and location that folds case over all of Unicode
-- (SQLite's lower() and LIKE fold ASCII only). The trigram tokenizer indexes every 3-character
-- window and folds case (simple Unicode case folding: ẞ finds ß, Σ finds σ and ς); MATCH on a
-- quoted string then finds it anywhere in a word. Turkish İ and ı do not fold to i there, so the
-- text is indexed with them (and i + U+0307, how İ lower-cases) written as i, and queries are
-- rewritten the same way (src/events/search.ts). Contentless: the index keeps no text of its own,
-- and these triggers keep it in step with every write path, deletes included.
CREATE VIRTUAL TABLE `events_fts` USING fts5(title, description, location, content='', tokenize='trigram');
--> statement-breakpoint
CREATE TRIGGER `events_fts_after_insert` AFTER INSERT ON `events` BEGIN
  INSERT INTO events_fts(rowid, title, description, location) VALUES (
    new.id,
    replace(replace(replace(new.title, 'İ', 'i'), 'i̇', 'i'), 'ı', 'i'),
    replace(replace(replace(new.description, 'İ', 'i'), 'i̇', 'i'), 'ı', 'i'),
    replace(replace(replace(new.location, 'İ', 'i'), 'i̇', 'i'), 'ı', 'i'));
END;
--> statement-breakpoint
CREATE TRIGGER `events_fts_after_delete` AFTER DELETE ON `events` BEGIN
  INSERT INTO events_fts(events_fts, rowid, title, description, location) VALUES (
    'delete',
    old.id,
    replace(replace(replace(old.title, 'İ', 'i'), 'i̇', 'i'), 'ı', 'i'),
    replace(replace(replace(old.description, 'İ', 'i'), 'i̇', 'i'), 'ı', 'i'),
    replace(replace(replace(old.location, 'İ', 'i'), 'i̇', 'i'), 'ı', 'i'));
END;
--> statement-breakpoint
CREATE TRIGGER `events_fts_after_update` AFTER UPDATE OF title, description, location ON `events`
WHEN old.title IS NOT new.title OR old.description IS NOT new.description OR old.location IS NOT new.location BEGIN
  INSERT INTO events_fts(events_fts, rowid, title, description, location) VALUES (
    'delete',
    old.id,
    replace(replace(replace(old.title, 'İ', 'i'), 'i̇', 'i'), 'ı', 'i'),
    replace(replace(replace(old.description, 'İ', 'i'), 'i̇', 'i'), 'ı', 'i'),
    replace(replace(replace(old.location, 'İ', 'i'), 'i̇', 'i'), 'ı', 'i'));
  INSERT INTO events_fts(rowid, title, description, location) VALUES (
    new.id,
    replace(replace(replace(new.title, 'İ', 'i'), 'i̇', 'i'), 'ı', 'i'),
    replace(replace(replace(new.description, 'İ', 'i'), 'i̇', 'i'), 'ı', 'i'),
    replace(replace(replace(new.location, 'İ', 'i'), 'i̇', 'i'), 'ı', 'i'));
END;
--> statement-breakpoint
INSERT INTO events_fts(rowid, title, description, location)
SELECT id,
  replace(replace(replace(title, 'İ', 'i'), 'i̇', 'i'), 'ı', 'i'),
  replace(replace(replace(description, 'İ', 'i'), 'i̇', 'i'), 'ı', 'i'),
  replace(replace(replace(location, 'İ', 'i'), 'i̇', 'i'), 'ı', 'i')
FROM events;
