import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { progressLine } from '../../src/delivery/replay-cli.ts';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { until } from '../helpers/engine.ts';

/** Runs `herald replay` (src/cli.ts) as a user would; `tty` runs it under script(1), on a pseudo-terminal. */
function herald(args: string[], env: Record<string, string>, tty = false): Promise<{ code: number | null; out: string; err: string }> {
  const argv = [process.execPath, '--import', 'tsx', 'src/cli.ts', ...args];
  const child = tty
    ? spawn('script', ['-qec', argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' '), '/dev/null'], { env: { ...process.env, ...env, COLUMNS: '100' } })
    : spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}

describe('herald replay (the command line)', () => {
  let h: TestHerald;
  let api_key: string;
  let token: string;
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  let hook: string;
  let from = 0;
  const headers = () => ({ api_key, authorization: token });
  const env = () => ({ HERALD_TOKEN: token });
  const failedCount = async () => (await h.request('GET', `/v3/webhooks/${hook}/executions?state=failed&limit=1`, { headers: headers() })).body.count as number;

  before(async () => {
    h = await startHerald({ retryDelaysMs: [], circuitBreakerThreshold: 0 });
    ({ api_key, token } = await h.newStack('CLI site'));
    rx = await startReceiver((_r, res) => void (res.statusCode = 500));
    const w = await h.request('POST', '/v3/webhooks', { headers: headers(), body: { webhook: { name: 'cli', destinations: [{ target_url: rx.url }], channels: ['content_types.entries.create'] } } });
    hook = w.body.webhook.uid;
    await h.request('POST', '/v3/content_types', { headers: headers(), body: { content_type: { title: 'Note', uid: 'note', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } } });
    from = Date.now();
    for (let i = 0; i < 6; i++) assert.equal((await h.request('POST', '/v3/content_types/note/entries', { headers: headers(), body: { entry: { title: `Note ${i}` } } })).status, 201);
    await until(async () => (await failedCount()) === 6, 30_000, 'six failed executions');
  });
  after(async () => {
    await h.close();
    await rx.close();
  });

  test('draws a bar of the progress, or says it in words', () => {
    const job = { uid: 'rpl_x', state: 'running' as const, total: 8, done: 2, succeeded: 1, failed: 1 };
    assert.equal(progressLine(job, 8), '[##------] 2/8 done (1 succeeded, 1 failed)');
    assert.equal(progressLine(job), 'replay rpl_x: running, 2/8 done (1 succeeded, 1 failed)');
    assert.equal(progressLine({ ...job, total: 0, done: 0, succeeded: 0, failed: 0, state: 'done' }, 4), '[####] 0/0 done (0 succeeded, 0 failed)');
  });

  test('exits 1 when executions fail again, 0 once a replay delivered everything, with plain lines off a terminal', async () => {
    const args = ['replay', '--url', h.url, '--api-key', api_key, '--webhook', hook, '--from', new Date(from).toISOString(), '--mode', 'failed'];
    // The receiver is still down: every replayed execution fails again.
    const still = await herald(args, env());
    assert.equal(still.code, 1, still.out + still.err);
    assert.match(still.out, /6\/6 done \(0 succeeded, 6 failed\)/);
    assert.match(still.out, /6 executions failed again/);
    assert.equal(await failedCount(), 6);

    rx.respond = undefined;
    const seen = rx.received.length;
    const r = await herald(args, env());
    assert.equal(r.code, 0, r.out + r.err);
    const lines = r.out.trim().split('\n');
    assert.match(lines[0], /^replay rpl_\S+ of webhook \S+ \(failed\): 6 executions$/);
    assert.match(lines.at(-1)!, /^replay rpl_\S+: done, 6\/6 done \(6 succeeded, 0 failed\)$/);
    assert.ok(!r.out.includes('\r'), 'no terminal control off a terminal');
    assert.equal(rx.received.length - seen, 6);
    assert.equal(await failedCount(), 0);
  });

  test('on a terminal it draws a progress bar', async () => {
    const r = await herald(['replay', '--url', h.url, '--api-key', api_key, '--webhook', hook, '--from', String(from), '--mode', 'events'], env(), true);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /\r\[#+\] 6\/6 done \(6 succeeded, 0 failed\)/);
  });

  test('exits 2 with the reason when Herald refuses the replay', async () => {
    const unknown = await herald(['replay', '--url', h.url, '--api-key', api_key, '--webhook', 'bltnope', '--from', String(from)], env());
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /herald replay: 404 .*Webhook/);
    const range = await herald(['replay', '--url', h.url, '--api-key', api_key, '--webhook', hook, '--from', '2020-01-01'], env());
    assert.equal(range.code, 2);
    assert.match(range.err, /422 .*\(to must be at most 31 days after from/);
    const noToken = await herald(['replay', '--url', h.url, '--api-key', api_key, '--webhook', hook, '--from', String(from)], { HERALD_TOKEN: '' });
    assert.equal(noToken.code, 2, noToken.err);
  });
});
