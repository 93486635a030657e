-- The per-lane indexes of executions are keyed lane first: (lane, webhook_uid) instead of
-- (webhook_uid, lane). Every query that reads them names both (`lane = ?` or `lane IN (...)`, and
-- `webhook_uid = ?` or `IN (...)`), so either order serves them; what differs is the write. An
-- event's executions (one per matching webhook) share its lane: lane first, they go into one place
-- of each index, side by side; webhook first, into one place per webhook. An index entry written
-- into the middle of a B-tree costs far more than one written next to the previous: with ten
-- webhooks (sequential lanes, as the bench's; 200 events a transaction) an execution insert cost
-- 12-17 us of SQLite CPU with (webhook_uid, lane) against 3-4 us with (lane, webhook_uid).
DROP INDEX executions_unfinished;
-- Queries must say `ended_at IS NULL` (UNFINISHED_ROW in src/delivery/queue/states.ts) to use it.
CREATE INDEX executions_unfinished ON executions(lane, webhook_uid) WHERE ended_at IS NULL;
DROP INDEX executions_queued;
CREATE INDEX executions_queued ON executions(lane, webhook_uid, event_seq) WHERE state = 'queued';
DROP INDEX executions_autosave;
CREATE INDEX executions_autosave ON executions(lane, webhook_uid) WHERE action = 'auto_save';
