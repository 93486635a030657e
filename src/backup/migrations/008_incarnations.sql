-- A uid can name several entities one after another (an asset or entry made again under its uid once
-- wholly deleted: history.ts incarnations()). `incarnations` counts them; `events` now counts the
-- events of the one the uid names now (it counted every event under the uid), and `lines`,
-- `origin_line` and `title` are that one's. The rows are derived from events: the store fills them
-- again in this migration's transaction (BackupStore.rebuildEntities).
ALTER TABLE entities ADD COLUMN incarnations INTEGER NOT NULL DEFAULT 1;
