import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { emit, executions, until } from '../helpers/engine.ts';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';

/**
 * A secret never leaves the host it was set for: stored secrets do not follow a destination moved
 * to another origin (issue 15 item 6), and a receiver that echoes them back does not get them
 * stored or shown (item 7).
 */

const rand = () => randomBytes(10).toString('hex');

describe('stored secrets and a changed origin', () => {
  let h: TestHerald;
  let stack: { api_key: string; token: string };
  let home: Awaited<ReturnType<typeof startReceiver>>;
  let elsewhere: Awaited<ReturnType<typeof startReceiver>>;
  const headers = () => ({ api_key: stack.api_key, authorization: stack.token });

  before(async () => {
    h = await startHerald();
    stack = await h.newStack();
    home = await startReceiver();
    elsewhere = await startReceiver(); // another port: another origin
  });
  after(async () => {
    await h.close();
    await home.close();
    await elsewhere.close();
  });

  it('refuses a Contentstack update that moves the URL to another origin with the secrets read back masked, naming each field', async () => {
    const password = `pw-${rand()}`;
    const secretHeader = `hdr-${rand()}`;
    const created = await h.request('POST', '/v3/webhooks', {
      headers: headers(),
      body: {
        webhook: {
          name: 'moved',
          destinations: [{ target_url: `${home.url}/hook`, http_basic_auth: 'herald', http_basic_password: password, custom_header: [{ header_name: 'X-Key', value: secretHeader, secret: true }, { header_name: 'X-Site', value: 'blog' }] }],
          channels: ['*.*'],
        },
      },
    });
    assert.equal(created.status, 201);
    const uid = created.body.webhook.uid;
    const read = (await h.request('GET', `/v3/webhooks/${uid}`, { headers: headers() })).body.webhook;
    const dest = read.destinations[0];
    assert.notEqual(dest.http_basic_password, password, 'read back masked');

    // Only target_url moved: what was read back (masked) must not become the real secrets there.
    const moved = await h.request('PUT', `/v3/webhooks/${uid}`, { headers: headers(), body: { webhook: { ...read, destinations: [{ ...dest, target_url: `${elsewhere.url}/hook` }] } } });
    assert.equal(moved.status, 422);
    assert.deepEqual(Object.keys(moved.body.errors).sort(), ['destinations.0.custom_header.0.value', 'destinations.0.http_basic_password']);
    assert.match(moved.body.errors['destinations.0.http_basic_password'][0], /sent again in full.*another origin/);
    // Left out entirely: the same.
    const { http_basic_password: _, ...withoutPassword } = dest;
    const left = await h.request('PUT', `/v3/webhooks/${uid}`, { headers: headers(), body: { webhook: { destinations: [{ ...withoutPassword, target_url: `${elsewhere.url}/hook`, custom_header: [{ header_name: 'X-Key', secret: true }] }] } } });
    assert.equal(left.status, 422);
    assert.ok(left.body.errors['destinations.0.http_basic_password']);
    assert.ok(left.body.errors['destinations.0.custom_header.0.value']);

    // Nothing changed: a test call still goes home, with the real credentials.
    const test = await h.request('POST', `/v3/webhooks/${uid}/test`, { headers: headers() });
    assert.equal(test.status, 200);
    assert.equal(elsewhere.received.length, 0, 'the other host got nothing');
    assert.equal(home.received.at(-1)!.headers['x-key'], secretHeader);

    // Another path on the same origin keeps them.
    const samePlace = await h.request('PUT', `/v3/webhooks/${uid}`, { headers: headers(), body: { webhook: { ...read, destinations: [{ ...dest, target_url: `${home.url}/other-path` }] } } });
    assert.equal(samePlace.status, 200, JSON.stringify(samePlace.body));
    await h.request('POST', `/v3/webhooks/${uid}/test`, { headers: headers() });
    const got = home.received.at(-1)!;
    assert.equal(got.url, '/other-path');
    assert.equal(got.headers.authorization, `Basic ${Buffer.from(`herald:${password}`).toString('base64')}`);

    // Sent again in full, or dropped: accepted, and the new host gets only what was sent for it.
    const fresh = `new-${rand()}`;
    const resent = await h.request('PUT', `/v3/webhooks/${uid}`, {
      headers: headers(),
      body: { webhook: { destinations: [{ target_url: `${elsewhere.url}/hook`, http_basic_auth: 'herald', http_basic_password: fresh, custom_header: [{ header_name: 'X-Site', value: 'blog' }] }] } },
    });
    assert.equal(resent.status, 200, JSON.stringify(resent.body));
    await h.request('POST', `/v3/webhooks/${uid}/test`, { headers: headers() });
    const there = elsewhere.received.at(-1)!;
    assert.equal(there.headers.authorization, `Basic ${Buffer.from(`herald:${fresh}`).toString('base64')}`);
    assert.equal(there.headers['x-key'], undefined);
    assert.ok(!JSON.stringify(there).includes(password) && !JSON.stringify(there).includes(secretHeader));
  });

  it('refuses a Contentful update that moves the URL to another origin with the secrets read back, naming each field', async () => {
    const password = `pw-${rand()}`;
    const cf = { authorization: `Bearer ${stack.token}`, 'content-type': 'application/vnd.contentful.management.v1+json' };
    const base = `${h.url}/spaces/${stack.api_key}/webhook_definitions`;
    const created = await fetch(base, {
      method: 'POST',
      headers: cf,
      body: JSON.stringify({ name: 'cf moved', url: `${home.url}/cf`, topics: ['*.*'], httpBasicUsername: 'herald', httpBasicPassword: password, headers: [{ key: 'X-Key', value: `hdr-${rand()}`, secret: true }] }),
    });
    assert.equal(created.status, 201);
    const read = await created.json();
    assert.equal(read.httpBasicPassword, undefined);
    const moved = await fetch(`${base}/${read.sys.id}`, { method: 'PUT', headers: { ...cf, 'x-contentful-version': String(read.sys.version) }, body: JSON.stringify({ ...read, url: `${elsewhere.url}/cf` }) });
    assert.equal(moved.status, 422);
    const err = await moved.json();
    assert.equal(err.sys.id, 'ValidationFailed');
    assert.deepEqual(err.details.errors.map((e: any) => e.path.join('.')).sort(), ['headers.0.value', 'httpBasicPassword']);
  });
});

describe('secrets a receiver echoes back', () => {
  let h: TestHerald;
  let stack: { api_key: string; token: string };
  let echo: Awaited<ReturnType<typeof startReceiver>>;
  const password = `pw-${rand()}`;
  const secretHeader = `hdr-${rand()}`;
  const basic = Buffer.from(`herald:${password}`).toString('base64');
  const headers = () => ({ api_key: stack.api_key, authorization: stack.token });

  before(async () => {
    h = await startHerald();
    stack = await h.newStack();
    // Copies the request's headers into its body (JSON) and into its own headers.
    echo = await startReceiver((req, res) => {
      res.setHeader('x-echo-authorization', String(req.headers.authorization));
      res.setHeader('x-echo-key', String(req.headers['x-key']));
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ youSent: req.headers, plain: `auth=${req.headers.authorization} key=${req.headers['x-key']} pw=${password}` }));
    });
  });
  after(async () => {
    await h.close();
    await echo.close();
  });

  const leaks = (text: string) => [password, secretHeader, basic].filter((s) => text.includes(s));

  it('masks them in the test-call answer and in the activity log', async () => {
    const created = await h.request('POST', '/v3/webhooks', {
      headers: headers(),
      body: { webhook: { name: 'echo', destinations: [{ target_url: `${echo.url}/echo`, http_basic_auth: 'herald', http_basic_password: password, custom_header: [{ header_name: 'X-Key', value: secretHeader, secret: true }] }], channels: ['*.*'] } },
    });
    assert.equal(created.status, 201);
    const uid = created.body.webhook.uid;

    const test = await h.request('POST', `/v3/webhooks/${uid}/test`, { headers: headers() });
    assert.equal(test.status, 200);
    assert.equal(echo.received.at(-1)!.headers['x-key'], secretHeader, 'the receiver got the real value');
    assert.deepEqual(leaks(JSON.stringify(test.body)), [], 'the test-call answer');
    assert.match(JSON.stringify(test.body.test.response), /\*\*\*\*/, 'masked where they were');

    await emit(h, stack, { uid: 'bltEcho1' });
    const log = (await until(async () => {
      const x = await executions(h, stack, uid);
      return x[0]?.state === 'succeeded' ? x : null;
    }, 10_000, 'the delivery'))!;
    assert.deepEqual(leaks(JSON.stringify(log)), [], 'the activity log');
    const one = await h.request('GET', `/v3/webhooks/${log[0].uid}/logs`, { headers: headers() });
    assert.deepEqual(leaks(JSON.stringify(one.body)), [], 'one execution');
    assert.equal(log[0].request_details[0].response.headers['x-echo-key'], '****');
  });
});
