-- PostgreSQL twin of sqlite/028_branch_publications_copied.sql: 1 when the branch's copy took its source
-- environment's publications (made through the Contentful dialect), 0 when made through /v3 and for main,
-- NULL for a branch made before this migration whose making nothing records (see the SQLite file).
ALTER TABLE branches ADD COLUMN publications_copied INTEGER;
UPDATE branches SET publications_copied = 0 WHERE uid = 'main';
UPDATE branches SET publications_copied = 1 WHERE uid <> 'main' AND contentful_name IS NOT NULL AND contentful_version = 1;
