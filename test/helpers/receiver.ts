import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** Parsed JSON body, when it is JSON. */
  json: any;
  at: number;
}

/** What the receiver answers; return nothing for a plain 200. */
export type Responder = (req: Received, res: ServerResponse) => void | Promise<void>;

/**
 * A real HTTP receiver on loopback that records every request. Tests change `respond` to make it
 * fail, slow down or answer oddly.
 */
export async function startReceiver(respond?: Responder) {
  const received: Received[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const state = { respond: respond as Responder | undefined };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString();
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {}
      const r: Received = { method: req.method!, url: req.url!, headers: req.headers, body, json, at: Date.now() };
      received.push(r);
      for (const w of waiters.slice()) {
        if (received.length >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
      try {
        if (state.respond) await state.respond(r, res);
      } catch {
        res.statusCode = 500;
      }
      if (!res.writableEnded) res.end();
    });
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    set respond(fn: Responder | undefined) {
      state.respond = fn;
    },
    /** Resolves once `n` requests in all have arrived; rejects after `ms`. */
    waitFor(n: number, ms = 10_000): Promise<void> {
      if (received.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const w = { n, resolve: () => (clearTimeout(t), resolve()) };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`receiver got ${received.length} of ${n} requests in ${ms} ms`));
        }, ms);
        waiters.push(w);
      });
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
