import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { hashPresentedToken } from '../auth/secrets.ts';
import type { Config } from '../config.ts';
import { HeraldError } from '../errors.ts';

/**
 * The management API's rate limit (hostile-input.md case 33): each caller may make
 * `config.rateLimit` requests per `config.rateWindowMs`; the next ones get 429 `rate_limited` with
 * `Retry-After` (seconds until the window frees up), rendered by our error handler like any other
 * error. A burst costs a counter lookup before the body is even read. Routes registered with
 * `config: { rateLimit: false }` (GET /healthz) are exempt. Counters live in memory, per process.
 *
 * Until session 25 this was @fastify/rate-limit 10 (its in-memory store, hook onRequest); what a
 * caller sees is kept exactly as it answered: a fixed window per key starting at the key's first
 * request, `x-ratelimit-limit` / `x-ratelimit-remaining` / `x-ratelimit-reset` on every limited
 * route's answer, `retry-after` and the same message on a 429, at most RATE_LIMIT_KEYS keys
 * remembered (the least recently seen forgotten first). The plugin's hook is an async function
 * awaiting three more promises, ~2.9 KB allocated and 7 promises per request (counted over 2,000
 * API creates); this hook is a synchronous callback that allocates nothing for a known key.
 */

/** Keys remembered at once; beyond it the least recently seen is forgotten (and starts afresh). The plugin's default. */
export const RATE_LIMIT_KEYS = 5_000;

/**
 * Who a request counts against: its token (the `authtoken` admin header, or `authorization` with or
 * without `Bearer`), else its IP address. Tokens are hashed so the counters' keys hold no secret.
 * A caller inventing tokens gets a counter per token, but each of those requests is a cheap 401.
 */
export function rateLimitKey(req: Pick<FastifyRequest, 'headers' | 'ip'>): string {
  const token = first(req.headers.authtoken) || first(req.headers.authorization)?.replace(/^Bearer\s+/i, '').trim();
  return token ? `token:${hashPresentedToken(token)}` : `ip:${req.ip}`;
}

/** A header's first value. (At module level: a closure made per request costs, under tsx, a defineProperty for its name.) */
const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** One key's window: requests counted in it, when it began (ms since the epoch), ms left in it at the last count. */
export interface RateWindow {
  count: number;
  start: number;
  ttl: number;
}

/**
 * Counts one request of a key at `now` (ms) in fixed windows of `windowMs`: the first request of a
 * key, or the first once its window has ended, opens a window of its own. Mutates and returns
 * `w` (a new one for a key without one): the counters allocate nothing per request.
 */
export function countRequest(w: RateWindow | undefined, now: number, windowMs: number): RateWindow {
  if (!w) return { count: 1, start: now, ttl: windowMs };
  if (w.start + windowMs <= now) {
    w.count = 1;
    w.start = now;
    w.ttl = windowMs;
  } else {
    w.count++;
    w.ttl = windowMs - (now - w.start);
  }
  return w;
}

/**
 * The windows of at most `keys` keys, least recently counted first (a Map keeps insertion order:
 * a key counted again is moved to the end, and a new key beyond the bound drops the first).
 */
export class RateWindows {
  private readonly windows = new Map<string, RateWindow>();
  /** The key counted last: counted again (one caller's burst), it is already at the end. */
  private last: string | undefined;

  constructor(
    private readonly windowMs: number,
    private readonly keys = RATE_LIMIT_KEYS,
  ) {}

  count(key: string, now: number): RateWindow {
    const known = this.windows.get(key);
    const w = countRequest(known, now, this.windowMs);
    if (!known) {
      if (this.windows.size >= this.keys) this.windows.delete(this.windows.keys().next().value!);
      this.windows.set(key, w);
    } else if (key !== this.last) {
      this.windows.delete(key);
      this.windows.set(key, w);
    }
    this.last = key;
    return w;
  }

  get size(): number {
    return this.windows.size;
  }

  has(key: string): boolean {
    return this.windows.has(key);
  }
}

/**
 * How long until a caller may retry, in words, as the 429's message has always said it (the plugin
 * formatted it with @lukeed/ms's long form): whole seconds under a minute ("1 second", "59
 * seconds"), else rounded to minutes, hours or days ("1 minute", "2 hours", "1 day").
 */
export function retryIn(seconds: number): string {
  const unit = seconds < 60 ? ['second', 1] : seconds < 3600 ? ['minute', 60] : seconds < 86_400 ? ['hour', 3600] : seconds < 31_557_600 ? ['day', 86_400] : ['year', 31_557_600];
  const n = Math.round(seconds / (unit[1] as number));
  return `${n} ${unit[0]}${n !== 1 ? 's' : ''}`;
}

/** Registers the limit on every route added after it; a limit of 0 registers nothing. */
export function registerRateLimit(app: FastifyInstance, config: Pick<Config, 'rateLimit' | 'rateWindowMs'>): void {
  if (config.rateLimit <= 0) return;
  const max = Math.trunc(config.rateLimit);
  const windowMs = Math.trunc(config.rateWindowMs);
  const windows = new RateWindows(windowMs);
  // A callback hook, not an async one (the plugin's awaited four promises per request). It goes on
  // in the next tick, as the plugin's did a few microtasks later: the request's headers are counted
  // inside node's HTTP parser, and going on at once would answer a request refused synchronously
  // (this 429, a /spaces/ 401) before the parser has seen the end of a bodyless request; the answer
  // would then close its keep-alive connection (unread-body.ts), which the plugin's never did.
  const limit = (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    const w = windows.count(rateLimitKey(req), Date.now());
    const reset = Math.ceil(w.ttl / 1000);
    reply.header('x-ratelimit-limit', max);
    if (w.count <= max) {
      reply.header('x-ratelimit-remaining', max - w.count);
      reply.header('x-ratelimit-reset', reset);
      return process.nextTick(done);
    }
    reply.header('x-ratelimit-remaining', 0);
    reply.header('x-ratelimit-reset', reset);
    reply.header('retry-after', reset);
    process.nextTick(done, new HeraldError('rate_limited', `Too many requests: at most ${max} per ${config.rateWindowMs / 1000} s. Retry in ${retryIn(reset)}.`, { retryAfter: Math.max(1, reset) }));
  };
  // As the plugin did: a route-level onRequest hook on every route added from here on, after the
  // app's own onRequest hooks; `config: { rateLimit: false }` leaves a route out.
  app.addHook('onRoute', (route: RouteOptions) => {
    if ((route.config as { rateLimit?: unknown } | undefined)?.rateLimit === false) return;
    const hooks = route.onRequest;
    route.onRequest = Array.isArray(hooks) ? [...hooks, limit] : hooks ? [hooks, limit] : [limit];
  });
}
