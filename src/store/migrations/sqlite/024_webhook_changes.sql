-- A count of writes to webhooks' rows, moved by triggers on every insert, delete and update of a
-- column a claim reads (src/delivery/queue/lease.ts, claimedRows): a claim round reads this one row
-- and reuses the webhook rows an earlier round read while it is unchanged, instead of reading each
-- webhook's row (its whole document) every round. Triggers, not the writers: every writer moves it,
-- those to come, a stack's deletion cascading to its webhooks, and another process on the file.
CREATE TABLE webhook_changes (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  n INTEGER NOT NULL
);
INSERT INTO webhook_changes (id, n) VALUES (1, 0);
CREATE TRIGGER webhooks_inserted AFTER INSERT ON webhooks BEGIN
  UPDATE webhook_changes SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER webhooks_updated AFTER UPDATE OF uid, doc, disabled, disabled_reason, version, created_at, updated_at ON webhooks BEGIN
  UPDATE webhook_changes SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER webhooks_deleted AFTER DELETE ON webhooks BEGIN
  UPDATE webhook_changes SET n = n + 1 WHERE id = 1;
END;
