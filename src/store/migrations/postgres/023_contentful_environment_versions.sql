-- A Contentful environment's sys.version and, once renamed, its sys.updatedAt (ms since the epoch).
-- Every branch starts at version 1 (what the dialect always showed); a rename through
-- PUT /spaces/{space}/environments/{id} with X-Contentful-Version (contentful-management's
-- environment.update) moves it by one. NULL updated_at: the branch doc's updated_at. Columns of the
-- row, like contentful_name (022): /v3/stacks/branches shows the doc, Contentstack's branches have neither.
ALTER TABLE branches ADD COLUMN contentful_version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE branches ADD COLUMN contentful_updated_at BIGINT;
