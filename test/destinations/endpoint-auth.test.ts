/**
 * Endpoint authentication (issue 20, acceptance 4 and 5): OAuth 2.0 client credentials against a
 * local token server whose tokens expire in 2 s; a fixed bearer token; mutual TLS against a
 * receiver that requires a client certificate (certificates made with openssl, test/helpers/endpoint-auth.ts); and an egress
 * proxy (a local CONNECT proxy) that every delivery goes through, the address policy still applied
 * to the final target.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { createWebhook, emit, executions, sleep, until, type Stack } from '../helpers/engine.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { testCertificate, TEST_HOST } from '../helpers/https.ts';
import { listen, makeCertificates, readBody, startTokenServer } from '../helpers/endpoint-auth.ts';
import { closeDeliveryAgent, createDeliveryAgent } from '../../src/delivery/agent.ts';
import { createTargetPolicy } from '../../src/net/target.ts';

const rand = (n = 12) => randomBytes(n).toString('hex');

describe('OAuth 2.0 client credentials', () => {
  let h: TestHerald;
  let stack: Stack;
  const logLines: string[] = [];
  before(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    h = await startHerald({ logLevel: 'trace', logTo: sink, retryDelaysMs: [200, 200] });
    stack = await h.newStack();
  });
  after(() => h.close());

  it('fetches a token, reuses it until it expires, fetches a new one after expiry and after a 401; the secret never shows', async () => {
    const clientSecret = `cs-${rand()}`;
    const tokens = await startTokenServer('herald-client', clientSecret, 2);
    const rx = await startReceiver((r, res) => {
      const token = String(r.headers.authorization ?? '').replace(/^Bearer /, '');
      if (!tokens.valid(token)) res.statusCode = 401;
    });
    const seen = () => rx.received.map((r) => String(r.headers.authorization));
    const created = await h.request('POST', '/v3/webhooks', {
      headers: { api_key: stack.api_key, authorization: stack.token },
      body: {
        webhook: {
          name: 'oauth',
          channels: ['*.*'],
          destinations: [
            {
              target_url: rx.url + '/hook',
              authentication_type: 'OAuth2',
              access_token_url: tokens.url,
              client_id: 'herald-client',
              client_secret: clientSecret,
              scope: 'webhooks:write',
              request_query_parameters: 'audience=cms',
              custom_header: [],
            },
          ],
        },
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const hook = created.body.webhook;
    const dest = hook.destinations[0];
    assert.equal(dest.authentication_type, 'OAuth2');
    assert.equal(dest.client_id, 'herald-client');
    assert.equal(dest.client_secret, `****${clientSecret.slice(-4)}`);

    // Two deliveries in a row: one token, asked for once, sent with both.
    await emit(h, stack, { uid: 'bltoauth1' });
    await rx.waitFor(1);
    await emit(h, stack, { uid: 'bltoauth2' });
    await rx.waitFor(2);
    assert.equal(tokens.requests.length, 1);
    assert.equal(tokens.requests[0]!.grant, 'client_credentials');
    assert.equal(tokens.requests[0]!.scope, 'webhooks:write');
    assert.equal(tokens.requests[0]!.query, '?audience=cms');
    assert.match(seen()[0]!, /^Bearer tok-1-/);
    assert.equal(seen()[1], seen()[0]);

    // After it expires (2 s), the next delivery asks for a new one first.
    await sleep(2_100);
    await emit(h, stack, { uid: 'bltoauth3' });
    await rx.waitFor(3);
    assert.equal(tokens.requests.length, 2);
    assert.match(seen()[2]!, /^Bearer tok-2-/);
    assert.equal(rx.received.length, 3, 'the new token was accepted at once');

    // The endpoint stops accepting the token (401): a new one is fetched once, the attempt resent once.
    tokens.revoke(seen()[2]!.replace('Bearer ', ''));
    const event = await emit(h, stack, { uid: 'bltoauth4' });
    await rx.waitFor(5);
    assert.equal(tokens.requests.length, 3);
    assert.equal(seen()[3], seen()[2], 'first sent with the revoked token');
    assert.match(seen()[4]!, /^Bearer tok-3-/);
    const x = await until(async () => (await executions(h, stack, hook.uid)).find((e) => e.seq === event.seq && e.state === 'succeeded'), 5_000, 'the execution to succeed');
    assert.equal(x.attempts, 1, 'the 401 and its resend are one attempt');
    assert.equal(x.request_details[0].request.headers.authorization, 'Bearer ****');
    assert.equal(x.status, 200);

    // The client secret (and the tokens) never come back: every response about the webhook, and the log.
    const texts: string[] = [JSON.stringify(created.body)];
    for (const path of [`/v3/webhooks/${hook.uid}`, '/v3/webhooks', `/v3/webhooks/${hook.uid}/executions`, `/v3/webhooks/${x.uid}/logs`]) {
      const r = await h.request('GET', path, { headers: { api_key: stack.api_key, authorization: stack.token } });
      assert.equal(r.status, 200, path);
      texts.push(JSON.stringify(r.body));
    }
    const tested = await h.request('POST', `/v3/webhooks/${hook.uid}/test`, { headers: { api_key: stack.api_key, authorization: stack.token } });
    texts.push(JSON.stringify(tested.body));
    const all = texts.join('\n') + logLines.join('');
    assert.ok(logLines.length > 0, 'the log was captured');
    assert.ok(!all.includes(clientSecret), 'the client secret appears in a response or the log');
    for (const a of seen()) assert.ok(!all.includes(a.replace('Bearer ', '')), 'a token appears in a response or the log');
    await rx.close();
    await tokens.close();
  });

  it('a token server refusing the client fails the attempt as rejected, saying why', async () => {
    const tokens = await startTokenServer('someone-else', 'x', 60);
    const rx = await startReceiver();
    const hook = await createWebhook(h, stack, rx.url, {
      disabled: true,
      destinations: [{ target_url: rx.url, access_token_url: tokens.url, client_id: 'herald', client_secret: `wrong-${rand()}`, custom_header: [] }],
    });
    const r = await h.request('POST', `/v3/webhooks/${hook.uid}/test`, { headers: { api_key: stack.api_key, authorization: stack.token } });
    assert.equal(r.body.test.outcome, 'rejected');
    assert.match(r.body.test.reason, /OAuth token request to http:\/\/127\.0\.0\.1:\d+\/oauth\/token was refused with HTTP 401: invalid_client/);
    assert.equal(rx.received.length, 0, 'nothing was sent without a token');
    await rx.close();
    await tokens.close();
  });

  it('refuses an incomplete OAuth destination, naming each field, and keeps the secret only for the same origins', async () => {
    const bad = await h.request('POST', '/v3/webhooks', {
      headers: { api_key: stack.api_key, authorization: stack.token },
      body: { webhook: { name: 'x', channels: ['*.*'], destinations: [{ target_url: 'http://127.0.0.1:9/x', authentication_type: 'OAuth2' }] } },
    });
    assert.equal(bad.status, 422);
    assert.deepEqual(Object.keys(bad.body.errors).sort(), ['destinations.0.access_token_url', 'destinations.0.client_id', 'destinations.0.client_secret']);

    const secret = `cs-${rand()}`;
    const hook = await createWebhook(h, stack, 'http://127.0.0.1:9/x', {
      disabled: true,
      destinations: [{ target_url: 'http://127.0.0.1:9/x', access_token_url: 'http://127.0.0.1:9/token', client_id: 'a', client_secret: secret, custom_header: [] }],
    });
    const shown = (await h.request('GET', `/v3/webhooks/${hook.uid}`, { headers: { api_key: stack.api_key, authorization: stack.token } })).body.webhook;
    // Sent back as fetched: kept.
    const same = await h.request('PUT', `/v3/webhooks/${hook.uid}`, { headers: { api_key: stack.api_key, authorization: stack.token }, body: { webhook: shown } });
    assert.equal(same.status, 200, JSON.stringify(same.body));
    const row = await h.herald.db.get<{ doc: string }>('SELECT doc FROM webhooks WHERE uid = ?', [hook.uid]);
    assert.equal(JSON.parse(row!.doc).destinations[0].client_secret, secret);
    // The token URL moved to another origin: the secret must be sent again.
    const moved = structuredClone(shown);
    moved.destinations[0].access_token_url = 'http://127.0.0.2:9/token';
    const r = await h.request('PUT', `/v3/webhooks/${hook.uid}`, { headers: { api_key: stack.api_key, authorization: stack.token }, body: { webhook: moved } });
    assert.equal(r.status, 422);
    assert.match(r.body.errors['destinations.0.client_secret'][0], /must be sent again in full: the access_token_url moved/);
  });

  it('sends a fixed bearer token (Contentstack\'s "Bearer" authentication)', async () => {
    const rx = await startReceiver();
    const token = `bt-${rand()}`;
    await createWebhook(h, stack, rx.url, { channels: ['content_types.blog.entries.delete'], destinations: [{ target_url: rx.url, authentication_type: 'Bearer', bearer_token: token, custom_header: [] }] });
    await emit(h, stack, { action: 'delete', uid: 'bltbearer' });
    await rx.waitFor(1);
    assert.equal(rx.received[0]!.headers.authorization, `Bearer ${token}`);
    await rx.close();
  });
});

describe('mutual TLS', () => {
  let h: TestHerald;
  let stack: Stack;
  before(async () => {
    h = await startHerald({ retryDelaysMs: [] });
    stack = await h.newStack();
  });
  after(() => h.close());

  it("a receiver that requires a client certificate accepts Herald's", async () => {
    const c = makeCertificates();
    const got: Array<{ cn: string | undefined; body: string }> = [];
    const server = createHttpsServer({ key: c.serverKey, cert: c.serverCert, ca: c.ca, requestCert: true, rejectUnauthorized: true }, async (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      got.push({ cn: [peer?.subject?.CN].flat()[0], body: await readBody(req) });
      res.end();
    });
    const port = await listen(server);
    const url = `https://127.0.0.1:${port}/hook`;
    const hook = await createWebhook(h, stack, url, {
      channels: ['content_types.blog.entries.publish'],
      destinations: [{ target_url: url, client_certificate: c.clientCert, client_key: c.clientKey, ca_certificate: c.ca, custom_header: [] }],
    });
    const shown = (await h.request('GET', `/v3/webhooks/${hook.uid}`, { headers: { api_key: stack.api_key, authorization: stack.token } })).body.webhook.destinations[0];
    assert.equal(shown.client_certificate, c.clientCert);
    assert.match(shown.client_key, /^\*\*\*\*/);
    assert.ok(!JSON.stringify(shown).includes(c.clientKey.slice(40, 80)));

    const event = await emit(h, stack, { action: 'publish', uid: 'bltmtls', environment: 'production' });
    await until(() => got.length >= 1, 10_000, 'the delivery over mutual TLS');
    assert.equal(got[0]!.cn, 'herald-client');
    assert.equal(JSON.parse(got[0]!.body).seq, event.seq);

    // Without the client certificate, the same receiver refuses the connection.
    const bare = await createWebhook(h, stack, url, { disabled: true, destinations: [{ target_url: url, ca_certificate: c.ca, custom_header: [] }] });
    const r = await h.request('POST', `/v3/webhooks/${bare.uid}/test`, { headers: { api_key: stack.api_key, authorization: stack.token } });
    assert.notEqual(r.body.test.outcome, 'success');
    assert.equal(got.length, 1);
    server.closeAllConnections();
    server.close();
  });

  it('refuses a key that is not the certificate\'s, and a certificate on an http target', async () => {
    const c = makeCertificates();
    const other = makeCertificates();
    const r = await h.request('POST', '/v3/webhooks', {
      headers: { api_key: stack.api_key, authorization: stack.token },
      body: { webhook: { name: 'x', channels: ['*.*'], destinations: [{ target_url: 'https://127.0.0.1:9/', client_certificate: c.clientCert, client_key: other.clientKey }] } },
    });
    assert.equal(r.status, 422);
    assert.deepEqual(r.body.errors['destinations.0.client_key'], ['is not the private key of client_certificate']);
    assert.ok(!JSON.stringify(r.body).includes(other.clientKey.slice(40, 80)));
    const plain = await h.request('POST', '/v3/webhooks', {
      headers: { api_key: stack.api_key, authorization: stack.token },
      body: { webhook: { name: 'x', channels: ['*.*'], destinations: [{ target_url: 'http://127.0.0.1:9/', client_certificate: c.clientCert, client_key: c.clientKey }] } },
    });
    assert.deepEqual(plain.body.errors['destinations.0.client_certificate'], ['applies to https targets only']);
  });
});

/** A CONNECT proxy on loopback that records the authority of each tunnel it opens. */
async function startConnectProxy() {
  const tunnels: string[] = [];
  const plainRequests: string[] = [];
  const open = new Set<Socket>();
  const server = createHttpServer((req, res) => {
    plainRequests.push(`${req.method} ${req.url}`);
    res.statusCode = 405;
    res.end();
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    tunnels.push(req.url!);
    const [host, port] = req.url!.replace(/^\[(.*)\](:\d+)$/, '$1$2').split(/:(?=\d+$)/);
    const upstream = netConnect({ host, port: Number(port) }, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    open.add(client).add(upstream);
    const drop = () => (client.destroy(), upstream.destroy());
    upstream.on('error', drop);
    client.on('error', drop);
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    plainRequests,
    close: async () => {
      for (const s of open) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('egress proxy', () => {
  it('sends every delivery through the CONNECT proxy', async () => {
    const proxy = await startConnectProxy();
    const h = await startHerald({ egressProxy: proxy.url, retryDelaysMs: [] });
    try {
      const stack = await h.newStack();
      const rx = await startReceiver();
      await createWebhook(h, stack, rx.url + '/via-proxy');
      await emit(h, stack, { uid: 'bltproxy1' });
      await emit(h, stack, { uid: 'bltproxy2' });
      await rx.waitFor(2);
      assert.ok(proxy.tunnels.length >= 1);
      for (const t of proxy.tunnels) assert.equal(t, `127.0.0.1:${rx.port}`);
      assert.deepEqual(proxy.plainRequests, []);
      assert.equal(rx.received[0]!.url, '/via-proxy');
      await rx.close();
    } finally {
      await h.close();
      await proxy.close();
    }
  });

  it('resolves and checks the target itself, tunnels to the checked address, and verifies TLS against the name', async () => {
    const proxy = await startConnectProxy();
    const cert = testCertificate();
    const server = createHttpsServer({ key: readFileSync(cert.keyFile), cert: cert.cert }, (_req, res) => res.end('over tls'));
    const port = await listen(server);
    const agents = [];
    try {
      // The name answers 127.0.0.1, which the policy allows: the tunnel asks for that address.
      const allowed = createDeliveryAgent(createTargetPolicy(['127.0.0.0/8']), { proxy: proxy.url, tls: { ca: cert.cert }, resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
      agents.push(allowed);
      const res = await request(`https://${TEST_HOST}:${port}/`, { dispatcher: allowed });
      assert.equal(await res.body.text(), 'over tls');
      assert.deepEqual(proxy.tunnels, [`127.0.0.1:${port}`]);

      // A name answering an address the policy refuses: no tunnel is asked for at all.
      const strict = createDeliveryAgent(createTargetPolicy([]), { proxy: proxy.url, resolve: async () => [{ address: '10.1.2.3', family: 4 }] });
      agents.push(strict);
      await assert.rejects(request('http://internal.example/', { dispatcher: strict }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'HERALD_BLOCKED_TARGET');
        assert.match(err.message, /private address \(10\.1\.2\.3\)/);
        return true;
      });
      assert.equal(proxy.tunnels.length, 1);
    } finally {
      await Promise.all(agents.map((a) => closeDeliveryAgent(a)));
      server.closeAllConnections();
      server.close();
      await proxy.close();
    }
  });
});
