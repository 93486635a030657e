-- Core tables: stacks and their tokens, the append-only event log, webhooks, and the delivery
-- queue (executions) with its attempt log. Times are integer milliseconds since the epoch.

CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE stacks (
  api_key TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  doc TEXT NOT NULL,               -- the stack as the API returns it (JSON)
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE management_tokens (
  uid TEXT PRIMARY KEY,
  api_key TEXT NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE, -- sha256 hex of the token; the token itself is never stored
  token_last4 TEXT NOT NULL,
  doc TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER
);
CREATE INDEX management_tokens_stack ON management_tokens(api_key);

-- Every change, in the same transaction as the change. seq is global and monotonic.
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  api_key TEXT NOT NULL,
  branch TEXT NOT NULL,
  module TEXT NOT NULL,            -- content_type | entry | asset
  action TEXT NOT NULL,            -- create | update | auto_save | ... | publish.fail
  uid TEXT NOT NULL,
  content_type_uid TEXT,
  locale TEXT,
  environment TEXT,
  actor TEXT NOT NULL,
  data TEXT NOT NULL,              -- JSON: the payload's `data` (entity snapshot, content type, ...)
  created_at INTEGER NOT NULL
);
CREATE INDEX events_stack ON events(api_key, seq);

CREATE TABLE webhooks (
  uid TEXT PRIMARY KEY,
  api_key TEXT NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  doc TEXT NOT NULL,               -- the definition (JSON), secrets included: never returned as is
  disabled INTEGER NOT NULL DEFAULT 0,
  disabled_reason TEXT,            -- why Herald disabled it (circuit breaker, 410); NULL if a user did
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  version INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX webhooks_stack ON webhooks(api_key);

-- One durable delivery of one event to one webhook.
-- state: queued (waits behind an earlier execution in its lane) | pending (due at next_attempt_at)
--         | in_flight (claimed until lease_until) | succeeded | failed
CREATE TABLE executions (
  uid TEXT PRIMARY KEY,
  api_key TEXT NOT NULL,
  webhook_uid TEXT NOT NULL,
  event_seq INTEGER NOT NULL,
  lane TEXT NOT NULL,              -- module:uid of the entity; one lane is delivered in event order
  channel TEXT NOT NULL,           -- the Contentstack channel of the event, e.g. content_types.blog.entries.update
  action TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  coalesced INTEGER NOT NULL DEFAULT 0, -- auto_save events folded into this one
  next_attempt_at INTEGER,
  lease_until INTEGER,
  first_attempt_at INTEGER,
  last_status_code INTEGER,
  last_outcome TEXT,
  last_reason TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX executions_due ON executions(state, next_attempt_at);
CREATE INDEX executions_lane ON executions(webhook_uid, lane, event_seq);
CREATE INDEX executions_webhook ON executions(webhook_uid, created_at);
CREATE INDEX executions_event ON executions(event_seq);

CREATE TABLE attempts (
  uid TEXT PRIMARY KEY,
  execution_uid TEXT NOT NULL,
  n INTEGER NOT NULL,              -- 1 for the first attempt
  started_at INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  outcome TEXT NOT NULL,           -- success | http_error | timeout | refused | dns | blocked | network | redirect
  status_code INTEGER,
  reason TEXT,
  request TEXT NOT NULL,           -- JSON: method, url, headers (secrets masked), body (capped)
  response TEXT                    -- JSON: headers, body (capped, escaped); NULL when none came
);
CREATE INDEX attempts_execution ON attempts(execution_uid, n);
CREATE INDEX attempts_started ON attempts(started_at);

-- Stack-wide settings that content lives under. Environments and locales are shared by all branches
-- (Contentstack's "global modules"); a branch starts as a copy of its source's content.
CREATE TABLE branches (
  api_key TEXT NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  uid TEXT NOT NULL,
  source TEXT,                     -- the branch it was copied from; NULL for main
  doc TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (api_key, uid)
);

CREATE TABLE environments (
  api_key TEXT NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  uid TEXT NOT NULL,
  name TEXT NOT NULL,
  doc TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (api_key, uid),
  UNIQUE (api_key, name)
);

CREATE TABLE locales (
  api_key TEXT NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  code TEXT NOT NULL,
  uid TEXT NOT NULL,
  doc TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (api_key, code)
);
