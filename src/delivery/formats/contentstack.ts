import { dataJson } from '../../events/record.ts';
import { actorOf, type HeraldEvent } from '../../events/event.ts';
import { heraldExtras } from '../payload-extras.ts';
import type { DeliveryFormat, FormatRequest, PreparedDelivery } from './format.ts';
import { isoTime } from './iso-time.ts';

/**
 * The Contentstack delivery format, Herald's default: a POST of JSON (seed 003 "Webhook Data
 * Format"), Herald's headers only, the engine's retry schedule.
 *
 * Contentstack format: `{ event, module, api_key, data, triggered_at, branch, seq, actor }` where
 * `seq` is the event's sequence number (monotonic per Herald), so a receiver can drop a stale
 * update that arrives after a newer one, and `actor` says who made the change; update and
 * auto_save events also carry `changes` (src/events/changes.ts).
 */
export interface PayloadOptions {
  /** Entities carry identity and metadata only (the webhook's `concise_payload`). */
  concise: boolean;
}

/** Fields of an entity kept by the concise payload: identity and metadata, no content. */
const CONCISE_FIELDS = [
  'uid',
  'title',
  'filename',
  'locale',
  '_version',
  'content_type_uid',
  'created_at',
  'updated_at',
  'created_by',
  'updated_by',
  'publish_details',
];

function concise(entity: unknown): unknown {
  if (!entity || typeof entity !== 'object' || Array.isArray(entity)) return entity;
  const out: Record<string, unknown> = {};
  for (const k of CONCISE_FIELDS) if (k in (entity as object)) out[k] = (entity as Record<string, unknown>)[k];
  return out;
}

export function contentstackPayload(event: HeraldEvent, opts: PayloadOptions): Record<string, unknown> {
  let data = event.data;
  if (opts.concise) {
    data = {};
    for (const [k, v] of Object.entries(event.data)) {
      data[k] = k === 'entry' || k === 'asset' || k === 'content_type' ? concise(v) : v;
    }
  }
  return {
    event: event.action,
    module: event.module,
    api_key: event.api_key,
    data,
    triggered_at: isoTime(event.created_at),
    branch: { uid: event.branch, alias: [] },
    seq: event.seq,
    ...heraldExtras(event, opts.concise),
  };
}

/**
 * The payload as sent: the bytes of JSON.stringify(contentstackPayload(event, opts)), with a full
 * payload's `data` spliced in as the event's stored JSON text (events/record.ts dataJson) rather
 * than serialised again: serialising event data was the largest JavaScript cost per event.
 *
 * Written by one `join` of its parts (BODY_PARTS), so the text is one flat string from the start:
 * built by `+=` it was a tree of concatenations, which encoding it to bytes (request.ts
 * encodedBody) copied flat once more; at fan-out 1 the two were ~2.2 KB of a delivery's ~29.6
 * allocated (bench heap profile, session 27). The event's short fields repeat from one event to
 * the next (the same stack, branch, action, actor): their JSON is kept from the last event (lastJson).
 */
export function contentstackBody(event: HeraldEvent, opts: PayloadOptions): string {
  const data = opts.concise ? undefined : dataJson(event);
  if (data === undefined) return JSON.stringify(contentstackPayload(event, opts));
  const p = BODY_PARTS;
  p[1] = lastJson(ACTION, event.action);
  p[3] = lastJson(MODULE, event.module);
  p[5] = lastJson(API_KEY, event.api_key);
  p[7] = data;
  p[9] = isoTime(event.created_at);
  p[11] = lastJson(BRANCH, event.branch);
  p[13] = `${JSON.stringify(event.seq)}`;
  p[15] = actorJson(event);
  // heraldExtras(event, false)'s optional parts, read from the event as it reads them.
  if (event.changes) {
    p[16] = ',"changes":';
    p[17] = `${JSON.stringify(event.changes)}`;
  } else p[16] = p[17] = '';
  if (event.folded_seqs?.length) {
    p[18] = ',"folded_seqs":';
    p[19] = `${JSON.stringify(event.folded_seqs)}`;
  } else p[18] = p[19] = '';
  const out = p.join('');
  // The event's own texts are not kept past the call (the array lives as long as the module).
  p[7] = p[17] = p[19] = '';
  return out;
}

/** contentstackBody's parts: the odd slots from 1 to 19 are set per body, the even ones to 14 and 20 are constant. */
const BODY_PARTS: string[] = [
  '{"event":',
  '',
  ',"module":',
  '',
  ',"api_key":',
  '',
  ',"data":',
  '',
  ',"triggered_at":"',
  '',
  '","branch":{"uid":',
  '',
  ',"alias":[]},"seq":',
  '',
  ',"actor":',
  '',
  '',
  '',
  '',
  '',
  '}',
];

/** One field's last value and its JSON text (lastJson). */
interface LastJson {
  value: unknown;
  json: string;
}
const ACTION: LastJson = { value: undefined, json: '' };
const MODULE: LastJson = { value: undefined, json: '' };
const API_KEY: LastJson = { value: undefined, json: '' };
const BRANCH: LastJson = { value: undefined, json: '' };

/** JSON.stringify(value), the text kept from the last call for the same field when the value is the same string. */
function lastJson(last: LastJson, value: string): string {
  if (value !== last.value || typeof value !== 'string') {
    // In a template, as the text was written before: a value JSON leaves out reads `undefined`.
    last.json = `${JSON.stringify(value)}`;
    last.value = value;
  }
  return last.json;
}

/** The last actor's JSON text (heraldExtras' `actor`, actorOf), by the two fields it is made of. */
let lastActor: string | undefined;
let lastActorName: string | null | undefined;
let lastActorJson = '';

function actorJson(event: HeraldEvent): string {
  if (event.actor !== lastActor || event.actor_name !== lastActorName || lastActorJson === '') {
    lastActorJson = JSON.stringify(actorOf(event));
    lastActor = event.actor;
    lastActorName = event.actor_name;
  }
  return lastActorJson;
}

/** No headers of its own. Shared by every attempt: nothing changes what a format returns. */
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
/** Every attempt's method, headers and framing: one object, not one per attempt (callers only read it). */
const REQUEST: FormatRequest = Object.freeze({ method: 'POST', headers: NO_HEADERS, chunked: false });
/** What the log keeps of this format's attempt (copied into the logged request: request.ts), made once. */
const CONCISE: Readonly<Record<string, unknown>> = Object.freeze({ concise: true });
const FULL: Readonly<Record<string, unknown>> = Object.freeze({ concise: false });

/**
 * One attempt as this format prepares it. A class, not an object of arrow functions: Herald runs
 * under tsx, whose esbuild names every function it creates (Object.defineProperty, ~0.2 us each),
 * so two closures per attempt cost more than the rest of prepare.
 */
class ContentstackDelivery implements PreparedDelivery {
  readonly bodyKey: string;
  readonly logged: Record<string, unknown>;
  constructor(
    readonly event: HeraldEvent,
    readonly concise: boolean,
  ) {
    this.bodyKey = concise ? 'concise' : 'full';
    this.logged = concise ? CONCISE : FULL;
  }
  body(): string {
    return contentstackBody(this.event, { concise: this.concise });
  }
  request(): FormatRequest {
    return REQUEST;
  }
}

/**
 * The last attempt prepared. It holds nothing of one attempt (the event and concise_payload only),
 * so a fan-out's attempts of one event, which come one after another in a claim round, share it
 * rather than make one each.
 */
let lastPrepared: ContentstackDelivery | null = null;

export const contentstackFormat: DeliveryFormat = {
  name: 'contentstack',
  title: 'Contentstack',
  // Nothing to read: the body depends on the event and concise_payload only.
  prepare: (_q, event, webhook) => {
    const concise = webhook.concise_payload;
    if (lastPrepared === null || lastPrepared.event !== event || lastPrepared.concise !== concise) lastPrepared = new ContentstackDelivery(event, concise);
    return lastPrepared;
  },
  loggedBody: (event, logged) => contentstackBody(event, { concise: logged.concise === true }),
  // Herald's own payload is this format's: the catalog builds its schema (../catalog.ts), since
  // operational events share the envelope whatever a webhook's format.
  describe: (kind) => [{ content_type_header: 'application/json', schema: kind.contentstack.schema, example: kind.contentstack.example }],
};
