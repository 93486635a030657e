-- attempts_started (attempts(started_at)) is read by no query SQLite plans: the activity log's
-- attempt list and the stats' window both go from the webhook's executions (executions_webhook) to
-- their attempts (attempts_execution), and Herald never runs ANALYZE, whose statistics alone could
-- make the planner pick it. Each attempt row still wrote it: 6% of the WAL pages a delivery writes
-- at fan-out 10 (bench:rows, BENCH_ROWS_WAL=1). DROP INDEX moves its pages to the free list in one
-- pass over them (no table rebuild: 20 ms for a million attempts, the file in the OS cache); the
-- file does not shrink, later writes reuse the pages.
DROP INDEX IF EXISTS attempts_started;
