-- What the Contentful dialect keeps of each branch beyond its content, read through the dialect at
-- catch-up (the event log has no events for editor interfaces and tags; activation is the dialect's
-- own): a restore brings each back through the dialect. JSON lists of the items its GETs answer:
-- content_types (GET .../content_types: current definitions, sys.publishedVersion on activated ones),
-- activated_content_types (GET .../public/content_types: the definitions as last activated, drafts
-- left out), editor_interfaces (GET .../editor_interfaces), tags (GET .../tags).
CREATE TABLE contentful_branches (
  api_key TEXT NOT NULL,
  branch TEXT NOT NULL,
  content_types TEXT NOT NULL,
  activated_content_types TEXT NOT NULL,
  editor_interfaces TEXT NOT NULL,
  tags TEXT NOT NULL,
  fetched_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch)
);
