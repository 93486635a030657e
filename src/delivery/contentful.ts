import { createHmac } from 'node:crypto';
import { escape as escapeQuery } from 'node:querystring';
import {
  assetEntity,
  contentTypeEntity,
  contentTypeId,
  deletedEntity,
  entryEntity,
  environmentIdOf,
  type EntityState,
  type Publication,
  type StoredAsset,
  type StoredContentType,
  type SysContext,
} from '../contentful/entities.ts';
import { fieldErrors } from '../errors.ts';
import { actorOf, type HeraldEvent } from '../events/event.ts';
import { BodyTooLarge } from './formats/format.ts';
import { contentfulTopic } from '../webhooks/channels.ts';
import { heraldExtras } from './payload-extras.ts';
import type { Transformation, Webhook } from '../webhooks/webhook.ts';

/**
 * Contentful-format deliveries (webhooks with `format: 'contentful'`), pure:
 * - the body: the entity as Contentful sends it (`sys` + `fields` by field id then locale; a
 *   `Deleted<Type>` with `sys` only for unpublish and delete), or the webhook's transformation
 *   body template with its JSON pointers resolved;
 * - the request: method, Content-Type and Content-Length per the transformation, the
 *   `X-Contentful-Topic`, `X-Contentful-Webhook-Name` and `X-Contentful-Idempotency-Key` headers,
 *   and, when the space has a signing secret, Contentful's request verification headers
 *   (`x-contentful-signature`, `x-contentful-signed-headers`, `x-contentful-timestamp`) computed
 *   exactly as `@contentful/node-apps-toolkit`'s `verifyRequest` recomputes them.
 */

export const CONTENTFUL_CONTENT_TYPE = 'application/vnd.contentful.management.v1+json';

export const TRANSFORMATION_METHODS = ['POST', 'GET', 'PUT', 'PATCH', 'DELETE'] as const;
/** The content types a transformation may choose (Contentful's list). */
export const TRANSFORMATION_CONTENT_TYPES = [
  'application/vnd.contentful.management.v1+json',
  'application/vnd.contentful.management.v1+json; charset=utf-8',
  'application/json',
  'application/json; charset=utf-8',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-8',
] as const;
/** Largest transformation body template, bytes of JSON. */
export const MAX_TEMPLATE_BYTES = 64 * 1024;
/** Deepest nesting of a body template (it is walked recursively at every delivery). */
export const MAX_TEMPLATE_DEPTH = 32;

/** How deep a JSON value nests, counted up to MAX_TEMPLATE_DEPTH + 1 (it stops there). */
function depth(v: unknown, d = 0): number {
  if (d > MAX_TEMPLATE_DEPTH || !v || typeof v !== 'object') return d;
  let max = d + 1;
  for (const x of Object.values(v)) {
    max = Math.max(max, depth(x, d + 1));
    if (max > MAX_TEMPLATE_DEPTH) break;
  }
  return max;
}

/** A Contentful signing secret is exactly this many characters (the toolkit checks it too). */
export const SIGNING_SECRET_LENGTH = 64;

/**
 * Problems with a transformation from a request, keyed by path relative to it (`method`,
 * `body`), or an empty object. `null` (no transformation) is fine.
 */
export function transformationProblems(raw: unknown): Record<string, string[]> {
  // No prototype: a client's key such as `toString` is a key, not Object.prototype's method.
  const problems: Record<string, string[]> = fieldErrors();
  const add = (k: string, p: string) => (problems[k] ??= []).push(p);
  if (raw === null || raw === undefined) return problems;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    add('', 'must be an object with method, contentType, includeContentLength and body');
    return problems;
  }
  const t = raw as Record<string, unknown>;
  for (const k of Object.keys(t)) if (!['method', 'contentType', 'includeContentLength', 'body'].includes(k)) add(k, 'is not a known field');
  if (t.method !== undefined && t.method !== null && !(TRANSFORMATION_METHODS as readonly unknown[]).includes(t.method)) {
    add('method', `must be one of ${TRANSFORMATION_METHODS.join(', ')}`);
  }
  if (t.contentType !== undefined && t.contentType !== null && !(TRANSFORMATION_CONTENT_TYPES as readonly unknown[]).includes(t.contentType)) {
    add('contentType', `must be one of ${TRANSFORMATION_CONTENT_TYPES.join(', ')}`);
  }
  if (t.includeContentLength !== undefined && t.includeContentLength !== null && typeof t.includeContentLength !== 'boolean') {
    add('includeContentLength', 'must be true or false');
  }
  if (t.body !== undefined) {
    if (depth(t.body) > MAX_TEMPLATE_DEPTH) add('body', `nests deeper than ${MAX_TEMPLATE_DEPTH} levels`);
    else if (Buffer.byteLength(JSON.stringify(t.body) ?? '') > MAX_TEMPLATE_BYTES) add('body', `is larger than ${MAX_TEMPLATE_BYTES} bytes`);
  }
  return problems;
}

/** A transformation from a request that passed `transformationProblems`, without nulls. */
export function normalizeTransformation(raw: unknown): Transformation | null {
  if (raw === null || raw === undefined) return null;
  const t = raw as Record<string, unknown>;
  const out: Transformation = {};
  if (t.method !== undefined && t.method !== null) out.method = t.method as Transformation['method'];
  if (t.contentType !== undefined && t.contentType !== null) out.contentType = t.contentType as string;
  if (typeof t.includeContentLength === 'boolean') out.includeContentLength = t.includeContentLength;
  if (t.body !== undefined) out.body = t.body;
  return out;
}

// ---------------------------------------------------------------------------------------------
// The body

/** What the body of one Contentful-format delivery depends on besides its event. */
export interface ContentfulBodyOptions {
  /** The target URL (`/request/url` in templates). */
  url: string;
  /** The stack's master locale: the locale an asset's fields show in (Herald assets are not localized). */
  masterLocale: string;
  transformation?: Transformation | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

function entityState(doc: Record<string, unknown>, id: string, version: number): EntityState {
  return {
    id,
    version,
    createdAt: String(doc.created_at ?? ''),
    updatedAt: String(doc.updated_at ?? ''),
    createdBy: String(doc.created_by ?? ''),
    updatedBy: String(doc.updated_by ?? ''),
  };
}

/** Publication state from Contentstack `publish_details` (those of the event's locale, as the snapshot holds them). */
function publicationOf(details: unknown, version: number): Publication | null {
  if (!Array.isArray(details) || details.length === 0) return null;
  const times = details.map((d) => String((d as { time?: unknown }).time ?? '')).sort();
  const last = details.find((d) => (d as { time?: unknown }).time === times[times.length - 1]) as { user?: unknown; version?: unknown };
  return { version: Number(last.version ?? version), counter: details.length, by: String(last.user ?? ''), firstAt: times[0], at: times[times.length - 1] };
}

/**
 * The body of a Contentful-format call: the entity (contentfulEntity) with Herald's `actor` and,
 * for update (Contentful's save) and auto_save events, `changes` beside its `sys` and `fields`.
 */
export function contentfulPayload(event: HeraldEvent, masterLocale: string): Record<string, unknown> {
  return { ...contentfulEntity(event, masterLocale), ...heraldExtras(event, false) };
}

/**
 * The entity an event is about, as Contentful's webhook body holds it. An entry shows the locale
 * that changed (Herald versions each locale of an entry on its own line, so `sys.version` is that
 * line's version); an asset shows the master locale, or the locale it was published in.
 */
export function contentfulEntity(event: HeraldEvent, masterLocale: string): Record<string, unknown> {
  const ctx: SysContext = { spaceId: event.api_key, environmentId: environmentIdOf(event.branch) };
  const when = iso(event.created_at);
  const gone = event.action === 'delete' || event.action === 'unpublish';
  if (event.module === 'content_type') {
    const ct = event.data.content_type as StoredContentType;
    const s = entityState(ct as unknown as Record<string, unknown>, contentTypeId(ct), ct._version);
    if (gone) return deletedEntity('ContentType', ctx, s, when);
    const published = event.data.published as Publication | undefined;
    return contentTypeEntity(ct, ctx, { ...s, published: published ?? null });
  }
  if (event.module === 'entry') {
    const ct = event.data.content_type as StoredContentType;
    const entry = event.data.entry as Record<string, unknown>;
    const version = Number(entry._version ?? 0);
    const s = entityState(entry, event.uid, version);
    if (gone) return deletedEntity('Entry', ctx, s, when, { contentType: { sys: { type: 'Link', linkType: 'ContentType', id: contentTypeId(ct) } } });
    const state: EntityState = {
      ...s,
      published: publicationOf(entry.publish_details, version),
      archived: entry._archived === true ? { version, at: s.updatedAt, by: s.updatedBy } : null,
    };
    const locale = String(entry.locale ?? event.locale ?? masterLocale);
    const tags = Array.isArray(entry.tags) ? (entry.tags as string[]) : [];
    return entryEntity(ct, [{ locale, doc: entry }], tags, ctx, state);
  }
  const asset = event.data.asset as StoredAsset & Record<string, unknown>;
  const version = Number(asset._version ?? 0);
  const s = entityState(asset, event.uid, version);
  if (gone) return deletedEntity('Asset', ctx, s, when);
  const state: EntityState = {
    ...s,
    published: publicationOf(asset.publish_details, version),
    archived: asset._archived === true ? { version, at: s.updatedAt, by: s.updatedBy } : null,
  };
  return assetEntity(asset, event.locale ?? masterLocale, ctx, state);
}

/** The method a webhook's calls use. */
export function contentfulMethod(webhook: Pick<Webhook, 'transformation'>): string {
  return webhook.transformation?.method ?? 'POST';
}

/** Default largest rendered Contentful-format body, bytes (config.maxRenderedBody). */
export const DEFAULT_MAX_RENDERED_BODY = 1024 * 1024;

/**
 * A rendered body went over its limit. Thrown while rendering, as soon as the limit is passed, so
 * a template of thousands of `{ /payload }` pointers costs the limit's worth of work, never the
 * gigabytes it would expand to. `prefix` is what was rendered up to the limit (JSON bodies: the
 * body's first `limit` bytes).
 */
export class RenderTooLarge extends BodyTooLarge {
  override readonly code = 'RENDER_TOO_LARGE';
  constructor(limit: number, prefix: string) {
    super(limit, prefix, `the transformation renders a body over ${limit} bytes (HERALD_MAX_RENDERED_BODY); nothing was sent`);
  }
}

/** A byte budget shared by everything one render writes. */
class Budget {
  private used = 0;
  constructor(readonly limit: number) {}
  /** Counts `chunk` into `parts`; past the limit, keeps what fits and throws RenderTooLarge. */
  write(parts: string[], chunk: string): void {
    const bytes = Buffer.byteLength(chunk);
    if (this.used + bytes > this.limit) {
      parts.push(Buffer.from(chunk).subarray(0, this.limit - this.used).toString());
      throw new RenderTooLarge(this.limit, parts.join(''));
    }
    this.used += bytes;
    parts.push(chunk);
  }
}

/** JSON.stringify's text for `value`, written through `budget` (it stops once the budget is spent). */
function boundedJson(value: unknown, budget: Budget): string {
  const parts: string[] = [];
  writeJson(value, parts, budget, false);
  return parts.join('');
}

function writeJson(value: unknown, parts: string[], budget: Budget, inArray: boolean): boolean {
  if (value && typeof (value as { toJSON?: unknown }).toJSON === 'function') value = (value as { toJSON(): unknown }).toJSON();
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
    // As JSON.stringify: left out of an object, null in an array.
    if (inArray) budget.write(parts, 'null');
    return inArray;
  }
  if (value === null || typeof value !== 'object') {
    budget.write(parts, JSON.stringify(value) ?? 'null');
    return true;
  }
  if (Array.isArray(value)) {
    budget.write(parts, '[');
    value.forEach((v, i) => {
      if (i > 0) budget.write(parts, ',');
      writeJson(v, parts, budget, true);
    });
    budget.write(parts, ']');
    return true;
  }
  budget.write(parts, '{');
  let first = true;
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    budget.write(parts, `${first ? '' : ','}${JSON.stringify(k)}:`);
    first = false;
    writeJson(v, parts, budget, false);
  }
  budget.write(parts, '}');
  return true;
}

/**
 * The serialized body of a Contentful-format delivery. GET requests carry none. Throws
 * RenderTooLarge when the body would pass `maxBytes` (DEFAULT_MAX_RENDERED_BODY unless given), or
 * the text spliced into template strings would pass `spliceBytes` (default `maxBytes`): the checks
 * run while rendering, so no amount of template multiplication costs more than them.
 */
export function contentfulBody(event: HeraldEvent, opts: ContentfulBodyOptions, maxBytes = DEFAULT_MAX_RENDERED_BODY, spliceBytes = maxBytes): string {
  const t = opts.transformation ?? null;
  const method = t?.method ?? 'POST';
  if (method === 'GET') return '';
  const payload = contentfulPayload(event, opts.masterLocale);
  let value: unknown = payload;
  if (t && t.body !== undefined) {
    const actor = actorOf(event);
    const context = { topic: contentfulTopic(event), user: { id: event.actor, name: actor.name, type: actor.type }, request: { url: opts.url, method }, payload };
    // Text spliced into template strings is counted against the limit as it is made.
    value = resolveTemplate(t.body, context, new Budget(spliceBytes));
  }
  if (t?.contentType?.startsWith('application/x-www-form-urlencoded')) {
    const form = formEncode(value, new Budget(spliceBytes));
    if (Buffer.byteLength(form) > maxBytes) throw new RenderTooLarge(maxBytes, Buffer.from(form).subarray(0, maxBytes).toString());
    return form;
  }
  return boundedJson(value, new Budget(maxBytes));
}

/** A placeholder: `{ /json/pointer }`, spaces around the pointer optional. */
const PLACEHOLDER = /\{\s*(\/[^{}]*?)\s*\}/g;
const WHOLE_PLACEHOLDER = /^\{\s*(\/[^{}]*?)\s*\}$/;

/**
 * Resolves a body template against `context` (`{ topic, user, request, payload }`). A string that
 * is exactly one placeholder becomes the value it points at, whatever its type (null when it
 * points at nothing): a reference, not a copy, so it costs nothing until serialized. Placeholders
 * inside a longer string are replaced by the value as text (objects as JSON, nothing as ''), every
 * piece of text counted against `budget`. Keys are never templated.
 */
export function resolveTemplate(template: unknown, context: unknown, budget = new Budget(Infinity)): unknown {
  if (typeof template === 'string') {
    const whole = WHOLE_PLACEHOLDER.exec(template);
    if (whole) return resolvePointer(context, whole[1]) ?? null;
    if (!PLACEHOLDER.test(template)) return template;
    PLACEHOLDER.lastIndex = 0;
    const parts: string[] = [];
    let at = 0;
    for (const m of template.matchAll(PLACEHOLDER)) {
      budget.write(parts, template.slice(at, m.index));
      parts.push(asText(resolvePointer(context, m[1]), budget));
      at = m.index! + m[0].length;
    }
    budget.write(parts, template.slice(at));
    return parts.join('');
  }
  if (Array.isArray(template)) return template.map((t) => resolveTemplate(t, context, budget));
  if (template && typeof template === 'object') {
    const out: Record<string, unknown> = {};
    // defineProperty: a key named `__proto__` stays a key of the body.
    for (const [k, v] of Object.entries(template)) Object.defineProperty(out, k, { value: resolveTemplate(v, context, budget), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return template;
}

/** A value as text, counted against `budget` (strings as they are, other values as JSON). */
function asText(v: unknown, budget: Budget): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') {
    budget.write([], v);
    return v;
  }
  return boundedJson(v, budget);
}

/** RFC 6901 JSON pointer lookup (`/payload/fields/title/en-US`); own properties only. */
export function resolvePointer(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  let cur: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9]\d*)$/.test(key)) return undefined;
      cur = cur[Number(key)];
    } else if (cur && typeof cur === 'object' && Object.hasOwn(cur, key)) {
      cur = (cur as Record<string, unknown>)[key];
    } else return undefined;
  }
  return cur;
}

/** Form encoding of a body: an object's top-level keys, non-string values as JSON. */
export function formEncode(value: unknown, budget = new Budget(Infinity)): string {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return asText(value, budget);
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(value)) form.append(k, asText(v, budget));
  return form.toString();
}

// ---------------------------------------------------------------------------------------------
// The request

/** Headers Herald signs on a Contentful-format request (its own; proxies keep them as they are). */
export const SIGNED_HEADERS = ['content-type', 'x-contentful-idempotency-key', 'x-contentful-topic', 'x-contentful-webhook-name'] as const;

/** `X-Contentful-Webhook-Name`: the name, percent-encoded when it is not printable ASCII (header values are bytes). */
export function webhookNameHeader(name: string): string {
  const trimmed = name.trim();
  return /^[\x20-\x7e]*$/.test(trimmed) ? trimmed : encodeURIComponent(trimmed);
}

/** The method, headers and framing a Contentful-format request adds to Herald's own. */
export interface ContentfulRequestParts {
  method: string;
  headers: Record<string, string>;
  /** No Content-Length (chunked), as Contentful sends unless `includeContentLength`. */
  chunked: boolean;
}

/**
 * The Contentful part of a request for `webhook`: `topic` is the event's Contentful topic,
 * `deliveryId` the execution uid (the idempotency key, the same on every retry). With a space
 * signing secret, the request verification headers are added, signed over `url`'s path, the
 * method, the headers in SIGNED_HEADERS and `body`, at `now` (ms).
 */
export function contentfulRequestParts(
  webhook: Pick<Webhook, 'name' | 'transformation'>,
  url: string,
  topic: string,
  deliveryId: string,
  body: string,
  now: number,
  signingSecret: string | null,
): ContentfulRequestParts {
  const t = webhook.transformation ?? null;
  const method = t?.method ?? 'POST';
  const headers: Record<string, string> = {
    'content-type': t?.contentType ?? CONTENTFUL_CONTENT_TYPE,
    'x-contentful-topic': topic,
    'x-contentful-webhook-name': webhookNameHeader(webhook.name),
    'x-contentful-idempotency-key': deliveryId,
  };
  if (signingSecret) {
    let path = '/';
    try {
      const u = new URL(url);
      path = u.pathname + u.search;
    } catch {}
    Object.assign(headers, signRequest(signingSecret, { method, path, headers, body }, now));
  }
  return { method, headers, chunked: t?.includeContentLength !== true };
}

/**
 * The path as the toolkit normalizes it before signing: the query escaped, then the whole
 * `encodeURI`d. Mirrors `getNormalizedEncodedURI` (including its split on the first two `?`
 * parts), so a receiver passing its raw `req.url` computes the same string.
 */
export function canonicalPath(uri: string): string {
  const [pathname, search] = uri.split('?');
  const escaped = search ? escapeQuery(search) : '';
  return encodeURI(escaped ? `${pathname}?${escaped}` : pathname);
}

/**
 * Contentful's request signature: HMAC-SHA256 (key: the 64-character secret as text, hex digest)
 * over `method \n path \n header:value;... \n body`, the signed headers (names lowercase, values
 * trimmed, plus `x-contentful-signed-headers` and `x-contentful-timestamp`) sorted by name.
 * Returns the three headers to send.
 */
export function signRequest(
  secret: string,
  req: { method: string; path: string; headers: Record<string, string>; body: string },
  timestampMs: number,
): Record<'x-contentful-signature' | 'x-contentful-signed-headers' | 'x-contentful-timestamp', string> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase().trim()] = v.trim();
  const names = Object.keys(headers);
  if (!('x-contentful-signed-headers' in headers)) names.push('x-contentful-signed-headers');
  if (!('x-contentful-timestamp' in headers)) names.push('x-contentful-timestamp');
  const signedHeaders = names.sort().join(',');
  headers['x-contentful-timestamp'] = String(timestampMs);
  headers['x-contentful-signed-headers'] = signedHeaders;
  const canonicalHeaders = Object.entries(headers)
    .sort(([a], [b]) => (a > b ? 1 : -1))
    .map(([k, v]) => `${k}:${v}`)
    .join(';');
  const text = [req.method, canonicalPath(req.path), canonicalHeaders, req.body].join('\n');
  return {
    'x-contentful-signature': createHmac('sha256', secret).update(text).digest('hex'),
    'x-contentful-signed-headers': signedHeaders,
    'x-contentful-timestamp': String(timestampMs),
  };
}
