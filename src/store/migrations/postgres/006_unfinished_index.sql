-- PostgreSQL twin of sqlite/006_unfinished_index.sql: a partial index of unfinished executions by
-- state, so the queue depth metric reads the queue, not the whole log.
CREATE INDEX executions_unfinished ON executions(state) WHERE state IN ('queued', 'pending', 'in_flight');
