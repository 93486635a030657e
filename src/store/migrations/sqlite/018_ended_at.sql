-- When an execution ended (succeeded or failed), ms; NULL while some attempt is still to come. The
-- unfinished index is keyed on it instead of on state: a claim (pending -> in_flight) and a retry
-- (in_flight -> pending) change the state but not whether the execution ended, and an index whose
-- condition names a changed column has its entry rewritten (SQLite deletes and inserts it). With
-- entities' lanes spread over the index (random uids), that rewrite was most of a claim's cost:
-- 64 leases at a backlog of 40,000, 36 -> 12 us of SQLite CPU each. Writers that end an execution
-- set it, writers that reopen one (manual retry, replay, the probe of a failed one) clear it.
ALTER TABLE executions ADD COLUMN ended_at INTEGER;
UPDATE executions SET ended_at = updated_at WHERE state IN ('succeeded', 'failed');
DROP INDEX executions_unfinished;
-- Queries must say `ended_at IS NULL` (UNFINISHED_ROW in src/delivery/queue/states.ts) to use it.
CREATE INDEX executions_unfinished ON executions(webhook_uid, lane) WHERE ended_at IS NULL;
