/**
 * hostile-input.md "Management API" (cases 29-33) over the routes the server actually registers:
 * bad bodies get a 400/422 naming the field, oversize bodies and uploads a 413, another stack's
 * token a 404 on every route (the sweep fails when a route appears that it does not cover), and
 * bursts a 429 with Retry-After. Case 32 (secrets) is secrets.test.ts; case 34 (fuzzing) fuzz.test.ts.
 * Content routes have their own field-by-field sweep in test/content/bad-input.test.ts.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { rateLimitKey } from '../../src/http/rate-limit.ts';
import { ADMIN_TOKEN, startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { fillRoute, NOT_STACK_ROUTES, routeKey, uniqueIds, startHeraldWithRoutes, validBody, type Route } from './helpers/routes.ts';
import { seedStack, type SeededStack } from './helpers/stack.ts';

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** Methods a route may be registered for that fetch cannot send. */
const UNSENDABLE = new Set(['TRACE', 'CONNECT', 'TRACK']);
/** Methods that carry a body (QUERY too: fastify asks it for a Content-Type). */
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'QUERY']);

/** Deletions last: a sweep must not remove what later requests act on (if a refusal ever failed). */
const deletionsLast = (routes: Route[]) => [...routes.filter((r) => r.method !== 'DELETE'), ...routes.filter((r) => r.method === 'DELETE')];

/** The headers stack `token` sends to act on stack `apiKey`, in each dialect. */
function headersFor(url: string, apiKey: string, token: string): Record<string, string> {
  return url.startsWith('/spaces/') ? { authorization: `Bearer ${token}` } : { api_key: apiKey, authorization: token };
}

/**
 * Routes where naming another stack's id from inside your own stack is not a 404, and why that
 * leaks nothing about the other stack.
 */
const NOT_404_INSIDE_OWN_STACK: Record<string, { status: number; why: string }> = {
  'DELETE /v3/stacks/management_tokens/:uid': { status: 403, why: 'only the admin token deletes tokens: 403 whatever the id' },
  // Contentful webhook ids are per space (issue 15, item 8): B's id is a free id in A's space, so
  // Contentful's PUT creates A's own definition under it, and the calls, health and delete that
  // follow act on that definition of A's. B's webhook is never touched (the snapshot below), and
  // the answers are the same whether or not B has a webhook with that id.
  'PUT /spaces/:space/webhook_definitions/:id': { status: 201, why: "creates A's own webhook: ids are per space" },
  'GET /spaces/:space/webhooks/:id/calls': { status: 200, why: "A's own webhook under that id: no calls" },
  'HEAD /spaces/:space/webhooks/:id/calls': { status: 200, why: "A's own webhook under that id: no calls" },
  'GET /spaces/:space/webhooks/:id/health': { status: 200, why: "A's own webhook under that id" },
  'HEAD /spaces/:space/webhooks/:id/health': { status: 200, why: "A's own webhook under that id" },
  'DELETE /spaces/:space/webhook_definitions/:id': { status: 204, why: "deletes A's own webhook created above" },
  // Contentful's PUT creates an entry under a chosen id; entry ids are per space, and without
  // X-Contentful-Content-Type the answer is the same 422 whatever the id.
  'PUT /spaces/:space/entries/:id': { status: 422, why: 'X-Contentful-Content-Type is required: the same 422 whatever the id' },
  'PUT /spaces/:space/environments/:env/entries/:id': { status: 422, why: 'X-Contentful-Content-Type is required: the same 422 whatever the id' },
  // Contentful's PUT may create an asset under a chosen id; Herald refuses that the same way for any id.
  'PUT /spaces/:space/assets/:id': { status: 422, why: 'asset ids are Herald\'s to make: the same 422 whatever the id' },
  'PUT /spaces/:space/environments/:env/assets/:id': { status: 422, why: 'asset ids are Herald\'s to make: the same 422 whatever the id' },
};

describe("another stack's token gets 404 on every route (case 31)", () => {
  let h: TestHerald;
  let routes: Route[];
  let rx: Receiver;
  let a: SeededStack;
  let b: SeededStack;

  before(async () => {
    rx = await startReceiver();
    ({ h, routes } = await startHeraldWithRoutes());
    a = await seedStack(h, 'Intruder', rx.url);
    b = await seedStack(h, 'Victim', rx.url);
  });
  after(async () => {
    await h.close();
    await rx.close();
  });

  /** Everything of B a caller could change or read, as B sees it. */
  async function snapshot(s: SeededStack) {
    const get = async (path: string, headers = s.headers) => {
      const r = await h.request('GET', path, { headers });
      // Contentful error bodies carry the request's id; the rest must not change.
      const { requestId: _, ...body } = (r.body ?? {}) as Record<string, unknown>;
      return { status: r.status, body };
    };
    const cf = { authorization: `Bearer ${s.token}` };
    return {
      webhook: await get(`/v3/webhooks/${s.webhook}`),
      secret: await get(`/v3/webhooks/${s.webhook}/secret`),
      executions: await get(`/v3/webhooks/${s.webhook}/executions`),
      events: await get('/v3/events?limit=1000'),
      tokens: await get('/v3/stacks/management_tokens'),
      environments: await get('/v3/environments'),
      locales: await get('/v3/locales'),
      branches: await get('/v3/stacks/branches'),
      contentType: await get(`/v3/content_types/${s.content_type}`),
      entry: await get(`/v3/content_types/${s.content_type}/entries/${s.entry}`),
      asset: await get(`/v3/assets/${s.asset}`),
      signingSecret: await get(`/spaces/${s.api_key}/webhook_settings/signing_secret`, cf),
      retryPolicy: await get(`/spaces/${s.api_key}/webhook_settings/retry_policy`, cf),
    };
  }

  it('covers every route the server registers (a new route must be added to fillRoute)', () => {
    const uncovered = routes.filter((r) => fillRoute(r.url, b) === null).map(routeKey);
    assert.deepEqual(uncovered, [], 'routes the cross-stack and fuzz sweeps do not know how to fill');
    // The sweep is not vacuous: it sees the routes this file was written against.
    for (const key of ['GET /v3/webhooks/:uid/secret', 'POST /v3/webhooks/:uid/retry', 'DELETE /v3/assets/:uid', 'GET /v3/assets/:api_key/:uid/:filename']) {
      assert.ok(routes.some((r) => routeKey(r) === key), key);
    }
  });

  it("answers 404 to stack A's token on every route of stack B, and B is left as it was", async () => {
    const before = await snapshot(b);
    const failures: string[] = [];
    let swept = 0;
    for (const r of deletionsLast(routes)) {
      const path = fillRoute(r.url, b);
      // Routes fillRoute does not know fail the coverage test above.
      if (!path || r.url in NOT_STACK_ROUTES || UNSENDABLE.has(r.method)) continue;
      // Creating a stack is the admin's alone; no stack is anyone's to find there. Contentful's
      // sync (and Contentstack's) is a delivery route: a management token is refused with 401 whatever the space.
      const expected = routeKey(r) === 'POST /v3/stacks' ? 403 : r.url.endsWith('/sync') ? 401 : 404;
      const res = await h.request(r.method, path, {
        headers: headersFor(r.url, b.api_key, a.token),
        body: WRITES.has(r.method) ? validBody(r.url, b) : undefined,
      });
      swept++;
      if (res.status !== expected) failures.push(`${r.method} ${path} (${r.url}): ${res.status} ${JSON.stringify(res.body)?.slice(0, 200)}`);
    }
    assert.deepEqual(failures, []);
    assert.ok(swept > 80, `swept ${swept} routes`);
    assert.deepEqual(await snapshot(b), before);
  });

  it("answers 404 when stack A's token names B's resources from inside A's own stack", async () => {
    const before = await snapshot(b);
    // B's ids under A's stack (and A's space in the Contentful dialect).
    const mixed = { ...b, api_key: a.api_key };
    const bIds = uniqueIds(b);
    const failures: string[] = [];
    let swept = 0;
    for (const r of deletionsLast(routes)) {
      const path = fillRoute(r.url, mixed);
      if (!path || r.url in NOT_STACK_ROUTES || UNSENDABLE.has(r.method) || r.url.endsWith('*')) continue;
      if (!bIds.some((id) => path.includes(id))) continue; // names nothing of B's
      const res = await h.request(r.method, path, { headers: headersFor(r.url, a.api_key, a.token), body: WRITES.has(r.method) ? validBody(r.url, b) : undefined });
      swept++;
      const expected = NOT_404_INSIDE_OWN_STACK[routeKey(r)]?.status ?? 404;
      if (res.status !== expected) failures.push(`${r.method} ${path}: ${res.status} ${JSON.stringify(res.body)?.slice(0, 200)}`);
    }
    // A's own webhook with B's execution: the execution is not A's to retry.
    const retry = await h.request('POST', `/v3/webhooks/${a.webhook}/retry`, { headers: a.headers, body: { execution_uid: b.execution } });
    if (retry.status !== 404) failures.push(`retry of B's execution through A's webhook: ${retry.status}`);
    const call = await h.request('GET', `/spaces/${a.api_key}/webhooks/${a.webhook}/calls/${b.attempt}`, { headers: { authorization: `Bearer ${a.token}` } });
    if (call.status !== 404) failures.push(`B's call through A's webhook: ${call.status}`);
    assert.deepEqual(failures, []);
    assert.ok(swept > 30, `swept ${swept} routes`);
    assert.deepEqual(await snapshot(b), before);
  });

  it("lists nothing of B's to A, on any route that lists", async () => {
    const bIds = uniqueIds(b);
    for (const r of routes) {
      const path = fillRoute(r.url, a);
      // Sync routes read with a delivery token, not a management one (test/published covers them).
      if (!path || r.method !== 'GET' || r.url in NOT_STACK_ROUTES || r.url.includes(':') || r.url.endsWith('*') || r.url.endsWith('/sync')) continue;
      const res = await h.request('GET', path, { headers: headersFor(r.url, a.api_key, a.token) });
      assert.equal(res.status, 200, `${r.url}: ${JSON.stringify(res.body)}`);
      const text = JSON.stringify(res.body);
      for (const id of [...bIds, b.api_key]) assert.ok(!text.includes(id), `${r.url} shows B's ${id}`);
    }
  });
});

describe('bad input to the management API names the problem (cases 29, 30)', () => {
  let h: TestHerald;
  let routes: Route[];
  let rx: Receiver;
  let s: SeededStack;

  before(async () => {
    rx = await startReceiver();
    ({ h, routes } = await startHeraldWithRoutes({ bodyLimit: 16 * 1024, assetLimit: 8 * 1024 }));
    s = await seedStack(h, 'Bad input', rx.url);
  });
  after(async () => {
    await h.close();
    await rx.close();
  });

  it('answers malformed JSON with a 400 naming the body, at every route that takes one', async () => {
    let swept = 0;
    for (const r of routes) {
      const path = fillRoute(r.url, s);
      if (!path || !WRITES.has(r.method) || r.url in NOT_STACK_ROUTES) continue;
      const res = await h.request(r.method, path, { headers: { ...headersFor(r.url, s.api_key, s.token), 'content-type': 'application/json' }, body: '{"webhook": {"name": ' });
      swept++;
      assert.equal(res.status, 400, `${r.method} ${path}: ${JSON.stringify(res.body)}`);
      if (!r.url.startsWith('/spaces/')) assert.deepEqual(res.body.errors, { body: ['is not valid JSON'] }, `${r.method} ${path}`);
    }
    assert.ok(swept > 30);
  });

  const good = () => ({ name: 'ok', channels: ['*.*'], destinations: [{ target_url: 'https://hooks.example.com/ok' }] });
  const dest = (over: Record<string, unknown>) => ({ destinations: [{ target_url: 'https://hooks.example.com/ok', ...over }] });
  /** [what, webhook fields over a good body (undefined deletes), field the 422 must name]. */
  const WEBHOOK_CASES: Array<[string, Record<string, unknown>, string]> = [
    ['missing name', { name: undefined }, 'name'],
    ['missing destinations', { destinations: undefined }, 'destinations'],
    ['missing channels', { channels: undefined }, 'channels'],
    ['missing target_url', { destinations: [{}] }, 'destinations.0.target_url'],
    ['a number for name', { name: 5 }, 'name'],
    ['a string for channels', { channels: 'entries.publish' }, 'channels'],
    ['a number in channels', { channels: [5] }, 'channels.0'],
    ['an unknown channel', { channels: ['nonsense.nothing.at.all.here'] }, 'channels.0'],
    ['an object for destinations', { destinations: { target_url: 'https://x.example' } }, 'destinations'],
    ['two destinations', { destinations: [{ target_url: 'https://a.example' }, { target_url: 'https://b.example' }] }, 'destinations'],
    ['a number for target_url', dest({ target_url: 5 }), 'destinations.0.target_url'],
    ['a number for http_basic_auth', dest({ http_basic_auth: 5 }), 'destinations.0.http_basic_auth'],
    ['a password without a username', dest({ http_basic_password: 'lonely-password' }), 'destinations.0.http_basic_auth'],
    ['a number for http_basic_password', dest({ http_basic_auth: 'u', http_basic_password: 5 }), 'destinations.0.http_basic_password'],
    ['a string for custom_header', dest({ custom_header: 'X-A: b' }), 'destinations.0.custom_header'],
    ['a string for a header secret flag', dest({ custom_header: [{ header_name: 'X-A', value: 'b', secret: 'yes' }] }), 'destinations.0.custom_header.0.secret'],
    ['a number for a header value', dest({ custom_header: [{ header_name: 'X-A', value: 5 }] }), 'destinations.0.custom_header.0.value'],
    ['a string for disabled', { disabled: 'no' }, 'disabled'],
    ['a number for concise_payload', { concise_payload: 1 }, 'concise_payload'],
    ['an unknown format', { format: 'xml' }, 'format'],
    ['a string for branches', { branches: 'main' }, 'branches'],
    ['a branch the stack does not have', { branches: ['nope'] }, 'branches.0'],
    ['a string for conditions', { conditions: 'sys.id = 1' }, 'conditions'],
    ['a number for retry_policy', { retry_policy: 5 }, 'retry_policy'],
    ['a short signing secret', { signing_secret: 'whsec_c2hvcnQ=' }, 'signing_secret'],
    ['an unknown field', { colour: 'red' }, 'colour'],
    ['an unknown destination field', dest({ verify_tls: false }), 'destinations.0.verify_tls'],
    ['an unknown header field', dest({ custom_header: [{ header_name: 'X-A', value: 'b', scope: 'all' }] }), 'destinations.0.custom_header.0.scope'],
  ];

  it('answers each wrong type, unknown field and missing field of a webhook with a 422 naming it, on create and update', async () => {
    for (const [what, over, field] of WEBHOOK_CASES) {
      const webhook: Record<string, unknown> = { ...good(), ...over };
      for (const k of Object.keys(webhook)) if (webhook[k] === undefined) delete webhook[k];
      const created = await h.request('POST', '/v3/webhooks', { headers: s.headers, body: { webhook } });
      assert.equal(created.status, 422, `create with ${what}: ${JSON.stringify(created.body)}`);
      assert.ok(field in created.body.errors, `create with ${what}: ${field} not in ${JSON.stringify(created.body.errors)}`);
      assert.ok(created.body.error_message.includes(field) || Object.keys(created.body.errors).length > 1, `create with ${what}: ${created.body.error_message}`);
      // On update a field left out keeps its value, so only fields sent can be wrong.
      if (Object.values(over).some((v) => v === undefined)) continue;
      const updated = await h.request('PUT', `/v3/webhooks/${s.webhook}`, { headers: s.headers, body: { webhook: over } });
      assert.equal(updated.status, 422, `update with ${what}: ${JSON.stringify(updated.body)}`);
      assert.ok(field in updated.body.errors, `update with ${what}: ${field} not in ${JSON.stringify(updated.body.errors)}`);
    }
    const body = await h.request('POST', '/v3/webhooks', { headers: s.headers, body: { hook: good() } });
    assert.equal(body.status, 422);
    assert.deepEqual(body.body.errors, { webhook: ['is required'] });
    for (const top of [[good()], 'webhook', 42, null]) {
      const r = await h.request('POST', '/v3/webhooks', { headers: s.headers, body: JSON.stringify(top) });
      assert.ok(r.status === 400 || r.status === 422, `${JSON.stringify(top)}: ${r.status}`);
      assert.ok(Object.keys(r.body.errors).length > 0, JSON.stringify(r.body));
    }
  });

  it('refuses a "__proto__" key anywhere in a JSON body with a 400, however it is spelled, and keeps ordinary text', async () => {
    const bodies = [
      '{"__proto__": {"polluted": true}, "webhook": {"name": "x"}}',
      '{"webhook": {"__proto__": 1, "name": "x", "channels": ["*.*"], "destinations": [{"target_url": "https://a.example"}]}}',
      '{"webhook": {"name": "x", "channels": ["*.*"], "destinations": [{"target_url": "https://a.example", "custom_header": [{"__proto__": {}}]}]}}',
      '{"webhook": {"\\u005f\\u005fproto\\u005f\\u005f": 1}}',
    ];
    for (const body of bodies) {
      for (const [path, headers] of [
        ['/v3/webhooks', s.headers],
        [`/spaces/${s.api_key}/environments/master/assets`, { authorization: `Bearer ${s.token}` }],
      ] as const) {
        const r = await h.request('POST', path, { headers: { ...headers, 'content-type': 'application/json' }, body });
        assert.equal(r.status, 400, `${path} ${body}: ${JSON.stringify(r.body)}`);
        if (path === '/v3/webhooks') assert.deepEqual(r.body.errors, { body: ['must not contain a "__proto__" key'] });
      }
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const fine = await h.request('POST', '/v3/webhooks', {
      headers: s.headers,
      body: '{"webhook": {"name": "the prototype \\u2014 proto", "channels": ["*.*"], "destinations": [{"target_url": "https://a.example/proto"}]}}',
    });
    assert.equal(fine.status, 201, JSON.stringify(fine.body));
    assert.equal(fine.body.webhook.name, 'the prototype \u2014 proto');
    await h.request('DELETE', `/v3/webhooks/${fine.body.webhook.uid}`, { headers: s.headers });
  });

  it('names the field of bad rotation, retry and query input', async () => {
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', `/v3/webhooks/${s.webhook}/secret/rotate`, { grace_period_hours: 'a day' }, 'grace_period_hours'],
      ['POST', `/v3/webhooks/${s.webhook}/secret/rotate`, { grace_period_hours: -1 }, 'grace_period_hours'],
      ['POST', `/v3/webhooks/${s.webhook}/secret/rotate`, { signing_secret: 'not-a-secret' }, 'signing_secret'],
      ['POST', `/v3/webhooks/${s.webhook}/secret/rotate`, { grace_hours: 1 }, 'grace_hours'],
      ['POST', `/v3/webhooks/${s.webhook}/retry`, {}, 'execution_uid'],
      ['POST', `/v3/webhooks/${s.webhook}/retry`, { execution_uid: 5 }, 'execution_uid'],
      ['POST', `/v3/webhooks/${s.webhook}/retry`, { execution_uid: s.execution, when: 'now' }, 'when'],
      ['GET', '/v3/webhooks?limit=abc', undefined, 'limit'],
      ['GET', '/v3/webhooks?skip=-1', undefined, 'skip'],
      ['GET', '/v3/webhooks?include_count=maybe', undefined, 'include_count'],
      ['GET', `/v3/webhooks/${s.webhook}/executions?state=lost`, undefined, 'state'],
      ['GET', `/v3/webhooks/${s.webhook}/executions?limit=x`, undefined, 'limit'],
      ['GET', `/v3/webhooks/${s.webhook}/executions?from=yesterday`, undefined, 'from'],
      ['GET', '/v3/events?after=-1', undefined, 'after'],
      ['GET', '/v3/events?limit=0', undefined, 'limit'],
      ['POST', '/v3/stacks/management_tokens', { token: { name: 5 } }, 'token.name'],
      ['POST', '/v3/stacks/management_tokens', { token: { name: 'x', expires_on: 'someday' } }, 'token.expires_on'],
    ];
    for (const [method, path, body, field] of cases) {
      const headers = path.startsWith('/v3/stacks/management_tokens') ? { api_key: s.api_key, authtoken: ADMIN_TOKEN } : s.headers;
      const r = await h.request(method, path, { headers, body });
      assert.equal(r.status, 422, `${method} ${path} ${JSON.stringify(body)}: ${r.status} ${JSON.stringify(r.body)}`);
      assert.ok(field in r.body.errors, `${method} ${path}: ${field} not in ${JSON.stringify(r.body.errors)}`);
      assert.match(r.body.error_message, new RegExp(field.replace(/\./g, '\\.')));
    }
    const stack = await h.request('POST', '/v3/stacks', { headers: { authtoken: ADMIN_TOKEN }, body: { stack: { name: 5 } } });
    assert.equal(stack.status, 422);
    assert.ok('stack.name' in stack.body.errors);
  });

  it('answers a body over HERALD_BODY_LIMIT with a 413, and nothing is created', async () => {
    const big = { webhook: { ...good(), name: 'x'.repeat(20 * 1024) } };
    const r = await h.request('POST', '/v3/webhooks', { headers: s.headers, body: big });
    assert.equal(r.status, 413);
    assert.equal(r.body.code, 'payload_too_large');
    const list = await h.request('GET', '/v3/webhooks', { headers: s.headers });
    assert.equal(list.body.webhooks.length, 1);
    // A declared length over the limit is refused before the body is read.
    const declared = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${h.url}/v3/webhooks`, {
        method: 'POST',
        headers: { ...s.headers, 'content-type': 'application/json', 'content-length': String(100 * 1024 * 1024) },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode!);
        req.destroy();
      });
      req.on('error', reject);
      req.write('{"webhook": ');
    });
    assert.equal(declared, 413);
  });

  it('answers an upload over HERALD_ASSET_LIMIT with a 413', async () => {
    const form = new FormData();
    form.append('asset[upload]', new Blob([Buffer.alloc(64 * 1024, 1)]), 'big.bin');
    const r = await fetch(`${h.url}/v3/assets`, { method: 'POST', headers: s.headers, body: form });
    assert.equal(r.status, 413);
    assert.equal(((await r.json()) as { code: string }).code, 'payload_too_large');
  });
});

describe('the rate limit (case 33)', () => {
  it('reads HERALD_RATE_LIMIT and HERALD_RATE_WINDOW, defaults generous, and stops at a bad value', () => {
    const dflt = loadConfig({}, {});
    assert.equal(dflt.rateLimit, 1000);
    assert.equal(dflt.rateWindowMs, 10_000);
    const set = loadConfig({}, { HERALD_RATE_LIMIT: '50', HERALD_RATE_WINDOW: '1m' });
    assert.equal(set.rateLimit, 50);
    assert.equal(set.rateWindowMs, 60_000);
    assert.equal(loadConfig({}, { HERALD_RATE_LIMIT: '0' }).rateLimit, 0);
    assert.throws(() => loadConfig({}, { HERALD_RATE_LIMIT: 'lots' }), (err: any) => 'HERALD_RATE_LIMIT' in err.errors);
    assert.throws(() => loadConfig({}, { HERALD_RATE_WINDOW: 'soon' }), (err: any) => 'HERALD_RATE_WINDOW' in err.errors);
  });

  it('counts a token however it is sent, never keeps it, and counts callers without one by address', () => {
    const token = 'cs' + 'q'.repeat(40);
    const bare = rateLimitKey({ headers: { authorization: token }, ip: '10.1.1.1' });
    assert.equal(rateLimitKey({ headers: { authorization: `Bearer ${token}` }, ip: '10.2.2.2' }), bare);
    assert.ok(!bare.includes(token));
    assert.notEqual(rateLimitKey({ headers: { authorization: token + 'x' }, ip: '10.1.1.1' }), bare);
    assert.equal(rateLimitKey({ headers: { authtoken: ADMIN_TOKEN }, ip: '10.1.1.1' }), rateLimitKey({ headers: { authtoken: ADMIN_TOKEN }, ip: '10.9.9.9' }));
    assert.equal(rateLimitKey({ headers: {}, ip: '10.1.1.1' }), 'ip:10.1.1.1');
  });

  describe('on a server limited to 20 requests per minute per caller', () => {
    let h: TestHerald;
    before(async () => {
      h = await startHerald({ rateLimit: 20, rateWindowMs: 60_000 });
    });
    after(() => h.close());

    it('answers the 21st request of a token with 429 rate_limited and Retry-After, and other callers go on', async () => {
      // Stack creation uses the admin token's own budget.
      const one = await h.newStack('one');
      const two = await h.newStack('two');
      const headers = { api_key: one.api_key, authorization: one.token };
      for (let i = 0; i < 20; i++) {
        // Bare and Bearer count as one caller.
        const r = await h.request('GET', '/v3/webhooks', { headers: i % 2 ? headers : { ...headers, authorization: `Bearer ${one.token}` } });
        assert.equal(r.status, 200, `request ${i + 1}`);
      }
      const limited = await h.request('GET', '/v3/webhooks', { headers });
      assert.equal(limited.status, 429);
      assert.equal(limited.body.code, 'rate_limited');
      assert.equal(limited.body.error_code, 429);
      assert.match(limited.body.error_message, /Too many requests/);
      const retryAfter = Number(limited.headers.get('retry-after'));
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `retry-after ${limited.headers.get('retry-after')}`);
      // Writes are limited too, before anything is done.
      const write = await h.request('POST', '/v3/webhooks', { headers, body: { webhook: { name: 'x', channels: ['*.*'], destinations: [{ target_url: 'https://a.example' }] } } });
      assert.equal(write.status, 429);
      assert.equal((await h.herald.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM webhooks WHERE api_key = ?', [one.api_key]))!.n, 0);

      const other = await h.request('GET', '/v3/webhooks', { headers: { api_key: two.api_key, authorization: two.token } });
      assert.equal(other.status, 200, "another token has its own budget");
      for (let i = 0; i < 50; i++) assert.equal((await h.request('GET', '/healthz')).status, 200, 'health checks are never limited');
    });

    it('limits callers without a token by address', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 22; i++) statuses.push((await h.request('GET', '/v3/webhooks')).status);
      assert.deepEqual(statuses.slice(0, 20), Array(20).fill(401));
      assert.deepEqual(statuses.slice(20), [429, 429]);
    });

    it('answers a burst of 300 concurrent requests with exactly the budget served and the rest 429, never a 5xx', async () => {
      const s = await h.newStack('burst');
      const headers = { api_key: s.api_key, authorization: s.token };
      const all = await Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          i % 3 === 0
            ? h.request('POST', '/v3/webhooks', { headers, body: { webhook: { name: `b${i}`, channels: ['*.*'], destinations: [{ target_url: 'https://a.example' }] } } })
            : h.request('GET', '/v3/webhooks', { headers }),
        ),
      );
      const statuses = all.map((r) => r.status);
      assert.equal(statuses.filter((x) => x >= 500).length, 0);
      assert.equal(statuses.filter((x) => x === 429).length, 280);
      assert.equal(statuses.filter((x) => x === 200 || x === 201).length, 20);
      assert.ok(all.filter((r) => r.status === 429).every((r) => Number(r.headers.get('retry-after')) >= 1));
      assert.equal((await h.request('GET', '/healthz')).status, 200);
    });
  });

  it('serves a caller again once its window has passed', async () => {
    const h = await startHerald({ rateLimit: 3, rateWindowMs: 1000 });
    try {
      const s = await h.newStack();
      const headers = { api_key: s.api_key, authorization: s.token };
      for (let i = 0; i < 3; i++) assert.equal((await h.request('GET', '/v3/webhooks', { headers })).status, 200);
      const limited = await h.request('GET', '/v3/webhooks', { headers });
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '1');
      await new Promise((r) => setTimeout(r, 1000 * Number(limited.headers.get('retry-after')) + 50));
      assert.equal((await h.request('GET', '/v3/webhooks', { headers })).status, 200);
    } finally {
      await h.close();
    }
  });
});
