import type { HeraldEvent } from '../events/event.ts';
import { contentfulBody, RenderTooLarge, type ContentfulBodyOptions } from './contentful.ts';
import { heraldExtras } from './payload-extras.ts';

/**
 * The body a webhook receives (seed 003 "Webhook Data Format"), built once per event and format
 * and cached by the dispatcher, never per attempt.
 *
 * Contentstack format: `{ event, module, api_key, data, triggered_at, branch, seq, actor }` where
 * `seq` is the event's sequence number (monotonic per Herald), so a receiver can drop a stale
 * update that arrives after a newer one, and `actor` says who made the change; update and
 * auto_save events also carry `changes` (src/events/changes.ts).
 */
export interface PayloadOptions {
  concise: boolean;
  /** Contentful-format webhooks (src/delivery/contentful.ts); absent: Contentstack's format. */
  contentful?: ContentfulBodyOptions;
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
    triggered_at: new Date(event.created_at).toISOString(),
    branch: { uid: event.branch, alias: [] },
    seq: event.seq,
    ...heraldExtras(event, opts.concise),
  };
}

/**
 * The serialized body for a webhook, by its format options. A Contentful transformation's render
 * is bounded by `maxRenderedBytes` (throws RenderTooLarge past it); Contentstack's body is the
 * stored event, already bounded by the request that made it.
 */
export function payloadBody(event: HeraldEvent, opts: PayloadOptions, maxRenderedBytes?: number, spliceBytes?: number): string {
  // Contentful dialect: Contentful's entity or the webhook's transformation (src/delivery/contentful.ts).
  if (opts.contentful) return contentfulBody(event, opts.contentful, maxRenderedBytes, spliceBytes);
  return JSON.stringify(contentstackPayload(event, opts));
}

/**
 * The first `capBytes` of a webhook's body, for showing (activity log, preview), and whether it was
 * cut. The render itself stops at the cap (a transformation can multiply a payload far past what
 * may be sent), so showing a body never costs more than the cap's worth; text spliced into a
 * template's strings may run to 16 times the cap, past which nothing is shown.
 */
export function cappedPayloadBody(event: HeraldEvent, opts: PayloadOptions, capBytes: number): { body: string; truncated: boolean } {
  try {
    const body = payloadBody(event, opts, capBytes + 1, 16 * capBytes);
    const truncated = Buffer.byteLength(body) > capBytes;
    return { body: truncated ? Buffer.from(body).subarray(0, capBytes).toString() : body, truncated };
  } catch (err) {
    if (!(err instanceof RenderTooLarge)) throw err;
    // JSON bodies: the prefix is the body's first bytes; a splice that ran over shows nothing.
    return { body: err.limit > capBytes + 1 ? '' : Buffer.from(err.prefix).subarray(0, capBytes).toString(), truncated: true };
  }
}
