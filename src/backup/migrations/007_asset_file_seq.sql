-- asset_files: the seq of the event a record was made for joins the key. A uid can name several
-- assets one after another (an asset deleted and another made under its uid, through Herald's
-- x-herald-uid or a Contentful id reused), each with versions from 1: keyed by (uid, version) only,
-- the new asset's version 1 read the old one's bytes, and its own were never fetched. A reader takes
-- the record whose seq lies between that asset's create and the next create of the uid.
-- Rows from before get the first event of their version, the one that captured them; where a uid
-- was reused before this, the later asset's versions have no record (shown without a file).
CREATE TABLE asset_files_new (
  api_key TEXT NOT NULL,
  branch TEXT NOT NULL,
  uid TEXT NOT NULL,
  version INTEGER NOT NULL,
  seq BIGINT NOT NULL,
  status TEXT NOT NULL,
  sha256 TEXT,
  filename TEXT,
  content_type TEXT,
  size BIGINT,
  problem TEXT,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch, uid, version, seq)
);
INSERT INTO asset_files_new (api_key, branch, uid, version, seq, status, sha256, filename, content_type, size, problem, updated_at)
SELECT f.api_key, f.branch, f.uid, f.version,
  COALESCE((SELECT MIN(e.seq) FROM events e WHERE e.api_key = f.api_key AND e.branch = f.branch AND e.module = 'asset' AND e.uid = f.uid AND e.version = f.version), 0),
  f.status, f.sha256, f.filename, f.content_type, f.size, f.problem, f.updated_at
FROM asset_files f;
DROP TABLE asset_files;
ALTER TABLE asset_files_new RENAME TO asset_files;
