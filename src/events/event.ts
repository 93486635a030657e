/**
 * An event: one change to content, recorded in the same transaction as the change.
 *
 * `module` and `action` use Contentstack's words; Contentful's topics map onto them in
 * `src/webhooks/channels.ts` (Entry <-> entry, save <-> update, ...).
 */
export const MODULES = ['content_type', 'entry', 'asset'] as const;
export type Module = (typeof MODULES)[number];

export const ACTIONS = [
  'create',
  'update',
  'auto_save',
  'archive',
  'unarchive',
  'publish',
  'publish.fail',
  'unpublish',
  'unpublish.fail',
  'delete',
] as const;
export type Action = (typeof ACTIONS)[number];

/** What a content operation hands to `events.record()`. */
export interface EventInput {
  api_key: string;
  branch: string;
  module: Module;
  action: Action;
  /** uid of the entity that changed. */
  uid: string;
  /** For entries: their content type. */
  content_type_uid?: string | null;
  /** For entries: the locale that changed. */
  locale?: string | null;
  /** For publish/unpublish (and their .fail): the environment's name. */
  environment?: string | null;
  /** Who made the change: a management token uid, or `admin`. */
  actor: string;
  /**
   * The webhook payload's `data` (seed 003): `{ entry, content_type }`, `{ asset }` or
   * `{ content_type }`, plus `environment` and `locale` for publish events and `reason` for
   * `.fail` events. The entity snapshot is after the change (before it, for delete).
   */
  data: Record<string, unknown>;
}

export interface HeraldEvent extends EventInput {
  /** Global, monotonic; receivers use it to drop stale updates. */
  seq: number;
  created_at: number;
}
