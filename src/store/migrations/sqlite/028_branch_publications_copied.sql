-- Whether a branch's copy took its source environment's publications as its own: 1 when it was made
-- through the Contentful dialect (PUT or POST /spaces/{space}/environments: contentful/environments.ts
-- createEnvironment, the one path that copies them), 0 when made through /v3 (POST /v3/stacks/branches,
-- whose copy, as Contentstack's, starts unpublished) and for main (made with its stack). The backup
-- center reads it (GET /v3/herald/branches) to make a branch again the way it was made: before, it
-- guessed from the Contentful name, and an environment named after its own id looked like a /v3 branch.
--
-- Rows made before this migration: an environment named at its making and never renamed
-- (contentful_name set, contentful_version 1) can only have come from the dialect: 1. Main: 0. The rest
-- stay NULL (not known): an environment made through the dialect without a name, or renamed since, is
-- stored like a /v3 branch (renamed through the dialect), so nothing tells them apart.
ALTER TABLE branches ADD COLUMN publications_copied INTEGER;
UPDATE branches SET publications_copied = 0 WHERE uid = 'main';
UPDATE branches SET publications_copied = 1 WHERE uid <> 'main' AND contentful_name IS NOT NULL AND contentful_version = 1;
