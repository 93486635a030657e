/**
 * What a caller sees of the API's rate limit beyond test/trust/management.test.ts (case 33): the
 * x-ratelimit-* headers on every limited answer, in their order and with their values; the 429's
 * headers and its message; health checks without them; the bounded memory of callers (the least
 * recently seen forgotten first), as @fastify/rate-limit 10 gives them (src/http/rate-limit.ts): a
 * change of the plugin's version or options that changes what callers see fails here.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startHerald, type TestHerald } from '../helpers/herald.ts';

/** One request over HTTP/1.1; the answer's header names in the order sent, and its body. */
function raw(url: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; names: string[]; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url + path, { method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        const names: string[] = [];
        const values: Record<string, string> = {};
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          names.push(res.rawHeaders[i].toLowerCase());
          values[res.rawHeaders[i].toLowerCase()] = res.rawHeaders[i + 1];
        }
        resolve({ status: res.statusCode!, names, headers: values, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the rate limit as callers see it', () => {
  let h: TestHerald;
  let headers: Record<string, string>;
  before(async () => {
    h = await startHerald({ rateLimit: 3, rateWindowMs: 600_000 });
    const s = await h.newStack('limited');
    headers = { api_key: s.api_key, authorization: s.token };
  });
  after(() => h.close());

  it('sends x-ratelimit-limit, -remaining and -reset first on every answer, counting down; the next answer is a 429 with Retry-After and says when in words', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await raw(h.url, '/v3/webhooks', headers);
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(r.names.slice(0, 3), ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']);
      assert.equal(r.headers['x-ratelimit-limit'], '3');
      assert.equal(r.headers['x-ratelimit-remaining'], String(2 - i));
      // Seconds left in the caller's window (600 s, opened by its first request), rounded up.
      assert.ok(['600', '599'].includes(r.headers['x-ratelimit-reset']), r.headers['x-ratelimit-reset']);
    }
    const limited = await raw(h.url, '/v3/webhooks', headers);
    assert.equal(limited.status, 429);
    assert.deepEqual(limited.names.slice(0, 4), ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'retry-after']);
    assert.equal(limited.headers['x-ratelimit-limit'], '3');
    assert.equal(limited.headers['x-ratelimit-remaining'], '0');
    const reset = limited.headers['x-ratelimit-reset'];
    assert.ok(['600', '599'].includes(reset), reset);
    assert.equal(limited.headers['retry-after'], reset);
    assert.equal(limited.headers['content-type'], 'application/json; charset=utf-8');
    // Refused with its connection kept for the next request (a keep-alive client is not made to reconnect).
    assert.equal(limited.headers.connection, 'keep-alive');
    // 600 or 599 s is "10 minutes" (rounded to the nearest minute).
    assert.equal(limited.body, '{"error_message":"Too many requests: at most 3 per 600 s. Retry in 10 minutes.","error_code":429,"errors":{},"code":"rate_limited"}');
  });

  it('sends no x-ratelimit-* headers on health checks, which are never limited', async () => {
    const r = await raw(h.url, '/healthz');
    assert.equal(r.status, 200);
    assert.deepEqual(r.names.filter((n) => n.startsWith('x-ratelimit') || n === 'retry-after'), []);
  });

  it('counts a 404 of an unknown path under /v3/ against nobody (only routes are limited)', async () => {
    // The caller is over its limit (first test): an unknown path still answers 404, without the headers.
    const r = await raw(h.url, '/v3/no-such-thing', headers);
    assert.equal(r.status, 404);
    assert.deepEqual(r.names.filter((n) => n.startsWith('x-ratelimit')), []);
  });
});

describe('the rate limit in seconds', () => {
  it('says a wait under a minute in seconds', async () => {
    const h = await startHerald({ rateLimit: 1, rateWindowMs: 30_000 });
    try {
      assert.equal((await raw(h.url, '/v3/webhooks')).status, 401);
      const limited = await raw(h.url, '/v3/webhooks');
      assert.equal(limited.status, 429);
      const reset = limited.headers['retry-after'];
      assert.ok(['30', '29'].includes(reset), reset);
      assert.equal(limited.body, `{"error_message":"Too many requests: at most 1 per 30 s. Retry in ${reset} seconds.","error_code":429,"errors":{},"code":"rate_limited"}`);
    } finally {
      await h.close();
    }
  });
});

describe("the rate limit's memory of callers", () => {
  it('remembers 5,000 callers, forgetting the least recently seen first', async () => {
    const h = await startHerald({ rateLimit: 1, rateWindowMs: 600_000 });
    const status = async (token: string) => (await raw(h.url, '/v3/webhooks', { authorization: token })).status;
    try {
      // A caller over its limit of 1, then 4,999 others once each: 5,000 remembered.
      assert.equal(await status('caller-a'), 401);
      assert.equal(await status('caller-a'), 429);
      // other-0 alone first: the least recently seen of them all (a batch's requests arrive in any order).
      assert.equal(await status('other-0'), 401);
      for (let i = 1; i < 4_999; i += 50) {
        const batch = Array.from({ length: Math.min(50, 4_999 - i) }, (_, j) => status(`other-${i + j}`));
        assert.deepEqual(new Set(await Promise.all(batch)), new Set([401]));
      }
      // Still remembered (and now the most recently seen).
      assert.equal(await status('caller-a'), 429);
      // A 5,001st caller: the least recently seen (other-0) is forgotten, not caller-a.
      assert.equal(await status('newcomer'), 401);
      assert.equal(await status('caller-a'), 429);
      assert.equal(await status('other-0'), 401, 'other-0 was forgotten and starts afresh');
      assert.equal(await status('other-0'), 429);
    } finally {
      await h.close();
    }
  });
});
