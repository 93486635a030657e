-- PostgreSQL twin of sqlite/012_schedules.sql. Publishes and unpublishes to be made later (`scheduled_at`, src/content/schedule.ts): one row per
-- scheduled request, kept until it is done. `request` holds what to do (environments by uid,
-- locales, version; for a bulk job its body), `origin` where asset URLs point, `actor` and
-- `actor_name` who asked (the change is theirs when it happens). A process claims due rows by
-- setting `lease_until` (ms) and `lease_owner`, and deletes each in the transaction that makes its
-- change; a claim whose process died expires and is taken over.
CREATE TABLE schedules (
  uid TEXT PRIMARY KEY,
  api_key TEXT NOT NULL,
  branch TEXT NOT NULL,
  kind TEXT NOT NULL,            -- entry.publish, entry.unpublish, asset.publish, asset.unpublish, bulk.publish, bulk.unpublish
  content_type_uid TEXT,         -- entries: their content type
  entity_uid TEXT,               -- entries and assets; null for a bulk job
  request TEXT NOT NULL,         -- JSON
  origin TEXT NOT NULL,
  actor TEXT NOT NULL,
  actor_name TEXT,
  due_at BIGINT NOT NULL,        -- ms since the epoch
  created_at BIGINT NOT NULL,
  lease_until BIGINT NOT NULL DEFAULT 0,
  lease_owner TEXT
);
-- The next due (the scheduler's timer) and the claim of due rows.
CREATE INDEX schedules_due ON schedules(due_at);
-- An entity's schedules (shown with it, dropped with the stack).
CREATE INDEX schedules_entity ON schedules(api_key, branch, entity_uid);
