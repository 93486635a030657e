-- PostgreSQL twin of sqlite/008_event_actor_changes.sql: the actor's name as it was when the event
-- was recorded, and an update's changes (JSON). NULL for older events; adding nullable columns
-- rewrites no rows.
ALTER TABLE events ADD COLUMN actor_name TEXT;
ALTER TABLE events ADD COLUMN changes TEXT;
