-- Content types the Contentful dialect keeps out of its delivery and preview APIs (Contentful's
-- CDA lists activated content types only): made through the dialect and not yet published
-- (activated), or unpublished (deactivated) since. A content type made through /v3 has no row:
-- Contentstack has no activation, so it is delivered as soon as it exists. The row goes with its
-- content type (foreign key), whichever API deletes it.
CREATE TABLE contentful_draft_content_types (
  api_key TEXT NOT NULL,
  branch TEXT NOT NULL,
  uid TEXT NOT NULL,
  PRIMARY KEY (api_key, branch, uid),
  FOREIGN KEY (api_key, branch, uid) REFERENCES content_types (api_key, branch, uid) ON DELETE CASCADE
);

-- Stores from before this migration recorded no origin. The dialect writes `options.contentful`
-- into every content type it makes or changes: those not published the Contentful way are drafts.
INSERT INTO contentful_draft_content_types (api_key, branch, uid)
SELECT c.api_key, c.branch, c.uid FROM content_types c
WHERE json_type(c.doc, '$.options.contentful') = 'object'
  AND NOT EXISTS (SELECT 1 FROM contentful_content_types p WHERE p.api_key = c.api_key AND p.branch = c.branch AND p.uid = c.uid);
