-- PostgreSQL twin of sqlite/001_core.sql (same tables, columns and indexes).
-- Types: SQLite's 64-bit INTEGER is BIGINT here (times in ms, counters); 0/1 flags stay INTEGER;
-- AUTOINCREMENT is an identity column. Text columns compare byte-wise (COLLATE "C") as SQLite's
-- do, so ORDER BY on names and uids gives the same order on both backends.

CREATE TABLE meta (
  key TEXT COLLATE "C" PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE stacks (
  api_key TEXT COLLATE "C" PRIMARY KEY,
  name TEXT COLLATE "C" NOT NULL,
  doc TEXT NOT NULL,               -- the stack as the API returns it (JSON)
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE management_tokens (
  uid TEXT COLLATE "C" PRIMARY KEY,
  api_key TEXT COLLATE "C" NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  name TEXT COLLATE "C" NOT NULL,
  token_hash TEXT COLLATE "C" NOT NULL UNIQUE, -- sha256 hex of the token; the token itself is never stored
  token_last4 TEXT NOT NULL,
  doc TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT
);
CREATE INDEX management_tokens_stack ON management_tokens(api_key);

-- Every change, in the same transaction as the change. seq is global and monotonic.
CREATE TABLE events (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  api_key TEXT COLLATE "C" NOT NULL,
  branch TEXT COLLATE "C" NOT NULL,
  module TEXT COLLATE "C" NOT NULL,            -- content_type | entry | asset
  action TEXT COLLATE "C" NOT NULL,            -- create | update | auto_save | ... | publish.fail
  uid TEXT COLLATE "C" NOT NULL,
  content_type_uid TEXT COLLATE "C",
  locale TEXT COLLATE "C",
  environment TEXT COLLATE "C",
  actor TEXT COLLATE "C" NOT NULL,
  data TEXT NOT NULL,              -- JSON: the payload's `data` (entity snapshot, content type, ...)
  created_at BIGINT NOT NULL
);
CREATE INDEX events_stack ON events(api_key, seq);

CREATE TABLE webhooks (
  uid TEXT COLLATE "C" PRIMARY KEY,
  api_key TEXT COLLATE "C" NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  doc TEXT NOT NULL,               -- the definition (JSON), secrets included: never returned as is
  disabled INTEGER NOT NULL DEFAULT 0,
  disabled_reason TEXT,            -- why Herald disabled it (circuit breaker, 410); NULL if a user did
  consecutive_failures BIGINT NOT NULL DEFAULT 0,
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX webhooks_stack ON webhooks(api_key);

-- One durable delivery of one event to one webhook.
-- state: queued (waits behind an earlier execution in its lane) | pending (due at next_attempt_at)
--         | in_flight (claimed until lease_until) | succeeded | failed
CREATE TABLE executions (
  uid TEXT COLLATE "C" PRIMARY KEY,
  api_key TEXT COLLATE "C" NOT NULL,
  webhook_uid TEXT COLLATE "C" NOT NULL,
  event_seq BIGINT NOT NULL,
  lane TEXT COLLATE "C" NOT NULL,              -- module:uid of the entity; one lane is delivered in event order
  channel TEXT COLLATE "C" NOT NULL,           -- the Contentstack channel of the event, e.g. content_types.blog.entries.update
  action TEXT COLLATE "C" NOT NULL,
  state TEXT COLLATE "C" NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 0,
  coalesced BIGINT NOT NULL DEFAULT 0, -- auto_save events folded into this one
  next_attempt_at BIGINT,
  lease_until BIGINT,
  first_attempt_at BIGINT,
  last_status_code BIGINT,
  last_outcome TEXT COLLATE "C",
  last_reason TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX executions_due ON executions(state, next_attempt_at);
CREATE INDEX executions_lane ON executions(webhook_uid, lane, event_seq);
CREATE INDEX executions_webhook ON executions(webhook_uid, created_at);
CREATE INDEX executions_event ON executions(event_seq);

CREATE TABLE attempts (
  uid TEXT COLLATE "C" PRIMARY KEY,
  execution_uid TEXT COLLATE "C" NOT NULL,
  n BIGINT NOT NULL,               -- 1 for the first attempt
  started_at BIGINT NOT NULL,
  duration_ms BIGINT NOT NULL,
  outcome TEXT COLLATE "C" NOT NULL,           -- success | http_error | timeout | refused | dns | blocked | network | redirect
  status_code BIGINT,
  reason TEXT,
  request TEXT NOT NULL,           -- JSON: method, url, headers (secrets masked), body (capped)
  response TEXT                    -- JSON: headers, body (capped, escaped); NULL when none came
);
CREATE INDEX attempts_execution ON attempts(execution_uid, n);
CREATE INDEX attempts_started ON attempts(started_at);

-- Stack-wide settings that content lives under. Environments and locales are shared by all branches
-- (Contentstack's "global modules"); a branch starts as a copy of its source's content.
CREATE TABLE branches (
  api_key TEXT COLLATE "C" NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  uid TEXT COLLATE "C" NOT NULL,
  source TEXT COLLATE "C",                     -- the branch it was copied from; NULL for main
  doc TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, uid)
);

CREATE TABLE environments (
  api_key TEXT COLLATE "C" NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  uid TEXT COLLATE "C" NOT NULL,
  name TEXT COLLATE "C" NOT NULL,
  doc TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, uid),
  UNIQUE (api_key, name)
);

CREATE TABLE locales (
  api_key TEXT COLLATE "C" NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  code TEXT COLLATE "C" NOT NULL,
  uid TEXT COLLATE "C" NOT NULL,
  doc TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, code)
);
