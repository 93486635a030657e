-- Which asset a uid named: a deleted asset's uid can be given to a new one (x-herald-uid, the
-- Contentful dialect's create-with-id), whose versions start at 1 again. `created_seq` is the seq of
-- the event that created the asset; with it `GET /v3/assets/{uid}/download?version=N` and the
-- x-herald-event-seq header serve the file version N had in the asset the uid named at that event
-- (src/content/assets.ts assetFile), and a new asset under the uid no longer removes the earlier
-- one's kept files (they go with the log retention, as other retired files). 0: made before this
-- migration (an earlier asset's files were removed when its uid was reused, so a uid's rows of 0 are
-- one asset's), or copied into a branch.
ALTER TABLE assets ADD COLUMN created_seq INTEGER NOT NULL DEFAULT 0;

CREATE TABLE retired_asset_files_next (
  api_key TEXT NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT NOT NULL,
  uid TEXT NOT NULL,
  created_seq INTEGER NOT NULL DEFAULT 0, -- the asset's (assets.created_seq) whose file this was
  until_version INTEGER NOT NULL,
  file TEXT NOT NULL,              -- path of the bytes under the assets dir: <api_key>/<file id>
  filename TEXT NOT NULL,
  content_type TEXT NOT NULL,
  retired_at BIGINT NOT NULL,      -- ms
  PRIMARY KEY (api_key, branch, uid, created_seq, until_version)
);
INSERT INTO retired_asset_files_next (api_key, branch, uid, created_seq, until_version, file, filename, content_type, retired_at)
  SELECT api_key, branch, uid, 0, until_version, file, filename, content_type, retired_at FROM retired_asset_files;
DROP TABLE retired_asset_files;
ALTER TABLE retired_asset_files_next RENAME TO retired_asset_files;
CREATE INDEX retired_asset_files_at ON retired_asset_files(retired_at);
