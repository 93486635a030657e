-- Asset files that were replaced or whose asset was deleted, kept so an earlier version's bytes can
-- still be downloaded (`GET /v3/assets/{uid}/download?version=N`): a backup that was not running
-- when the change happened catches up on them. A row's file was the asset's file for every version
-- up to and including `until_version` (since the previous row's). Kept for the log retention
-- (HERALD_LOG_RETENTION_DAYS) after `retired_at`, then the file and the row are removed.
CREATE TABLE retired_asset_files (
  api_key TEXT NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT NOT NULL,
  uid TEXT NOT NULL,
  until_version INTEGER NOT NULL,
  file TEXT NOT NULL,              -- path of the bytes under the assets dir: <api_key>/<file id>
  filename TEXT NOT NULL,
  content_type TEXT NOT NULL,
  retired_at BIGINT NOT NULL,      -- ms
  PRIMARY KEY (api_key, branch, uid, until_version)
);
CREATE INDEX retired_asset_files_at ON retired_asset_files(retired_at);
