-- Publishes and unpublishes scheduled for later (scheduled_at) are not events (scheduling records
-- none), so the backup reads each branch's publish queue (GET /v3/publish-queue) at catch-up, as
-- it reads environments and locales: a whole-stack restore schedules again the ones still ahead.
-- queue: JSON list of the items as /v3/publish-queue answers them; fetched_at: ms.
CREATE TABLE publish_queues (
  api_key TEXT NOT NULL,
  branch TEXT NOT NULL,
  queue TEXT NOT NULL,
  fetched_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch)
);
