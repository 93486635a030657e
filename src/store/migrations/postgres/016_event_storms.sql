-- PostgreSQL twin of sqlite/016_event_storms.sql.
ALTER TABLE executions ADD COLUMN batch_uid TEXT;
ALTER TABLE executions ADD COLUMN paced INTEGER;
ALTER TABLE executions ADD COLUMN folded_seqs TEXT;
CREATE INDEX executions_batching ON executions(webhook_uid, next_attempt_at) WHERE state = 'pending' AND batch_uid = '';
CREATE INDEX executions_batch ON executions(batch_uid) WHERE batch_uid IS NOT NULL;
CREATE TABLE webhook_rates (
  webhook_uid TEXT PRIMARY KEY,
  tat BIGINT NOT NULL
);
