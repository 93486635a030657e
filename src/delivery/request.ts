import type { Webhook } from '../webhooks/webhook.ts';
import { contentfulRequestParts, type ContentfulBodyOptions } from './contentful.ts';
import { maskHeaders, secretValues } from '../webhooks/headers.ts';
import { signatureHeader } from './signature.ts';
import { liveSecrets } from '../webhooks/signing-secrets.ts';

/** Sent as `User-Agent` with every delivery. */
export const USER_AGENT = 'Herald-Webhooks/0.1 (+https://github.com/herald)';

export interface LoggedRequest {
  /** POST, or a Contentful transformation's method. */
  method: string;
  url: string;
  headers: Record<string, string>;
  concise: boolean;
  /** Contentful format: what its body was built from, so the log rebuilds it byte for byte. */
  contentful?: ContentfulBodyOptions;
}

/** What a Contentful-format request needs besides the webhook (src/contentful/delivery.ts reads it). */
export interface ContentfulDelivery {
  body: ContentfulBodyOptions;
  /** `X-Contentful-Topic`, e.g. ContentManagement.Entry.publish. */
  topic: string;
  /** The space's signing secret; null: no Contentful request verification headers. */
  signingSecret: string | null;
}

export interface DeliveryRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Default POST; a Contentful transformation may choose another. */
  method?: string;
  /** Send without Content-Length (chunked), as Contentful does unless told to include it. */
  chunked?: boolean;
  /** The secret values this request carries (masked in the response that is logged). */
  secrets: string[];
  /**
   * The same, as stored in the attempt log: secrets masked. The body is not stored per attempt: it
   * is the event's payload in the format named here, rebuilt byte for byte when the log is read.
   */
  logged: LoggedRequest;
}

/**
 * The HTTP request of one attempt. Headers, in order of precedence (later wins): the destination's
 * custom headers, basic auth, then Herald's own (content type, user agent, delivery id and
 * signature), which custom headers cannot override (validation refuses such names anyway).
 *
 * `webhook-id` is the execution uid: the same on every retry of one delivery, so a receiver can
 * drop duplicates. `webhook-timestamp` is the attempt's time (unix seconds) and is signed with it.
 */
export function buildRequest(
  webhook: Webhook,
  deliveryId: string,
  body: string,
  meta: { seq: number; attempt: number; event: string },
  now: number,
  contentful?: ContentfulDelivery,
): DeliveryRequest {
  const dest = webhook.destinations[0];
  const headers: Record<string, string> = {};
  const secretNames = new Set<string>();
  for (const h of dest.custom_header ?? []) {
    headers[h.header_name.toLowerCase()] = h.value;
    if (h.secret) secretNames.add(h.header_name.toLowerCase());
  }
  if (dest.http_basic_auth) {
    headers.authorization = 'Basic ' + Buffer.from(`${dest.http_basic_auth}:${dest.http_basic_password ?? ''}`).toString('base64');
  }
  const timestamp = Math.floor(now / 1000);
  Object.assign(headers, {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': deliveryId,
    'webhook-timestamp': String(timestamp),
    'x-herald-event': meta.event,
    'x-herald-seq': String(meta.seq),
    'x-herald-attempt': String(meta.attempt),
  });
  const secrets = liveSecrets(webhook.signing_secrets ?? [], now).map((s) => s.secret);
  if (secrets.length) headers['webhook-signature'] = signatureHeader(secrets, deliveryId, timestamp, body);

  // Contentful dialect: its method, content type, X-Contentful-* headers and request signature.
  let method = 'POST';
  let chunked = false;
  if (webhook.format === 'contentful' && contentful) {
    const parts = contentfulRequestParts(webhook, dest.target_url, contentful.topic, deliveryId, body, now, contentful.signingSecret);
    Object.assign(headers, parts.headers);
    ({ method, chunked } = parts);
  }

  const logged: LoggedRequest = { method, url: dest.target_url, headers: maskHeaders(headers, secretNames), concise: webhook.concise_payload };
  if (contentful) logged.contentful = contentful.body;
  return { url: dest.target_url, headers, body, method, chunked, logged, secrets: secretValues(dest) };
}
