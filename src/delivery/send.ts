import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { scrubSecrets } from '../webhooks/headers.ts';
import type { OutgoingRequest } from './request.ts';
import { outcomeOfError, outcomeOfStatus, parseRetryAfter, type AttemptResult } from './policy.ts';
import { DeadlineWheel } from './deadlines.ts';

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

export function logBody(bytes: Buffer, truncated: boolean): Omit<LoggedResponse, 'headers'> {
  try {
    // A cut can split a multi-byte character; drop at most 3 trailing bytes before deciding.
    return { body: utf8.decode(bytes), encoding: 'utf8', truncated };
  } catch {
    if (truncated) {
      for (let cut = 1; cut <= 3 && cut < bytes.length; cut++) {
        try {
          return { body: utf8.decode(bytes.subarray(0, bytes.length - cut)), encoding: 'utf8', truncated };
        } catch {}
      }
    }
    return { body: bytes.toString('base64'), encoding: 'base64', truncated };
  }
}

/**
 * One POST to a webhook's URL through `agent`: a total deadline of `timeoutMs` over connect,
 * headers and body; redirects are not followed (a 3xx is a failed attempt); the response body is
 * read through a byte cap, so an endless body costs at most `MAX_LOGGED_RESPONSE_BYTES`. No
 * `Accept-Encoding` is sent, so nothing is decompressed. Never throws: every failure is an outcome.
 */
export async function send(agent: Dispatcher, req: Omit<OutgoingRequest, 'logged'>, timeoutMs: number): Promise<AttemptRecord> {
  const started = Date.now();
  const finish = (r: Omit<AttemptRecord, 'started_at' | 'duration_ms'>): AttemptRecord => {
    const record = r as AttemptRecord;
    record.started_at = started;
    record.duration_ms = Date.now() - started;
    return record;
  };
  let url: { origin: string; path: string };
  try {
    url = target(req.url);
  } catch {
    return finish({ outcome: 'network', status_code: null, retry_after_ms: null, reason: 'invalid URL', response: null });
  }
  // The total deadline over connect, headers and body (undici's own timeouts are per phase).
  const deadline = deadlines.start(timeoutMs);
  try {
    const res = await agent.request({
      origin: url.origin,
      path: url.path,
      method: (req.method ?? 'POST') as Dispatcher.HttpMethod,
      headers: req.headers,
      body: req.method === 'GET' ? undefined : req.chunked ? Readable.from([Buffer.from(req.body)]) : req.body,
      // An EventEmitter-shaped signal, which undici accepts (deadlines.ts).
      signal: deadline as unknown as NonNullable<Dispatcher.RequestOptions['signal']>,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const chunks: Buffer[] = [];
    let kept = 0;
    let truncated = false;
    try {
      for await (const chunk of res.body) {
        const buf = chunk as Buffer;
        if (kept + buf.length > MAX_LOGGED_RESPONSE_BYTES) {
          chunks.push(buf.subarray(0, MAX_LOGGED_RESPONSE_BYTES - kept));
          kept = MAX_LOGGED_RESPONSE_BYTES;
          truncated = true;
          break;
        }
        chunks.push(buf);
        kept += buf.length;
      }
    } finally {
      if (truncated) res.body.destroy();
    }
    const status = res.statusCode;
    const outcome = outcomeOfStatus(status);
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = v;
    return finish({
      outcome,
      status_code: status,
      retry_after_ms: parseRetryAfter(res.headers['retry-after'], Date.now()),
      reason: outcome === 'success' ? null : outcome === 'redirect' ? `HTTP ${status} redirect (not followed)` : `HTTP ${status}`,
      response: scrubResponse({ headers, ...logBody(Buffer.concat(chunks), truncated) }, req.secrets ?? []),
    });
  } catch (err) {
    const outcome = deadline.aborted ? 'timeout' : outcomeOfError(err);
    return finish({ outcome, status_code: null, retry_after_ms: null, reason: reasonOf(outcome, err, timeoutMs), response: null });
  } finally {
    deadlines.end(deadline);
  }
}

/**
 * The response as it may be stored and shown: a receiver that echoes the request (headers copied
 * into its body or its own headers) would otherwise put the webhook's secrets in the activity log
 * and the test-call answer.
 */
export function scrubResponse(r: LoggedResponse, secrets: readonly string[]): LoggedResponse {
  if (secrets.length === 0) return r;
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(r.headers)) headers[k] = Array.isArray(v) ? v.map((x) => scrubSecrets(x, secrets)) : scrubSecrets(v, secrets);
  // A body that is not UTF-8 is masked byte for byte (latin1 maps each byte to one character).
  const bytes = (s: string) => Buffer.from(s).toString('latin1');
  const body = r.encoding === 'utf8' ? scrubSecrets(r.body, secrets) : Buffer.from(scrubSecrets(Buffer.from(r.body, 'base64').toString('latin1'), secrets.map(bytes)), 'latin1').toString('base64');
  return { ...r, headers, body };
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
