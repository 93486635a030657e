-- How each branch was made, as the source's GET /v3/herald/branches answered at catch-up (Herald's own
-- record, store 028: uid, source, publications_copied). A restore that makes a branch the target lacks
-- makes it the same way: as a Contentful environment (its copy takes its source's publications) or as
-- a /v3 branch (it starts unpublished). NULL: not read yet, or a source older than that route (the
-- restore then guesses from the Contentful name, as before: a name other than the id means the dialect).
ALTER TABLE stacks ADD COLUMN branch_origins TEXT;
