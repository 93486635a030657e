-- PostgreSQL twin of sqlite/013_replays.sql. Replays (POST /v3/webhooks/{uid}/replay,
-- src/delivery/replay.ts): one durable job per request, and the executions it sends, so its
-- progress (`done` of `total`) is counted from the queue itself.
CREATE TABLE replays (
  uid TEXT COLLATE "C" PRIMARY KEY,
  api_key TEXT COLLATE "C" NOT NULL,
  webhook_uid TEXT COLLATE "C" NOT NULL,
  mode TEXT NOT NULL,              -- failed (send failed executions again) | events (new executions of past events)
  range_from BIGINT NOT NULL,      -- the range, ms: executions (failed) or events (events) created in it
  range_to BIGINT NOT NULL,
  state TEXT NOT NULL,             -- enqueuing (executions being made, in chunks) | running | done
  total BIGINT NOT NULL,           -- executions the job sends (counted at the start; exact once enqueued)
  enqueued BIGINT NOT NULL DEFAULT 0, -- executions made or reset so far (also the chunks' compare-and-set)
  last_seq BIGINT NOT NULL DEFAULT 0, -- events mode: the last event seq looked at (where a resumed job goes on)
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  finished_at BIGINT
);
CREATE INDEX replays_webhook ON replays(webhook_uid, created_at);
-- Jobs still making executions (resumed at start after a crash); a handful at most.
CREATE INDEX replays_enqueuing ON replays(state) WHERE state = 'enqueuing';

CREATE TABLE replay_executions (
  replay_uid TEXT COLLATE "C" NOT NULL,
  execution_uid TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (replay_uid, execution_uid)
);
