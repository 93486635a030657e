/**
 * hostile-input.md "Target URLs" end to end: through the webhook API with the default policy (no
 * allow-list), every hostile URL is refused with a 422 naming `destinations.0.target_url` and the
 * reason, on create and on update; names that only resolve to forbidden addresses are accepted at
 * create time and refused at connect time, where the attempt is recorded as `blocked`. The pure
 * classification of each spelling is in target.test.ts; the agent on raw sockets in agent.test.ts.
 */
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, emit, executions, until, type Stack } from '../helpers/engine.ts';

/** [hostile URL, what the 422 must say about it] for cases 1-14, 18 and 19. */
const HOSTILE: Array<[string, RegExp]> = [
  // 1
  ['http://127.0.0.1/', /^is a loopback address \(127\.0\.0\.1\)$/],
  ['http://LOCALHOST/', /^is a local host name/],
  ['http://localhost./', /^is a local host name/],
  // 2
  ['http://0x7f.1/', /^is a loopback address \(127\.0\.0\.1\)$/],
  ['http://2130706433/', /^is a loopback address \(127\.0\.0\.1\)$/],
  ['http://0177.0.0.1/', /^is a loopback address \(127\.0\.0\.1\)$/],
  ['http://017700000001/', /^is a loopback address \(127\.0\.0\.1\)$/],
  ['http://0x7f000001/', /^is a loopback address \(127\.0\.0\.1\)$/],
  ['http://127.1/', /^is a loopback address \(127\.0\.0\.1\)$/],
  // 3
  ['http://012.0.0.1/', /^is a private address \(10\.0\.0\.1\)$/],
  // 4
  ['http://0/', /^is an unspecified address \(0\.0\.0\.0\)$/],
  ['http://0.0.0.0/', /^is an unspecified address \(0\.0\.0\.0\)$/],
  // 5
  ['http://[::1]/', /^is a loopback address \(::1\)$/],
  ['http://[::]/', /^is the unspecified address/],
  // 6
  ['http://[::ffff:127.0.0.1]/', /^is a loopback address \(127\.0\.0\.1\)$/],
  ['http://[0:0:0:0:0:ffff:7f00:1]/', /^is a loopback address \(127\.0\.0\.1\)$/],
  // 7
  ['http://[::ffff:169.254.169.254]/', /^is a cloud metadata address \(169\.254\.169\.254\)$/],
  // 8
  ['http://[::127.0.0.1]/', /^is an IPv4-compatible IPv6 address .* loopback address \(127\.0\.0\.1\)$/],
  // 9
  ['http://[64:ff9b::a9fe:a9fe]/', /^is a NAT64 address .*cloud metadata/],
  ['http://[2002:a9fe:a9fe::]/', /^is a 6to4 address .*cloud metadata/],
  // 10 (the URL parser rejects zone ids outright)
  ['http://[fd00::1]/', /^is a unique local \(private\) address/],
  ['http://[fe80::1]/', /^is a link-local address/],
  ['http://[fe80::1%25eth0]/', /^is not a valid URL$/],
  // 11
  ['http://169.254.169.254/latest/meta-data/', /^is a cloud metadata address \(169\.254\.169\.254\)$/],
  ['http://169.254.170.2/', /^is a cloud metadata address/],
  ['http://100.100.100.200/', /^is a cloud metadata address/],
  ['http://192.0.0.192/', /^is a cloud metadata address/],
  ['http://metadata.google.internal/computeMetadata/v1/', /^is a cloud metadata host name/],
  // 12
  ['http://100.64.0.1/', /^is a shared \(carrier-grade NAT\) address/],
  ['http://198.18.0.1/', /^is a benchmarking address/],
  ['http://192.0.0.8/', /^is an IETF protocol assignment address/],
  ['http://240.0.0.1/', /^is a reserved address/],
  ['http://255.255.255.255/', /^is the broadcast address/],
  ['http://224.0.0.1/', /^is a multicast address/],
  ['http://10.0.0.1/', /^is a private address/],
  ['http://172.16.0.1/', /^is a private address/],
  ['http://192.168.1.1/', /^is a private address/],
  // 13
  ['http://%31%32%37.0.0.1/', /^is a loopback address \(127\.0\.0\.1\)$/],
  ['http://①②⑦.0.0.1/', /^is a loopback address \(127\.0\.0\.1\)$/],
  // 14
  ['http://127.0.0.1:80@evil.example/', /^must not contain credentials/],
  ['http://user:pass@hooks.example.com/', /^must not contain credentials/],
  // 18
  ['file:///etc/passwd', /^must use http, https, amqp, nats or redis \(not file:\)$/],
  ['gopher://evil.example:70/_x', /^must use http, https, amqp, nats or redis \(not gopher:\)$/],
  ['ftp://evil.example/', /^must use http, https, amqp, nats or redis \(not ftp:\)$/],
  ['data:text/plain,hello', /^must use http, https, amqp, nats or redis \(not data:\)$/],
  ['javascript:alert(1)', /^must use http, https, amqp, nats or redis \(not javascript:\)$/],
  // 19
  ['http://hooks.example.com/a\r\nX-Injected: 1', /^must not contain line breaks or control characters$/],
  ['http://hooks.example.com/\n', /^must not contain line breaks or control characters$/],
  ['http://hooks.example.com/\tx', /^must not contain line breaks or control characters$/],
];

const FIELD = 'destinations.0.target_url';
/** What a refusal the operator could lift adds: the setting that lifts it (asserted on its own below). */
const HINT = /; (to allow it|use the address instead).*HERALD_ALLOW_PRIVATE_TARGETS.*$/;
const reasonOf = (problem: string) => problem.replace(HINT, '');

function webhookBody(url: string) {
  return { webhook: { name: 'hostile', channels: ['*.*'], destinations: [{ target_url: url }] } };
}

describe('hostile target URLs through the webhook API (default policy: no private targets)', () => {
  let h: TestHerald;
  let stack: Stack;
  let headers: Record<string, string>;
  before(async () => {
    h = await startHerald({ allowPrivateTargets: [], retryDelaysMs: [50] });
    stack = await h.newStack();
    headers = { api_key: stack.api_key, authorization: stack.token };
  });
  after(() => h.close());

  it('refuses every hostile URL on create with a 422 naming the field and the reason', async () => {
    for (const [url, reason] of HOSTILE) {
      const r = await h.request('POST', '/v3/webhooks', { headers, body: webhookBody(url) });
      assert.equal(r.status, 422, `${JSON.stringify(url)} was accepted: ${JSON.stringify(r.body)}`);
      assert.deepEqual(Object.keys(r.body.errors), [FIELD], JSON.stringify(url));
      assert.match(reasonOf(r.body.errors[FIELD][0]), reason, JSON.stringify(url));
      assert.equal(r.body.error_message, `${FIELD} ${r.body.errors[FIELD][0]}`);
    }
    const list = await h.request('GET', '/v3/webhooks', { headers });
    assert.deepEqual(list.body.webhooks, [], 'nothing was created');
  });

  it('refuses every hostile URL on update and keeps the stored URL', async () => {
    const good = await h.request('POST', '/v3/webhooks', { headers, body: webhookBody('https://hooks.example.com/ok') });
    assert.equal(good.status, 201);
    const uid = good.body.webhook.uid;
    for (const [url, reason] of HOSTILE) {
      const r = await h.request('PUT', `/v3/webhooks/${uid}`, { headers, body: { webhook: { destinations: [{ target_url: url }] } } });
      assert.equal(r.status, 422, `${JSON.stringify(url)} was accepted on update`);
      assert.match(reasonOf(r.body.errors[FIELD][0]), reason, JSON.stringify(url));
    }
    const after = await h.request('GET', `/v3/webhooks/${uid}`, { headers });
    assert.equal(after.body.webhook.destinations[0].target_url, 'https://hooks.example.com/ok');
    await h.request('DELETE', `/v3/webhooks/${uid}`, { headers });
  });

  it('refuses hostile custom headers with a 422 naming the header field (cases 19-21)', async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ custom_header: [{ header_name: 'X-Ok', value: 'a\r\nX-Injected: 1' }] }, 'destinations.0.custom_header.0.value', /line breaks/],
      [{ custom_header: [{ header_name: 'X-Bad\r\nX-Injected', value: 'a' }] }, 'destinations.0.custom_header.0.header_name', /line breaks/],
      [{ custom_header: [{ header_name: 'Host', value: 'internal.example' }] }, 'destinations.0.custom_header.0.header_name', /cannot be overridden/],
      [{ custom_header: [{ header_name: 'Content-Length', value: '0' }] }, 'destinations.0.custom_header.0.header_name', /cannot be overridden/],
      [{ custom_header: [{ header_name: 'Transfer-Encoding', value: 'chunked' }] }, 'destinations.0.custom_header.0.header_name', /cannot be overridden/],
      [{ custom_header: [{ header_name: 'webhook-signature', value: 'v1,forged' }] }, 'destinations.0.custom_header.0.header_name', /cannot be overridden/],
      [
        { http_basic_auth: 'site', http_basic_password: 'pw-123456789', custom_header: [{ header_name: 'Authorization', value: 'Bearer x' }] },
        'destinations.0.custom_header.0.header_name',
        /while basic auth is set/,
      ],
      [{ custom_header: Array.from({ length: 51 }, (_, i) => ({ header_name: `X-H${i}`, value: 'v' })) }, 'destinations.0.custom_header', /more than 50/],
      [{ custom_header: [{ header_name: 'X-Big', value: 'x'.repeat(8 * 1024 + 1) }] }, 'destinations.0.custom_header.0.value', /8 KiB/],
    ];
    for (const [dest, field, problem] of cases) {
      const r = await h.request('POST', '/v3/webhooks', {
        headers,
        body: { webhook: { name: 'h', channels: ['*.*'], destinations: [{ target_url: 'https://hooks.example.com/h', ...dest }] } },
      });
      assert.equal(r.status, 422, `${field}: ${JSON.stringify(r.body).slice(0, 300)}`);
      assert.ok(r.body.errors[field], `${field} not in ${JSON.stringify(r.body.errors)}`);
      assert.match(r.body.errors[field].join(' '), problem);
    }
  });

  it('refuses localhost by name at create time, whatever it resolves to', async () => {
    const rx = await startReceiver();
    const r = await h.request('POST', '/v3/webhooks', { headers, body: webhookBody(`http://localhost:${rx.port}/hook`) });
    assert.equal(r.status, 422);
    assert.match(r.body.errors[FIELD][0], /^is a local host name/);
    assert.match(r.body.errors[FIELD][0], /use the address instead \(http:\/\/127\.0\.0\.1:\.\.\.\) and start Herald with HERALD_ALLOW_PRIVATE_TARGETS=127\.0\.0\.0\/8/);
    await rx.close();
  });

  it('names the setting that allows a loopback or private receiver, and none for cloud metadata', async () => {
    const loopback = await h.request('POST', '/v3/webhooks', { headers, body: webhookBody('http://127.0.0.1:3000/hook') });
    assert.equal(loopback.status, 422);
    assert.equal(
      loopback.body.error_message,
      `${FIELD} is a loopback address (127.0.0.1); to allow it, start Herald with HERALD_ALLOW_PRIVATE_TARGETS=127.0.0.0/8 (or --allow-private-targets)`,
    );
    const lan = await h.request('POST', '/v3/webhooks', { headers, body: webhookBody('http://192.168.1.20/hook') });
    assert.match(lan.body.errors[FIELD][0], /HERALD_ALLOW_PRIVATE_TARGETS=192\.168\.1\.20\/32/);
    const metadata = await h.request('POST', '/v3/webhooks', { headers, body: webhookBody('http://169.254.169.254/') });
    assert.equal(metadata.body.errors[FIELD][0], 'is a cloud metadata address (169.254.169.254)');
  });

  it('accepts a name that resolves to loopback, then records each attempt as blocked and the receiver sees nothing (case 15)', async (t) => {
    const name = hostname();
    const answers = await lookup(name, { all: true }).catch(() => []);
    if (answers.length === 0 || !answers.every((a) => a.address.startsWith('127.') || a.address === '::1')) {
      t.skip(`${name} does not resolve to loopback on this machine`);
      return;
    }
    const rx = await startReceiver();
    const s = await h.newStack();
    const hook = await createWebhook(h, s, `http://${name}:${rx.port}/hook`);
    await emit(h, s);
    const ex = await until(async () => (await executions(h, s, hook.uid)).find((x) => x.state === 'failed'), 10_000, 'failed execution');
    assert.equal(ex.outcome, 'blocked');
    assert.equal(ex.request_details.length, 2, 'retried on schedule like any failure');
    for (const a of ex.request_details) {
      assert.equal(a.outcome, 'blocked', 'blocked, not a network error');
      assert.match(a.reason, new RegExp(`^target address refused by policy: Herald refused to connect to ${name}: it resolves to an address that is a loopback address`));
      assert.deepEqual(a.response, { status: null });
    }
    // A test call is refused the same way, as a 422 naming the field.
    const test = await h.request('POST', `/v3/webhooks/${hook.uid}/test`, { headers: { api_key: s.api_key, authorization: s.token } });
    assert.equal(test.status, 422);
    assert.deepEqual(test.body.errors, { [FIELD]: ['resolves to an address that is a loopback address (127.0.0.1)'] });
    assert.equal(rx.received.length, 0);
    await rx.close();
  });
});

describe('the delivery path uses the configured policy', () => {
  it('delivers to a loopback name when the operator allows loopback, and blocks it after a restart without the allow-list', async (t) => {
    const name = hostname();
    const answers = await lookup(name, { all: true }).catch(() => []);
    const viaName = answers.length > 0 && answers.every((a) => a.address.startsWith('127.'));
    const rx = await startReceiver();
    const permissive = await startHerald({ allowPrivateTargets: ['127.0.0.0/8'], retryDelaysMs: [] });
    const dataDir = permissive.dataDir;
    const s = await permissive.newStack();
    const byAddress = await createWebhook(permissive, s, `${rx.url}/literal`);
    const byName = viaName ? await createWebhook(permissive, s, `http://${name}:${rx.port}/named`) : null;
    if (!viaName) t.diagnostic(`${name} does not resolve to loopback here; checking the IP literal only`);
    await emit(permissive, s, { uid: 'bltAllowed' });
    await rx.waitFor(viaName ? 2 : 1);
    assert.deepEqual(rx.received.map((r) => r.url).sort(), viaName ? ['/literal', '/named'] : ['/literal']);
    await permissive.close();

    // Same data, no allow-list: the stored webhooks were valid when saved; the connect-time check
    // refuses them now.
    const strict = await startHerald({ allowPrivateTargets: [], retryDelaysMs: [] }, dataDir);
    try {
      await emit(strict, s, { uid: 'bltRefused' });
      for (const hook of [byAddress, byName]) {
        if (!hook) continue;
        const ex = await until(
          async () => (await executions(strict, s, hook.uid)).find((x) => x.entity_uid === 'bltRefused' && x.state === 'failed'),
          10_000,
          `blocked execution of ${hook.uid}`,
        );
        assert.equal(ex.outcome, 'blocked');
        assert.match(ex.reason, /loopback address \(127\.0\.0\.1\)/);
      }
      const test = await strict.request('POST', `/v3/webhooks/${byAddress.uid}/test`, { headers: { api_key: s.api_key, authorization: s.token } });
      assert.equal(test.status, 422, 'a test call to a target the policy now refuses');
      assert.deepEqual(test.body.errors, {
        [FIELD]: ['is a loopback address (127.0.0.1); to allow it, start Herald with HERALD_ALLOW_PRIVATE_TARGETS=127.0.0.0/8 (or --allow-private-targets)'],
      });
      assert.equal(rx.received.length, viaName ? 2 : 1, 'nothing more reached the receiver');
    } finally {
      await strict.close();
      await rx.close();
    }
  });
});
