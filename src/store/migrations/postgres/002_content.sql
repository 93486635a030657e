-- PostgreSQL twin of sqlite/002_content.sql: content types, entries (one version line per
-- locale, every version kept), assets, and where each entry and asset is published.
-- Types as in 001_core.sql: BIGINT for numbers and times, INTEGER for 0/1 flags, COLLATE "C" text.

CREATE TABLE content_types (
  api_key TEXT COLLATE "C" NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT COLLATE "C" NOT NULL,
  uid TEXT COLLATE "C" NOT NULL,
  version BIGINT NOT NULL,
  doc TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch, uid)
);

-- The head of each locale's version line of an entry. An entry exists while it has at least one
-- line; `archived` is the same on all lines of an entry.
CREATE TABLE entries (
  api_key TEXT COLLATE "C" NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT COLLATE "C" NOT NULL,
  uid TEXT COLLATE "C" NOT NULL,
  locale TEXT COLLATE "C" NOT NULL,
  content_type_uid TEXT COLLATE "C" NOT NULL,
  version BIGINT NOT NULL,
  archived INTEGER NOT NULL DEFAULT 0,
  doc TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch, uid, locale)
);
CREATE INDEX entries_content_type ON entries(api_key, branch, content_type_uid, created_at);

-- Every version of every line, the head included (append-only while the entry lives).
CREATE TABLE entry_versions (
  api_key TEXT COLLATE "C" NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT COLLATE "C" NOT NULL,
  uid TEXT COLLATE "C" NOT NULL,
  locale TEXT COLLATE "C" NOT NULL,
  version BIGINT NOT NULL,
  action TEXT COLLATE "C" NOT NULL,            -- create | update | auto_save
  actor TEXT COLLATE "C" NOT NULL,
  doc TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch, uid, locale, version)
);

CREATE TABLE assets (
  api_key TEXT COLLATE "C" NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT COLLATE "C" NOT NULL,
  uid TEXT COLLATE "C" NOT NULL,
  version BIGINT NOT NULL,
  archived INTEGER NOT NULL DEFAULT 0,
  file TEXT COLLATE "C" NOT NULL,              -- path of the bytes under the assets dir: <api_key>/<file id>
  doc TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch, uid)
);
CREATE INDEX assets_created ON assets(api_key, branch, created_at);

-- Where an entry or asset is published: one row per environment and locale, with the version
-- published there. Rendered as the entity's `publish_details`.
CREATE TABLE publications (
  api_key TEXT COLLATE "C" NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT COLLATE "C" NOT NULL,
  module TEXT COLLATE "C" NOT NULL,            -- entry | asset
  uid TEXT COLLATE "C" NOT NULL,
  environment TEXT COLLATE "C" NOT NULL,       -- the environment's uid (a rename keeps the publication)
  locale TEXT COLLATE "C" NOT NULL,
  version BIGINT NOT NULL,
  actor TEXT COLLATE "C" NOT NULL,
  published_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch, module, uid, environment, locale)
);
CREATE INDEX publications_environment ON publications(api_key, environment);
CREATE INDEX publications_locale ON publications(api_key, locale);
