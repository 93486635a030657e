-- Fewer, smaller indexes on executions. Every claim and every outcome rewrites the execution row; on
-- PostgreSQL each rewrite adds an entry to every index whose condition the new row meets (SQLite
-- rewrites the indexes whose columns changed), so the indexes are paid for on every delivery. On
-- PostgreSQL, entries written per delivered execution: 17 before, 10 after. And the look-ups that
-- run on every delivery now read indexes that hold only what they look for.
--
-- Due work: only pending and in-flight executions have a next_attempt_at, so the due index holds
-- just them (finished executions no longer add a NULL entry each). A query uses it with a condition
-- on next_attempt_at (`<= ?`, or `IS NOT NULL`).
DROP INDEX executions_due;
CREATE INDEX executions_due ON executions(next_attempt_at) WHERE next_attempt_at IS NOT NULL;
-- Lanes: whether a lane has unfinished work (at fan-out), and the queue depth metric. Finished
-- executions are never in it. Queries must repeat this exact IN list to use it.
DROP INDEX executions_unfinished;
DROP INDEX executions_lane;
CREATE INDEX executions_unfinished ON executions(webhook_uid, lane) WHERE state IN ('queued', 'pending', 'in_flight');
-- The next execution of a lane whose head ended: queued ones only (rare: a lane with work behind its head).
CREATE INDEX executions_queued ON executions(webhook_uid, lane, event_seq) WHERE state = 'queued';
-- Auto-save coalescing reads a lane's auto_save executions, finished ones included (the window
-- counts from the last call).
CREATE INDEX executions_autosave ON executions(webhook_uid, lane) WHERE action = 'auto_save';
-- Nothing reads executions by event.
DROP INDEX executions_event;
