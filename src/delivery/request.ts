import type { Destination, Webhook } from '../webhooks/webhook.ts';
import { endpointAuthSecrets } from '../webhooks/endpoint-auth.ts';
import { presentTargetUrl, urlSecret } from '../webhooks/targets.ts';
import type { Prepared } from './formats/index.ts';
import { maskHeaders, secretValues } from '../webhooks/headers.ts';
import { signatureHeader } from './signature.ts';
import { liveSecrets } from '../webhooks/signing-secrets.ts';

/** Sent as `User-Agent` with every delivery. */
export const USER_AGENT = 'Herald-Webhooks/0.1 (+https://github.com/herald)';

/**
 * A request as the attempt log stores it: headers with secrets masked, and no body. The body is the
 * event's payload in the format named here, rebuilt byte for byte when the log is read from what
 * the format stored alongside (`concise` for Contentstack's, `contentful` for Contentful's; see
 * formats/). Rows written before formats had names carry no `format`.
 */
export interface LoggedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  format?: string;
  [formatLogged: string]: unknown;
  /** Set by buildRequest when loggedJson may write this request's JSON from its parts (see there); never serialised. */
  [TEMPLATE]?: LoggedTemplate;
  /** The headers object the template was made for (sendBatch gives `logged` another: loggedJson then stringifies). */
  [TEMPLATE_HEADERS]?: Record<string, string>;
}

const TEMPLATE = Symbol('logged request template');
const TEMPLATE_HEADERS = Symbol('logged request template headers');

/** The one outgoing request type: what send.ts sends, and what the log keeps of it. */
export interface OutgoingRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  /**
   * The body as UTF-8 bytes, when built here: signed and sent as they are. From a string, undici
   * and the HMAC each encoded the body again on every attempt, and the ten attempts of an event
   * at fan-out 10 carry the same body (see EncodedBody).
   */
  bodyBytes?: Buffer;
  /** Default POST; a format may choose another (a Contentful transformation's GET sends no body). */
  method?: string;
  /** Send without Content-Length (chunked), as Contentful-format requests do by default. */
  chunked?: boolean;
  /** Values this request carries that are secret (headers.ts `secretValues`): masked wherever the response echoes them. */
  secrets?: readonly string[];
  /** The same, as stored in the attempt log (see LoggedRequest). */
  logged: LoggedRequest;
  /** The webhook it is for (the relay transport finds the webhook's listener by it, relay.ts). */
  webhook_uid?: string;
  /**
   * The destination it goes to, for what a transport adds when sending: an OAuth token, a TLS
   * client certificate (transports/http.ts). Absent: none of that.
   */
  destination?: Destination;
}

/**
 * A body and its UTF-8 bytes, encoded once where the body is made: every attempt that shares the
 * body (an event's fan-out, through the dispatcher's bodies) signs and sends the same bytes.
 */
export interface EncodedBody {
  readonly text: string;
  readonly bytes: Buffer;
}

export function encodedBody(text: string): EncodedBody {
  return { text, bytes: Buffer.from(text) };
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
  /** As text (encoded here: a test call's, a batch's) or with its bytes (a claim's, shared by its event's attempts). */
  encoded: string | EncodedBody,
  meta: { seq: number; attempt: number; event: string },
  now: number,
  /** The webhook's delivery format and this attempt as it prepared it (prepareDelivery's answer); absent (a test call): Contentstack's, as is. */
  format?: Prepared,
): OutgoingRequest {
  const fixed = fixedParts(webhook);
  const timestamp = Math.floor(now / 1000);
  const body = typeof encoded === 'string' ? encoded : encoded.text;
  const bytes = typeof encoded === 'string' ? bodyBytes(encoded) : encoded.bytes;
  const secrets = fixed.signing ?? signingSecrets(webhook, now);
  // Herald's own, then the format's: what changes from one attempt to the next. One literal with
  // the signature or one without: added after the literal, it grew the object a property store
  // per attempt.
  const own: Record<string, string> = secrets.length
    ? {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'webhook-id': deliveryId,
        'webhook-timestamp': timestampText(timestamp),
        'x-herald-event': meta.event,
        'x-herald-seq': String(meta.seq),
        'x-herald-attempt': String(meta.attempt),
        'webhook-signature': signatureHeader(secrets, deliveryId, timestamp, bytes),
      }
    : {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'webhook-id': deliveryId,
        'webhook-timestamp': timestampText(timestamp),
        'x-herald-event': meta.event,
        'x-herald-seq': String(meta.seq),
        'x-herald-attempt': String(meta.attempt),
      };

  // The format's method, headers (a Contentful request's X-Contentful-* and signature) and framing.
  let method = 'POST';
  let chunked = false;
  let formatHeaders: Record<string, string> | null = null;
  if (format) {
    const parts = format.prepared.request({ url: fixed.dest.target_url, deliveryId, body, now });
    if (hasKeys(parts.headers)) {
      formatHeaders = parts.headers;
      Object.assign(own, formatHeaders);
    }
    ({ method, chunked } = parts);
  }
  // Herald's own headers carry no secret (custom headers may not take their names: headers.ts);
  // a format's may. With no destination headers, no format headers and no OAuth (the common
  // case), what is sent is what the log shows: one object serves as both, not two copies per
  // attempt (neither is changed after this; a test call and a batch set a header in both alike).
  let headers = own;
  let masked = own;
  if (fixed.headers !== NO_HEADERS || formatHeaders || fixed.dest.access_token_url) {
    // Object.assign, not spread: V8 (Node 20) makes `{ ...a, ...b }` with keys of b not in a 20-40x
    // slower (4-7 us), new maps each time.
    headers = Object.assign({}, fixed.headers, own);
    // The log's copy: the destination's part is masked once per webhook definition (fixedParts).
    masked = Object.assign({}, fixed.masked, own);
    if (formatHeaders) Object.assign(masked, maskHeaders(formatHeaders, fixed.secretNames));
    // The OAuth token is fetched when sending (transports/oauth.ts); the log shows where it goes.
    if (fixed.dest.access_token_url) masked.authorization = 'Bearer ****';
  }
  // Object.assign for the format's part: a spread after keys (`{ k, ...logged }`) takes V8's slow
  // path, as above.
  const logged: LoggedRequest = format
    ? Object.assign({ method, url: fixed.shownUrl, headers: masked, format: format.format.name }, format.prepared.logged)
    : { method, url: fixed.shownUrl, headers: masked, concise: webhook.concise_payload };
  // Herald's headers after the destination's, if any (no format headers, no OAuth): the log's
  // JSON is written from the webhook's template (loggedJson).
  if (format && method === 'POST' && formatHeaders === null && !fixed.dest.access_token_url) {
    const template = loggedTemplate(fixed, format);
    if (template) {
      logged[TEMPLATE] = template;
      logged[TEMPLATE_HEADERS] = masked;
    }
  }
  return { url: fixed.dest.target_url, headers, body, bodyBytes: bytes, method, chunked, logged, secrets: fixed.hidden, destination: fixed.dest, webhook_uid: webhook.uid };
}

/** The last `webhook-timestamp` written (unix seconds) and its text: a second's attempts share it. */
let lastTimestamp = NaN;
let lastTimestampText = '';

function timestampText(seconds: number): string {
  if (seconds !== lastTimestamp) {
    lastTimestampText = String(seconds);
    lastTimestamp = seconds;
  }
  return lastTimestampText;
}

/**
 * The last body given as text and its bytes: attempts sharing a body given as text (bench:send's)
 * encode it once. One entry: claims' bodies come encoded (EncodedBody), kept by the dispatcher.
 */
let lastBody = '';
let lastBytes = Buffer.alloc(0);

function bodyBytes(body: string): Buffer {
  if (body !== lastBody) {
    lastBytes = Buffer.from(body);
    lastBody = body;
  }
  return lastBytes;
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

/** FixedParts' headers (and their masked copy) of a destination that sends none of its own: buildRequest then copies nothing. */
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** What every request of one webhook definition shares: its destination's headers, masked and not, and its secrets. */
interface FixedParts {
  dest: Destination;
  /** Custom headers (lower-cased names) and basic or bearer authorization; NO_HEADERS when none. */
  headers: Readonly<Record<string, string>>;
  masked: Readonly<Record<string, string>>;
  /** Custom headers marked secret (lower-cased names). */
  secretNames: Set<string>;
  /** The target URL as the log shows it (a broker URL's password masked). */
  shownUrl: string;
  /** Values masked wherever a response echoes them. */
  hidden: string[];
  /** The secrets that sign every attempt, current first; null when one of them expires (see signingSecrets). */
  signing: string[] | null;
  /** Its logged requests' JSON template for the format last asked (loggedTemplate); null until then. */
  template: LoggedTemplate | null;
}

/** The secrets that sign an attempt at `now` (a rotation's previous secret until it expires). */
function signingSecrets(webhook: Webhook, now: number): string[] {
  const signing = webhook.signing_secrets ?? [];
  return signing.length ? liveSecrets(signing, now).map((s) => s.secret) : [];
}

/**
 * By webhook object: claims hand out one object per stored definition (queue/decoded.ts), so
 * these are worked out once per definition rather than per attempt; a changed webhook is another
 * object.
 */
const fixedByWebhook = new WeakMap<Webhook, FixedParts>();

function fixedParts(webhook: Webhook): FixedParts {
  let f = fixedByWebhook.get(webhook);
  if (f) return f;
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
  if (dest.bearer_token) headers.authorization = `Bearer ${dest.bearer_token}`;
  const none = !hasKeys(headers);
  f = {
    dest,
    headers: none ? NO_HEADERS : headers,
    masked: none ? NO_HEADERS : maskHeaders(headers, secretNames),
    secretNames,
    shownUrl: presentTargetUrl(dest.target_url),
    hidden: [...secretValues(dest), ...endpointAuthSecrets(dest), urlSecret(dest.target_url)].filter(Boolean),
    // Without an expiry (no rotation under way) the same secrets sign every attempt.
    signing: (webhook.signing_secrets ?? []).every((s) => s.expires_at === null) ? signingSecrets(webhook, 0) : null,
    template: null,
  };
  fixedByWebhook.set(webhook, f);
  return f;
}

/**
 * The constant text of a logged request's JSON around Herald's own headers, for requests whose
 * headers are the destination's (masked) and Herald's, in that order (no format or OAuth
 * headers): everything but the values of webhook-id, webhook-timestamp, x-herald-event,
 * x-herald-seq, x-herald-attempt and webhook-signature is the same for every attempt of one
 * webhook definition and format.
 */
interface LoggedTemplate {
  /** `{"method":"POST","url":...,"headers":{` the destination's, `"content-type":...,"user-agent":...,"webhook-id":` */
  head: string;
  /** `},"format":...` and the format's logged keys, `}`. */
  tail: string;
  /** The destination's headers (masked) the head holds, names and values, checked on each request. */
  fixedNames: string[];
  fixedValues: string[];
  /** How many headers a request of it has without webhook-signature. */
  keys: number;
  /** What it was made for (FixedParts keeps the last one). */
  format: Prepared['format'];
  logged: Record<string, unknown>;
}

/** Herald's own headers (buildRequest's `own`) in their order, the ones before webhook-id constant. */
const OWN_HEAD = { 'content-type': 'application/json', 'user-agent': USER_AGENT };
/** `own`'s names: a destination header of one of these names (refused when saved) would change the order. */
const OWN_NAMES = new Set(['content-type', 'user-agent', 'webhook-id', 'webhook-timestamp', 'x-herald-event', 'x-herald-seq', 'x-herald-attempt', 'webhook-signature']);
/** How many keys `own` has without webhook-signature. */
const OWN_KEYS = 7;
/** Keys of the logged request itself, which a format's logged part must not name (Object.assign would overwrite them in place). */
const LOGGED_KEYS = new Set(['method', 'url', 'headers', 'format']);

/**
 * The template of a webhook definition's logged requests in `format` (see LoggedTemplate), null
 * when the format's logged part can change (only frozen ones are shared by every attempt, as
 * Contentstack's are) or names one of the request's keys. Kept on the FixedParts, one per format
 * part: a webhook's attempts share its format's.
 */
function loggedTemplate(fixed: FixedParts, format: Prepared): LoggedTemplate | null {
  const logged = format.prepared.logged;
  const t = fixed.template;
  if (t !== null && t.logged === logged && t.format === format.format) return t;
  if (!Object.isFrozen(logged)) return null;
  for (const k in logged) if (LOGGED_KEYS.has(k)) return null;
  const fixedNames = Object.keys(fixed.masked);
  for (const k of fixedNames) if (OWN_NAMES.has(k)) return null;
  const headers = JSON.stringify(Object.assign({}, fixed.masked, OWN_HEAD));
  const rest = JSON.stringify(Object.assign({ format: format.format.name }, logged));
  return (fixed.template = {
    head: `{"method":"POST","url":${JSON.stringify(fixed.shownUrl)},"headers":${headers.slice(0, -1)},"webhook-id":`,
    tail: `},${rest.slice(1)}`,
    fixedNames,
    fixedValues: fixedNames.map((k) => fixed.masked[k]),
    keys: fixedNames.length + OWN_KEYS,
    format: format.format,
    logged,
  });
}

/**
 * Characters JSON.stringify would escape (or might: anything past ASCII is left to it), so a
 * string without them is its own JSON between quotes.
 */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;

/**
 * `JSON.stringify(request)`, the attempt row's `request` (a LoggedRequest, or null). One that
 * buildRequest gave a template is written from it and its headers' values: the text is the same
 * (test/delivery/logged-json.test.ts), without JSON.stringify walking and escaping its constant
 * parts on every attempt (bench fan-out 10: JSON.stringify was ~3% of the process's samples, most
 * of it here). Herald's header values are read as they are now (one changed since is written as
 * changed); a destination header's value changed, a header added or removed (their count
 * differs), the headers object replaced (a batch's, dispatcher.ts sendBatch) or a value that needs
 * escaping makes it JSON.stringify's.
 */
export function loggedJson(request: unknown): string {
  const t = request === null || typeof request !== 'object' ? undefined : (request as LoggedRequest)[TEMPLATE];
  if (t !== undefined) {
    const r = request as LoggedRequest;
    const h = r.headers;
    if (h === r[TEMPLATE_HEADERS]) {
      const id = h['webhook-id'];
      const timestamp = h['webhook-timestamp'];
      const event = h['x-herald-event'];
      const seq = h['x-herald-seq'];
      const attempt = h['x-herald-attempt'];
      const signature = h['webhook-signature'];
      let n = 0;
      for (const _ in h) n++;
      if (
        n === (signature === undefined ? t.keys : t.keys + 1) &&
        sameFixed(t, h) &&
        plain(id) &&
        plain(timestamp) &&
        plain(event) &&
        plain(seq) &&
        plain(attempt) &&
        (signature === undefined || plain(signature)) &&
        h['content-type'] === OWN_HEAD['content-type'] &&
        h['user-agent'] === USER_AGENT &&
        r.method === 'POST'
      ) {
        const p = LOGGED_PARTS;
        p[0] = t.head;
        p[2] = id;
        p[4] = timestamp;
        p[6] = event;
        p[8] = seq;
        p[10] = attempt;
        if (signature === undefined) {
          p[11] = '"';
          p[12] = '';
          p[13] = '';
        } else {
          p[11] = '","webhook-signature":"';
          p[12] = signature;
          p[13] = '"';
        }
        p[14] = t.tail;
        return p.join('');
      }
    }
  }
  return JSON.stringify(request);
}

/**
 * loggedJson's text in its parts, joined: `join` writes one flat string. The same text as a
 * template literal was a tree of ~14 concatenations (32 bytes each), which SQLite's binding then
 * copied flat again (better-sqlite3 reads a string through String::Utf8Value, which flattens it):
 * ~0.45 KB twice per attempt. One array, reused: slots 0 to 10 alternate the varying parts (even,
 * set on each call) and the constant text between them (odd); 11 to 13 close the attempt header
 * with or without webhook-signature, 14 is the template's tail.
 */
const LOGGED_PARTS: string[] = ['', '"', '', '","webhook-timestamp":"', '', '","x-herald-event":"', '', '","x-herald-seq":"', '', '","x-herald-attempt":"', '', '', '', '', ''];

/** Whether `headers` holds the template's destination headers as it holds them. */
function sameFixed(t: LoggedTemplate, headers: Record<string, string>): boolean {
  const { fixedNames, fixedValues } = t;
  for (let i = 0; i < fixedNames.length; i++) if (headers[fixedNames[i]] !== fixedValues[i]) return false;
  return true;
}

/** A string JSON writes as it is, between quotes (see NEEDS_ESCAPE). */
function plain(s: unknown): boolean {
  return typeof s === 'string' && !NEEDS_ESCAPE.test(s);
}
