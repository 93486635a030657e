import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { createTargetPolicy } from '../../src/net/target.ts';
import type { OutgoingRequest } from '../../src/delivery/request.ts';
import { createHttpTransport } from '../../src/delivery/transports/http.ts';
import { senderBundle } from '../../src/delivery/transports/sender-bundle.ts';
import { createThreadedHttpTransport } from '../../src/delivery/transports/threaded.ts';
import { senderIdleMs, type Transport } from '../../src/delivery/transports/transport.ts';
import { ADMIN_TOKEN, startHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, emit, executions, PROCESS_START_MS, sleep, until } from '../helpers/engine.ts';
import { testBackends } from '../helpers/postgres.ts';

// Asked before any test is registered: test/run.ts passes --test-force-exit, which ends a file once
// the tests registered so far have ended, so tests registered after a top-level await can be dropped.
const backends = await testBackends();

/**
 * Sender threads (config.senderThreads, src/delivery/transports/threaded.ts): plain HTTP attempts
 * are sent from worker threads, each with its own guarded agent, and their records come back as
 * the in-process transport makes them; OAuth and client-certificate destinations stay on the main
 * thread; shutdown waits for (or cuts) what the threads have in flight.
 */
const silent = pino({ level: 'silent' });

/** A log destination keeping every line. */
function logLines() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, stream };
}

function request(url: string, over: Partial<OutgoingRequest> = {}): OutgoingRequest {
  return { url, headers: { 'content-type': 'application/json' }, body: '{"hello":"world"}', logged: { method: 'POST', url, headers: {} }, ...over };
}

/** The in-process transport, counting what it is given: what the threads did not send. */
function counted(policy = createTargetPolicy(['127.0.0.0/8'])) {
  const inner = createHttpTransport({ policy, connections: 16 });
  const seen: string[] = [];
  const t: Transport = {
    send: (req, ms) => (seen.push(req.url), inner.send(req, ms)),
    close: (force) => inner.close(force),
  };
  return { t, seen };
}

describe('the threaded HTTP transport', () => {
  it('sends plain HTTP attempts from its threads and returns each record: status, Retry-After, the response scrubbed of secrets', async () => {
    const rx = await startReceiver((r, res) => {
      if (r.url === '/busy') {
        res.statusCode = 503;
        res.setHeader('retry-after', '7');
      }
      // Echoes the request's secret header, as a careless receiver might.
      res.setHeader('x-echo', String(r.headers['x-token']));
      res.end(`got ${r.body} with ${r.headers['x-token']}`);
    });
    const fallback = counted();
    const t = createThreadedHttpTransport({ policy: createTargetPolicy(['127.0.0.0/8']), threads: 2, startRate: 0, busy: 0, connections: 16, fallback: fallback.t, log: silent });
    try {
      assert.equal(await t.started(), true);
      const secret = 'tok-secret-value-123';
      const ok = request(rx.url + '/ok', { headers: { 'content-type': 'application/json', 'x-token': secret }, secrets: [secret] });
      const records = await Promise.all([t.send(ok, 5_000), t.send(request(rx.url + '/busy'), 5_000), ...Array.from({ length: 40 }, () => t.send(request(rx.url + '/many'), 5_000))]);
      assert.deepEqual(fallback.seen, [], 'nothing went through the main thread');
      assert.equal(rx.received.length, 42);
      const [first, busy] = records;
      assert.equal(first.outcome, 'success');
      assert.equal(first.status_code, 200);
      assert.equal(first.reason, null);
      assert.equal(first.response?.body, 'got {"hello":"world"} with ****');
      assert.equal(first.response?.headers['x-echo'], '****');
      assert.ok(first.duration_ms >= 0 && Math.abs(first.started_at - Date.now()) < 10_000);
      assert.equal(busy.outcome, 'http_error');
      assert.equal(busy.status_code, 503);
      assert.equal(busy.retry_after_ms, 7_000);
      assert.equal(busy.reason, 'HTTP 503');
      assert.ok(records.slice(2).every((r) => r.outcome === 'success'));
      // The receiver saw the request as sent: headers and body.
      const got = rx.received.find((r) => r.url === '/ok')!;
      assert.equal(got.headers['x-token'], secret);
      assert.equal(got.body, '{"hello":"world"}');
    } finally {
      await t.close();
      await rx.close();
    }
  });

  it('sends each attempt its own body when one batch carries bodies shared by several attempts and bodies of one each', async () => {
    const rx = await startReceiver((_r, res) => void res.end('ok'));
    const fallback = counted();
    const t = createThreadedHttpTransport({ policy: createTargetPolicy(['127.0.0.0/8']), threads: 1, startRate: 0, busy: 0, connections: 16, fallback: fallback.t, log: silent });
    try {
      assert.equal(await t.started(), true);
      // An event's fan-out shares one body (the same string); multi-byte characters, so a body sent
      // with another's length or bytes would show.
      const shared = JSON.stringify({ event: 'shared', title: 'café ☕' });
      const withBytes = JSON.stringify({ own: 'bytes', title: 'naïve 🚀' });
      Buffer.from('{"pool":"neighbour"}'); // the pool's next bytes are not withBytes'
      const afterGet = '{"after":"get"}';
      const sends = [
        ...[1, 2, 3].map((i) => t.send(request(`${rx.url}/shared/${i}`, { body: shared }), 5_000)),
        t.send(request(`${rx.url}/own/a`, { body: '{"own":"a","é":1}' }), 5_000),
        t.send(request(`${rx.url}/shared/chunked`, { body: shared, chunked: true }), 5_000),
        t.send(request(`${rx.url}/own/b`, { body: '{"own":"b"}' }), 5_000),
        t.send(request(`${rx.url}/get`, { body: shared, method: 'GET' }), 5_000),
        // With its bytes, as buildRequest makes a request: a small Buffer is a view into Node's
        // shared pool, at an offset, so a body taken with the pool's other bytes would show.
        t.send(request(`${rx.url}/bytes`, { body: withBytes, bodyBytes: Buffer.from(withBytes) }), 5_000),
        t.send(request(`${rx.url}/shared/4`, { body: shared, bodyBytes: Buffer.from(shared) }), 5_000),
        // A GET and then a POST of the same text: the POST sends it, whatever the GET did not.
        t.send(request(`${rx.url}/get/2`, { body: afterGet, method: 'GET' }), 5_000),
        t.send(request(`${rx.url}/after-get`, { body: afterGet }), 5_000),
      ];
      const records = await Promise.all(sends);
      assert.ok(records.every((r) => r.outcome === 'success'), JSON.stringify(records.map((r) => r.reason)));
      assert.deepEqual(fallback.seen, [], 'nothing went through the main thread');
      const got = new Map(rx.received.map((r) => [r.url, r]));
      for (const url of ['/shared/1', '/shared/2', '/shared/3', '/shared/4', '/shared/chunked']) {
        assert.equal(got.get(url)?.body, shared, url);
        if (url !== '/shared/chunked') assert.equal(got.get(url)?.headers['content-length'], String(Buffer.byteLength(shared)), url);
      }
      assert.equal(got.get('/shared/chunked')?.headers['transfer-encoding'], 'chunked');
      assert.equal(got.get('/own/a')?.body, '{"own":"a","é":1}');
      assert.equal(got.get('/own/b')?.body, '{"own":"b"}');
      assert.equal(got.get('/bytes')?.body, withBytes);
      assert.equal(got.get('/bytes')?.headers['content-length'], String(Buffer.byteLength(withBytes)));
      assert.equal(got.get('/get')?.body, '', 'a GET carries no body');
      assert.equal(got.get('/get/2')?.body, '', 'a GET carries no body');
      assert.equal(got.get('/after-get')?.body, '{"after":"get"}');
    } finally {
      await t.close();
      await rx.close();
    }
  });

  it('applies the address policy in the thread, to the address connected to: a private target it does not allow is blocked and gets nothing', async () => {
    const rx = await startReceiver();
    // The policy allows nothing private: 127.0.0.1 is refused (no fallback either).
    const fallback = counted(createTargetPolicy([]));
    const t = createThreadedHttpTransport({ policy: createTargetPolicy([]), threads: 1, startRate: 0, busy: 0, connections: 16, fallback: fallback.t, log: silent });
    try {
      assert.equal(await t.started(), true);
      const r = await t.send(request(rx.url + '/private'), 5_000);
      assert.equal(r.outcome, 'blocked');
      assert.match(r.reason ?? '', /loopback address \(127\.0\.0\.1\)/);
      assert.deepEqual(fallback.seen, []);
      assert.equal(rx.received.length, 0);
    } finally {
      await t.close();
      await rx.close();
    }
  });

  it('enforces the attempt deadline in the thread: a receiver that never answers is a timeout', async () => {
    const held: Array<() => void> = [];
    const rx = await startReceiver(() => new Promise<void>((r) => held.push(r)));
    const fallback = counted();
    const t = createThreadedHttpTransport({ policy: createTargetPolicy(['127.0.0.0/8']), threads: 1, startRate: 0, busy: 0, connections: 16, fallback: fallback.t, log: silent });
    try {
      assert.equal(await t.started(), true);
      const started = Date.now();
      const r = await t.send(request(rx.url + '/hang'), 300);
      assert.equal(r.outcome, 'timeout');
      assert.equal(r.reason, 'no complete response within 300 ms');
      assert.ok(r.duration_ms >= 300, `ended after ${r.duration_ms} ms`);
      assert.ok(Date.now() - started < 5_000);
      assert.deepEqual(fallback.seen, []);
    } finally {
      for (const h of held) h();
      await t.close();
      await rx.close();
    }
  });

  it("returns with each record its thread's idle time over the attempt, which the adaptive limit reads as the receiver's part", async () => {
    const rx = await startReceiver(async () => void (await sleep(300)));
    const fallback = counted();
    const t = createThreadedHttpTransport({ policy: createTargetPolicy(['127.0.0.0/8']), threads: 1, startRate: 0, busy: 0, connections: 16, fallback: fallback.t, log: silent });
    try {
      assert.equal(await t.started(), true);
      // One attempt first: the thread's first one compiles its send path and connects, busy time that
      // a loaded machine stretches past half the receiver's 300 ms (failed at load ~11); the one
      // measured is a warm thread's, as a thread's attempts are past its first.
      assert.equal((await t.send(request(rx.url + '/warm'), 5_000)).outcome, 'success');
      const r = await t.send(request(rx.url + '/slow'), 5_000);
      assert.equal(r.outcome, 'success');
      const idle = senderIdleMs(r);
      // The thread waited for the receiver's 300 ms with nothing else to do.
      assert.ok(idle >= 150 && idle <= r.duration_ms + 20, `thread idle ${idle} ms of ${r.duration_ms} ms`);
      // Sent from this thread: no sender thread's figure (this thread's own idle time counts alone).
      assert.equal(senderIdleMs(await fallback.t.send(request(rx.url + '/here'), 5_000)), Infinity);
    } finally {
      await t.close();
      await rx.close();
    }
  });

  it('starts its threads only once attempts go out at the start rate, sending from the main thread until one is ready', async () => {
    const rx = await startReceiver();
    const fallback = counted();
    const t = createThreadedHttpTransport({ policy: createTargetPolicy(['127.0.0.0/8']), threads: 1, startRate: 20, busy: 0, connections: 16, fallback: fallback.t, log: silent });
    try {
      // Ten at once: under the rate; all sent from here, and no thread starts.
      await Promise.all(Array.from({ length: 10 }, () => t.send(request(rx.url + '/few'), 5_000)));
      await sleep(300);
      assert.equal(fallback.seen.length, 10);
      assert.equal(t.ready, 0);
      // Thirty at once: the rate is reached; they go from here while the thread starts.
      await Promise.all(Array.from({ length: 30 }, () => t.send(request(rx.url + '/burst'), 5_000)));
      assert.equal(fallback.seen.length, 40);
      await until(() => t.ready === 1, 60_000, 'the thread to start');
      await t.send(request(rx.url + '/then'), 5_000);
      assert.equal(fallback.seen.length, 40, 'once ready, the thread sends');
      assert.equal(rx.received.length, 41);
    } finally {
      await t.close();
      await rx.close();
    }
  });

  it('hands attempts to its threads only while the main thread is busy, and takes them back once it is not', async () => {
    const rx = await startReceiver();
    const fallback = counted();
    const t = createThreadedHttpTransport({ policy: createTargetPolicy(['127.0.0.0/8']), threads: 1, startRate: 0, busy: 0.5, connections: 16, fallback: fallback.t, log: silent });
    /** Holds this thread's loop busy 9 ms of every 10 (utilization ~0.9) until stopped. */
    const spin = () => {
      const timer = setInterval(() => {
        const end = performance.now() + 9;
        while (performance.now() < end);
      }, 10);
      return () => clearInterval(timer);
    };
    try {
      assert.equal(await t.started(), true);
      // A thread is ready, but this thread is idle: sent from here.
      await sleep(500);
      await Promise.all(Array.from({ length: 5 }, () => t.send(request(rx.url + '/idle'), 5_000)));
      assert.equal(fallback.seen.length, 5);
      // Busy past `busy` over a window: the thread takes them.
      const stop = spin();
      try {
        await sleep(600);
        await Promise.all(Array.from({ length: 5 }, () => t.send(request(rx.url + '/busy'), 5_000)));
      } finally {
        stop();
      }
      assert.equal(fallback.seen.length, 5, 'sent from the thread while this one was busy');
      // Idle again (this thread and the sender both): back here.
      await sleep(600);
      await t.send(request(rx.url + '/idle-again'), 5_000);
      assert.equal(fallback.seen.length, 6);
      assert.equal(rx.received.length, 11);
    } finally {
      await t.close();
      await rx.close();
    }
  });

  it('keeps OAuth and client-certificate destinations on the main thread', async () => {
    const fallback = counted();
    const t = createThreadedHttpTransport({ policy: createTargetPolicy(['127.0.0.0/8']), threads: 1, startRate: 0, busy: 0, connections: 16, fallback: fallback.t, log: silent });
    const rx = await startReceiver();
    try {
      assert.equal(await t.started(), true);
      const base = { target_url: rx.url, http_basic_auth: '', http_basic_password: '', custom_header: [] };
      await t.send(request(rx.url + '/cert', { destination: { ...base, client_certificate: 'x', client_key: 'y' } as never }), 2_000);
      await t.send(request(rx.url + '/ca', { destination: { ...base, ca_certificate: 'z' } as never }), 2_000);
      await t.send(request(rx.url + '/oauth', { destination: { ...base, access_token_url: rx.url + '/token', client_id: 'a', client_secret: 'b' } as never }), 2_000);
      await t.send(request(rx.url + '/plain'), 2_000);
      assert.deepEqual(fallback.seen, [rx.url + '/cert', rx.url + '/ca', rx.url + '/oauth']);
    } finally {
      await t.close();
      await rx.close();
    }
  });

  it('closes gracefully: an attempt in flight ends and its record comes back; a forced close cuts it as a network failure', async () => {
    const rx = await startReceiver(async (r) => void (await sleep(r.url === '/slow' ? 300 : 60_000)));
    const fallback = counted();
    const t = createThreadedHttpTransport({ policy: createTargetPolicy(['127.0.0.0/8']), threads: 1, startRate: 0, busy: 0, connections: 16, fallback: fallback.t, log: silent });
    assert.equal(await t.started(), true);
    const slow = t.send(request(rx.url + '/slow'), 5_000);
    await rx.waitFor(1);
    await t.close();
    assert.equal((await slow).outcome, 'success', 'the graceful close waited for the answer');

    const t2 = createThreadedHttpTransport({ policy: createTargetPolicy(['127.0.0.0/8']), threads: 1, startRate: 0, busy: 0, connections: 16, fallback: fallback.t, log: silent });
    assert.equal(await t2.started(), true);
    const hung = t2.send(request(rx.url + '/hang'), 60_000);
    await rx.waitFor(2);
    const t0 = Date.now();
    await t2.close(true);
    const r = await hung;
    assert.equal(r.outcome, 'network');
    assert.ok(Date.now() - t0 < 5_000, 'the forced close did not wait for the receiver');
    assert.deepEqual(fallback.seen, [], 'both went through the threads');
    await rx.close();
  });
});

for (const backend of backends) describe(`delivery with sender threads on ${backend}`, () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('delivers signed calls, logs each attempt, retries failures, and times out a receiver that never answers', async () => {
    const log = logLines();
    const h = await startHerald({ backend, senderThreads: 2, senderThreadsStartRate: 0, senderThreadsBusy: 0, deliveryTimeoutMs: 2_000, retryDelaysMs: [100], logLevel: 'info', logTo: log.stream });
    cleanup.push(() => h.close());
    let fail = 1;
    const held: Array<() => void> = [];
    cleanup.push(async () => held.forEach((r) => r()));
    const rx = await startReceiver(async (r, res) => {
      if (r.url === '/hang') return new Promise<void>((ok) => held.push(ok));
      if (fail-- > 0) res.statusCode = 500;
    });
    cleanup.push(() => rx.close());
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, rx.url + '/hook', { channels: ['content_types.entries.update'] });
    const hang = await createWebhook(h, stack, rx.url + '/hang', { channels: ['content_types.entries.update'] });
    // The threads start with the first attempt (sent from the main thread meanwhile): a test call
    // starts them, and the event's attempts all go through them.
    await h.request('POST', `/v3/webhooks/${hook.uid}/test`, { headers: { api_key: stack.api_key, authorization: stack.token } });
    await until(() => log.lines.some((l) => l.includes('sender threads ready')), 60_000, 'the sender threads to start');
    rx.received.length = 0;
    fail = 1;
    const event = await emit(h, stack, { action: 'update' });

    const done = await until(async () => (await executions(h, stack, hook.uid)).find((x) => x.state === 'succeeded'), 10_000, 'the retried delivery');
    assert.equal(done.attempts, 2);
    assert.equal(done.request_details[0].response.status, 500);
    assert.equal(done.request_details[1].response.status, 200);
    const calls = rx.received.filter((r) => r.url === '/hook');
    assert.equal(calls.length, 2);
    assert.equal(calls[0].json.seq, event.seq);
    new StandardWebhook(hook.signing_secret).verify(calls[1].body, calls[1].headers as Record<string, string>);

    const timedOut = await until(async () => (await executions(h, stack, hang.uid)).find((x) => x.state === 'failed'), 30_000, 'the hung delivery to fail');
    assert.equal(timedOut.attempts, 2);
    assert.match(JSON.stringify(timedOut.request_details[0]), /no complete response within 2000 ms/);
  });

  it('sends a test call from a thread and answers what the receiver said', async () => {
    const log = logLines();
    const h = await startHerald({ backend, senderThreads: 1, senderThreadsStartRate: 0, senderThreadsBusy: 0, logLevel: 'info', logTo: log.stream });
    cleanup.push(() => h.close());
    const rx = await startReceiver((_r, res) => void (res.statusCode = 202));
    cleanup.push(() => rx.close());
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, rx.url + '/t', { channels: ['content_types.entries.update'] });
    const test = () => h.request('POST', `/v3/webhooks/${hook.uid}/test`, { headers: { api_key: stack.api_key, authorization: stack.token } });
    // The first call starts the thread (and is sent from the main thread meanwhile).
    assert.equal((await test()).status, 200);
    await until(() => log.lines.some((l) => l.includes('sender threads ready')), 60_000, 'the sender thread to start');
    const r = await test();
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.test.status, 202);
    assert.equal(r.body.test.outcome, 'success');
    assert.equal(rx.received.length, 2);
    assert.equal(rx.received[1].json.event, 'test');
  });
});

describe('the installed command with sender threads', () => {
  it('starts its threads without tsx on the command line (bin/herald.js registers it), delivers, and on SIGTERM waits for an attempt in flight', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-threads-'));
    const rx = await startReceiver(async (r) => void (r.url === '/slow' && (await sleep(800))));
    const child = spawn(process.execPath, ['bin/herald.js', 'serve', '--port', '0', '--data-dir', dir, '--sender-threads', '2', '--sender-threads-start-rate', '0', '--sender-threads-busy', '0'], {
      env: { ...process.env, HERALD_TEST_BACKEND: '', HERALD_DATABASE_URL: '', HERALD_ADMIN_TOKEN: ADMIN_TOKEN, HERALD_ALLOW_PRIVATE_TARGETS: '127.0.0.0/8', HERALD_LOG_LEVEL: 'info', HERALD_SHUTDOWN_GRACE: '10s' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    child.stdout.on('data', (c) => output.push(String(c)));
    child.stderr.on('data', (c) => output.push(String(c)));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const url = await until(() => /"url":"(http:\/\/[^"]+)".*herald is listening/.exec(output.join(''))?.[1], PROCESS_START_MS, 'Herald to listen');
      const call = async (path: string, body: unknown, headers: Record<string, string>) => {
        const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
        return { status: res.status, body: (await res.json()) as any };
      };
      const apiKey = (await call('/v3/stacks', { stack: { name: 's' } }, { authtoken: ADMIN_TOKEN })).body.stack.api_key as string;
      const auth = { authtoken: ADMIN_TOKEN, api_key: apiKey };
      const hook = await call('/v3/webhooks', { webhook: { name: 'w', destinations: [{ target_url: rx.url + '/slow' }], channels: ['content_types.entries.create'] } }, auth);
      assert.equal(hook.status, 201, JSON.stringify(hook.body));
      await call('/v3/content_types', { content_type: { title: 'Post', uid: 'post', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } }, auth);
      assert.equal((await call('/v3/content_types/post/entries', { entry: { title: 'one' } }, auth)).status, 201);
      await rx.waitFor(1, 30_000);
      // The first attempt started the threads: the second is sent from one of them.
      await until(() => output.join('').includes('sender threads ready'), PROCESS_START_MS, 'the sender threads to start');
      assert.equal((await call('/v3/content_types/post/entries', { entry: { title: 'two' } }, auth)).status, 201);
      await rx.waitFor(2, 30_000);
      // The attempt is in flight in a thread (the receiver answers after 800 ms): SIGTERM now.
      child.kill('SIGTERM');
      assert.equal(await exited, 0, output.join(''));
      assert.match(output.join(''), /sender threads ready/);
      assert.doesNotMatch(output.join(''), /sender thread (could not start|stopped)/, 'no thread failed');
      assert.doesNotMatch(output.join(''), /were cut/, 'the attempt was not cut');

      // Started again on the same store: the attempt was recorded a success before the exit.
      const h = await startHerald({ backend: 'sqlite' }, dir);
      try {
        const rows = await h.herald.db.all<{ state: string; attempts: number }>('SELECT state, attempts FROM executions', []);
        assert.deepEqual(rows.map((r) => [r.state, Number(r.attempts)]), [['succeeded', 1], ['succeeded', 1]]);
        await sleep(300);
        assert.equal(rx.received.length, 2, 'nothing was sent again');
      } finally {
        await h.close();
      }
    } finally {
      child.kill('SIGKILL');
      await rx.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the sender thread's bundle", () => {
  it('runs the current sources: built once, reused while they are unchanged, built again when one changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-bundle-'));
    const made: string[] = [];
    try {
      // An entry importing a module, as sender-worker.ts imports send.ts and the rest.
      writeFileSync(join(dir, 'entry.ts'), "import { value } from './dep.ts';\nexport const got: number = value;\n");
      writeFileSync(join(dir, 'dep.ts'), 'export const value: number = 1;\n');
      const entry = pathToFileURL(join(dir, 'entry.ts'));
      const got = async (url: string | null) => {
        assert.ok(url, 'a bundle was made');
        made.push(fileURLToPath(url));
        return ((await import(url)) as { got: number }).got;
      };

      const first = await senderBundle(entry);
      assert.equal(await got(first), 1);
      const builtAt = statSync(fileURLToPath(first!)).mtimeMs;
      await sleep(20);
      const again = await senderBundle(entry);
      assert.equal(again, first, 'unchanged sources: the same bundle');
      assert.equal(statSync(fileURLToPath(again!)).mtimeMs, builtAt, 'not written again');

      writeFileSync(join(dir, 'dep.ts'), 'export const value: number = 2;\n');
      const changed = await senderBundle(entry);
      assert.notEqual(changed, first);
      assert.equal(await got(changed), 2, 'a changed import is in the new bundle');
    } finally {
      rmSync(dir, { recursive: true, force: true });
      // The bundles and their record (node_modules/.cache/herald) of this throwaway entry.
      for (const f of made) rmSync(f, { force: true });
      if (made[0]) rmSync(made[0].replace(/-[0-9a-f]+\.mjs$/, '.json'), { force: true });
    }
  });
});
