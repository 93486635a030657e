import type { ContentTypeDoc } from '../content/content-types.ts';
import { exampleAsset, exampleContentType, exampleEntry, exampleJob, EXAMPLE_ACTOR, EXAMPLE_TIME } from '../content/examples.ts';
import { ACTIONS, HERALD_ACTOR, JOB_ACTIONS, type Action, type HeraldEvent, type JobAction, type Module, type OperationalAction, type OperationalModule } from '../events/event.ts';
import { executionFailedEvent, webhookRecoveredEvent, webhookStateEvent } from '../events/operational.ts';
import type { Webhook } from '../webhooks/webhook.ts';
import type { Changes } from '../events/changes.ts';
import { contentfulTopic, eventChannel } from '../webhooks/channels.ts';
import { contentstackPayload } from './formats/contentstack.ts';
import type { CatalogKind, DeliveryFormat } from './formats/format.ts';
import { ACTOR, CHANGES, hasChanges, nullable, obj, str, valueSchema } from './formats/schema-parts.ts';

/**
 * The event catalog (GET /v3/webhooks/schemas, /v3/asyncapi.json): a JSON Schema (draft-07) of
 * every event's payload in each format, per content type for entries (fields typed from the
 * content type's schema), each with an example built by the same code that builds deliveries.
 * Describes the bodies Herald builds; a Contentful transformation's body is the webhook's own.
 *
 * This file builds Herald's own payload (the Contentstack envelope) of every kind of event; each
 * registered format describes its payload from it (formats/ `describe`). Pure.
 */

/** The actions each module's events have. */
export const MODULE_ACTIONS: Record<Module, readonly Action[]> = {
  entry: ACTIONS,
  // Herald records auto-saves for entries only.
  asset: ACTIONS.filter((a) => a !== 'auto_save'),
  // Contentful's content type activation is recorded as publish / unpublish.
  content_type: ['create', 'update', 'delete', 'publish', 'unpublish'],
  // A bulk job's completion (Contentstack format only: job events are no Contentful type).
  job: JOB_ACTIONS,
};

export interface CatalogEntry {
  /** The registered format that describes this payload: `contentstack`, `contentful`, `cloudevents`. */
  format: string;
  /** The format's variant, when its options choose between several (CloudEvents: `binary`, `structured`); absent otherwise. */
  mode?: string;
  /** `entry.update` */
  event: string;
  module: HeraldEvent['module'];
  action: HeraldEvent['action'];
  /** Entries: the content type; null for assets and content types. */
  content_type: string | null;
  /** The Contentstack channel of this event, e.g. content_types.blog.entries.update. */
  channel: string;
  /** The Contentful topic, e.g. ContentManagement.Entry.save; null for job events (no Contentful type). */
  topic: string | null;
  /** The Content-Type of the request (a transformation may choose another). */
  content_type_header: string;
  /** Headers the format adds beyond Herald's own, as JSON Schema properties; absent: none. */
  headers?: { properties: Record<string, Record<string, unknown>>; required: string[] };
  schema: Record<string, unknown>;
  example: unknown;
}

export interface CatalogContext {
  api_key: string;
  masterLocale: string;
  contentTypes: readonly ContentTypeDoc[];
  /** The registered formats that describe their payloads (formats/ `describe`), listed in this order. */
  formats: ReadonlyArray<Pick<DeliveryFormat, 'name' | 'describe'>>;
}

// ---------------------------------------------------------------------------------------------
// Herald's own payload (the Contentstack format's, and every operational event's)

const isPublishing = (a: Action) => /^(un)?publish/.test(a);

const PUBLISH_DETAILS = { type: 'array', items: obj({ environment: str, locale: str, time: str, user: str, version: { type: 'integer' } }) };
const SYSTEM = { uid: str, _version: { type: 'integer' }, created_at: str, updated_at: str, created_by: str, updated_by: str, publish_details: PUBLISH_DETAILS };

function entrySchema(ct: ContentTypeDoc): Record<string, unknown> {
  const fields = Object.fromEntries(ct.schema.map((f) => [f.uid, nullable(valueSchema(f))]));
  return obj({ ...fields, ...SYSTEM, locale: str, content_type_uid: { const: ct.uid }, tags: { type: 'array', items: str } }, ['uid', 'locale', 'content_type_uid', '_version', 'created_at', 'updated_at', 'created_by', 'updated_by']);
}
const CONTENT_TYPE_DOC = obj({ title: str, description: str, schema: { type: 'array', items: { type: 'object' } }, options: { type: 'object' }, ...SYSTEM }, ['uid']);
const ASSET_DOC = obj({ ...SYSTEM, title: str, filename: str, content_type: str, file_size: str, url: str, tags: { type: 'array', items: str } }, ['uid', '_version']);

const JOB_ITEM = obj(
  {
    type: { enum: ['entry', 'asset'] },
    uid: str,
    content_type_uid: str,
    locale: str,
    status: { enum: ['success', 'failed'] },
    event: str,
    seq: { type: 'integer', minimum: 1 },
    reason: str,
  },
  ['type', 'uid', 'status'],
  false,
);

/** The data of a job event (src/events/job.ts). */
function jobDataSchema(action: JobAction): Record<string, unknown> {
  const perEnvironment = action !== 'delete.completed';
  const count = { type: 'integer', minimum: 0 };
  return obj(
    {
      job_id: str,
      type: { const: action.replace('.completed', '') },
      status: { const: 'completed' },
      ...(perEnvironment ? { environment: obj({ name: str, uid: str }, ['name', 'uid'], false), locales: { type: 'array', items: str } } : {}),
      counts: obj({ total: count, success: count, failed: count }, ['total', 'success', 'failed'], false),
      items: { type: 'array', items: JOB_ITEM },
      created_at: { type: 'string', format: 'date-time' },
      completed_at: { type: 'string', format: 'date-time' },
      scheduled_at: { type: 'string', format: 'date-time' },
    },
    ['job_id', 'type', 'status', 'counts', 'items', 'created_at', 'completed_at', ...(perEnvironment ? ['environment', 'locales'] : [])],
    false,
  );
}

function contentstackSchema(module: Module, action: Action, ct: ContentTypeDoc | null): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  const required: string[] = [];
  if (module === 'job') return contentstackEnvelope(module, action, ct, jobDataSchema(action as JobAction));
  if (module === 'entry') {
    data.entry = entrySchema(ct!);
    data.content_type = obj(Object.assign({}, CONTENT_TYPE_DOC.properties as Record<string, unknown>, { uid: { const: ct!.uid } }), ['uid']);
    required.push('entry', 'content_type');
    if (action === 'delete') data.deleted_locales = { type: 'array', items: str };
  } else if (module === 'asset') {
    data.asset = ASSET_DOC;
    required.push('asset');
  } else {
    data.content_type = CONTENT_TYPE_DOC;
    data.published = { type: 'object' };
    required.push('content_type');
  }
  if (isPublishing(action) && module !== 'content_type') {
    data.environment = obj({ name: str, uid: str }, ['name', 'uid']);
    data.locale = str;
    required.push('environment', 'locale');
  }
  if (action.endsWith('.fail')) {
    data.reason = str;
    required.push('reason');
  }
  return contentstackEnvelope(module, action, ct, obj(data, required, false));
}

function contentstackEnvelope(module: Module, action: Action, ct: ContentTypeDoc | null, data: Record<string, unknown>): Record<string, unknown> {
  // `changes` may appear on any content event and is always there on those that carry it.
  return envelopeSchema(`${module}.${action}${ct ? ` (${ct.uid})` : ''}, Contentstack format`, module, action, data, { changes: CHANGES }, hasChanges(action) ? ['changes'] : []);
}

/**
 * The Contentstack envelope `{event, module, api_key, data, triggered_at, branch, seq, actor}`, plus
 * `extra` properties (`required` of them always present): content events' and operational events'
 * bodies share it.
 */
function envelopeSchema(title: string, module: string, action: string, data: Record<string, unknown>, extra: Record<string, unknown> = {}, required: string[] = []): Record<string, unknown> {
  const top = ['event', 'module', 'api_key', 'data', 'triggered_at', 'branch', 'seq', 'actor'];
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title,
    ...obj(
      {
        event: { const: action },
        module: { const: module },
        api_key: str,
        data,
        triggered_at: { type: 'string', format: 'date-time' },
        branch: obj({ uid: str, alias: { type: 'array' } }, ['uid', 'alias'], false),
        seq: { type: 'integer', minimum: 0 },
        actor: ACTOR,
        ...extra,
      },
      [...top, ...required],
      false,
    ),
  };
}

// ---------------------------------------------------------------------------------------------
// Examples and the catalog

/** An example event of a kind, as recorded (what examples are built from). */
export function exampleEvent(module: Module, action: Action, ct: ContentTypeDoc | null, ctx: Pick<CatalogContext, 'api_key' | 'masterLocale'>): HeraldEvent {
  const data: Record<string, unknown> = {};
  let uid: string;
  let locale: string | null = null;
  let changes: Changes | null = null;
  if (module === 'job') {
    const job = exampleJob(action as JobAction, ctx.masterLocale);
    return {
      seq: 1234,
      api_key: ctx.api_key,
      branch: 'main',
      module,
      action,
      uid: job.job_id,
      content_type_uid: null,
      locale: null,
      environment: job.environment?.name ?? null,
      actor: EXAMPLE_ACTOR,
      actor_name: 'ci',
      changes: null,
      data: job as unknown as Record<string, unknown>,
      created_at: Date.parse(EXAMPLE_TIME),
    };
  }
  if (module === 'entry') {
    const entry = exampleEntry(ct!, ctx.masterLocale);
    uid = String(entry.uid);
    locale = ctx.masterLocale;
    Object.assign(data, { entry, content_type: ct });
    const title = ct!.schema.find((f) => f.data_type === 'text' && !f.multiple);
    if (hasChanges(action)) changes = title ? { paths: [title.uid], fields: [{ path: title.uid, old: `Earlier ${entry[title.uid]}`, new: entry[title.uid] }], truncated: false } : { paths: [], fields: [], truncated: false };
    if (action === 'delete') data.deleted_locales = [ctx.masterLocale];
  } else if (module === 'asset') {
    const asset = exampleAsset();
    uid = String(asset.uid);
    data.asset = asset;
    if (hasChanges(action)) changes = { paths: ['title'], fields: [{ path: 'title', old: 'earlier.png', new: asset.title }], truncated: false };
  } else {
    const doc = exampleContentType();
    uid = doc.uid;
    data.content_type = doc;
    if (hasChanges(action)) changes = { paths: ['title'], fields: [{ path: 'title', old: 'Earlier example', new: doc.title }], truncated: false };
  }
  let environment: string | null = null;
  if (isPublishing(action) && module !== 'content_type') {
    environment = 'production';
    locale ??= ctx.masterLocale;
    Object.assign(data, { environment: { name: 'production', uid: 'bltexampleenvironment' }, locale });
  }
  if (action.endsWith('.fail')) data.reason = 'entry.title is required';
  return {
    seq: 1234,
    api_key: ctx.api_key,
    branch: 'main',
    module,
    action,
    uid,
    content_type_uid: module === 'entry' ? ct!.uid : module === 'content_type' ? uid : null,
    locale,
    environment,
    actor: EXAMPLE_ACTOR,
    actor_name: 'ci',
    changes,
    data,
    created_at: Date.parse(EXAMPLE_TIME),
  };
}

/** Every catalog entry for a stack: each format's payload of every module and action (entries per content type), then the operational events. */
export function eventCatalog(ctx: CatalogContext): CatalogEntry[] {
  const kinds: Array<{ module: Module; ct: ContentTypeDoc | null }> = [...ctx.contentTypes.map((ct) => ({ module: 'entry' as const, ct })), { module: 'asset', ct: null }, { module: 'content_type', ct: null }, { module: 'job', ct: null }];
  const own: Array<{ base: Omit<CatalogEntry, 'format' | 'content_type_header' | 'schema' | 'example'>; kind: CatalogKind }> = [];
  for (const { module, ct } of kinds) {
    for (const action of MODULE_ACTIONS[module]) {
      const event = exampleEvent(module, action, ct, ctx);
      own.push({
        base: {
          event: `${module}.${action}`,
          module,
          action,
          content_type: module === 'entry' ? ct!.uid : null,
          channel: module === 'content_type' ? `content_types.${action}` : module === 'job' ? jobChannel(action as JobAction) : eventChannel(event),
          // Job events are no Contentful type.
          topic: module === 'job' ? null : contentfulTopic(event),
        },
        kind: { module, action, contentType: ct, masterLocale: ctx.masterLocale, event, contentstack: { schema: contentstackSchema(module, action, ct), example: contentstackPayload(event, { concise: false }) } },
      });
    }
  }
  const out: CatalogEntry[] = [];
  for (const format of ctx.formats) {
    if (!format.describe) continue;
    for (const { base, kind } of own) {
      for (const p of format.describe(kind)) {
        out.push({ format: format.name, ...(p.mode ? { mode: p.mode } : {}), ...base, content_type_header: p.content_type_header, ...(p.headers ? { headers: p.headers } : {}), schema: p.schema, example: p.example });
      }
    }
  }
  // Operational events have one shape whatever a webhook's format (formats/index.ts).
  for (const event of operationalExamples(ctx.api_key)) {
    out.push({
      format: 'contentstack',
      event: `${event.module}.${event.action}`,
      module: event.module,
      action: event.action,
      content_type: null,
      channel: eventChannel(event),
      // No Contentful topic covers them (as job events).
      topic: null,
      content_type_header: 'application/json',
      schema: operationalSchema(event.module as OperationalModule, event.action as OperationalAction),
      example: contentstackPayload(event, { concise: false }),
    });
  }
  return out;
}

/** The channel of every job of a kind, whatever its environment. */
const jobChannel = (action: JobAction) => (action === 'delete.completed' ? 'jobs.delete.completed' : `jobs.environments.${action}`);

// ---------------------------------------------------------------------------------------------
// Operational events (src/events/operational.ts)

const nullableStr = { type: ['string', 'null'] };
const WEBHOOK_SUMMARY = obj(
  { uid: str, name: str, target_url: nullableStr, disabled: { type: 'boolean' }, disabled_reason: nullableStr, version: { type: 'integer' } },
  ['uid', 'name', 'target_url', 'disabled', 'disabled_reason', 'version'],
  false,
);

function operationalSchema(module: OperationalModule, action: OperationalAction): Record<string, unknown> {
  const data =
    module === 'execution'
      ? obj(
          {
            execution: obj(
              {
                uid: str,
                event: str,
                event_seq: { type: 'integer' },
                entity: obj({ module: str, uid: str, content_type_uid: nullableStr, locale: nullableStr }, ['module', 'uid', 'content_type_uid', 'locale'], false),
                attempts: { type: 'integer', minimum: 1 },
                status_code: { type: ['integer', 'null'] },
                outcome: str,
                reason: nullableStr,
              },
              ['uid', 'event', 'event_seq', 'entity', 'attempts', 'status_code', 'outcome', 'reason'],
              false,
            ),
            webhook: obj({ uid: str, name: str }, ['uid', 'name'], false),
          },
          ['execution', 'webhook'],
          false,
        )
      : obj(
          {
            webhook: WEBHOOK_SUMMARY,
            cause: { enum: ['user', 'circuit_breaker', 'gone', 'probe'] },
            reason: action === 'enabled' ? { type: 'null' } : str,
            ...(action === 'recovered' ? { probe: obj({ execution_uid: str, status_code: { type: ['integer', 'null'] } }, ['execution_uid', 'status_code'], false) } : {}),
          },
          ['webhook', 'cause', 'reason', ...(action === 'recovered' ? ['probe'] : [])],
          false,
        );
  return envelopeSchema(`${module}.${action}, an operational event (Herald's own shape, every format)`, module, action, data);
}

/** One example event of each operational kind, built by the same builders as the real ones. */
function operationalExamples(apiKey: string): HeraldEvent[] {
  const webhook = {
    uid: 'bltexamplewebhook',
    api_key: apiKey,
    name: 'Rebuild the site',
    destinations: [{ target_url: 'https://build.example.com/hook', custom_header: [] }],
    disabled: true,
    disabled_reason: 'Disabled after 10 consecutive failed executions. Fix the endpoint, then enable the webhook again.',
    version: 7,
  } as unknown as Webhook;
  const enabled = { ...webhook, disabled: false, disabled_reason: null, version: 8 } as Webhook;
  const inputs = [
    webhookStateEvent(webhook, { actor: HERALD_ACTOR, actor_name: 'Herald', cause: 'circuit_breaker' }),
    webhookStateEvent(enabled, { actor: EXAMPLE_ACTOR, actor_name: 'ci', cause: 'user' }),
    webhookRecoveredEvent(enabled, { execution_uid: 'exe_example', status_code: 200, disabled_reason: webhook.disabled_reason }),
    executionFailedEvent({
      uid: 'exe_example',
      webhook,
      event: { seq: 1233, module: 'entry', action: 'publish', uid: 'bltexampleentry', content_type_uid: 'blog', locale: 'en-us' },
      attempts: 5,
      status_code: 503,
      outcome: 'http_error',
      reason: 'HTTP 503',
    }),
  ];
  return inputs.map((input, i) => ({ ...input, seq: 1234 + i, created_at: Date.parse(EXAMPLE_TIME), changes: null }));
}
