-- PostgreSQL twin of sqlite/024_webhook_changes.sql: nothing. Claims on PostgreSQL read each
-- execution's webhook with its lease, in one statement (delivery/queue/lease.ts); the count of
-- webhook writes serves SQLite's claim rounds only.
SELECT 1;
