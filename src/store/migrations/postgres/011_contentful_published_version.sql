-- PostgreSQL twin of sqlite/011_contentful_published_version.sql.
ALTER TABLE contentful_versions ADD COLUMN published_version BIGINT;
ALTER TABLE contentful_versions ADD COLUMN published_sum BIGINT;
