import type { FastifyInstance, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { hashPresentedToken } from '../auth/secrets.ts';
import type { Config } from '../config.ts';
import { HeraldError } from '../errors.ts';

/**
 * The management API's rate limit (hostile-input.md case 33): each caller may make
 * `config.rateLimit` requests per `config.rateWindowMs`; the next ones get 429 `rate_limited` with
 * `Retry-After` (seconds until the window frees up), rendered by our error handler like any other
 * error. A burst costs a counter lookup before the body is even read. Routes registered with
 * `config: { rateLimit: false }` (GET /healthz) are exempt. Counters live in memory, per process.
 */

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

/** Registers the limit on every route added after it; a limit of 0 registers nothing. */
export async function registerRateLimit(app: FastifyInstance, config: Pick<Config, 'rateLimit' | 'rateWindowMs'>) {
  if (config.rateLimit <= 0) return;
  await app.register(rateLimit, {
    global: true,
    max: config.rateLimit,
    timeWindow: config.rateWindowMs,
    keyGenerator: rateLimitKey,
    // The plugin sets Retry-After before throwing; ours sets it again from `retryAfter`.
    errorResponseBuilder: (_req, ctx) =>
      new HeraldError('rate_limited', `Too many requests: at most ${ctx.max} per ${config.rateWindowMs / 1000} s. Retry in ${ctx.after}.`, {
        retryAfter: Math.max(1, Math.ceil(ctx.ttl / 1000)),
      }),
  });
}
