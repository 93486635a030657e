/**
 * An event: one change to content, recorded in the same transaction as the change.
 *
 * `module` and `action` use Contentstack's words; Contentful's topics map onto them in
 * `src/webhooks/channels.ts` (Entry <-> entry, save <-> update, ...).
 *
 * Content modules are about one entity (a content type, an entry or an asset).
 */
export const CONTENT_MODULES = ['content_type', 'entry', 'asset'] as const;
export type ContentModule = (typeof CONTENT_MODULES)[number];
/**
 * `job`: a bulk job's completion (src/content/bulk.ts), one event per job and environment after its
 * items' own events, as Contentstack's job-based webhooks (`jobs.environments.publish.completed`).
 */
export const MODULES = [...CONTENT_MODULES, 'job'] as const;
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
/** The actions of content modules (entries, assets, content types). */
export type ContentAction = (typeof ACTIONS)[number];

/** A bulk job's completion, by the job's kind (`job` events only). */
export const JOB_ACTIONS = ['publish.completed', 'unpublish.completed', 'delete.completed'] as const;
export type JobAction = (typeof JOB_ACTIONS)[number];

export type Action = ContentAction | JobAction;
/** Every action an event may have. */
export const ALL_ACTIONS: readonly Action[] = [...ACTIONS, ...JOB_ACTIONS];

/**
 * Operational events: about webhooks themselves, not content (src/events/operational.ts builds
 * them). Recorded in the transaction of the state change, matched and delivered like content
 * events, but only to webhooks that name their channels (`webhooks.disabled`, `executions.failed`):
 * no Contentful topic and no content channel covers them.
 */
export const OPERATIONAL_MODULES = ['webhook', 'execution'] as const;
export type OperationalModule = (typeof OPERATIONAL_MODULES)[number];
export const OPERATIONAL_ACTIONS = { webhook: ['disabled', 'enabled', 'recovered'], execution: ['failed'] } as const;
export type OperationalAction = 'disabled' | 'enabled' | 'recovered' | 'failed';

/** Whether an event is operational (about a webhook or an execution), not a content change. */
export function isOperational(event: { module: string }): event is { module: OperationalModule } {
  return event.module === 'webhook' || event.module === 'execution';
}

/** What a content operation hands to `events.record()`. */
export interface EventInput {
  api_key: string;
  branch: string;
  module: Module | OperationalModule;
  action: Action | OperationalAction;
  /** uid of the entity that changed (a job event: the job's uid, its `job_id`; operational events: the webhook's, or the execution's). */
  uid: string;
  /** For entries: their content type. */
  content_type_uid?: string | null;
  /** For entries: the locale that changed. */
  locale?: string | null;
  /** For publish/unpublish (and their .fail) and a publish or unpublish job: the environment's name. */
  environment?: string | null;
  /** Who made the change: a management token uid, or `admin`. */
  actor: string;
  /** The management token's name when the change was made (`admin` for the admin token). */
  actor_name?: string | null;
  /**
   * For update and auto_save: the stored entity before and after the change; record() turns them
   * into the event's `changes` (src/events/changes.ts) and keeps only those.
   */
  versions?: { before: Record<string, unknown>; after: Record<string, unknown> };
  /**
   * The webhook payload's `data` (seed 003): `{ entry, content_type }`, `{ asset }` or
   * `{ content_type }`, plus `environment` and `locale` for publish events and `reason` for
   * `.fail` events. The entity snapshot is after the change (before it, for delete).
   */
  data: Record<string, unknown>;
  /**
   * `data` as JSON text, when the caller has it already: record() stores it as the event row's
   * `data` instead of stringifying `data` again. It must parse to `data`. An entry's save builds it
   * from the text its rows were written with (src/content/entries.ts renderedText), so the entry
   * is stringified once per save, not twice. Never part of the recorded event.
   */
  dataText?: string;
  /**
   * Set on an asset's publish or unpublish (or .fail) event when the same request already recorded
   * one of that action for that environment in another locale. A Herald asset is one content in
   * every locale, so Contentful's call body is the same for each: Contentful-format webhooks are
   * not matched by such events, and get one call per publish, as Contentful sends. Stored with the
   * event (store 027), so a replay and a dry run of such a webhook skip it too (explain.ts).
   */
  contentful_repeat?: true;
}

export interface HeraldEvent extends Omit<EventInput, 'versions' | 'dataText'> {
  /** Global, monotonic; receivers use it to drop stale updates. */
  seq: number;
  created_at: number;
  actor_name?: string | null;
  /** What an update or auto_save changed; null for other events (and events recorded before changes were kept). */
  changes?: Changes | null;
  /**
   * Set on the event a delivery carries, not on the recorded event: the seqs of older events of the
   * same entity folded into this delivery by its webhook's debounce, oldest first (payload `folded_seqs`).
   */
  folded_seqs?: number[];
}

/** One changed path of an update (src/events/changes.ts computes them). */
export interface Change {
  path: string;
  /** Absent when `truncated`: the value is larger than the caps allow (fetch the entity). */
  old?: unknown;
  new?: unknown;
  truncated?: true;
}

export interface Changes {
  /** Every changed path, sorted, up to MAX_CHANGED_PATHS. */
  paths: string[];
  /** The changes with their values, in `paths` order, up to MAX_CHANGE_VALUES. */
  fields: Change[];
  /** True when paths or values were left out by the caps. */
  truncated: boolean;
}

/** Who made a change, as every payload carries it. */
export interface Actor {
  /** `admin`: the admin token (Herald's one user); `management_token`: a stack's token; `herald`: Herald itself (operational events). */
  type: 'admin' | 'management_token' | 'herald';
  /** `admin`, or the token's uid. */
  uid: string;
  /** The token's name when the change was made; null when unknown (events from before names were kept). */
  name: string | null;
}

export function actorOf(event: Pick<HeraldEvent, 'actor' | 'actor_name'>): Actor {
  if (event.actor === 'admin') return { type: 'admin', uid: 'admin', name: 'admin' };
  if (event.actor === HERALD_ACTOR) return { type: 'herald', uid: HERALD_ACTOR, name: 'Herald' };
  return { type: 'management_token', uid: event.actor, name: event.actor_name ?? null };
}

/** The actor of what Herald does by itself (the circuit breaker, a 410, the half-open probe). */
export const HERALD_ACTOR = 'herald';
