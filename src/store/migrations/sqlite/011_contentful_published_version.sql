-- sys.version of entries and assets as Contentful counts it (src/contentful/versions.ts): one save
-- is one version however many locales it writes, and publishing records the version published.
-- `bumps` (009) becomes the offset of sys.version over the sum of the content versions (it may be
-- negative: a save through the dialect that writes three locales moves it by one, not three).
ALTER TABLE contentful_versions ADD COLUMN published_version INTEGER; -- sys.version when the dialect last published it
ALTER TABLE contentful_versions ADD COLUMN published_sum INTEGER;     -- the content versions then published (sum): still current while the publications sum to it
