-- The name a Contentful environment was made with (`name` of PUT or POST /spaces/{space}/environments).
-- NULL: the environment is named after its id (master, and branches made through /v3). A column of
-- the row, not a key of its doc: /v3/stacks/branches shows the doc, and Contentstack's branches have
-- no name. The row goes with the branch, so a later branch of the same uid starts without one.
ALTER TABLE branches ADD COLUMN contentful_name TEXT;
