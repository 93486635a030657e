-- Global fields (Contentstack's /v3/global_fields): a reusable schema that content types embed as
-- a `global_field` field. One row per uid per branch, like content_types; `doc` is the global field
-- as the API shows it (title, uid, description, schema, _version, ...). Content types keep only
-- the reference (`reference_to`); the schema is read from here whenever a content type is read.
CREATE TABLE global_fields (
  api_key TEXT NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT NOT NULL,
  uid TEXT NOT NULL,
  version INTEGER NOT NULL,
  doc TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch, uid)
);
