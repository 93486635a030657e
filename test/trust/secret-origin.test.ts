import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { listen, makeCertificates, readBody, startTokenServer } from '../helpers/endpoint-auth.ts';
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

/**
 * Endpoint authentication set through /v3 (OAuth 2.0 client credentials, a bearer token, mutual
 * TLS: issue 20) on a webhook a Contentful client then updates: Contentful's definition has no
 * field for any of it, so a PUT that cannot mention it keeps it; its secrets stay with their
 * origin (issue 15 item 6's rule) and are never shown.
 */
describe('endpoint authentication and a Contentful PUT', () => {
  let h: TestHerald;
  let stack: { api_key: string; token: string };
  let certs: ReturnType<typeof makeCertificates>;
  let tokens: Awaited<ReturnType<typeof startTokenServer>>;
  let home: Awaited<ReturnType<typeof startClientCheckingReceiver>>;
  let elsewhere: Awaited<ReturnType<typeof startClientCheckingReceiver>>;
  const clientSecret = `cs-${rand()}`;
  const v3 = () => ({ api_key: stack.api_key, authorization: stack.token });
  const cf = () => ({ authorization: `Bearer ${stack.token}`, 'content-type': 'application/vnd.contentful.management.v1+json' });
  const definitionUrl = (id: string) => `${h.url}/spaces/${stack.api_key}/webhook_definitions/${id}`;
  /** Contentful's read-then-update: GET the definition, PUT it back changed by `change`. */
  const cfUpdate = async (id: string, change: (d: Record<string, any>) => Record<string, unknown>) => {
    const read = await (await fetch(definitionUrl(id), { headers: cf() })).json();
    const r = await fetch(definitionUrl(id), { method: 'PUT', headers: { ...cf(), 'x-contentful-version': String(read.sys.version) }, body: JSON.stringify(change(read)) });
    return { read, status: r.status, body: await r.json() };
  };
  const stored = async (uid: string) => JSON.parse((await h.herald.db.get<{ doc: string }>('SELECT doc FROM webhooks WHERE uid = ?', [uid]))!.doc).destinations[0];
  const testCall = async (uid: string) => (await h.request('POST', `/v3/webhooks/${uid}/test`, { headers: v3() })).body;

  before(async () => {
    h = await startHerald({ retryDelaysMs: [] });
    stack = await h.newStack();
    certs = makeCertificates();
    tokens = await startTokenServer('herald-client', clientSecret, 600);
    home = await startClientCheckingReceiver(certs, tokens.valid);
    elsewhere = await startClientCheckingReceiver(certs, tokens.valid); // another port: another origin
  });
  after(async () => {
    await h.close();
    await tokens.close();
    await home.close();
    await elsewhere.close();
  });

  /** An OAuth + mutual TLS webhook in the Contentful format, made through /v3. */
  const oauthAndMtls = async (name: string) => {
    const created = await h.request('POST', '/v3/webhooks', {
      headers: v3(),
      body: {
        webhook: {
          name,
          format: 'contentful',
          channels: ['Entry.publish'],
          destinations: [
            {
              target_url: `${home.url}/hook`,
              access_token_url: tokens.url,
              client_id: 'herald-client',
              client_secret: clientSecret,
              client_certificate: certs.clientCert,
              client_key: certs.clientKey,
              ca_certificate: certs.ca,
              custom_header: [],
            },
          ],
        },
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body.webhook.uid as string;
  };

  it('keeps OAuth client credentials and mutual TLS that a Contentful PUT does not mention, and never shows their secrets', async () => {
    const uid = await oauthAndMtls('oauth and mtls');
    const first = await testCall(uid);
    assert.equal(first.test.outcome, 'success', JSON.stringify(first));
    const before = await stored(uid);

    // A Contentful client renames it: read, change the name, PUT it back.
    const renamed = await cfUpdate(uid, (d) => ({ ...d, name: 'renamed by a Contentful client' }));
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal(renamed.body.name, 'renamed by a Contentful client');
    const after = await stored(uid);
    for (const k of ['access_token_url', 'client_id', 'client_secret', 'client_certificate', 'client_key', 'ca_certificate'] as const) {
      assert.equal(after[k], before[k], `${k} kept`);
    }
    // And they still work: a token from the token server, the client certificate in the handshake.
    const calls = home.received.length;
    const again = await testCall(uid);
    assert.equal(again.test.outcome, 'success', JSON.stringify(again));
    assert.equal(home.received.length, calls + 1);
    assert.equal(home.received.at(-1)!.cn, 'herald-client');
    assert.ok(home.received.at(-1)!.tokenValid, 'sent a token the token server issued');

    // Nothing shows a secret: both dialects' reads, the PUT's answer, the test-call answers, the log.
    const texts = [JSON.stringify(renamed), JSON.stringify(first), JSON.stringify(again)];
    for (const path of [`/v3/webhooks/${uid}`, '/v3/webhooks', `/v3/webhooks/${uid}/executions`]) texts.push(JSON.stringify((await h.request('GET', path, { headers: v3() })).body));
    for (const path of [`webhook_definitions/${uid}`, 'webhook_definitions', `webhooks/${uid}/calls`]) {
      texts.push(await (await fetch(`${h.url}/spaces/${stack.api_key}/${path}`, { headers: cf() })).text());
    }
    const all = texts.join('\n');
    assert.ok(!all.includes(clientSecret), 'the client secret is shown somewhere');
    assert.ok(!all.includes(keyBody(certs.clientKey)), 'the client key is shown somewhere');
    for (const r of home.received) assert.ok(!all.includes(r.token), 'an access token is shown somewhere');
    const shown = (await h.request('GET', `/v3/webhooks/${uid}`, { headers: v3() })).body.webhook.destinations[0];
    assert.equal(shown.authentication_type, 'OAuth2');
    assert.match(shown.client_secret, /^\*{4}/);
    assert.match(shown.client_key, /^\*{4}/);
  });

  it('refuses a Contentful PUT, and a /v3 PUT, that move the URL to another origin without the client secret and key, naming each; nothing changes', async () => {
    const uid = await oauthAndMtls('moved');
    const before = await stored(uid);

    const moved = await cfUpdate(uid, (d) => ({ ...d, url: `${elsewhere.url}/hook` }));
    assert.equal(moved.status, 422, JSON.stringify(moved.body));
    assert.equal(moved.body.sys.id, 'ValidationFailed');
    const byPath = Object.fromEntries(moved.body.details.errors.map((e: any) => [e.path.join('.'), e.details]));
    assert.deepEqual(Object.keys(byPath).sort(), ['client_key', 'client_secret']);
    assert.match(byPath.client_secret, /sent again in full.*another origin.*\/v3\/webhooks/);
    assert.ok(!JSON.stringify(moved.body).includes(clientSecret));

    // The same on /v3: the destination read back with only target_url moved.
    const read = (await h.request('GET', `/v3/webhooks/${uid}`, { headers: v3() })).body.webhook;
    const v3moved = await h.request('PUT', `/v3/webhooks/${uid}`, { headers: v3(), body: { webhook: { ...read, destinations: [{ ...read.destinations[0], target_url: `${elsewhere.url}/hook` }] } } });
    assert.equal(v3moved.status, 422);
    assert.deepEqual(Object.keys(v3moved.body.errors).sort(), ['destinations.0.client_key', 'destinations.0.client_secret']);

    assert.deepEqual(await stored(uid), before, 'nothing changed');
    const test = await testCall(uid);
    assert.equal(test.test.outcome, 'success');
    assert.equal(elsewhere.received.length, 0, 'the other origin got nothing');
  });

  it('keeps a bearer token through a Contentful PUT, and refuses basic auth beside it instead of dropping it', async () => {
    const rx = await startReceiver();
    try {
      const token = `bt-${rand()}`;
      const created = await h.request('POST', '/v3/webhooks', {
        headers: v3(),
        body: { webhook: { name: 'bearer', format: 'contentful', channels: ['Entry.publish'], destinations: [{ target_url: `${rx.url}/bearer`, authentication_type: 'Bearer', bearer_token: token, custom_header: [] }] } },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const uid = created.body.webhook.uid;
      const renamed = await cfUpdate(uid, (d) => ({ ...d, name: 'bearer, renamed' }));
      assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
      assert.ok(!JSON.stringify(renamed).includes(token));
      await testCall(uid);
      assert.equal(rx.received.at(-1)!.headers.authorization, `Bearer ${token}`);

      const basic = await cfUpdate(uid, (d) => ({ ...d, httpBasicUsername: 'someone', httpBasicPassword: 'pw-0123456789' }));
      assert.equal(basic.status, 422, JSON.stringify(basic.body));
      assert.deepEqual(basic.body.details.errors.map((e: any) => e.path.join('.')), ['httpBasicUsername']);
      assert.equal((await stored(uid)).bearer_token, token);
    } finally {
      await rx.close();
    }
  });
});

/** The base64 body of a PEM key (what would show if the key leaked, whatever the line breaks). */
const keyBody = (pem: string) => pem.split('\n').filter((l) => l && !l.startsWith('-----'))[1] ?? pem;

/**
 * An https receiver that requires a client certificate signed by the test CA and records, per
 * request, the certificate's CN and the bearer token (valid or not by `valid`); 401 without a
 * valid token.
 */
async function startClientCheckingReceiver(certs: ReturnType<typeof makeCertificates>, valid: (token: string) => boolean) {
  const received: Array<{ cn: string | undefined; token: string; tokenValid: boolean; body: string }> = [];
  const server = createHttpsServer({ key: certs.serverKey, cert: certs.serverCert, ca: certs.ca, requestCert: true, rejectUnauthorized: true }, async (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    const token = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    const tokenValid = valid(token);
    received.push({ cn: [peer?.subject?.CN].flat()[0], token, tokenValid, body: await readBody(req) });
    res.statusCode = tokenValid ? 200 : 401;
    res.end();
  });
  const port = await listen(server);
  return {
    url: `https://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}
