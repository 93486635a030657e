import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { etagMatches } from './ranges.ts';

/**
 * Caching of delivery responses. A response is a function of what is published, which changes
 * only with an event of its stack (src/published/view.ts), so the stack's latest event seq, with
 * where the request reads and its URL, names the response exactly: it is the ETag (a client's
 * `If-None-Match` with it gets 304 before any work), and the key of a small per-process cache of
 * response bodies. Any change of the stack makes every earlier tag and entry stale at once.
 *
 * `Cache-Control: public, max-age=0, must-revalidate` lets browsers and CDNs keep a copy but ask
 * each time (a 304 costs a few indexed reads); `Vary` keeps one token's answer from another's.
 * For longer CDN caching, purge on publish with a webhook (README, "Caching").
 */
export const CACHE_CONTROL = 'public, max-age=0, must-revalidate';
export const VARY = 'api_key, access_token, branch, authorization';

/** Bytes of response bodies kept per process (least recently used go first). */
const MAX_BYTES = 32 * 1024 * 1024;
const bodies = new Map<string, string>();
let bytes = 0;

export function readTag(parts: Array<string | number>): string {
  return `"${createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 27)}"`;
}

/**
 * Answers a delivery read: 304 when the client holds `etag`, the cached body when there is one,
 * else `compute()`'s, cached. Bodies are sent as JSON text.
 */
export async function sendRead(req: FastifyRequest, reply: FastifyReply, etag: string, compute: () => Promise<unknown>) {
  reply.header('etag', etag).header('cache-control', CACHE_CONTROL).header('vary', VARY);
  const sent = req.headers['if-none-match'];
  if (etagMatches(Array.isArray(sent) ? sent[0] : sent, etag)) return reply.status(304).send();
  let body = bodies.get(etag);
  if (body !== undefined) {
    bodies.delete(etag);
    bodies.set(etag, body);
  } else {
    body = JSON.stringify(await compute());
    bodies.set(etag, body);
    bytes += body.length;
    while (bytes > MAX_BYTES && bodies.size > 1) {
      const [k, v] = bodies.entries().next().value!;
      bodies.delete(k);
      bytes -= v.length;
    }
  }
  return reply.header('content-type', 'application/json; charset=utf-8').send(body);
}
