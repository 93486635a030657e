-- What Contentful's import, export and migration tools rely on that Herald's content has no
-- place for (src/contentful/**).

-- How often the dialect moved an entry's or asset's `sys.version` beyond its content versions:
-- Contentful counts publishing and unpublishing as versions (after a publish, sys.version is
-- publishedVersion + 1), Herald's content versions count saves only.
CREATE TABLE contentful_versions (
  api_key TEXT NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT NOT NULL,
  module TEXT NOT NULL,                -- entry | asset
  uid TEXT NOT NULL,
  bumps INTEGER NOT NULL,
  PRIMARY KEY (api_key, branch, module, uid)
);

-- Tags (`/environments/{env}/tags`): entries and assets keep the ids of their tags
-- (`metadata.tags`); these are the tags created with a name and visibility.
CREATE TABLE contentful_tags (
  api_key TEXT NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT NOT NULL,
  id TEXT NOT NULL,
  name TEXT NOT NULL,
  visibility TEXT NOT NULL,            -- private | public
  version INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,         -- ms
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (api_key, branch, id)
);

-- Editor interfaces (`/content_types/{id}/editor_interface`) saved through the dialect: kept as
-- given (controls, sidebar, editors, groupControls, editorLayout) so they round-trip; Herald's own
-- web app builds its editor from the content type.
CREATE TABLE contentful_editor_interfaces (
  api_key TEXT NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT NOT NULL,
  content_type_uid TEXT NOT NULL,
  version INTEGER NOT NULL,
  doc TEXT NOT NULL,                   -- JSON
  created_by TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (api_key, branch, content_type_uid)
);
