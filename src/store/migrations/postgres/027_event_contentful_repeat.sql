-- PostgreSQL twin of sqlite/027_event_contentful_repeat.sql: 1 on an asset's publish or unpublish
-- event repeating, in another locale, one its request recorded (Contentful-format webhooks are not
-- matched by it, live or replayed); NULL otherwise. Adding a nullable column rewrites no rows.
ALTER TABLE events ADD COLUMN contentful_repeat INTEGER;
