import { ACTIONS, isOperational, OPERATIONAL_ACTIONS, type Action, type ContentModule, type HeraldEvent, type JobAction, type Module, type OperationalAction } from '../events/event.ts';

/**
 * Channels: which events a webhook subscribes to. Two spellings are accepted, side by side in one
 * webhook's `channels`:
 *
 * Contentstack channels (seed 003), where `{action}` is any of ACTIONS (`publish.fail` included):
 *   content_types.{action}                              any content type
 *   content_types.{ct}.{action}                         the content type `ct`
 *   content_types.entries.{action}                      any entry
 *   content_types.{ct}.entries.{action}                 entries of `ct`
 *   content_types.{ct}.entries.{entry}.{action}         the entry `entry` of `ct`
 *   assets.{action}                                     any asset
 *   assets.{uid}.{action}                               the asset `uid`
 * `entries` right after `content_types.` always means "entries", never a content type uid.
 *
 * Job channels (Contentstack's job-based publish/unpublish webhooks): one call per bulk job and
 * environment, once the job's items are done (src/content/bulk.ts):
 *   jobs.environments.publish.completed                 a bulk publish job, any environment
 *   jobs.environments.unpublish.completed               a bulk unpublish job, any environment
 *   jobs.environments.{env}.publish.completed           ... to the environment named `env`
 *   jobs.environments.{env}.unpublish.completed
 *   jobs.delete.completed                               a bulk delete job (Herald's own: Contentstack
 *                                                       has no job channel for deletes)
 *
 * Operational channels (events about webhooks themselves, src/events/operational.ts):
 *   webhooks.{disabled|enabled|recovered}               any webhook of the stack
 *   webhooks.{uid}.{disabled|enabled|recovered}         the webhook `uid`
 *   executions.failed                                   a delivery that failed for good (retries exhausted)
 * Only these name operational events: no Contentful topic (`*.*` included) and no content
 * channel matches them, so a webhook hears about webhooks only when it asks to.
 *
 * Contentful topics (seed 002), `[Type].[Action]`:
 *   Type   ContentType | Entry | Asset | *
 *   Action create | save (= update) | auto_save | archive | unarchive | publish | unpublish | delete | *
 * `*` matches every type or action, including ones Contentful's list does not name: `Entry.*` also
 * matches `publish.fail` and `unpublish.fail`, and would match an action added later. A named
 * action matches only itself (`Entry.publish` does not match `publish.fail`). Job events are no
 * Contentful type: `*.*` does not match them, only the job channels above do (a receiver built for
 * entities, such as the backup center on `*.*`, never gets a job's summary).
 *
 * Pure: parsing and matching touch nothing but their arguments.
 */

/** What matching looks at in an event. */
export type ChannelEvent = Pick<HeraldEvent, 'module' | 'action' | 'uid' | 'content_type_uid'> & Partial<Pick<HeraldEvent, 'environment'>>;

/** A parsed channel, ready to test events against. */
export interface Channel {
  /** The channel as the user wrote it. */
  readonly text: string;
  matches(event: ChannelEvent): boolean;
}

/** Longest channel accepted, characters. */
export const MAX_CHANNEL_LENGTH = 300;

/** Contentstack uids in channels: letters, digits, `_` and `-` (content type, entry and asset uids). */
const UID = /^[A-Za-z0-9_-]{1,100}$/;

const ACTION_SET: ReadonlySet<string> = new Set(ACTIONS);

/** Contentful types -> Herald modules. */
const CONTENTFUL_TYPES: Record<string, Module> = { ContentType: 'content_type', Entry: 'entry', Asset: 'asset' };
const MODULE_TYPES: Record<Module, string> = { content_type: 'ContentType', entry: 'Entry', asset: 'Asset', job: 'Job' };

/** Contentful actions -> Herald actions; Contentful says `save` where Contentstack says `update`. */
const CONTENTFUL_ACTIONS: Record<string, Action> = {
  create: 'create',
  save: 'update',
  auto_save: 'auto_save',
  archive: 'archive',
  unarchive: 'unarchive',
  publish: 'publish',
  unpublish: 'unpublish',
  delete: 'delete',
};

/** What a Contentstack channel requires of an event; absent = any. */
interface Pattern {
  module: ContentModule;
  action: Action;
  contentType?: string;
  uid?: string;
}

/**
 * Parses one channel. Returns the compiled channel, or a problem in words naming the channel
 * (for a 422), e.g. `"content_types.blog.entries.updat" is not a known channel: ...`.
 */
export function parseChannel(text: unknown): Channel | string {
  if (typeof text !== 'string') return 'must be a string';
  if (text.length === 0) return 'must not be empty';
  if (text.length > MAX_CHANNEL_LENGTH) return `is longer than ${MAX_CHANNEL_LENGTH} characters`;
  const shown = JSON.stringify(text);
  if (text.startsWith('webhooks.') || text.startsWith('executions.')) {
    const pattern = operationalPattern(text);
    if (typeof pattern === 'string') return `${shown} is not a known channel: ${pattern}`;
    return { text, matches: (e) => e.module === pattern.module && e.action === pattern.action && (pattern.uid === undefined || e.uid === pattern.uid) };
  }
  if (text.startsWith('content_types.') || text.startsWith('assets.')) {
    const pattern = contentstackPattern(text);
    if (typeof pattern === 'string') return `${shown} is not a known channel: ${pattern}`;
    return { text, matches: (e) => matchesPattern(pattern, e) };
  }
  if (text.startsWith('jobs.')) {
    const pattern = jobPattern(text);
    if (typeof pattern === 'string') return `${shown} is not a known channel: ${pattern}`;
    return { text, matches: (e) => e.module === 'job' && e.action === pattern.action && (pattern.environment === undefined || e.environment === pattern.environment) };
  }
  const parts = text.split('.');
  if (parts.length === 2 && (parts[0] === '*' || Object.hasOwn(CONTENTFUL_TYPES, parts[0]) || /^[A-Z]/.test(parts[0]))) {
    const [type, action] = parts;
    if (type !== '*' && !Object.hasOwn(CONTENTFUL_TYPES, type)) {
      return `${shown} is not a known topic: the type must be ContentType, Entry, Asset or *`;
    }
    if (action !== '*' && !Object.hasOwn(CONTENTFUL_ACTIONS, action)) {
      return `${shown} is not a known topic: the action must be one of ${Object.keys(CONTENTFUL_ACTIONS).join(', ')} or *`;
    }
    const module = type === '*' ? undefined : CONTENTFUL_TYPES[type];
    const act = action === '*' ? undefined : CONTENTFUL_ACTIONS[action];
    return {
      text,
      // `*` covers content only (job and operational events have channels of their own).
      matches: (e) => e.module !== 'job' && !isOperational(e) && (module === undefined || e.module === module) && (act === undefined || e.action === act),
    };
  }
  return (
    `${shown} is not a known channel: use a Contentstack channel (content_types.entries.update, ` +
    'assets.publish, ...) or a Contentful topic [Type].[Action] (Entry.publish, *.*, ...)'
  );
}

/** An operational channel: `webhooks.{action}`, `webhooks.{uid}.{action}`, `executions.failed`. */
function operationalPattern(text: string): { module: 'webhook' | 'execution'; action: OperationalAction; uid?: string } | string {
  const parts = text.split('.');
  const module = parts[0] === 'webhooks' ? 'webhook' : 'execution';
  const actions: readonly string[] = OPERATIONAL_ACTIONS[module];
  const action = parts[parts.length - 1];
  if (!actions.includes(action)) return `"${action}" is not an action of ${parts[0]} (${actions.join(', ')})`;
  if (parts.length === 2) return { module, action: action as OperationalAction };
  if (parts.length === 3 && module === 'webhook' && UID.test(parts[1])) return { module, action: action as OperationalAction, uid: parts[1] };
  return module === 'webhook' ? 'a webhook channel is webhooks.{action} or webhooks.{webhook_uid}.{action}' : 'an execution channel is executions.failed';
}

/** Splits `prefix.{action}`, where the action itself may contain a dot (`publish.fail`). */
function splitAction(text: string): { parts: string[]; action: string } {
  for (const a of ACTIONS) {
    if (a.includes('.') && text.endsWith('.' + a)) {
      return { parts: text.slice(0, -a.length - 1).split('.'), action: a };
    }
  }
  const parts = text.split('.');
  return { parts: parts.slice(0, -1), action: parts[parts.length - 1] };
}

function contentstackPattern(text: string): Pattern | string {
  const { parts, action } = splitAction(text);
  if (!ACTION_SET.has(action)) return `"${action}" is not an action (${ACTIONS.join(', ')})`;
  const act = action as Action;
  for (const p of parts.slice(1)) {
    if (!UID.test(p)) return `"${p}" is not a uid (letters, digits, _ and -)`;
  }
  const [root, a, b, c, ...rest] = parts;
  if (root === 'assets') {
    if (parts.length === 1) return { module: 'asset', action: act };
    if (parts.length === 2) return { module: 'asset', action: act, uid: a };
    return 'an asset channel is assets.{action} or assets.{asset_uid}.{action}';
  }
  // root === 'content_types'
  if (parts.length === 1) return { module: 'content_type', action: act };
  if (parts.length === 2) return a === 'entries' ? { module: 'entry', action: act } : { module: 'content_type', action: act, contentType: a };
  if (a !== 'entries' && b === 'entries' && rest.length === 0) {
    if (parts.length === 3) return { module: 'entry', action: act, contentType: a };
    return { module: 'entry', action: act, contentType: a, uid: c };
  }
  return (
    'a content type channel is content_types.{action}, content_types.{ct}.{action}, ' +
    'content_types.entries.{action}, content_types.{ct}.entries.{action} or content_types.{ct}.entries.{entry}.{action}'
  );
}

/** What a job channel requires of a job event. */
interface JobPattern {
  action: JobAction;
  /** The environment's name; absent = any. */
  environment?: string;
}

const JOB_CHANNEL_RULE =
  'a job channel is jobs.environments.publish.completed, jobs.environments.unpublish.completed, ' +
  'jobs.environments.{environment}.publish.completed, jobs.environments.{environment}.unpublish.completed or jobs.delete.completed';

function jobPattern(text: string): JobPattern | string {
  if (text === 'jobs.delete.completed') return { action: 'delete.completed' };
  const m = /^jobs\.environments\.(?:([^.]+)\.)?(publish|unpublish)\.completed$/.exec(text);
  if (!m) return JOB_CHANNEL_RULE;
  if (m[1] !== undefined && !UID.test(m[1])) return `"${m[1]}" is not an environment name (letters, digits, _ and -)`;
  return { action: `${m[2]}.completed` as JobAction, ...(m[1] !== undefined ? { environment: m[1] } : {}) };
}

function matchesPattern(p: Pattern, e: ChannelEvent): boolean {
  if (e.module !== p.module || e.action !== p.action) return false;
  if (p.module === 'content_type') {
    // A content type's own uid is its "content type".
    return p.contentType === undefined || e.uid === p.contentType;
  }
  if (p.contentType !== undefined && e.content_type_uid !== p.contentType) return false;
  return p.uid === undefined || e.uid === p.uid;
}

/**
 * The Contentstack channel an event is filed under in the activity log (executions.channel):
 * module, content type and action, e.g. `content_types.blog.entries.update`,
 * `content_types.blog.update`, `assets.publish`. An entry's or asset's own uid is left out: it is
 * in the payload, and keeping it out keeps channels few (they label logs and metrics).
 */
export function eventChannel(event: ChannelEvent): string {
  switch (event.module) {
    case 'content_type':
      return `content_types.${event.uid}.${event.action}`;
    case 'entry':
      return event.content_type_uid
        ? `content_types.${event.content_type_uid}.entries.${event.action}`
        : `content_types.entries.${event.action}`;
    case 'asset':
      return `assets.${event.action}`;
    case 'job':
      return event.action === 'delete.completed' ? 'jobs.delete.completed' : `jobs.environments.${event.environment ?? ''}.${event.action}`;
    case 'webhook':
      return `webhooks.${event.action}`;
    case 'execution':
      return `executions.${event.action}`;
  }
}

/**
 * The topic Contentful would send in `X-Contentful-Topic`, e.g. `ContentManagement.Entry.publish`
 * (`update` is Contentful's `save`). Actions Contentful has no word for keep Herald's:
 * `ContentManagement.Entry.publish.fail`.
 */
export function contentfulTopic(event: Pick<HeraldEvent, 'module' | 'action'>): string {
  // Operational events are Herald's own: `Herald.Webhook.disabled`, `Herald.Execution.failed`.
  if (event.module === 'webhook' || event.module === 'execution') return `Herald.${event.module === 'webhook' ? 'Webhook' : 'Execution'}.${event.action}`;
  const action = event.action === 'update' ? 'save' : event.action;
  return `ContentManagement.${MODULE_TYPES[event.module]}.${action}`;
}

/** One kind of event a channel names exactly (a test event is built for it). */
export interface ChannelTarget {
  module: Module;
  action: Action;
  /** The content type the channel names (entries: theirs; content types: the one itself). */
  contentType?: string;
  /** The entry or asset the channel names. */
  uid?: string;
  /** Job channels: the environment the channel names. */
  environment?: string;
}

/**
 * The event kind a channel names, or a problem in words: a Contentstack channel, or a Contentful
 * topic with a type and an action (`Entry.save`); wildcards (`*.*`, `Entry.*`) name no one kind.
 */
export function channelTarget(text: unknown): ChannelTarget | string {
  const parsed = parseChannel(text);
  if (typeof parsed === 'string') return parsed;
  const t = text as string;
  if (t.startsWith('webhooks.') || t.startsWith('executions.')) return `${JSON.stringify(t)} is an operational channel: test events are built for content channels only`;
  if (t.startsWith('jobs.')) {
    const p = jobPattern(t) as JobPattern;
    return { module: 'job', action: p.action, ...(p.environment ? { environment: p.environment } : {}) };
  }
  if (t.startsWith('content_types.') || t.startsWith('assets.')) {
    const p = contentstackPattern(t) as Pattern;
    if (p.module === 'content_type') return { module: p.module, action: p.action, ...(p.contentType ? { contentType: p.contentType } : {}) };
    return { module: p.module, action: p.action, ...(p.contentType ? { contentType: p.contentType } : {}), ...(p.uid ? { uid: p.uid } : {}) };
  }
  const [type, action] = t.split('.');
  if (type === '*' || action === '*') return `${JSON.stringify(t)} names more than one kind of event: name a type and an action, such as Entry.publish`;
  return { module: CONTENTFUL_TYPES[type], action: CONTENTFUL_ACTIONS[action] };
}
