-- The Contentful dialect's own state (src/contentful/**). Everything else it shows is the same
-- content and webhooks as the /v3 API; these tables hold only what Contentful has and Contentstack
-- does not.

-- Per-space webhook settings (`/spaces/{space}/webhook_settings/...`). The signing secret is kept
-- to sign requests and never returned (only its last 4 characters).
CREATE TABLE contentful_spaces (
  api_key TEXT NOT NULL PRIMARY KEY REFERENCES stacks(api_key) ON DELETE CASCADE,
  signing_secret TEXT,                 -- 64 characters; NULL: requests are not signed the Contentful way
  signing_secret_at INTEGER,           -- when it was set, ms
  max_retries INTEGER,                 -- retry policy; NULL: the engine's schedule
  retry_policy_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- Files received by `POST /spaces/{space}/uploads`, waiting to become an asset's file
-- (`uploadFrom`). Each use copies the file, so one upload can serve several assets until it
-- expires (48 h, as Contentful's).
CREATE TABLE contentful_uploads (
  api_key TEXT NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  id TEXT NOT NULL,
  file TEXT NOT NULL,                  -- path under the assets dir: <api_key>/<file id>
  size INTEGER NOT NULL,               -- bytes
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (api_key, id)
);

-- Content types published the Contentful way (`PUT .../content_types/{id}/published`). Herald's
-- content types have no publish state of their own; this records it for the dialect, with the
-- ContentType.publish / unpublish events recorded in the same transaction.
CREATE TABLE contentful_content_types (
  api_key TEXT NOT NULL REFERENCES stacks(api_key) ON DELETE CASCADE,
  branch TEXT NOT NULL,
  uid TEXT NOT NULL,
  published_version INTEGER NOT NULL,  -- the content type's _version when published
  published_counter INTEGER NOT NULL,
  published_by TEXT NOT NULL,
  first_published_at INTEGER NOT NULL,
  published_at INTEGER NOT NULL,
  PRIMARY KEY (api_key, branch, uid)
);
