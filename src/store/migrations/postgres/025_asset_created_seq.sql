-- PostgreSQL twin of sqlite/025_asset_created_seq.sql: which asset a uid named (the seq of its
-- create event; 0: made before this migration, or copied into a branch), so a reused uid's earlier
-- asset keeps its files, each served by the x-herald-event-seq header.
ALTER TABLE assets ADD COLUMN created_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE retired_asset_files ADD COLUMN created_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE retired_asset_files DROP CONSTRAINT retired_asset_files_pkey;
ALTER TABLE retired_asset_files ADD PRIMARY KEY (api_key, branch, uid, created_seq, until_version);
