import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

/**
 * A request answered before its body was read (an upload refused part-way: an unknown field, a
 * second file, the size limit, a bad token, a full disk) must not leave its connection stuck: the
 * parser sits inside the unread body, so the next request on that keep-alive connection would
 * never be answered. The rest of the body is read and discarded, up to MAX_DRAIN_BYTES and
 * DRAIN_TIMEOUT_MS, so the connection serves the next request; a body declared larger than that
 * (or of unknown length, or one its reader gave up on) is answered with `Connection: close` and the
 * connection is closed once the drain's bound is reached.
 */

/** Most bytes of an unread body read and discarded to keep its connection usable. */
export const MAX_DRAIN_BYTES = 1024 * 1024;
/** Longest a drain may take, ms; then the connection is closed. */
export const DRAIN_TIMEOUT_MS = 5_000;

export function settleUnreadBodies(app: FastifyInstance): void {
  // A callback hook (an async one costs a promise and its turn on every request).
  app.addHook('onSend', (req, reply, payload, done) => {
    const raw = req.raw;
    if (!raw.complete && hasBody(raw)) {
      const declared = Number(raw.headers['content-length']);
      // A body its reader abandoned (destroyed: nothing can read the rest) or too large to read through.
      if (raw.destroyed || !(declared <= MAX_DRAIN_BYTES)) reply.header('connection', 'close');
      if (!raw.destroyed) drain(raw);
    }
    done(null, payload);
  });
}

/**
 * Whether a request carries a body at all (RFC 9112 6.3: a request with neither Transfer-Encoding
 * nor a Content-Length above 0 has none). A bodyless request refused by a synchronous hook (the
 * query check's 422, Contentful's twice-sent token) is answered inside node's HTTP parser, before
 * the parser marks it complete: it has nothing left to read, and its connection stays open.
 */
function hasBody(raw: IncomingMessage): boolean {
  return raw.headers['transfer-encoding'] !== undefined || Number(raw.headers['content-length']) > 0;
}

function drain(raw: IncomingMessage): void {
  // Whoever was reading (the multipart parser) stopped at the refusal; nobody else will.
  raw.unpipe();
  let read = 0;
  const timer = setTimeout(() => raw.destroy(), DRAIN_TIMEOUT_MS);
  timer.unref();
  raw.on('data', (chunk: Buffer) => {
    read += chunk.length;
    if (read > MAX_DRAIN_BYTES) {
      clearTimeout(timer);
      raw.destroy();
    }
  });
  raw.on('end', () => clearTimeout(timer));
  raw.on('error', () => clearTimeout(timer));
  raw.resume();
}
