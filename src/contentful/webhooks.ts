import { normalizeTransformation, transformationProblems } from '../delivery/contentful.ts';
import { fieldErrors, HeraldError, type FieldErrors } from '../errors.ts';
import { ENDPOINT_AUTH_FIELDS, presentEndpointAuth } from '../webhooks/endpoint-auth.ts';
import type { Destination, Webhook, Transformation } from '../webhooks/webhook.ts';
import { presentTargetUrl } from '../webhooks/targets.ts';
import { link } from './entities.ts';
import { renameFields, validationFailed } from './errors.ts';

/**
 * Webhook definitions in Contentful's shape, mapped onto the same Webhook record the /v3 API
 * keeps (one store, one activity log, one engine). Pure.
 *
 *   Contentful                      Herald (Contentstack)
 *   name                            name
 *   url                             destinations[0].target_url
 *   topics                          channels (Contentful topics; Contentstack channels pass through)
 *   filters                         conditions (the same grammar)
 *   headers [{ key, value, secret }] destinations[0].custom_header [{ header_name, value, secret }]
 *   httpBasicUsername / Password    destinations[0].http_basic_auth / http_basic_password
 *   active                          !disabled
 *   transformation                  transformation (Contentful-format deliveries only)
 *   sys.id, sys.version             uid, version
 *
 * A request body is turned into a Contentstack `{ webhook }` body and checked by the same
 * validation as /v3 (src/webhooks/validate.ts); its errors come back under Contentful's names.
 * A PUT replaces the definition (Contentful's semantics): fields left out take their defaults,
 * except secrets the client cannot send back: a header sent as `{ key, secret: true }` without a
 * value keeps its stored value, and a password left out keeps the stored one while the username
 * stays. Endpoint authentication set through /v3 (OAuth 2.0 client credentials, a bearer token,
 * mutual TLS: webhooks/endpoint-auth.ts) has no field in Contentful's definition, so a PUT keeps it
 * as stored; its secrets follow the /v3 rule: kept only while the URL keeps its origin (scheme,
 * host, port), else a 422 naming each of them.
 */

const FIELDS = new Set(['name', 'url', 'topics', 'filters', 'headers', 'httpBasicUsername', 'httpBasicPassword', 'active', 'transformation', 'sys']);

export interface MappedDefinition {
  /** A Contentstack `{ webhook }` body for validateWebhook. */
  body: { webhook: Record<string, unknown> };
  transformation: Transformation | null;
}

/** Throws one 422 listing every problem, under Contentful's field names. */
function fail(errors: FieldErrors): never {
  throw validationFailed(errors);
}

/**
 * Maps a Contentful webhook definition body (create or full update) to a Contentstack body.
 * Shape errors that the shared validation cannot name in Contentful's words are reported here.
 * `stored`: on update, the stored destination, whose endpoint authentication the body cannot
 * mention and so keeps (see the top of this file).
 */
export function fromContentful(raw: unknown, stored?: Destination): MappedDefinition {
  const errors: FieldErrors = fieldErrors();
  const add = (f: string, p: string) => (errors[f] ??= []).push(p);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) fail({ body: ['must be a webhook definition object: { name, url, topics, ... }'] });
  const w = raw as Record<string, unknown>;
  for (const k of Object.keys(w)) if (!FIELDS.has(k)) add(k, 'is not a known field');

  if (w.url !== undefined && typeof w.url !== 'string') add('url', 'must be a string');
  if (w.topics !== undefined && !Array.isArray(w.topics)) add('topics', 'must be a list of topics such as ["Entry.publish", "*.*"]');
  if (w.filters !== undefined && w.filters !== null && !Array.isArray(w.filters)) add('filters', 'must be a list of filters');
  if (w.active !== undefined && typeof w.active !== 'boolean') add('active', 'must be true or false');

  let customHeaders: Array<Record<string, unknown>> = [];
  if (w.headers !== undefined && w.headers !== null) {
    if (!Array.isArray(w.headers)) add('headers', 'must be a list of { key, value, secret }');
    else {
      customHeaders = w.headers.map((h, i) => {
        if (!h || typeof h !== 'object' || Array.isArray(h)) {
          add(`headers.${i}`, 'must be { "key": ..., "value": ..., "secret": false }');
          return {};
        }
        const hh = h as Record<string, unknown>;
        for (const k of Object.keys(hh)) if (!['key', 'value', 'secret'].includes(k)) add(`headers.${i}.${k}`, 'is not a known field');
        if (hh.secret !== undefined && typeof hh.secret !== 'boolean') add(`headers.${i}.secret`, 'must be true or false');
        // A secret header read back has no value: the stored one is kept (validate.ts carries it).
        if (hh.value === undefined && hh.secret !== true) add(`headers.${i}.value`, 'is required');
        const out: Record<string, unknown> = { header_name: hh.key, value: hh.value };
        if (typeof hh.secret === 'boolean') out.secret = hh.secret;
        return out;
      });
    }
  }

  for (const p of ['httpBasicUsername', 'httpBasicPassword'] as const) {
    if (w[p] !== undefined && w[p] !== null && typeof w[p] !== 'string') add(p, 'must be a string');
  }

  const tProblems = transformationProblems(w.transformation);
  for (const [k, list] of Object.entries(tProblems)) for (const p of list) add(k ? `transformation.${k}` : 'transformation', p);
  if (Object.keys(errors).length) fail(errors);

  const username = typeof w.httpBasicUsername === 'string' && w.httpBasicUsername !== '' ? w.httpBasicUsername : null;
  const destination: Record<string, unknown> = { target_url: w.url, http_basic_auth: username, custom_header: customHeaders };
  // Left out: the stored password (kept while the username stays); null or '': none.
  if (w.httpBasicPassword !== undefined) destination.http_basic_password = w.httpBasicPassword === '' ? null : w.httpBasicPassword;
  if (stored) Object.assign(destination, storedEndpointAuth(stored));

  return {
    body: {
      webhook: {
        name: w.name,
        destinations: [destination],
        channels: w.topics,
        conditions: w.filters ?? [],
        disabled: w.active === undefined ? false : !w.active,
      },
    },
    transformation: normalizeTransformation(w.transformation),
  };
}

/**
 * The stored destination's endpoint authentication as /v3 reads it back (secrets masked), for the
 * shared validation: a masked secret is the stored one while the URL keeps its origin, and a 422
 * naming the field when it moved. `authentication_type` is left for the fields to imply (OAuth2
 * from `access_token_url`, Bearer from `bearer_token`), so the body's own basic auth decides
 * between Basic and None, and basic auth next to a stored OAuth or bearer token is a 422, not a
 * silent switch.
 */
function storedEndpointAuth(d: Destination): Record<string, string> {
  const { authentication_type: _, ...fields } = presentEndpointAuth(d);
  return fields;
}

/** Destination fields Contentful's definition has no name for: set through /v3/webhooks only. */
const V3_ONLY = new Set<string>(ENDPOINT_AUTH_FIELDS.map((f) => `destinations.0.${f}`));

/** Contentstack field paths of webhook errors, renamed to Contentful's. */
export function contentfulPath(path: string): string {
  const d = /^destinations(?:\.0)?(?:\.(.*))?$/.exec(path);
  if (d) {
    const rest = d[1];
    if (rest === undefined || rest === 'target_url') return 'url';
    if (rest === 'http_basic_auth') return 'httpBasicUsername';
    if (rest === 'http_basic_password') return 'httpBasicPassword';
    const h = /^custom_header(?:\.(\d+)(?:\.(header_name|value|secret))?)?$/.exec(rest);
    if (h) return ['headers', h[1], h[2] === 'header_name' ? 'key' : h[2]].filter((x) => x !== undefined).join('.');
    return rest;
  }
  if (path === 'channels' || path.startsWith('channels.')) return 'topics' + path.slice('channels'.length);
  if (path === 'conditions' || path.startsWith('conditions.')) return 'filters' + path.slice('conditions'.length);
  if (path === 'disabled') return 'active';
  return path;
}

/**
 * A validation error from the shared webhook validation, with Contentful's field names. A problem
 * with a field only /v3 has (a stored OAuth client secret or client key after the URL moved) says
 * where it can be sent, since a Contentful body cannot carry it.
 */
export function inContentfulTerms(err: unknown): unknown {
  if (err instanceof HeraldError && err.errors && Object.keys(err.errors).some((f) => V3_ONLY.has(f))) {
    const errors = fieldErrors();
    for (const [f, list] of Object.entries(err.errors)) {
      errors[f] = V3_ONLY.has(f) ? list.map((p) => `${p} (through PUT /v3/webhooks/{uid}: a Contentful webhook definition has no field for it)`) : list;
    }
    err = new HeraldError(err.code, err.message, { errors, cause: err, retryAfter: err.retryAfter });
  }
  return renameFields(err, contentfulPath);
}

/**
 * Webhook ids are unique per space. A definition created with a chosen id (Contentful's PUT
 * create-with-id) is stored under `<space>~<id>`: another space may choose the same id, and
 * choosing one says nothing about any other space's webhooks. Herald's own uids (POST, /v3) are
 * unique everywhere and are their own Contentful id. `~` never occurs in a Contentful id.
 */
export function scopedWebhookUid(apiKey: string, id: string): string {
  return `${apiKey}~${id}`;
}

/** The id Contentful's API shows for a stored webhook. */
export function contentfulWebhookId(w: { uid: string; api_key: string }): string {
  const prefix = `${w.api_key}~`;
  return w.uid.startsWith(prefix) ? w.uid.slice(prefix.length) : w.uid;
}

/** The stored uids a Contentful id of a space may have, in the order to look them up. */
export function storedUidsOf(apiKey: string, id: string): string[] {
  return id.includes('~') ? [id] : [id, scopedWebhookUid(apiKey, id)];
}

/** A Webhook as Contentful's API returns it: secrets never, secret headers by key only. */
export function presentDefinition(w: Webhook): Record<string, unknown> {
  const d = w.destinations[0];
  const out: Record<string, unknown> = {
    sys: {
      type: 'WebhookDefinition',
      id: contentfulWebhookId(w),
      version: w.version,
      space: link('Space', w.api_key),
      createdAt: new Date(w.created_at).toISOString(),
      updatedAt: new Date(w.updated_at).toISOString(),
    },
    name: w.name,
    url: presentTargetUrl(d?.target_url ?? ''),
    topics: [...w.channels],
    filters: w.conditions ?? [],
    headers: (d?.custom_header ?? []).map((h) => (h.secret ? { key: h.header_name, secret: true } : { key: h.header_name, value: h.value })),
    active: !w.disabled,
  };
  if (d?.http_basic_auth) out.httpBasicUsername = d.http_basic_auth;
  if (w.transformation) out.transformation = w.transformation;
  return out;
}
