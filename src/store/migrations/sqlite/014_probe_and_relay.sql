-- The half-open probe of a webhook the circuit breaker disabled (src/delivery/probe.ts): when its
-- next probe is due and the back-off that set it (doubling per failed probe). NULL: not probed
-- (enabled, or disabled by a user or a 410). Kept in the store so probes survive a restart and
-- exactly one process takes each.
ALTER TABLE webhooks ADD COLUMN probe_at INTEGER;
ALTER TABLE webhooks ADD COLUMN probe_delay_ms INTEGER;
CREATE INDEX webhooks_probe ON webhooks(probe_at) WHERE probe_at IS NOT NULL;
-- `herald listen`'s temporary relay webhooks (src/delivery/relay.ts): deleted once this time (ms)
-- passed without their listener renewing it. NULL: a webhook of its own.
ALTER TABLE webhooks ADD COLUMN temporary_until INTEGER;
