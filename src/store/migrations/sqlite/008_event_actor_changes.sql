-- What each event says about itself besides its data: the name of the token that made the change,
-- as it was then (the token may be renamed or deleted later), and, for update and auto_save
-- events, the changed field paths with old and new values (src/events/changes.ts), computed once
-- in the change's transaction. Both NULL for events recorded before this migration.
ALTER TABLE events ADD COLUMN actor_name TEXT;
ALTER TABLE events ADD COLUMN changes TEXT;  -- JSON: { paths, fields, truncated }
