import type { HeraldEvent } from '../../src/events/event.ts';
import type { Destination, Webhook } from '../../src/webhooks/webhook.ts';

/**
 * A webhook as the store gives it, for tests that build requests without a store: one
 * destination (`dest` over https://example.com/hook, no headers), every channel, signed with
 * Standard Webhooks' test vector's secret; `over` replaces any of its keys.
 */
export const webhookDoc = (over: Partial<Webhook> = {}, dest: Partial<Destination> = {}): Webhook => ({
  uid: 'bltwebhook',
  api_key: 'bltstack',
  name: 'w',
  destinations: [{ target_url: 'https://example.com/hook', custom_header: [], ...dest }],
  channels: ['*.*'],
  branches: ['main'],
  conditions: [],
  retry_policy: 'manual',
  disabled: false,
  disabled_reason: null,
  concise_payload: false,
  format: 'contentstack',
  signing_secrets: [{ secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', expires_at: null }],
  created_at: 0,
  updated_at: 0,
  version: 1,
  ...over,
});

/** Event 42 of that stack: an update of entry `entry` (uid bltentry) of the blog content type. */
export const entryUpdate = (entry: Record<string, unknown>): HeraldEvent => ({
  seq: 42,
  api_key: 'bltstack',
  branch: 'main',
  module: 'entry',
  action: 'update',
  uid: 'bltentry',
  content_type_uid: 'blog',
  locale: 'en-us',
  actor: 'admin',
  created_at: Date.parse('2026-01-01T00:00:00Z'),
  data: { entry, content_type: { uid: 'blog', title: 'Blog', schema: [] } },
});
