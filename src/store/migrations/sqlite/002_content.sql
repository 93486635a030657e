-- Content: content types, entries (one version line per locale, every version kept), assets, and
-- where each entry and asset is published. Everything lives in a branch; `doc` columns hold the
-- entity as the API returns it (JSON), minus what is computed on read (publish_details).
-- Times are integer milliseconds since the epoch; booleans 0/1.

CREATE TABLE content_types (
  api_key TEXT NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT NOT NULL,
  uid TEXT NOT NULL,
  version INTEGER NOT NULL,
  doc TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch, uid)
);

-- The head of each locale's version line of an entry. An entry exists while it has at least one
-- line; `archived` is the same on all lines of an entry.
CREATE TABLE entries (
  api_key TEXT NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT NOT NULL,
  uid TEXT NOT NULL,
  locale TEXT NOT NULL,
  content_type_uid TEXT NOT NULL,
  version INTEGER NOT NULL,
  archived INTEGER NOT NULL DEFAULT 0,
  doc TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch, uid, locale)
);
CREATE INDEX entries_content_type ON entries(api_key, branch, content_type_uid, created_at);

-- Every version of every line, the head included (append-only while the entry lives).
CREATE TABLE entry_versions (
  api_key TEXT NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT NOT NULL,
  uid TEXT NOT NULL,
  locale TEXT NOT NULL,
  version INTEGER NOT NULL,
  action TEXT NOT NULL,            -- create | update | auto_save
  actor TEXT NOT NULL,
  doc TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch, uid, locale, version)
);

CREATE TABLE assets (
  api_key TEXT NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT NOT NULL,
  uid TEXT NOT NULL,
  version INTEGER NOT NULL,
  archived INTEGER NOT NULL DEFAULT 0,
  file TEXT NOT NULL,              -- path of the bytes under the assets dir: <api_key>/<file id>
  doc TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch, uid)
);
CREATE INDEX assets_created ON assets(api_key, branch, created_at);

-- Where an entry or asset is published: one row per environment and locale, with the version
-- published there. Rendered as the entity's `publish_details`.
CREATE TABLE publications (
  api_key TEXT NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT NOT NULL,
  module TEXT NOT NULL,            -- entry | asset
  uid TEXT NOT NULL,
  environment TEXT NOT NULL,       -- the environment's uid (a rename keeps the publication)
  locale TEXT NOT NULL,
  version INTEGER NOT NULL,
  actor TEXT NOT NULL,
  published_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch, module, uid, environment, locale)
);
CREATE INDEX publications_environment ON publications(api_key, environment);
CREATE INDEX publications_locale ON publications(api_key, locale);
