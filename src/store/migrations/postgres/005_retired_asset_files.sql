-- PostgreSQL twin of sqlite/005_retired_asset_files.sql: asset files that were replaced or whose
-- asset was deleted, kept for the log retention so earlier versions stay downloadable.
CREATE TABLE retired_asset_files (
  api_key TEXT COLLATE "C" NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT COLLATE "C" NOT NULL,
  uid TEXT COLLATE "C" NOT NULL,
  until_version BIGINT NOT NULL,
  file TEXT COLLATE "C" NOT NULL,              -- path of the bytes under the assets dir: <api_key>/<file id>
  filename TEXT NOT NULL,
  content_type TEXT NOT NULL,
  retired_at BIGINT NOT NULL,                  -- ms
  PRIMARY KEY (api_key, branch, uid, until_version)
);
CREATE INDEX retired_asset_files_at ON retired_asset_files(retired_at);
