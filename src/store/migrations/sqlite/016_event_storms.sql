-- Event storms (#20): batching, debounce and rate limits, each opt-in per webhook (see
-- src/delivery/queue/index.ts). Executions of webhooks without them keep NULL in the new columns
-- and enter none of the new indexes, so the unbatched path writes nothing more per delivery.
ALTER TABLE executions ADD COLUMN batch_uid TEXT;    -- NULL: sent alone; '': the webhook batches, not yet in a batch; bat_...: the batch it went in
ALTER TABLE executions ADD COLUMN paced INTEGER;     -- NULL: no rate limit; 0: waits for a slot of its webhook's rate limit; 1: has one (next_attempt_at)
ALTER TABLE executions ADD COLUMN folded_seqs TEXT;  -- JSON list of the event seqs folded into this one (debounce), oldest first
-- A batching webhook's executions waiting for their batch: the window look-up at fan-out, and the
-- executions a claim adds to a batch.
CREATE INDEX executions_batching ON executions(webhook_uid, next_attempt_at) WHERE state = 'pending' AND batch_uid = '';
-- A batch's executions: retried together, shown together in the log.
CREATE INDEX executions_batch ON executions(batch_uid) WHERE batch_uid IS NOT NULL;
-- One rate limit budget per webhook, shared by every worker: the GCRA theoretical arrival time
-- (ms), the earliest time the next call may start. Rows come and go with the rate limit.
CREATE TABLE webhook_rates (
  webhook_uid TEXT PRIMARY KEY,
  tat INTEGER NOT NULL
);
