-- The backup center's own store (docs/backup-format.md describes every table).

-- One row per stack the backup has heard of (from a delivery or the --api-key setting).
CREATE TABLE stacks (
  api_key TEXT PRIMARY KEY,
  -- Every event of this stack with seq <= feed_cursor is held: read from the source's feed up to
  -- here. Seqs are global across stacks, so "contiguous" is only knowable through the feed.
  feed_cursor BIGINT NOT NULL DEFAULT 0,
  -- Highest seq held from any origin (a delivery may run ahead of the cursor).
  highest_seq BIGINT NOT NULL DEFAULT 0,
  first_seen_at BIGINT NOT NULL,
  -- Last catch-up that reached the end of the feed, and the last one that failed (with why).
  caught_up_at BIGINT,
  catch_up_error TEXT,
  catch_up_error_at BIGINT,
  -- Snapshots of the stack's environments and locales (JSON lists) taken from the source at
  -- catch-up: the event log has no events for them, and a whole-stack restore needs them.
  environments TEXT,
  locales TEXT,
  settings_fetched_at BIGINT
);

-- The history: one row per event, append-only. Its snapshot (data) is the entity after the
-- change (before it, for delete), exactly as Herald sent it.
CREATE TABLE events (
  api_key TEXT NOT NULL,
  seq BIGINT NOT NULL,
  branch TEXT NOT NULL,
  module TEXT NOT NULL,
  action TEXT NOT NULL,
  uid TEXT NOT NULL,
  content_type_uid TEXT,
  -- The event's locale (for publish events the locale published to).
  locale TEXT,
  -- For entries: the locale of the version line the snapshot belongs to; '' otherwise.
  line TEXT NOT NULL,
  environment TEXT,
  -- Who made the change; NULL while only a delivery (which does not carry it) was seen.
  actor TEXT,
  -- The snapshot's _version.
  version INTEGER,
  title TEXT,
  data TEXT NOT NULL,
  -- 1 when the snapshot is a concise payload (identity and metadata only).
  partial INTEGER NOT NULL DEFAULT 0,
  -- 'webhook' or 'feed': where the row came from (a feed read upgrades a webhook row).
  origin TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  stored_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, seq)
);
CREATE INDEX events_entity ON events (api_key, branch, module, uid, seq);

-- Deliveries seen, by webhook-id, so a retry of one delivery is recognised before it is parsed.
CREATE TABLE deliveries (
  webhook_id TEXT PRIMARY KEY,
  api_key TEXT NOT NULL,
  seq BIGINT NOT NULL,
  received_at BIGINT NOT NULL
);

-- Derived from events (rebuilt from them at any time): the state of each entity, for browsing.
CREATE TABLE entities (
  api_key TEXT NOT NULL,
  branch TEXT NOT NULL,
  module TEXT NOT NULL,
  uid TEXT NOT NULL,
  content_type_uid TEXT,
  title TEXT,
  -- JSON: { "<line>": "live" | "deleted" } (entries; other modules use the line "").
  lines TEXT NOT NULL,
  -- The line the entity was first seen in: a delete of it is a delete of the whole entry.
  origin_line TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  events INTEGER NOT NULL,
  last_seq BIGINT NOT NULL,
  last_action TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch, module, uid)
);

-- Asset file bytes are stored once per content (sha256) under blobs/.
CREATE TABLE blobs (
  sha256 TEXT PRIMARY KEY,
  size BIGINT NOT NULL,
  stored_at BIGINT NOT NULL
);

-- Which bytes belong to each version of each asset.
CREATE TABLE asset_files (
  api_key TEXT NOT NULL,
  branch TEXT NOT NULL,
  uid TEXT NOT NULL,
  version INTEGER NOT NULL,
  -- 'stored' (sha256 set), 'pending' (to download again), 'missing' (gone at the source).
  status TEXT NOT NULL,
  sha256 TEXT,
  filename TEXT,
  content_type TEXT,
  size BIGINT,
  problem TEXT,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch, uid, version)
);

-- Problems the backup could not solve by itself, open until resolved.
CREATE TABLE gaps (
  api_key TEXT NOT NULL,
  -- Identifies one problem, e.g. 'source_unreachable' or 'asset_file_missing:<uid>@<version>'.
  gap_key TEXT NOT NULL,
  kind TEXT NOT NULL,
  detail TEXT NOT NULL,
  from_seq BIGINT,
  to_seq BIGINT,
  detected_at BIGINT NOT NULL,
  resolved_at BIGINT,
  PRIMARY KEY (api_key, gap_key, detected_at)
);

-- Restores: which uid a recreated entity got in a target stack, so later restores (and
-- references to it) use it.
CREATE TABLE uid_map (
  target TEXT NOT NULL,
  module TEXT NOT NULL,
  source_uid TEXT NOT NULL,
  target_uid TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (target, module, source_uid)
);
