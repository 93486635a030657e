-- An entry is one history per (content type, uid), not per uid: a uid the source gives again to an
-- entry of another content type (an entry deleted and a new one made under its uid, through Herald's
-- x-herald-uid or a Contentful id reused) is another entity. Before, both folded into one row.
-- entities: content_type_uid joins the key ('' for assets; a content type's own uid for content
-- types). The rows are derived from events: the store fills the new table again from them, in the
-- same transaction as this migration (BackupStore.rebuildEntities), splitting any merged history.
CREATE TABLE entities_new (
  api_key TEXT NOT NULL,
  branch TEXT NOT NULL,
  module TEXT NOT NULL,
  content_type_uid TEXT NOT NULL DEFAULT '',
  uid TEXT NOT NULL,
  title TEXT,
  lines TEXT NOT NULL,
  origin_line TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  events INTEGER NOT NULL,
  last_seq BIGINT NOT NULL,
  last_action TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch, module, content_type_uid, uid)
);
DROP TABLE entities;
ALTER TABLE entities_new RENAME TO entities;

-- uid_map: a restored entry's target uid per (content type, uid) too ('' for assets). Rows written
-- before this migration did not record the content type: an entry's gets the one content type the
-- backup's events give that uid, and stays '' (content type unknown) when they give several; a
-- restore reads '' only when no row names the content type, and checks the mapped uid exists in
-- that content type before using it.
CREATE TABLE uid_map_new (
  target TEXT NOT NULL,
  module TEXT NOT NULL,
  content_type_uid TEXT NOT NULL DEFAULT '',
  source_uid TEXT NOT NULL,
  target_uid TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (target, module, content_type_uid, source_uid)
);
INSERT INTO uid_map_new (target, module, content_type_uid, source_uid, target_uid, created_at)
SELECT m.target, m.module,
  CASE WHEN m.module = 'entry' AND (SELECT COUNT(DISTINCT e.content_type_uid) FROM events e WHERE e.module = 'entry' AND e.uid = m.source_uid) = 1
    THEN (SELECT e.content_type_uid FROM events e WHERE e.module = 'entry' AND e.uid = m.source_uid LIMIT 1) ELSE '' END,
  m.source_uid, m.target_uid, m.created_at
FROM uid_map m;
DROP TABLE uid_map;
ALTER TABLE uid_map_new RENAME TO uid_map;
