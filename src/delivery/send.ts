import { Readable } from 'node:stream';
import { errors, util, type Dispatcher } from 'undici';
import { scrubSecrets, secretForms } from '../webhooks/headers.ts';
import type { OutgoingRequest } from './request.ts';
import { outcomeOfError, outcomeOfStatus, parseRetryAfter, type AttemptResult, type Outcome } from './policy.ts';
import { DeadlineWheel, type Deadline } from './deadlines.ts';

/** Bytes of a response body kept in the attempt log; the rest is not even read. */
export const MAX_LOGGED_RESPONSE_BYTES = 64 * 1024;

export interface LoggedResponse {
  headers: Record<string, string | string[]>;
  body: string;
  /** `base64` when the body was not valid UTF-8 text. */
  encoding: 'utf8' | 'base64';
  /** The body was longer than what was kept. */
  truncated: boolean;
}

export interface AttemptRecord extends AttemptResult {
  started_at: number;
  duration_ms: number;
  /** What went wrong, in words, for the log ("connection refused", "HTTP 503"...); null on success. */
  reason: string | null;
  response: LoggedResponse | null;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Every attempt's total deadline, on one timer (deadlines.ts). */
const deadlines = new DeadlineWheel();

/** Deadlines of attempts not yet ended (tests: every attempt ends its own). */
export function pendingDeadlines(): number {
  return deadlines.pending;
}

/**
 * Parsed target URLs by their text: a webhook's URL is the same on every attempt, and parsing it
 * was per-attempt work. Bounded: cleared when it grows past URL_CACHE_SIZE.
 */
const urls = new Map<string, { origin: string; path: string }>();
const URL_CACHE_SIZE = 1_000;

function target(text: string): { origin: string; path: string } {
  let t = urls.get(text);
  if (!t) {
    const url = new URL(text);
    t = { origin: url.origin, path: url.pathname + url.search };
    if (urls.size >= URL_CACHE_SIZE) urls.clear();
    urls.set(text, t);
  }
  return t;
}

/**
 * A response as the attempt log keeps it: its body as UTF-8 text, or base64 when it is not UTF-8.
 * One object (the body's text decided first), not the body's fields made apart and copied in.
 */
export function loggedResponse(headers: LoggedResponse['headers'], bytes: Buffer, truncated: boolean): LoggedResponse {
  try {
    // A cut can split a multi-byte character; drop at most 3 trailing bytes before deciding.
    return { headers, body: utf8.decode(bytes), encoding: 'utf8', truncated };
  } catch {
    if (truncated) {
      for (let cut = 1; cut <= 3 && cut < bytes.length; cut++) {
        try {
          return { headers, body: utf8.decode(bytes.subarray(0, bytes.length - cut)), encoding: 'utf8', truncated };
        } catch {}
      }
    }
    return { headers, body: bytes.toString('base64'), encoding: 'base64', truncated };
  }
}

/**
 * One POST to a webhook's URL through `agent`: a total deadline of `timeoutMs` over connect,
 * headers and body; redirects are not followed (a 3xx is a failed attempt); the response body is
 * read through a byte cap, so an endless body costs at most `MAX_LOGGED_RESPONSE_BYTES`. No
 * `Accept-Encoding` is sent, so nothing is decompressed. Never throws: every failure is an outcome.
 *
 * Through undici's handler interface (`dispatch`) rather than `request()`: the response's chunks
 * come straight to the Exchange below, with no body stream, async iterator and promise per chunk
 * in between (about 6 KB allocated per attempt, a fifth of a delivery's).
 */
export function send(agent: Dispatcher, req: Omit<OutgoingRequest, 'logged'>, timeoutMs: number): Promise<AttemptRecord> {
  const started = Date.now();
  let url: { origin: string; path: string };
  try {
    url = target(req.url);
  } catch {
    return Promise.resolve(ended(started, 'network', null, null, 'invalid URL', null));
  }
  // The total deadline over connect, headers and body (undici's own timeouts are per phase).
  const exchange = new Exchange(started, deadlines.start(timeoutMs), timeoutMs, req.secrets ?? NO_SECRETS);
  const settled = exchange.promise();
  try {
    agent.dispatch(
      {
        origin: url.origin,
        path: url.path,
        method: (req.method ?? 'POST') as Dispatcher.HttpMethod,
        headers: req.headers,
        // The bytes when the request carries them (request.ts bodyBytes): a string is encoded per request.
        body: req.method === 'GET' ? undefined : req.chunked ? Readable.from([req.bodyBytes ?? Buffer.from(req.body)]) : (req.bodyBytes ?? req.body),
        // 0: undici's own per-phase timers off. The wheel's deadline above already cuts the
        // attempt in every phase: sending, waiting for headers, reading the body (onDeadline),
        // or when it is handed its connection if it passed before (onConnect). undici armed,
        // refreshed and cleared a timer of its own per request for limits that start later
        // with the same length, so never came first. (Connecting has its own limit: agent.ts.)
        headersTimeout: 0,
        bodyTimeout: 0,
        // Not blocking: with one request per connection (pipelining 1) nothing else can be
        // written on it before this answer ends anyway, and a blocking request cost undici one
        // more pass of its queue (resume) per request when its headers came.
        blocking: false,
      },
      exchange,
    );
  } catch (err) {
    exchange.onError(err as Error);
  }
  return settled;
}

/** The last answer's raw headers (undici's buffers, names and values in turn) and what they parsed to. */
let lastRawHeaders: Buffer[] = [];
let lastHeaders: Record<string, string | string[]> | null = null;

/**
 * An answer's headers as an object (undici's parseHeaders). The same object as the last answer's
 * when its raw headers are the same bytes: a receiver answers every request alike (or differs in
 * `date`, once a second), and parsing made the object and a string per value each time. Shared
 * answers are read only (the attempt log; scrubResponse copies before it masks).
 */
function answerHeaders(raw: Buffer[] | string[]): Record<string, string | string[]> {
  const n = raw.length;
  const last = lastRawHeaders;
  if (lastHeaders !== null && n === last.length && n > 0 && Buffer.isBuffer(raw[0])) {
    let i = 0;
    while (i < n && (raw[i] as Buffer).equals(last[i]!)) i++;
    if (i === n) return lastHeaders;
  }
  const parsed = util.parseHeaders(raw) as Record<string, string | string[]>;
  if (n > 0 && Buffer.isBuffer(raw[0])) {
    lastRawHeaders = raw as Buffer[];
    lastHeaders = parsed;
  }
  return parsed;
}

/** The exchange whose promise is being made: handed to `capture` (see there). */
let capturing: Exchange | null = null;

/**
 * The executor of every attempt's promise: it gives the promise's resolve function to the exchange
 * being made (`capturing`). One function for all attempts, where `new Promise((resolve) => ...)`
 * made a closure and its context per attempt (~0.13 KB with what it captured, session 27).
 */
function capture(resolve: (r: AttemptRecord) => void): void {
  capturing!.resolve = resolve;
}

const NO_SECRETS: readonly string[] = [];
/** An exchange's resolve until its promise is made. */
const NO_RESOLVE = (_r: AttemptRecord): void => {};
/** An empty answer's body (no chunk came): one buffer, not one per attempt. */
const NO_BYTES = Buffer.alloc(0);

/**
 * The record of an attempt that ends now. One literal of every field: timings added to a literal
 * of the others grew each record's property store per attempt.
 */
function ended(
  started: number,
  outcome: Outcome,
  status_code: number | null,
  retry_after_ms: number | null,
  reason: string | null,
  response: LoggedResponse | null,
): AttemptRecord {
  return { outcome, status_code, retry_after_ms, reason, response, started_at: started, duration_ms: Date.now() - started };
}

/**
 * One attempt's exchange, as undici's dispatch handler: what `request()` and reading its body did,
 * without the stream. Settles once: with the response when its body ended (or reached the byte
 * cap, the connection then cut), or with the failure (the deadline's, undici's or the policy's).
 */
class Exchange implements Dispatcher.DispatchHandler {
  private abort: ((err?: Error) => void) | null = null;
  private settled = false;
  private status = 0;
  private headers: Record<string, string | string[]> | null = null;
  /**
   * The body's chunks kept: the first in `first`, any later ones in `more` (made on the second):
   * most answers come in one chunk, and an array per attempt was one more object and its store.
   */
  private first: Buffer | null = null;
  private more: Buffer[] | null = null;
  private kept = 0;

  /** Settles the promise `promise()` made (set there, once). */
  resolve: (r: AttemptRecord) => void = NO_RESOLVE;

  constructor(
    private readonly started: number,
    private readonly deadline: Deadline,
    private readonly timeoutMs: number,
    private readonly secrets: readonly string[],
  ) {
    deadline.watcher = this;
  }

  /** The promise of this exchange's record; called once, before it is dispatched. */
  promise(): Promise<AttemptRecord> {
    capturing = this;
    const p = new Promise<AttemptRecord>(capture);
    capturing = null;
    return p;
  }

  /** The total deadline passed (deadlines.ts). */
  onDeadline(): void {
    if (this.abort) this.abort(this.deadline.reason as Error);
    // Not yet connected: it is cut when it is (onConnect), as request({ signal }) does.
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.deadline.aborted) return abort(this.deadline.reason as Error);
    this.abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[] | null, _resume: () => void): boolean {
    // 1xx (informational): the final answer follows.
    if (statusCode < 200) return true;
    this.status = statusCode;
    this.headers = answerHeaders(rawHeaders ?? []);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.settled) return false;
    if (this.kept + chunk.length > MAX_LOGGED_RESPONSE_BYTES) {
      this.keep(chunk.subarray(0, MAX_LOGGED_RESPONSE_BYTES - this.kept));
      this.kept = MAX_LOGGED_RESPONSE_BYTES;
      this.respond(true);
      // The rest is not read: the connection is cut, after this callback returns (paused).
      const abort = this.abort;
      if (abort) queueMicrotask(() => abort(new errors.RequestAbortedError()));
      return false;
    }
    this.keep(chunk);
    this.kept += chunk.length;
    return true;
  }

  private keep(chunk: Buffer) {
    if (this.first === null) this.first = chunk;
    else (this.more ??= [this.first]).push(chunk);
  }

  onComplete(_trailers: string[] | null): void {
    this.respond(false);
  }

  onError(err: Error): void {
    if (this.settled) return;
    const outcome = this.deadline.aborted ? 'timeout' : outcomeOfError(err);
    this.settle(ended(this.started, outcome, null, null, reasonOf(outcome, err, this.timeoutMs), null));
  }

  private respond(truncated: boolean) {
    if (this.settled) return;
    const status = this.status;
    const headers = this.headers ?? {};
    const outcome = outcomeOfStatus(status);
    const response = loggedResponse(headers, this.more ? Buffer.concat(this.more) : (this.first ?? NO_BYTES), truncated);
    const reason = outcome === 'success' ? null : outcome === 'redirect' ? `HTTP ${status} redirect (not followed)` : `HTTP ${status}`;
    this.settle(ended(this.started, outcome, status, parseRetryAfter(headers['retry-after'], Date.now()), reason, scrubResponse(response, this.secrets)));
  }

  private settle(record: AttemptRecord) {
    this.settled = true;
    this.first = null;
    this.more = null;
    deadlines.end(this.deadline);
    this.resolve(record);
  }
}

/**
 * The response as it may be stored and shown: a receiver that echoes the request (headers copied
 * into its body or its own headers) would otherwise put the webhook's secrets in the activity log
 * and the test-call answer.
 */
export function scrubResponse(r: LoggedResponse, secrets: readonly string[]): LoggedResponse {
  if (secrets.length === 0) return r;
  // Nothing to mask (the usual answer): the response as it is, not a copy of its headers and itself.
  if (r.encoding === 'utf8' && !mentionedIn(r, secrets)) return r;
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(r.headers)) headers[k] = Array.isArray(v) ? v.map((x) => scrubSecrets(x, secrets)) : scrubSecrets(v, secrets);
  // A body that is not UTF-8 is masked byte for byte (latin1 maps each byte to one character).
  const bytes = (s: string) => Buffer.from(s).toString('latin1');
  const body = r.encoding === 'utf8' ? scrubSecrets(r.body, secrets) : Buffer.from(scrubSecrets(Buffer.from(r.body, 'base64').toString('latin1'), secrets.map(bytes)), 'latin1').toString('base64');
  return { ...r, headers, body };
}

/**
 * Whether any header value or the (UTF-8) body of `r` holds a secret in a form scrubSecrets masks.
 * Loops over indexes, no closure: run on every answer of a webhook with a secret (auth or custom
 * secret headers), a `holds` closure, its context and the for-of iterators were ~0.4 KB per
 * attempt (micro-bench, one secret, the answer's 3 headers).
 */
function mentionedIn(r: LoggedResponse, secrets: readonly string[]): boolean {
  const forms = secretForms(secrets);
  if (holds(r.body, forms)) return true;
  const headers = r.headers;
  for (const k in headers) {
    const v = headers[k]!;
    if (typeof v === 'string') {
      if (holds(v, forms)) return true;
    } else {
      for (let i = 0; i < v.length; i++) if (holds(v[i]!, forms)) return true;
    }
  }
  return false;
}

/** Whether `text` holds one of `forms`. */
function holds(text: string, forms: readonly string[]): boolean {
  for (let i = 0; i < forms.length; i++) if (text.includes(forms[i]!)) return true;
  return false;
}

function reasonOf(outcome: string, err: unknown, timeoutMs: number): string {
  const message = (err as Error)?.message ?? String(err);
  switch (outcome) {
    case 'timeout':
      return `no complete response within ${timeoutMs} ms`;
    case 'refused':
      return 'connection refused';
    case 'dns':
      return `host name could not be resolved (${message})`;
    case 'blocked':
      return `target address refused by policy: ${message}`;
    default:
      return message;
  }
}
