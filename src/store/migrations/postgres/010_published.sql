-- PostgreSQL twin of sqlite/010_published.sql. The read side (src/published/): what each publication published, and delivery tokens.
--
-- A publication row now keeps the entity as published (`doc`: the entry line or asset as it was
-- published, without computed keys), its content type (entries), the entity's creation time (the
-- delivery APIs' default order) and the seq of the event that published it (sync reads the
-- publications a snapshot holds up to a seq, and the event log after it). Rows from before this
-- migration get the version they name from entry_versions (an entry published through a fallback
-- locale's line gets that line when the locale has none), or the asset's current doc, and seq 0.
ALTER TABLE publications ADD COLUMN content_type_uid TEXT COLLATE "C";
ALTER TABLE publications ADD COLUMN doc TEXT;
ALTER TABLE publications ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE publications ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;

UPDATE publications SET
  content_type_uid = (SELECT e.content_type_uid FROM entries e WHERE e.api_key = publications.api_key AND e.branch = publications.branch AND e.uid = publications.uid LIMIT 1),
  doc = COALESCE(
    (SELECT v.doc FROM entry_versions v WHERE v.api_key = publications.api_key AND v.branch = publications.branch AND v.uid = publications.uid AND v.locale = publications.locale AND v.version = publications.version),
    (SELECT v.doc FROM entry_versions v WHERE v.api_key = publications.api_key AND v.branch = publications.branch AND v.uid = publications.uid AND v.version = publications.version ORDER BY v.locale LIMIT 1)),
  created_at = COALESCE((SELECT MIN(e.created_at) FROM entries e WHERE e.api_key = publications.api_key AND e.branch = publications.branch AND e.uid = publications.uid), 0)
WHERE module = 'entry';
UPDATE publications SET
  doc = (SELECT a.doc FROM assets a WHERE a.api_key = publications.api_key AND a.branch = publications.branch AND a.uid = publications.uid),
  created_at = COALESCE((SELECT a.created_at FROM assets a WHERE a.api_key = publications.api_key AND a.branch = publications.branch AND a.uid = publications.uid), 0)
WHERE module = 'asset';
DELETE FROM publications WHERE doc IS NULL;

-- A delivery list: one environment, locale and content type, in creation order.
CREATE INDEX publications_read ON publications(api_key, branch, module, environment, locale, content_type_uid, created_at, uid);

-- Read-only tokens of the delivery APIs: Contentstack delivery tokens (/v3/stacks/delivery_tokens)
-- and Contentful API keys (/spaces/{space}/api_keys: a delivery key and, beside it, its preview
-- key, `pair_uid` pointing at the delivery key). Stored hashed; shown once.
CREATE TABLE delivery_tokens (
  uid TEXT COLLATE "C" PRIMARY KEY,
  api_key TEXT COLLATE "C" NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  dialect TEXT NOT NULL,           -- contentstack | contentful
  kind TEXT NOT NULL,              -- delivery | preview (drafts too: Contentful's Preview API)
  name TEXT NOT NULL,
  token_hash TEXT COLLATE "C" NOT NULL UNIQUE, -- sha256 hex of the token
  token_last4 TEXT NOT NULL,
  environments TEXT NOT NULL,      -- JSON list of environment uids it reads (Contentstack)
  branches TEXT NOT NULL,          -- JSON list of branch uids it reads
  pair_uid TEXT,
  doc TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX delivery_tokens_stack ON delivery_tokens(api_key, dialect, created_at);
