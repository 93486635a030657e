-- The stack's branches as the source answered at catch-up, like its environments and locales: the
-- event log has no events for them, and a restore into a branch the target lacks makes it from here.
-- branches: GET /v3/stacks/branches (uid, source). contentful_environments: the Contentful dialect's
-- GET /spaces/{api_key}/environments (each branch's Contentful name, sys.version, sys.updatedAt).
ALTER TABLE stacks ADD COLUMN branches TEXT;
ALTER TABLE stacks ADD COLUMN contentful_environments TEXT;
