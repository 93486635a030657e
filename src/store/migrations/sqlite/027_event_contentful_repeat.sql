-- 1 on an asset's publish or unpublish event (or .fail) that repeats, in another locale, one its
-- request already recorded for that environment (src/content/assets.ts); NULL otherwise. A
-- Contentful-format webhook is not matched by such an event (one call per publish, as Contentful
-- sends), and a replay or dry run reads this to do the same. NULL for events recorded before this
-- migration (their replay sends each locale's). Adding a nullable column rewrites no rows.
ALTER TABLE events ADD COLUMN contentful_repeat INTEGER;
