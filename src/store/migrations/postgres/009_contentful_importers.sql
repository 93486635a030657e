-- PostgreSQL twin of sqlite/009_contentful_importers.sql (same tables and columns).

CREATE TABLE contentful_versions (
  api_key TEXT COLLATE "C" NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT COLLATE "C" NOT NULL,
  module TEXT COLLATE "C" NOT NULL,
  uid TEXT COLLATE "C" NOT NULL,
  bumps BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch, module, uid)
);

CREATE TABLE contentful_tags (
  api_key TEXT COLLATE "C" NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT COLLATE "C" NOT NULL,
  id TEXT COLLATE "C" NOT NULL,
  name TEXT COLLATE "C" NOT NULL,
  visibility TEXT COLLATE "C" NOT NULL,
  version BIGINT NOT NULL,
  created_by TEXT COLLATE "C" NOT NULL,
  updated_by TEXT COLLATE "C" NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch, id)
);

CREATE TABLE contentful_editor_interfaces (
  api_key TEXT COLLATE "C" NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT COLLATE "C" NOT NULL,
  content_type_uid TEXT COLLATE "C" NOT NULL,
  version BIGINT NOT NULL,
  doc TEXT NOT NULL,
  created_by TEXT COLLATE "C" NOT NULL,
  updated_by TEXT COLLATE "C" NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch, content_type_uid)
);
