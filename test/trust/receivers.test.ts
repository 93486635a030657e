/**
 * hostile-input.md "Receivers that misbehave" (cases 22-28) against real receivers on loopback,
 * through the whole delivery path: the attempt is recorded with the right outcome, the log keeps
 * only what it should, and Herald stays up. Cases 26 (410 disables with a reason) and 27 (429 /
 * Retry-After is honoured) are covered in test/delivery/engine.test.ts and policy.test.ts.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, emit, executions, sleep, until } from '../helpers/engine.ts';
import { MAX_LOGGED_RESPONSE_BYTES } from '../../src/delivery/send.ts';
import { startRawReceiver } from './helpers/raw.ts';

/** Per-attempt total deadline for this file, ms: short, so slow receivers time out quickly. */
const DEADLINE_MS = 1500;

/** A node:http receiver whose handler gets the response once the request body is read. */
async function httpReceiver(answer: (res: ServerResponse, state: { closed: boolean }) => void | Promise<void>) {
  const state = { requests: 0, closedConnections: 0 };
  const server: Server = createServer((req, res) => {
    state.requests++;
    const s = { closed: false };
    res.on('close', () => (s.closed = true));
    req.resume();
    req.on('end', () => void answer(res, s));
  });
  server.on('connection', (socket) => socket.on('close', () => state.closedConnections++));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Writes `chunk` until the peer hangs up or `limit` bytes went out; resolves with the bytes written. */
function stream(res: ServerResponse, state: { closed: boolean }, chunk: Buffer, limit = Infinity): Promise<number> {
  return new Promise((resolve) => {
    let written = 0;
    const pump = () => {
      while (!state.closed && written < limit) {
        written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!state.closed) res.end();
      resolve(written);
    };
    res.once('close', () => resolve(written));
    pump();
  });
}

/** Process RSS growth over a run, sampled every 10 ms. */
function rssGrowth() {
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  return () => {
    clearInterval(timer);
    return Math.max(peak, process.memoryUsage().rss) - base;
  };
}

const MB = 1024 * 1024;

describe('receivers that misbehave', () => {
  let h: TestHerald;
  /** Receivers to close after the suite, even when a test fails half-way. */
  const receivers: Array<{ close(): Promise<void> }> = [];
  const own = <T extends { close(): Promise<void> }>(rx: T): T => (receivers.push(rx), rx);
  before(async () => {
    // One attempt per execution (a failure is final at once) and a short total deadline.
    h = await startHerald({ retryDelaysMs: [], deliveryTimeoutMs: DEADLINE_MS });
  });
  after(async () => {
    await Promise.all(receivers.map((rx) => rx.close()));
    await h.close();
  });

  /** Creates a webhook to `url` in a new stack, emits one event, waits for its execution to settle. */
  async function deliver(url: string, over: Record<string, unknown> = {}) {
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, url, over);
    await emit(h, stack);
    const ex = await until(
      async () => (await executions(h, stack, hook.uid)).find((x) => x.state === 'failed' || x.state === 'succeeded'),
      15_000,
      `settled delivery to ${url}`,
    );
    return { stack, hook, ex, attempt: ex.request_details[0] };
  }

  describe('redirects are never followed (case 22)', () => {
    const secretDestination = (url: string) => ({
      destinations: [
        {
          target_url: url,
          http_basic_auth: 'site',
          http_basic_password: 'redirect-password-9931',
          custom_header: [{ header_name: 'X-Receiver-Key', value: 'redirect-secret-header-4410', secret: true }],
        },
      ],
    });

    for (const status of [301, 302, 303, 307, 308]) {
      it(`records a ${status} to another host as a failed attempt; the other host sees nothing`, async () => {
        const elsewhere = own(await startReceiver());
        const origin = own(await startReceiver((_req, res) => {
          res.statusCode = status;
          // Same machine, another port: another origin, as a second host would be.
          res.setHeader('location', `${elsewhere.url}/stolen`);
        }));
        const { ex, attempt } = await deliver(origin.url + '/hook', secretDestination(origin.url + '/hook'));
        assert.equal(ex.state, 'failed');
        assert.equal(ex.status, status);
        assert.equal(attempt.outcome, 'redirect');
        assert.equal(attempt.reason, `HTTP ${status} redirect (not followed)`);
        assert.equal(attempt.response.headers.location, `${elsewhere.url}/stolen`);
        assert.equal(origin.received.length, 1);
        assert.equal(origin.received[0].headers['x-receiver-key'], 'redirect-secret-header-4410');
        assert.equal(elsewhere.received.length, 0, 'basic auth and secret headers never reach a second host');
      });
    }

    it('does not follow a redirect to a private or metadata address, nor a redirect loop', async () => {
      let hits = 0;
      const origin = own(await startReceiver((req, res) => {
        hits++;
        res.statusCode = 302;
        const n = hits;
        res.setHeader('location', n === 1 ? 'http://169.254.169.254/latest/meta-data/' : n === 2 ? 'http://10.0.0.1/' : `http://127.0.0.1:${req.headers.host!.split(':')[1]}${req.url}`);
      }));
      for (let i = 0; i < 3; i++) {
        const before = hits;
        const { ex, attempt } = await deliver(origin.url + '/loop');
        assert.equal(ex.state, 'failed');
        assert.equal(attempt.outcome, 'redirect');
        assert.equal(hits, before + 1, 'one request per attempt: the Location is never fetched');
      }
    });
  });

  describe('endless and huge bodies (case 23)', () => {
    it('keeps only the first 64 KiB of an endless body, hangs up, records the attempt, and memory stays flat', async () => {
      const written: number[] = [];
      const chunk = Buffer.alloc(256 * 1024, 'a');
      const rx = own(await httpReceiver(async (res, state) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        written.push(await stream(res, state, chunk, 300 * MB));
      }));
      const stack = await h.newStack();
      // Three webhooks on one event: three endless bodies read at once.
      const hooks = [];
      for (let i = 0; i < 3; i++) hooks.push(await createWebhook(h, stack, `${rx.url}/endless/${i}`));
      const growth = rssGrowth();
      await emit(h, stack);
      const settled = [];
      for (const hook of hooks) {
        settled.push(await until(async () => (await executions(h, stack, hook.uid)).find((x) => x.state === 'succeeded' || x.state === 'failed'), 15_000, 'endless body'));
      }
      await until(() => written.length === 3, 10_000, 'the receiver noticing the hang-up');
      const grew = growth();
      for (const ex of settled) {
        assert.equal(ex.state, 'succeeded');
        const response = ex.request_details[0].response;
        assert.equal(response.status, 200);
        assert.equal(response.truncated, true);
        assert.equal(response.encoding, 'utf8');
        assert.equal(response.body.length, MAX_LOGGED_RESPONSE_BYTES);
        assert.equal(response.body, 'a'.repeat(MAX_LOGGED_RESPONSE_BYTES));
      }
      for (const n of written) assert.ok(n < 64 * MB, `Herald kept reading: the receiver wrote ${n} bytes before the hang-up`);
      assert.ok(grew < 100 * MB, `RSS grew by ${Math.round(grew / MB)} MB`);
    });

    it('reads a declared 200 MB error body through the same cap', async () => {
      let written = 0;
      const rx = own(await httpReceiver(async (res, state) => {
        res.writeHead(500, { 'content-type': 'application/octet-stream', 'content-length': String(200 * MB) });
        written = await stream(res, state, Buffer.alloc(MB, 0xff), 200 * MB);
      }));
      const growth = rssGrowth();
      const { ex, attempt } = await deliver(rx.url);
      const grew = growth();
      assert.equal(ex.state, 'failed');
      assert.equal(attempt.outcome, 'http_error');
      assert.equal(attempt.response.status, 500);
      assert.equal(attempt.response.headers['content-length'], String(200 * MB));
      assert.equal(attempt.response.truncated, true);
      assert.equal(attempt.response.encoding, 'base64', 'bytes that are not UTF-8 are stored as base64');
      assert.deepEqual(Buffer.from(attempt.response.body, 'base64'), Buffer.alloc(MAX_LOGGED_RESPONSE_BYTES, 0xff));
      await until(() => written > 0, 5000, 'the receiver noticing the hang-up');
      assert.ok(written < 64 * MB, `the receiver wrote ${written} bytes`);
      assert.ok(grew < 100 * MB, `RSS grew by ${Math.round(grew / MB)} MB`);
    });
  });

  describe('gzip bombs are not decompressed (case 24)', () => {
    it('sends no Accept-Encoding and stores the raw compressed bytes, not what they inflate to', async () => {
      const small = gzipSync(Buffer.alloc(16 * MB)); // 16 MB of zeros in ~16 KB
      const rx = own(await startReceiver((_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.setHeader('content-encoding', 'gzip');
        res.end(small);
      }));
      const { ex, attempt } = await deliver(rx.url);
      assert.equal(rx.received[0].headers['accept-encoding'], undefined);
      assert.equal(ex.state, 'succeeded');
      assert.equal(attempt.response.headers['content-encoding'], 'gzip');
      assert.equal(attempt.response.encoding, 'base64');
      assert.equal(attempt.response.truncated, false);
      const stored = Buffer.from(attempt.response.body, 'base64');
      assert.deepEqual(stored, small, 'the stored body is the compressed bytes as received');
      assert.equal(gunzipSync(stored).length, 16 * MB);
    });

    it('caps a bomb bigger than the log keeps: 1 GB inflated from 1 MB, first 64 KiB of raw bytes kept', async () => {
      const member = gzipSync(Buffer.alloc(16 * MB));
      // Concatenated gzip members are one valid gzip stream: 64 x 16 MB = 1 GB inflated.
      const bomb = Buffer.concat(Array.from({ length: 64 }, () => member));
      const rx = own(await startReceiver((_req, res) => {
        res.setHeader('content-encoding', 'gzip');
        res.end(bomb);
      }));
      const growth = rssGrowth();
      const { attempt } = await deliver(rx.url);
      const grew = growth();
      assert.equal(attempt.outcome, 'success');
      assert.equal(attempt.response.truncated, true);
      assert.equal(attempt.response.encoding, 'base64');
      assert.deepEqual(Buffer.from(attempt.response.body, 'base64'), bomb.subarray(0, MAX_LOGGED_RESPONSE_BYTES));
      assert.ok(grew < 100 * MB, `RSS grew by ${Math.round(grew / MB)} MB`);
    });
  });

  describe('slow receivers hit the total deadline (case 25)', () => {
    it('times out a body dripping one byte every 2 s', async () => {
      const rx = own(await httpReceiver(async (res, state) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        while (!state.closed) {
          res.write('.');
          await sleep(2000);
        }
      }));
      const { ex, attempt } = await deliver(rx.url);
      assert.equal(ex.state, 'failed');
      assert.equal(attempt.outcome, 'timeout');
      assert.equal(attempt.reason, `no complete response within ${DEADLINE_MS} ms`);
      await until(() => rx.state.closedConnections > 0, 5000, 'Herald hanging up');
    });

    it('times out a body dripping fast enough to defeat any idle timeout: the deadline is total', async () => {
      const rx = own(await httpReceiver(async (res, state) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        while (!state.closed) {
          res.write('.');
          await sleep(100);
        }
      }));
      const { attempt } = await deliver(rx.url);
      assert.equal(attempt.outcome, 'timeout');
      assert.equal(attempt.reason, `no complete response within ${DEADLINE_MS} ms`);
      await until(() => rx.state.closedConnections > 0, 5000, 'Herald hanging up');
    });

    it('times out a status line and headers sent one byte at a time', async () => {
      const rx = own(await startRawReceiver(async (socket) => {
        for (const byte of 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Slow: ' + 'z'.repeat(1000)) {
          if (socket.destroyed) return;
          socket.write(byte);
          await sleep(100);
        }
      }));
      const { attempt } = await deliver(rx.url);
      assert.equal(attempt.outcome, 'timeout');
      assert.equal(attempt.response.status, null);
      await until(() => rx.closed.length > 0, 5000, 'Herald hanging up');
    });
  });

  describe('binary and malformed responses (case 28)', () => {
    const raw = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

    it('stores binary header values and a binary body escaped, and keeps serving', async () => {
      const body = [0x00, 0xff, 0xfe, 0x01, 0x1b, 0x5b, 0x32, 0x4a, 0x80];
      const rx = own(await startRawReceiver((socket) => {
        socket.end(raw('HTTP/1.1 500 \xff\xfe broken\r\nX-Bin: ', [0xc3, 0x28, 0xff, 0x41], '\r\nContent-Length: ' + body.length + '\r\n\r\n', body));
      }));
      const { stack, ex, attempt } = await deliver(rx.url);
      assert.equal(ex.state, 'failed');
      assert.equal(attempt.outcome, 'http_error');
      assert.equal(attempt.response.status, 500);
      assert.equal(attempt.response.encoding, 'base64');
      assert.deepEqual([...Buffer.from(attempt.response.body, 'base64')], body);
      // Header bytes come back as the characters they are (latin1), inside valid JSON.
      assert.equal(attempt.response.headers['x-bin'], '\u00c3(\u00ffA');
      const logs = await h.request('GET', `/v3/webhooks/${ex.uid}/logs`, { headers: { api_key: stack.api_key, authorization: stack.token } });
      assert.equal(logs.status, 200);
      assert.deepEqual(logs.body.webhooks[0].request_details[0].response, attempt.response);
      assert.equal((await h.request('GET', '/healthz')).status, 200);
    });

    it('stores a UTF-8 body with NUL and control characters as text, JSON-escaped', async () => {
      const text = 'ok\u0000\u0007\u001b[31mred\u2028é\r\n';
      const rx = own(await startReceiver((_req, res) => {
        res.setHeader('content-type', 'text/plain; charset=utf-8');
        res.end(text);
      }));
      const { attempt } = await deliver(rx.url);
      assert.equal(attempt.response.encoding, 'utf8');
      assert.equal(attempt.response.body, text);
    });

    const malformed: Array<[string, Buffer]> = [
      ['a NUL byte in a header value', raw('HTTP/1.1 200 OK\r\nX-Bad: a\x00b\r\nContent-Length: 2\r\n\r\nok')],
      ['a control byte in a header name', raw('HTTP/1.1 200 OK\r\nX\x01Y: z\r\nContent-Length: 0\r\n\r\n')],
      ['bytes that are not HTTP at all', raw('\x00\x01\x02hello', [0xff], '\r\n\r\n')],
      ['an impossible status code', raw('HTTP/1.1 9999 Weird\r\nContent-Length: 0\r\n\r\n')],
      ['a non-numeric Content-Length', raw('HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nok')],
      ['a body shorter than its Content-Length', raw('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok')],
      ['a broken chunk size', raw('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n')],
      ['headers larger than any parser accepts', raw('HTTP/1.1 200 OK\r\nX-Huge: ' + 'h'.repeat(128 * 1024) + '\r\nContent-Length: 0\r\n\r\n')],
    ];
    for (const [what, bytes] of malformed) {
      it(`records ${what} as a network failure, without a crash`, async () => {
        const rx = own(await startRawReceiver((socket) => void socket.end(bytes)));
        const { ex, attempt } = await deliver(rx.url);
        assert.equal(ex.state, 'failed');
        assert.equal(attempt.outcome, 'network');
        assert.equal(typeof attempt.reason, 'string');
        assert.ok(attempt.reason.length > 0);
        assert.ok(!/[\u0000-\u0008\u000e-\u001f]/.test(attempt.reason), `the reason carries raw control bytes: ${JSON.stringify(attempt.reason)}`);
        assert.equal((await h.request('GET', '/healthz')).status, 200);
      });
    }
  });
});
