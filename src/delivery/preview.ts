import type { HeraldEvent } from '../events/event.ts';
import type { Queryable } from '../store/db.ts';
import { eventChannel } from '../webhooks/channels.ts';
import { compileExplainer, type MatchExplanation } from '../webhooks/explain.ts';
import type { Webhook } from '../webhooks/webhook.ts';
import { cappedBody, prepareDelivery } from './formats/index.ts';
import { buildRequest } from './request.ts';

/**
 * A webhook's dry run (POST /v3/webhooks/preview): for each given event, whether the webhook
 * matches it and, when not, why; when it does, the request it would send, built by the code that
 * builds real deliveries (same body bytes, same headers), with secrets masked. Nothing is sent or
 * stored.
 */

/** Most events one preview looks at. */
export const MAX_PREVIEW_EVENTS = 200;
/** The preview's default number of events. */
export const DEFAULT_PREVIEW_EVENTS = 50;
/** Bytes of each body shown; a larger body is cut and marked `truncated` (as in the activity log). */
export const MAX_PREVIEW_BODY_BYTES = 64 * 1024;
/** The `webhook-id` a preview shows: a real delivery's is its execution uid, made when it is queued. */
export const PREVIEW_DELIVERY_ID = 'preview';

/** Headers derived from a signing secret: shown masked, since they would prove nothing here. */
const SIGNATURE_HEADERS = ['webhook-signature', 'x-contentful-signature'];

export interface PreviewRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  truncated: boolean;
}

export type PreviewItem = {
  seq: number;
  event: string;
  module: HeraldEvent['module'];
  action: HeraldEvent['action'];
  uid: string;
  content_type_uid: string | null;
  branch: string;
  locale: string | null;
  environment: string | null;
  /** The Contentstack channel the event is filed under (the activity log's `channel`). */
  event_channel: string;
  triggered_at: string;
} & ({ matches: true; channel: string; request: PreviewRequest } | Extract<MatchExplanation, { matches: false }>);

export interface PreviewOptions {
  /** The engine's retry schedule (a Contentful space's policy is read with its settings). */
  retryDelaysMs: readonly number[];
  now: number;
}

export async function previewWebhook(db: Queryable, webhook: Webhook, events: readonly HeraldEvent[], opts: PreviewOptions): Promise<PreviewItem[]> {
  const explain = compileExplainer(webhook);
  const items: PreviewItem[] = [];
  for (const event of events) {
    const base = {
      seq: event.seq,
      event: `${event.module}.${event.action}`,
      module: event.module,
      action: event.action,
      uid: event.uid,
      content_type_uid: event.content_type_uid ?? null,
      branch: event.branch,
      locale: event.locale ?? null,
      environment: event.environment ?? null,
      event_channel: eventChannel(event),
      triggered_at: new Date(event.created_at).toISOString(),
    };
    const why = explain(event);
    if (!why.matches) {
      items.push({ ...base, ...why });
      continue;
    }
    items.push({ ...base, matches: true, channel: why.channel, request: await requestFor(db, webhook, event, opts) });
  }
  return items;
}

/** The request one delivery of `event` to `webhook` would make, as the dispatcher builds it. */
export async function requestFor(db: Queryable, webhook: Webhook, event: HeraldEvent, opts: PreviewOptions): Promise<PreviewRequest> {
  const { format, prepared } = await prepareDelivery(db, event, webhook, { retryDelaysMs: opts.retryDelaysMs });
  // Rendered only up to what is shown: a transformation can multiply the payload past any size.
  const { body, truncated } = cappedBody((limits) => prepared.body(limits), MAX_PREVIEW_BODY_BYTES);
  const meta = { seq: event.seq, attempt: 1, event: `${event.module}.${event.action}` };
  const req = buildRequest(webhook, PREVIEW_DELIVERY_ID, body, meta, opts.now, { format, prepared });
  const headers = { ...req.logged.headers };
  for (const h of SIGNATURE_HEADERS) if (headers[h] !== undefined) headers[h] = '****';
  return { method: req.logged.method, url: req.logged.url, headers, body, truncated };
}
