-- A content type's definition as the Contentful dialect last activated (published) it, for
-- GET /spaces/{space}/environments/{env}/public/content_types ("the activated versions of content
-- types, ignoring any changes made since the last activation"): its JSON doc, global fields
-- resolved, at published_version. NULL for activations before this migration: while the content type
-- is unchanged since (its version is published_version), its current doc is that definition.
ALTER TABLE contentful_content_types ADD COLUMN published_doc TEXT;
