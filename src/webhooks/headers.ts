import { mask } from '../auth/secrets.ts';
import type { CustomHeader } from './webhook.ts';

/**
 * A destination's custom headers: what may be set (pure validation for a 422) and how request
 * headers are stored in the attempt log (secrets masked).
 */

/** Most custom headers on one destination. */
export const MAX_CUSTOM_HEADERS = 50;
/** Longest custom header value, bytes (UTF-8). */
export const MAX_HEADER_VALUE_BYTES = 8 * 1024;
/** Longest custom header name, characters. */
export const MAX_HEADER_NAME_LENGTH = 256;

/**
 * Header names Herald sets itself or that change how the request is framed or routed; a custom
 * header may not override them (lowercase).
 */
const RESERVED = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'content-type',
  'content-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'proxy-connection',
  'user-agent',
  // Standard Webhooks signature headers.
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
]);
/** Prefixes of the delivery headers Herald sends (its own and Contentful's format). */
const RESERVED_PREFIXES = ['x-herald-', 'x-contentful-'];

/** RFC 9110 token: the characters a header name may contain. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const LINE_BREAK_OR_CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;
/** Values are sent as bytes; only printable ASCII and tabs mean the same to every receiver. */
const NOT_PRINTABLE_ASCII = /[^\t\u0020-\u007e]/;

/**
 * Problems with a destination's custom headers, keyed by field path relative to the destination
 * (`custom_header.1.header_name`, `custom_header.1.value`, or `custom_header` for the list), each
 * worded to complete "<field> ..." . Empty when all is well. `basicAuth`: the destination sets
 * basic auth, so `Authorization` is Herald's to send.
 */
export function customHeaderProblems(headers: readonly CustomHeader[], opts: { basicAuth: boolean }): Record<string, string[]> {
  const problems: Record<string, string[]> = {};
  const add = (field: string, problem: string) => (problems[field] ??= []).push(problem);
  if (!Array.isArray(headers)) {
    add('custom_header', 'must be a list');
    return problems;
  }
  if (headers.length > MAX_CUSTOM_HEADERS) add('custom_header', `has more than ${MAX_CUSTOM_HEADERS} headers (${headers.length})`);
  const seen = new Map<string, number>();
  headers.forEach((h, i) => {
    const at = `custom_header.${i}`;
    const name: unknown = h?.header_name;
    const value: unknown = h?.value;
    const nameProblem = headerNameProblem(name, opts);
    if (nameProblem) add(`${at}.header_name`, nameProblem);
    else {
      const key = (name as string).toLowerCase();
      const first = seen.get(key);
      if (first !== undefined) add(`${at}.header_name`, `repeats custom_header.${first}.header_name (${name as string})`);
      else seen.set(key, i);
    }
    const valueProblem = headerValueProblem(value);
    if (valueProblem) add(`${at}.value`, valueProblem);
  });
  return problems;
}

function headerNameProblem(name: unknown, opts: { basicAuth: boolean }): string | null {
  if (typeof name !== 'string') return 'must be a string';
  if (name === '') return 'is required';
  if (LINE_BREAK_OR_CONTROL.test(name) || name.includes('\t')) return 'must not contain line breaks or control characters';
  if (name.length > MAX_HEADER_NAME_LENGTH) return `is longer than ${MAX_HEADER_NAME_LENGTH} characters`;
  if (!TOKEN.test(name)) return `is not a valid HTTP header name (${JSON.stringify(name)})`;
  const key = name.toLowerCase();
  if (RESERVED.has(key) || RESERVED_PREFIXES.some((p) => key.startsWith(p))) return `is set by Herald and cannot be overridden (${name})`;
  if (key === 'authorization' && opts.basicAuth) return 'cannot be set while basic auth is set (Authorization is sent from http_basic_auth)';
  return null;
}

function headerValueProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'must be a string';
  if (LINE_BREAK_OR_CONTROL.test(value)) return 'must not contain line breaks or control characters';
  if (Buffer.byteLength(value) > MAX_HEADER_VALUE_BYTES) return `is longer than 8 KiB (${MAX_HEADER_VALUE_BYTES} bytes)`;
  if (NOT_PRINTABLE_ASCII.test(value)) return 'must contain only printable ASCII characters';
  return null;
}

/** Request headers that carry credentials whatever the webhook says. */
const ALWAYS_SECRET = new Set(['authorization', 'proxy-authorization']);

/**
 * A copy of request headers fit for the attempt log: `Authorization` keeps only its scheme
 * (`Basic ****`), and the headers named in `secretNames` (case-insensitive: custom headers marked
 * secret) are shown as `mask` shows a secret (`****` and at most the last 4 characters).
 */
export function maskHeaders(headers: Record<string, string>, secretNames: ReadonlySet<string>): Record<string, string> {
  // Per attempt for a format's headers (request.ts): most destinations have no secret header.
  const secret = secretNames.size === 0 ? secretNames : new Set([...secretNames].map((n) => n.toLowerCase()));
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (ALWAYS_SECRET.has(key)) {
      const scheme = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*) +\S/.exec(String(value))?.[1];
      out[name] = scheme ? `${scheme} ****` : '****';
    } else if (secret.has(key)) {
      out[name] = mask(String(value)) ?? '';
    } else {
      out[name] = value;
    }
  }
  return out;
}

/**
 * The values a destination's request carries that are secret: the basic auth password, its
 * `user:password` and base64 forms (what an `Authorization: Basic` header echoes), and secret
 * custom header values. A receiver may echo them back; `scrubSecrets` masks them there.
 */
export function secretValues(dest: { http_basic_auth?: string | null; http_basic_password?: string | null; custom_header?: readonly CustomHeader[] }): string[] {
  const out: string[] = [];
  if (dest.http_basic_auth && dest.http_basic_password) {
    const pair = `${dest.http_basic_auth}:${dest.http_basic_password}`;
    out.push(dest.http_basic_password, pair, Buffer.from(pair).toString('base64'));
  }
  for (const h of dest.custom_header ?? []) if (h.secret && h.value) out.push(h.value);
  return out;
}

/**
 * Each secrets list's forms to mask (see secretForms), with a copy of the list they were made
 * from: a list whose contents changed since is seen, and its forms made again, so a secret is never
 * left out by a stale entry.
 */
const formsByList = new WeakMap<readonly string[], { of: readonly string[]; forms: readonly string[] }>();

/**
 * The texts to mask for `secrets`: each as sent, JSON-escaped and percent-encoded (the ways a
 * receiver echoing a request commonly writes it), longest first, so one that contains another is
 * masked whole. Made once per list (a webhook definition's requests share theirs): made again for
 * every header value and the body, they were most of what masking cost a response (25-43 us -> 1-5
 * us with 4 secrets and 5 headers, none echoed, in a micro-bench on a loaded machine).
 */
export function secretForms(secrets: readonly string[]): readonly string[] {
  const known = formsByList.get(secrets);
  if (known && sameList(known.of, secrets)) return known.forms;
  const forms = new Set<string>();
  for (const s of secrets) {
    if (!s) continue;
    forms.add(s);
    forms.add(JSON.stringify(s).slice(1, -1));
    forms.add(encodeURIComponent(s));
  }
  const sorted = [...forms].filter((f) => f !== '').sort((a, b) => b.length - a.length);
  formsByList.set(secrets, { of: [...secrets], forms: sorted });
  return sorted;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * `text` with every occurrence of each secret replaced by `****`, in each form secretForms lists,
 * longest first.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  if (secrets.length === 0 || text === '') return text;
  let out = text;
  for (const f of secretForms(secrets)) if (out.includes(f)) out = out.split(f).join('****');
  return out;
}
