-- PostgreSQL twin of sqlite/020_contentful_draft_content_types.sql: content types the Contentful
-- dialect keeps out of its delivery and preview APIs (made through it and not yet published, or
-- unpublished since); gone with their content type.
CREATE TABLE contentful_draft_content_types (
  api_key TEXT COLLATE "C" NOT NULL,
  branch TEXT COLLATE "C" NOT NULL,
  uid TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (api_key, branch, uid),
  FOREIGN KEY (api_key, branch, uid) REFERENCES content_types (api_key, branch, uid) ON DELETE CASCADE
);

-- Stores from before this migration: the dialect's content types (options.contentful) not published the Contentful way.
INSERT INTO contentful_draft_content_types (api_key, branch, uid)
SELECT c.api_key, c.branch, c.uid FROM content_types c
WHERE jsonb_typeof(c.doc::jsonb -> 'options' -> 'contentful') = 'object'
  AND NOT EXISTS (SELECT 1 FROM contentful_content_types p WHERE p.api_key = c.api_key AND p.branch = c.branch AND p.uid = c.uid);
