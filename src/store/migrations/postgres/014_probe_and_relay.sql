-- PostgreSQL twin of sqlite/014_probe_and_relay.sql: the half-open probe's schedule and herald
-- listen's temporary webhooks. Nullable columns: no row is rewritten.
ALTER TABLE webhooks ADD COLUMN probe_at BIGINT;
ALTER TABLE webhooks ADD COLUMN probe_delay_ms BIGINT;
CREATE INDEX webhooks_probe ON webhooks(probe_at) WHERE probe_at IS NOT NULL;
ALTER TABLE webhooks ADD COLUMN temporary_until BIGINT;
