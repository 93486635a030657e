-- PostgreSQL twin of sqlite/004_contentful.sql (same tables and columns): the Contentful
-- dialect's own state. Times in ms and counters are BIGINT; text compares byte-wise (COLLATE "C").

CREATE TABLE contentful_spaces (
  api_key TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES stacks(api_key) ON DELETE CASCADE,
  signing_secret TEXT,
  signing_secret_at BIGINT,
  max_retries INTEGER,
  retry_policy_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE contentful_uploads (
  api_key TEXT COLLATE "C" NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  id TEXT COLLATE "C" NOT NULL,
  file TEXT COLLATE "C" NOT NULL,
  size BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, id)
);

CREATE TABLE contentful_content_types (
  api_key TEXT COLLATE "C" NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT COLLATE "C" NOT NULL,
  uid TEXT COLLATE "C" NOT NULL,
  published_version BIGINT NOT NULL,
  published_counter BIGINT NOT NULL,
  published_by TEXT COLLATE "C" NOT NULL,
  first_published_at BIGINT NOT NULL,
  published_at BIGINT NOT NULL,
  PRIMARY KEY (api_key, branch, uid)
);
