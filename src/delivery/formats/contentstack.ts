import type { HeraldEvent } from '../../events/event.ts';
import { dataJson } from '../../events/record.ts';
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
 */
export function contentstackBody(event: HeraldEvent, opts: PayloadOptions): string {
  const data = opts.concise ? undefined : dataJson(event);
  if (data === undefined) return JSON.stringify(contentstackPayload(event, opts));
  const extras = heraldExtras(event, false);
  const str = JSON.stringify;
  let out = `{"event":${str(event.action)},"module":${str(event.module)},"api_key":${str(event.api_key)},"data":${data}`;
  out += `,"triggered_at":"${isoTime(event.created_at)}","branch":{"uid":${str(event.branch)},"alias":[]},"seq":${str(event.seq)}`;
  out += `,"actor":${str(extras.actor)}`;
  if (extras.changes) out += `,"changes":${str(extras.changes)}`;
  if (extras.folded_seqs) out += `,"folded_seqs":${str(extras.folded_seqs)}`;
  return out + '}';
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
