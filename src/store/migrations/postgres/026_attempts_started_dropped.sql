-- PostgreSQL twin of sqlite/026_attempts_started_dropped.sql: nothing. PostgreSQL keeps
-- attempts_started: with its statistics the planner may read a short stats window of a large
-- attempts table by started_at, which SQLite (no ANALYZE) never does.
SELECT 1;
