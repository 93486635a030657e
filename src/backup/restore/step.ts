import type { Module } from '../event.ts';

/** One thing a restore did in the target (the report's `steps`). */
export interface Step {
  module: Module | 'locale' | 'environment' | 'branch' | 'editor_interface' | 'tag' | 'bulk';
  /** uid in the backup (code for a locale, name for an environment, the job id for a scheduled bulk job; its target_uid: the target's job id). */
  uid: string;
  target_uid?: string;
  /** `published` for a content type: activated the Contentful way; `draft`: made a Contentful draft; `archived`: an entry or asset archived as at the source,
   * or archived again after its content was saved (`unarchived` first: /v3 saves no archived entity);
   * `scheduled`: a publish or unpublish (of one entry or asset, or a bulk job) scheduled for later at the source, scheduled again;
   * `already_scheduled`: one the target's publish queue already held (same item, action, time, environments and locales), not scheduled twice. */
  action: 'created' | 'updated' | 'published' | 'draft' | 'archived' | 'unarchived' | 'scheduled' | 'already_scheduled' | 'exists';
  locale?: string;
  environment?: string;
  /** A branch made: its Contentful environment name, when it has one; a tag made: its name; a content type activated with a definition it has changed since: the activated name. */
  name?: string;
  /** `scheduled`, `already_scheduled`: what, and when (ISO 8601); `environment` and `locale` then list each, comma-separated. */
  scheduled?: 'publish' | 'unpublish';
  scheduled_at?: string;
  /** `scheduled`: the token that scheduled it at the source (the queue's `created_by`); the target makes it as the restore's token. */
  scheduled_by?: string;
  /** The `_version` brought back, and the event it was read from. */
  version?: number | null;
  seq?: number;
}
