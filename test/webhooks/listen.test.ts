import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, emit, executions, until } from '../helpers/engine.ts';
import { testBackends } from '../helpers/postgres.ts';

/**
 * How long a listener may take to start and connect, ms: a child process compiling src/cli.ts with
 * tsx took ~20 s on a 2-core machine at load ~13 (the whole suite, two files at a time).
 */
const LISTENER_START_MS = 60_000;

/** `herald listen` as a real child process; its output lines are collected. */
function spawnListen(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'listen', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buf = '';
  const onData = (c: Buffer) => {
    buf += c.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, lines, exited, stop: (signal: NodeJS.Signals = 'SIGTERM') => (child.kill(signal), exited) };
}

/**
 * `herald listen` (issue #19 item 4, acceptance 3): Herald on one port, a local receiver on another,
 * the listener (a child process) relaying between them over its outbound WebSocket. Herald here may
 * not call private or loopback addresses at all: the relay works without bending that rule.
 */
for (const backend of await testBackends()) describe(`herald listen on ${backend}`, () => {
  let h: TestHerald;
  const children: ChildProcess[] = [];
  before(async () => {
    h = await startHerald({ backend, allowPrivateTargets: [], retryDelaysMs: [300, 5_000, 5_000, 5_000, 5_000] });
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await h.close();
  });

  it('relays a delivery of a temporary webhook to the local receiver exactly as Herald would send it, logs the local answer as the attempt, and removes the webhook on exit', async () => {
    const rx = await startReceiver((_r, res) => {
      res.statusCode = 201;
      res.setHeader('x-local', 'yes');
      res.end('local receiver got it');
    });
    const stack = await h.newStack();
    const headers = { api_key: stack.api_key, authorization: stack.token };
    // A loopback URL is refused as a webhook target on this Herald: the relay is the only way in.
    const direct = await h.request('POST', '/v3/webhooks', { headers, body: { webhook: { name: 'direct', destinations: [{ target_url: rx.url }], channels: ['assets.create'] } } });
    assert.equal(direct.status, 422);

    const l = spawnListen(['--to', `${rx.url}/hook`, '--channels', 'content_types.entries.update', '--url', h.url], { HERALD_API_KEY: stack.api_key, HERALD_TOKEN: stack.token });
    children.push(l.child);
    const ready = await until(() => l.lines.find((x) => x.includes('relaying temporary webhook')), LISTENER_START_MS, `the listener to connect: ${l.lines.join('\n')}`);
    const uid = /webhook (\w+) /.exec(ready!)![1];
    const listed = await h.request('GET', '/v3/webhooks', { headers });
    const temp = listed.body.webhooks.find((w: { uid: string }) => w.uid === uid);
    assert.equal(temp.destinations[0].target_url, 'relay:');

    await emit(h, stack, { uid: 'bltListen1' });
    await rx.waitFor(1, 15_000);
    const got = rx.received[0];
    assert.equal(got.method, 'POST');
    assert.equal(got.url, '/hook');
    assert.equal(got.headers['x-herald-event'], 'entry.update');
    assert.equal(got.json.data.entry.uid, 'bltListen1');
    // Signed as Herald signs every delivery: the receiver verifies it with the webhook's secret.
    const secret = (await h.request('GET', `/v3/webhooks/${uid}/secret`, { headers })).body.signing_secret;
    new StandardWebhook(secret).verify(got.body, { 'webhook-id': String(got.headers['webhook-id']), 'webhook-timestamp': String(got.headers['webhook-timestamp']), 'webhook-signature': String(got.headers['webhook-signature']) });

    // The activity log shows the local receiver's answer as the attempt.
    const x = await until(async () => (await executions(h, stack, uid)).find((e) => e.state === 'succeeded'), 10_000, 'the logged attempt');
    assert.equal(x!.uid, got.headers['webhook-id']);
    assert.equal(x!.status, 201);
    const attempt = x!.request_details[0];
    assert.equal(attempt.response.status, 201);
    assert.equal(attempt.response.body, 'local receiver got it');
    assert.equal(attempt.response.headers['x-local'], 'yes');
    assert.equal(attempt.request.body, got.body, 'the log shows the body the local receiver got');
    assert.ok(l.lines.some((line) => line.includes('entry.update') && line.includes('201')), 'the listener prints each delivery');

    assert.equal(await l.stop(), 0);
    await until(async () => !(await h.request('GET', '/v3/webhooks', { headers })).body.webhooks.some((w: { uid: string }) => w.uid === uid), 10_000, 'the temporary webhook to go');
    await rx.close();
  });

  it('fails and retries a relay webhook delivery while nobody listens, then delivers it once a listener connects', async () => {
    const rx = await startReceiver();
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, 'relay:', { channels: ['content_types.entries.update'] });
    await emit(h, stack, { uid: 'bltListen2' });
    const waiting = await until(async () => (await executions(h, stack, hook.uid)).find((e) => e.attempts >= 1), 10_000, 'a failed attempt');
    assert.equal(waiting!.state, 'pending');
    assert.match(waiting!.reason, /no herald listen is connected/);

    const l = spawnListen(['--to', rx.url, '--webhook', hook.uid, '--url', h.url], { HERALD_API_KEY: stack.api_key, HERALD_TOKEN: stack.token });
    children.push(l.child);
    await until(async () => (await h.request('GET', '/v3/webhooks/listen', { headers: { api_key: stack.api_key, authorization: stack.token } })).body.relay_webhooks[0]?.listeners === 1, LISTENER_START_MS, 'the listener');
    await rx.waitFor(1, 15_000);
    assert.equal(rx.received[0].json.data.entry.uid, 'bltListen2');
    await until(async () => (await executions(h, stack, hook.uid)).find((e) => e.state === 'succeeded'), 10_000, 'the delivery to succeed');
    assert.equal(await l.stop(), 0);
    // A webhook of its own stays when its listener goes.
    assert.equal((await h.request('GET', `/v3/webhooks/${hook.uid}`, { headers: { api_key: stack.api_key, authorization: stack.token } })).status, 200);
    await rx.close();
  });

  it('refuses to listen to a webhook that sends over HTTP, and a wrong token, with the reason', async () => {
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, 'https://example.com/hook', { channels: ['assets.create'] });
    const l = spawnListen(['--to', 'http://127.0.0.1:9/x', '--webhook', hook.uid, '--url', h.url], { HERALD_API_KEY: stack.api_key, HERALD_TOKEN: stack.token });
    children.push(l.child);
    assert.equal(await l.exited, 2);
    assert.ok(l.lines.some((x) => /HTTP 422.*only a relay webhook/.test(x)), l.lines.join('\n'));
    const bad = spawnListen(['--to', 'http://127.0.0.1:9/x', '--channels', 'assets.create', '--url', h.url], { HERALD_API_KEY: stack.api_key, HERALD_TOKEN: 'not-a-token' });
    children.push(bad.child);
    assert.equal(await bad.exited, 2);
    assert.ok(bad.lines.some((x) => /HTTP 401/.test(x)), bad.lines.join('\n'));
    const plain = await h.request('GET', '/v3/webhooks/listen', { headers: { api_key: stack.api_key, authorization: stack.token } });
    assert.equal(plain.status, 200);
    assert.deepEqual(plain.body.relay_webhooks, [], 'without Upgrade: the relay webhooks (none here)');
  });
});
