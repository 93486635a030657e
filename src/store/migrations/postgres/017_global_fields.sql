-- PostgreSQL twin of sqlite/017_global_fields.sql.
CREATE TABLE global_fields (
  api_key TEXT COLLATE "C" NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT COLLATE "C" NOT NULL,
  uid TEXT COLLATE "C" NOT NULL,
  version BIGINT NOT NULL,
  doc TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch, uid)
);
