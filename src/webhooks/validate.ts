import { mask } from '../auth/secrets.ts';
import { customHeaderProblems } from './headers.ts';
import { targetProblem, withAllowHint, type TargetPolicy } from '../net/target.ts';
import { fieldErrors, HeraldError, type FieldErrors } from '../errors.ts';
import { branchExists } from '../content/branches.ts';
import type { Queryable } from '../store/db.ts';
import { parseChannel } from './channels.ts';
import { RELAY_TARGET } from './relay-target.ts';
import { BATCH_MAX_EVENTS, BATCH_WINDOW_MS, DEBOUNCE_MS, RATE_LIMIT_MAX } from './storm-limits.ts';
import { conditionProblems } from './conditions.ts';
import { currentSecret, newSigningSecret, rotateSecrets, signingSecretProblem } from './signing-secrets.ts';
import type { BatchSettings, Condition, CustomHeader, Destination, RateLimit, Webhook } from './webhook.ts';
import { ENDPOINT_AUTH_FIELDS, parseEndpointAuth } from './endpoint-auth.ts';
import { kindOf, parseTarget, presentTargetUrl, targetOrigin, urlSecret, withUrlSecret } from './targets.ts';

/**
 * Turns a Contentstack `{ webhook: {...} }` body (as `@contentstack/management` sends it, on
 * create and on fetch-then-update) into a webhook definition, or one 422 naming every bad field
 * (`destinations.0.target_url`, `channels.2`, ...).
 *
 * On update the body is merged over the stored webhook: a field left out keeps its value. Secrets
 * survive a client that sends back what it fetched: a basic auth password or a secret header value
 * that is missing, or equal to its mask (`****abcd`), keeps the stored value. Any other masked
 * basic auth password or secret header value (an import of an export: csdx copies the masks a GET
 * shows, Contentstack's `webhook.create`) is never stored as the secret: the field is listed in
 * `missing_secrets` and stored empty, and the webhook stays disabled with a reason naming those
 * fields until they are sent in full (store.ts; enabling it before is a 422 naming them). A masked
 * broker URL password or endpoint credential (Herald's own fields, endpoint-auth.ts) is still a
 * 422. (So a new password that is literally the old one's mask cannot be set; no real password
 * looks like that.) Only while the URL keeps its origin (scheme, host, port): a destination moved elsewhere gets no stored
 * secret, so whoever may edit a webhook but never saw its secrets cannot send them to a host of
 * their choosing; they must be sent again in full, else 422 naming each field.
 */

/** What a request may set; the rest of a Webhook (uid, times, version, disabled_reason) is Herald's. */
export type WebhookDefinition = Pick<
  Webhook,
  'name' | 'destinations' | 'channels' | 'branches' | 'all_branches' | 'conditions' | 'retry_policy' | 'disabled' | 'concise_payload' | 'format' | 'format_options' | 'signing_secrets' | 'notifiers' | 'missing_secrets'
> &
  Required<Pick<Webhook, 'batch' | 'debounce_ms' | 'rate_limit'>>;

export const MAX_NAME_LENGTH = 200;
export const MAX_CHANNELS = 100;
export const MAX_BRANCHES = 50;
export const MAX_URL_LENGTH = 2048;
export const MAX_BASIC_AUTH_LENGTH = 1024;
export const MAX_RETRY_POLICY_LENGTH = 50;
/** Most notifier addresses on one webhook (Contentstack allows ten). */
export const MAX_NOTIFIERS = 10;
/** Longest email address (RFC 5321's path limit). */
export const MAX_EMAIL_LENGTH = 254;
/** An address nodemailer can send to: local@domain, no spaces, angle brackets, commas or control characters. */
const EMAIL = /^[^\s@<>,;"()\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

const FIELDS = new Set([
  'name',
  'destinations',
  'channels',
  'branches',
  'conditions',
  'retry_policy',
  'disabled',
  'concise_payload',
  'format',
  'format_options',
  'signing_secret',
  'notifiers',
  'batch',
  'debounce_ms',
  'rate_limit',
]);
/**
 * Fields a client sends back after fetching (Herald's own output, and Contentstack's metadata
 * that scripts written for Contentstack carry): accepted and ignored, never an error.
 */
const IGNORED = new Set([
  'uid',
  'api_key',
  'created_at',
  'updated_at',
  'created_by',
  'updated_by',
  'deleted_at',
  'disabled_reason',
  'missing_secrets',
  'version',
  '_version',
  'org_uid',
  'applikation_id',
  'unhealthy',
  'stackHeaders',
  'urlPath',
]);
const DESTINATION_FIELDS = new Set<string>(['target_url', 'http_basic_auth', 'http_basic_password', 'custom_header', ...ENDPOINT_AUTH_FIELDS]);
const HEADER_FIELDS = new Set(['header_name', 'value', 'secret']);

/**
 * Header names whose values are credentials: when a request does not say `secret`, such a header
 * is stored as secret (masked in responses and logs). An explicit `secret: false` wins.
 */
const CREDENTIAL_NAME = /authorization|token|secret|password|passwd|api[-_]?key|signature|cookie|credential|auth/i;

export interface ParseContext {
  policy: TargetPolicy;
  /** The stored webhook, on update. */
  existing?: Webhook;
  now: number;
  /** The delivery formats registered in this process (delivery/formats/); default the two built in. */
  formats?: readonly string[];
  /**
   * Checks a format's `format_options` (the format's own `options`, delivery/formats/): the options
   * to store, a problem per option, or null when the format takes none. Absent: no format takes any.
   */
  formatOptions?: (format: string, given: Record<string, unknown>) => { options: Record<string, unknown> } | { problems: Record<string, string> } | null;
}

/** Formats every Herald has (delivery/formats/index.ts registers them). */
const BUILT_IN_FORMATS = ['contentstack', 'contentful'];

/** Parses and checks a body without I/O; throws one HeraldError (422) listing every bad field. */
export function parseWebhookBody(body: unknown, ctx: ParseContext): WebhookDefinition {
  const errors: FieldErrors = fieldErrors();
  const add = (field: string, problem: string) => (errors[field] ??= []).push(problem);
  const input = (body as { webhook?: unknown } | null)?.webhook;
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    throw new HeraldError('validation_failed', 'webhook is required: send { "webhook": { ... } }', { errors: { webhook: ['is required'] } });
  }
  const w = input as Record<string, unknown>;
  for (const key of Object.keys(w)) {
    if (!FIELDS.has(key) && !IGNORED.has(key)) add(key, 'is not a known field');
  }
  const old = ctx.existing;
  const has = (k: string) => w[k] !== undefined;

  // name
  let name = old?.name ?? '';
  if (has('name') || !old) {
    if (typeof w.name !== 'string' || w.name.trim() === '') add('name', 'is required');
    else if (w.name.length > MAX_NAME_LENGTH) add('name', `is longer than ${MAX_NAME_LENGTH} characters`);
    else name = w.name.trim();
  }

  // destinations: exactly one
  let destinations = old?.destinations ?? [];
  let missing_secrets = old?.missing_secrets ?? [];
  if (has('destinations') || !old) {
    const missing: string[] = [];
    const d = parseDestinations(w.destinations, old?.destinations[0], ctx.policy, add, { before: new Set(old?.missing_secrets ?? []), now: missing });
    if (d) {
      destinations = d;
      missing_secrets = missing;
    }
  }

  // channels: at least one, each parsed
  let channels = old?.channels ?? [];
  if (has('channels') || !old) {
    if (!Array.isArray(w.channels) || w.channels.length === 0) add('channels', 'must list at least one channel');
    else if (w.channels.length > MAX_CHANNELS) add('channels', `has more than ${MAX_CHANNELS} channels`);
    else {
      w.channels.forEach((c, i) => {
        const parsed = parseChannel(c);
        if (typeof parsed === 'string') add(`channels.${i}`, parsed);
      });
      channels = [...new Set(w.channels as string[])];
    }
  }

  // branches: default main; existence is checked against the store by `checkBranches`
  let branches = old?.branches ?? ['main'];
  if (has('branches')) {
    if (!Array.isArray(w.branches) || w.branches.length === 0) add('branches', 'must list at least one branch');
    else if (w.branches.length > MAX_BRANCHES) add('branches', `has more than ${MAX_BRANCHES} branches`);
    else {
      w.branches.forEach((b, i) => {
        if (typeof b !== 'string' || b === '') add(`branches.${i}`, 'must be a branch uid');
      });
      branches = [...new Set(w.branches as string[])];
    }
  }
  // Naming branches ends "every branch" (a Contentful definition's); absent, the stored choice stays.
  const all_branches = has('branches') ? undefined : old?.all_branches;

  // conditions
  let conditions: Condition[] = old?.conditions ?? [];
  if (has('conditions')) {
    const problems = conditionProblems(w.conditions);
    for (const [path, list] of Object.entries(problems)) for (const p of list) add(path ? `conditions.${path}` : 'conditions', p);
    conditions = w.conditions as Condition[];
  }

  let retry_policy = old?.retry_policy ?? 'manual';
  if (has('retry_policy')) {
    if (typeof w.retry_policy !== 'string' || w.retry_policy === '' || w.retry_policy.length > MAX_RETRY_POLICY_LENGTH) {
      add('retry_policy', `must be a string of 1 to ${MAX_RETRY_POLICY_LENGTH} characters (e.g. "manual")`);
    } else retry_policy = w.retry_policy;
  }

  const flag = (k: 'disabled' | 'concise_payload', fallback: boolean): boolean => {
    if (!has(k)) return fallback;
    if (typeof w[k] !== 'boolean') {
      add(k, 'must be true or false');
      return fallback;
    }
    return w[k] as boolean;
  };
  const disabled = flag('disabled', old?.disabled ?? false);
  const concise_payload = flag('concise_payload', old?.concise_payload ?? false);

  let format = old?.format ?? 'contentstack';
  if (has('format')) {
    const formats = ctx.formats ?? BUILT_IN_FORMATS;
    if (typeof w.format !== 'string' || !formats.includes(w.format)) add('format', `must be ${formats.map((f) => `"${f}"`).join(' or ')}`);
    else format = w.format;
  }

  // Job events (jobs.* channels) have a Contentstack-format body only: Contentful has no such type.
  if (format !== 'contentstack' && !errors.format) {
    channels.forEach((c, i) => {
      if (c.startsWith('jobs.')) add(`channels.${i}`, `"${c}" is a job channel: job events are sent in the Contentstack format only (format "contentstack")`);
    });
  }

  // format_options: checked by the format; options of a format the webhook leaves are dropped.
  let format_options: Record<string, unknown> | null = format === old?.format ? (old?.format_options ?? null) : null;
  if (has('format_options') && w.format_options !== null) {
    const given = w.format_options;
    if (typeof given !== 'object' || Array.isArray(given)) add('format_options', 'must be an object of the format\'s options, e.g. { "mode": "structured" }');
    else if (!errors.format) {
      const checked = ctx.formatOptions?.(format, given as Record<string, unknown>) ?? null;
      if (checked === null) {
        if (Object.keys(given as object).length > 0) add('format_options', `must be left out: the ${format} format takes no options`);
        else format_options = null;
      } else if ('problems' in checked) for (const [k, p] of Object.entries(checked.problems)) add(`format_options.${k}`, p);
      else format_options = checked.options;
    }
  } else if (has('format_options')) format_options = null;
  // A format with options gets its defaults stored, so the webhook shows what it sends (CloudEvents: binary).
  if (format_options === null && !errors.format && !errors.format_options) {
    const defaults = ctx.formatOptions?.(format, {}) ?? null;
    if (defaults && 'options' in defaults) format_options = defaults.options;
  }

  // event storms (#20): batching, debounce, rate limit; null (or 0) turns each off
  let batch = old?.batch ?? null;
  if (has('batch') || w.batch === null) {
    batch = w.batch === null ? null : parseBatch(w.batch, add);
  }
  if (batch && format !== 'contentstack') add('batch', `is offered for Contentstack-format webhooks only (this one's format is "${format}")`);
  let debounce_ms = old?.debounce_ms ?? 0;
  if (has('debounce_ms') || w.debounce_ms === null) {
    const d = w.debounce_ms ?? 0;
    if (!isWhole(d) || d < DEBOUNCE_MS.min || d > DEBOUNCE_MS.max) add('debounce_ms', `must be a whole number of milliseconds from ${DEBOUNCE_MS.min} to ${DEBOUNCE_MS.max} (0: off)`);
    else debounce_ms = d;
  }
  let rate_limit = old?.rate_limit ?? null;
  if (has('rate_limit') || w.rate_limit === null) {
    rate_limit = w.rate_limit === null ? null : parseRateLimit(w.rate_limit, add);
  }
  if (rate_limit && batch && !errors.batch && !errors.rate_limit) {
    add('rate_limit', 'cannot be combined with batch: a rate limit paces events one by one, a batch sends several in one call (use one or the other)');
  }

  // signing secret: given, kept, or generated; a new one given on update becomes current and the
  // previous one keeps signing for the usual grace period.
  let signing_secrets = old?.signing_secrets ?? [];
  if (w.signing_secret !== undefined && w.signing_secret !== null) {
    const problem = signingSecretProblem(w.signing_secret);
    if (problem) add('signing_secret', problem);
    else signing_secrets = rotateSecrets(signing_secrets, w.signing_secret as string, ctx.now);
  }
  if (!errors.signing_secret && currentSecret(signing_secrets) === null) {
    signing_secrets = rotateSecrets(signing_secrets, newSigningSecret(), ctx.now);
  }

  // notifiers: Contentstack's SDK examples send one address as a string; a list is the general form.
  let notifiers = old?.notifiers ?? [];
  if (has('notifiers') || w.notifiers === null) {
    const list = w.notifiers === null ? [] : typeof w.notifiers === 'string' ? [w.notifiers] : w.notifiers;
    if (!Array.isArray(list)) add('notifiers', 'must be a list of email addresses');
    else if (list.length > MAX_NOTIFIERS) add('notifiers', `has ${list.length} addresses; at most ${MAX_NOTIFIERS}`);
    else {
      list.forEach((a, i) => {
        if (typeof a !== 'string' || a.length > MAX_EMAIL_LENGTH || !EMAIL.test(a.trim())) add(`notifiers.${i}`, 'must be an email address (name@example.com)');
      });
      notifiers = [...new Set((list as unknown[]).filter((a): a is string => typeof a === 'string').map((a) => a.trim()))];
    }
  }

  const fields = Object.keys(errors);
  if (fields.length) {
    const first = fields[0];
    const more = fields.length > 1 ? ` (and ${fields.length - 1} more problem${fields.length > 2 ? 's' : ''})` : '';
    throw new HeraldError('validation_failed', `${first} ${errors[first][0]}${more}`, { errors });
  }
  return { name, destinations, channels, branches, all_branches, conditions, retry_policy, disabled, concise_payload, format, format_options, signing_secrets, notifiers, batch, debounce_ms, rate_limit, missing_secrets };
}

const isWhole = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

function parseBatch(v: unknown, add: (field: string, problem: string) => void): BatchSettings | null {
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    add('batch', 'must be { "max_events": 1-1000, "window_ms": 10-60000 }, or null to send each event alone');
    return null;
  }
  const b = v as Record<string, unknown>;
  let ok = true;
  for (const key of Object.keys(b)) if (key !== 'max_events' && key !== 'window_ms') (add(`batch.${key}`, 'is not a known field'), (ok = false));
  if (!isWhole(b.max_events) || b.max_events < BATCH_MAX_EVENTS.min || b.max_events > BATCH_MAX_EVENTS.max) {
    add('batch.max_events', `must be a whole number from ${BATCH_MAX_EVENTS.min} to ${BATCH_MAX_EVENTS.max}`);
    ok = false;
  }
  if (!isWhole(b.window_ms) || b.window_ms < BATCH_WINDOW_MS.min || b.window_ms > BATCH_WINDOW_MS.max) {
    add('batch.window_ms', `must be a whole number of milliseconds from ${BATCH_WINDOW_MS.min} to ${BATCH_WINDOW_MS.max}`);
    ok = false;
  }
  return ok ? { max_events: b.max_events as number, window_ms: b.window_ms as number } : null;
}

function parseRateLimit(v: unknown, add: (field: string, problem: string) => void): RateLimit | null {
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    add('rate_limit', 'must be { "max": N, "per": "second" | "minute" }, or null for no limit');
    return null;
  }
  const r = v as Record<string, unknown>;
  let ok = true;
  for (const key of Object.keys(r)) if (key !== 'max' && key !== 'per') (add(`rate_limit.${key}`, 'is not a known field'), (ok = false));
  if (r.per !== 'second' && r.per !== 'minute') {
    add('rate_limit.per', 'must be "second" or "minute"');
    return null;
  }
  const top = RATE_LIMIT_MAX[r.per];
  if (!isWhole(r.max) || r.max < 1 || r.max > top) {
    add('rate_limit.max', `must be a whole number from 1 to ${top} (calls per ${r.per})`);
    ok = false;
  }
  return ok ? { max: r.max as number, per: r.per } : null;
}

function parseDestinations(
  value: unknown,
  old: Destination | undefined,
  policy: TargetPolicy,
  add: (field: string, problem: string) => void,
  /** Secrets only masks were given for: `before` (stored), `now` (collected here). */
  missing: { before: ReadonlySet<string>; now: string[] },
): Destination[] | null {
  if (!Array.isArray(value) || value.length === 0) {
    add('destinations', 'must list one destination ({ "target_url": "https://..." })');
    return null;
  }
  if (value.length > 1) {
    add('destinations', `has ${value.length} destinations; Herald keeps one destination per webhook (create one webhook per URL)`);
    return null;
  }
  const d = value[0] as Record<string, unknown>;
  const at = 'destinations.0';
  if (!d || typeof d !== 'object' || Array.isArray(d)) {
    add(at, 'must be an object with target_url');
    return null;
  }
  let usable = true;
  const fail = (f: string, p: string) => {
    usable = false;
    add(f, p);
  };
  for (const key of Object.keys(d)) if (!DESTINATION_FIELDS.has(key)) fail(`${at}.${key}`, 'is not a known field');

  // target_url
  let target_url = '';
  if (typeof d.target_url !== 'string' || d.target_url.trim() === '') fail(`${at}.target_url`, 'is required');
  else if (d.target_url.length > MAX_URL_LENGTH) fail(`${at}.target_url`, `is longer than ${MAX_URL_LENGTH} characters`);
  else {
    // Plain spaces around the URL are forgiven; line breaks and other controls are not (a URL
    // ending in "\n" is refused, not silently trimmed: hostile-input.md case 19).
    target_url = d.target_url.replace(/^ +| +$/g, '');
    // A relay webhook (`herald listen`) connects to no address: nothing for the target policy to check.
    const problem = target_url === RELAY_TARGET ? null : (targetProblem(target_url, policy) ?? targetKindProblem(target_url));
    if (problem) fail(`${at}.target_url`, withAllowHint(problem));
    else {
      // A broker URL's password sent back masked (as GET shows it) is the stored one, while the
      // URL keeps its origin and user; otherwise it must be sent in full.
      const secret = urlSecret(target_url);
      if (secret && looksMasked(secret)) {
        const stored = old ? urlSecret(old.target_url) : '';
        if (stored && secret === mask(stored)) {
          const same = targetOrigin(target_url) === targetOrigin(old!.target_url) && userOf(target_url) === userOf(old!.target_url);
          if (same) target_url = withUrlSecret(target_url, stored);
          else fail(`${at}.target_url`, `must be sent again with its password in full: the destination moved to another origin (${targetOrigin(target_url)}) or user, and stored secrets are not carried to it`);
        } else fail(`${at}.target_url`, 'has a masked password (as an export shows it), not the secret: send the URL with its password in full');
      }
    }
  }

  // basic auth
  let username = '';
  if (d.http_basic_auth !== undefined && d.http_basic_auth !== null) {
    const u = d.http_basic_auth;
    if (typeof u !== 'string') fail(`${at}.http_basic_auth`, 'must be a string (the basic auth username)');
    else if (u.length > MAX_BASIC_AUTH_LENGTH) fail(`${at}.http_basic_auth`, `is longer than ${MAX_BASIC_AUTH_LENGTH} characters`);
    else if (/[\u0000-\u001f\u007f]/.test(u)) fail(`${at}.http_basic_auth`, 'must not contain line breaks or control characters');
    else if (u.includes(':')) fail(`${at}.http_basic_auth`, 'must not contain ":" (basic auth joins username and password with it)');
    else username = u;
  }
  // Stored secrets stay with the origin they were set for: when the URL moves to another scheme,
  // host or port, they are not carried over, and must be sent again in full (or removed).
  const moved = old !== undefined && target_url !== '' && originOf(target_url) !== originOf(old.target_url);
  const resend = `must be sent again in full: the destination moved to another origin (${originOf(target_url)}), and stored secrets are not carried to it`;
  let password = '';
  const p = d.http_basic_password;
  const passwordPath = `${at}.http_basic_password`;
  // Still missing: it was, and the request sends nothing new (left out, or the empty value a GET shows).
  let passwordMissing = missing.before.has(passwordPath) && (p === undefined || p === '');
  // Missing or masked: the stored password (if any); null: none.
  const given = p !== undefined && p !== null && !(old?.http_basic_password && p === mask(old.http_basic_password));
  if (passwordMissing) password = '';
  else if (!given && p !== null && moved && old?.http_basic_password && username) fail(`${at}.http_basic_password`, resend);
  else if (!given) password = p === null ? '' : (old?.http_basic_password ?? '');
  else if (typeof p !== 'string') fail(`${at}.http_basic_password`, 'must be a string');
  else if (looksMasked(p)) passwordMissing = true;
  else if (p.length > MAX_BASIC_AUTH_LENGTH) fail(`${at}.http_basic_password`, `is longer than ${MAX_BASIC_AUTH_LENGTH} characters`);
  else if (/[\u0000-\u001f\u007f]/.test(p)) fail(`${at}.http_basic_password`, 'must not contain line breaks or control characters');
  else password = p;
  if (given && password && !username) fail(`${at}.http_basic_auth`, 'is required when http_basic_password is set');
  // No username, no basic auth: a carried-over password goes with it.
  if (!username) password = '';
  else if (passwordMissing) missing.now.push(passwordPath);

  // custom headers
  let custom_header: CustomHeader[] = [];
  const raw = d.custom_header ?? [];
  if (!Array.isArray(raw)) fail(`${at}.custom_header`, 'must be a list of { header_name, value }');
  else {
    const shapeOk = raw.every((h, i) => {
      if (!h || typeof h !== 'object' || Array.isArray(h)) {
        fail(`${at}.custom_header.${i}`, 'must be { "header_name": ..., "value": ... }');
        return false;
      }
      for (const key of Object.keys(h)) if (!HEADER_FIELDS.has(key)) fail(`${at}.custom_header.${i}.${key}`, 'is not a known field');
      if (h.secret !== undefined && typeof h.secret !== 'boolean') fail(`${at}.custom_header.${i}.secret`, 'must be true or false');
      return true;
    });
    if (shapeOk) {
      custom_header = raw.map((h: Record<string, unknown>, i) => {
        const { header, carried } = carryHeader(h, old?.custom_header ?? []);
        const path = `${at}.custom_header.${i}.value`;
        const before = (old?.custom_header ?? []).findIndex((s) => typeof header.header_name === 'string' && s.header_name.toLowerCase() === header.header_name.toLowerCase());
        const wasMissing = before >= 0 && missing.before.has(`${at}.custom_header.${before}.value`);
        if (header.secret && ((wasMissing && (carried || header.value === '')) || (!carried && typeof header.value === 'string' && looksMasked(header.value)))) {
          missing.now.push(path);
          return { ...header, value: '' };
        }
        if (carried && moved) fail(path, resend);
        return header;
      });
      const problems = customHeaderProblems(custom_header, { basicAuth: username !== '' });
      for (const [field, list] of Object.entries(problems)) for (const pr of list) fail(`${at}.${field}`, pr);
    }
  }
  // OAuth 2.0, bearer token, mutual TLS (endpoint-auth.ts).
  const auth = parseEndpointAuth(d, { policy, old, targetUrl: target_url, http: kindOf(target_url) === 'http', moved, basicUser: username }, (f, p) => fail(`${at}.${f}`, p));
  if (!usable) return null;
  const dest: Destination = { target_url, custom_header };
  if (username) {
    dest.http_basic_auth = username;
    dest.http_basic_password = password;
  }
  Object.assign(dest, auth);
  return [dest];
}

/**
 * A masked secret as exports show them: Contentstack's `****`, Herald's own `****abcd` (the last
 * four characters). Stored as the secret it would silently break the webhook's calls, so it is
 * never stored: the field is listed in the webhook's `missing_secrets` (see the top of this file).
 * (A mask equal to the stored value's own mask keeps the stored secret.)
 */
export function looksMasked(value: string): boolean {
  return /^\*{3,}[^*]{0,4}$/.test(value);
}

/**
 * One custom header from a request, with its secret carried over from the stored header of the
 * same name when the request sends the value masked or not at all.
 */
function carryHeader(h: Record<string, unknown>, stored: readonly CustomHeader[]): { header: CustomHeader; carried: boolean } {
  const name = h.header_name as string;
  const prev = typeof name === 'string' ? stored.find((s) => s.header_name.toLowerCase() === name.toLowerCase()) : undefined;
  let value = h.value as string;
  const carried = prev?.secret === true && (value === undefined || value === mask(prev.value));
  if (carried) value = prev!.value;
  const secret = typeof h.secret === 'boolean' ? h.secret : prev ? prev.secret === true : typeof name === 'string' && CREDENTIAL_NAME.test(name);
  return { header: secret ? { header_name: name, value, secret: true } : { header_name: name, value }, carried };
}

/** A URL's origin (scheme, host, port), as secrets are bound to it (targets.ts). */
const originOf = targetOrigin;

/** Why a URL of a broker kind cannot be used (its options), or null (http(s): nothing more to check). */
function targetKindProblem(url: string): string | null {
  if (kindOf(url) === 'http') return null;
  const t = parseTarget(url);
  return 'problem' in t ? t.problem : null;
}

/** The user part of a URL that has a password, decoded; '' otherwise (a NATS token is the secret itself). */
function userOf(url: string): string {
  try {
    const u = new URL(url);
    return u.password ? decodeURIComponent(u.username) : '';
  } catch {
    return '';
  }
}

/** Refuses branches the stack does not have (422 naming `branches.N`). */
export async function checkBranches(q: Queryable, apiKey: string, branches: readonly string[]): Promise<void> {
  const errors: FieldErrors = {};
  for (const [i, b] of branches.entries()) {
    if (!(await branchExists(q, apiKey, b))) errors[`branches.${i}`] = [`"${b}" is not a branch of this stack`];
  }
  const first = Object.entries(errors)[0];
  if (first) throw new HeraldError('validation_failed', `${first[0]} ${first[1][0]}`, { errors });
}

/** Parses a body and checks it against the store: the whole validation of a create or update. */
export async function validateWebhook(q: Queryable, apiKey: string, body: unknown, ctx: ParseContext): Promise<WebhookDefinition> {
  const def = parseWebhookBody(body, ctx);
  await checkBranches(q, apiKey, def.branches);
  return def;
}
