-- Claiming scans executions by due time alone: only pending and in-flight executions have a
-- next_attempt_at (queued, finished and parked ones have NULL), so one index on it finds due work
-- in order without a sort, however large the backlog.
DROP INDEX executions_due;
CREATE INDEX executions_due ON executions(next_attempt_at);
