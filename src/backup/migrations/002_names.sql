-- Names for people: the stack's name (read from the source at catch-up, with its environments and
-- locales) and the name of the token that made each change (from the feed; NULL until the feed
-- supplies it, like `actor`). The pages show these instead of bare uids.
ALTER TABLE stacks ADD COLUMN name TEXT;
ALTER TABLE events ADD COLUMN actor_name TEXT;
