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
export const VARY = 'api_key, access_token, branch, authorization, x-contentful-locale-based-publishing';

/** Bytes of response bodies kept per process (least recently used go first). */
const MAX_BYTES = 32 * 1024 * 1024;
const bodies = new Map<string, Buffer>();
let bytes = 0;
/**
 * Tags of bodies built once and not kept: a body is kept the second time it is built within the
 * last SEEN_ONCE builds. A page asked for once (a crawler walking skip=, a one-off query) then
 * costs no cache memory and evicts nothing popular; keeping every one cost the uncached reads
 * more in garbage collection than building them.
 */
const SEEN_ONCE = 4096;
const seenOnce = new Set<string>();

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
    // Kept as bytes: off the JS heap, and written to the socket without encoding again.
    body = Buffer.from(JSON.stringify(await compute()));
    if (seenOnce.delete(etag)) keep(etag, body);
    else {
      seenOnce.add(etag);
      if (seenOnce.size > SEEN_ONCE) seenOnce.delete(seenOnce.values().next().value!);
    }
  }
  return reply.header('content-type', 'application/json; charset=utf-8').send(body);
}

function keep(etag: string, body: Buffer) {
  bodies.set(etag, body);
  bytes += body.length;
  while (bytes > MAX_BYTES && bodies.size > 1) {
    const [k, v] = bodies.entries().next().value!;
    bodies.delete(k);
    bytes -= v.length;
  }
}
