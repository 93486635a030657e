import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { spawnHerald, startHerald, type SpawnedHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, sleep, until } from '../helpers/engine.ts';
import { storeRows } from './helpers/store.ts';

/** Entries the burst creates. */
const ENTRIES = 150;

describe('graceful shutdown', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('on SIGTERM during a burst exits 0 within the grace period; after a restart every event is delivered, no attempt recorded twice', async () => {
    // Two receivers (two origins: the delivery agent pools connections per origin): one answers
    // after 50 ms; the other never answers while the first Herald runs, so attempts to it are
    // still in flight when the grace period ends.
    let phase: 'first' | 'second' = 'first';
    const held: Array<() => void> = [];
    const rxSlow = await startReceiver(async () => void (await sleep(phase === 'first' ? 50 : 0)));
    const rxHang = await startReceiver(async () => {
      if (phase === 'first') await new Promise<void>((r) => held.push(r));
    });
    cleanup.push(async () => {
      for (const r of held.splice(0)) r();
      await rxSlow.close();
      await rxHang.close();
    });
    // A delivery timeout far beyond the test's: only the grace period can end the hung attempts.
    let h: SpawnedHerald = await spawnHerald({ HERALD_SHUTDOWN_GRACE: '1500ms', HERALD_DELIVERY_TIMEOUT: '10m' });
    cleanup.push(() => h.close());
    const dataDir = h.dataDir;
    const stack = await h.newStack();
    const headers = { api_key: stack.api_key, authorization: stack.token };
    const slow = await createWebhook(h, stack, rxSlow.url, { channels: ['content_types.entries.create'] });
    const hang = await createWebhook(h, stack, rxHang.url, { channels: ['content_types.entries.create'] });
    const ct = await h.request('POST', '/v3/content_types', {
      headers,
      body: { content_type: { title: 'Post', uid: 'post', schema: [{ uid: 'title', data_type: 'text', display_name: 'Title', mandatory: true, unique: false }] } },
    });
    assert.equal(ct.status, 201, JSON.stringify(ct.body));

    // The burst: 10 writers create entries until the server stops answering.
    let created = 0;
    let signalled = false;
    const writers = Array.from({ length: 10 }, async (_, w) => {
      for (let i = w; i < ENTRIES; i += 10) {
        if (signalled) return;
        try {
          const r = await h.request('POST', '/v3/content_types/post/entries', { headers, body: { entry: { title: `entry ${i}` } } });
          if (r.status === 201) created++;
        } catch {
          return; // the listener closed under this request
        }
      }
    });
    await until(() => rxSlow.received.length >= 30 && held.length > 0, 30_000, 'deliveries in flight');
    signalled = true;
    const code = await h.stop('SIGTERM');
    await Promise.all(writers);
    // Exit 0 means it finished before its own hard deadline (grace + margin), which would exit 1.
    assert.equal(code, 0, h.output.join('\n'));
    assert.ok(h.output.some((l) => l.includes('shutting down')), 'it logged the shutdown');
    // The hung attempts were cut at the end of the grace period and released, not recorded.
    const cut = h.output.map((l) => (l.startsWith('{') ? JSON.parse(l) : {})).find((l) => /were cut/.test(l.msg ?? ''));
    assert.ok(cut && cut.released > 0 && cut.deliveryIds.length === cut.released, JSON.stringify(cut));
    assert.ok(created > 30, `entries created before the signal: ${created}`);

    // Restart on the same store; the receiver now answers everything at once.
    phase = 'second';
    for (const r of held.splice(0)) r();
    h = await spawnHerald({}, dataDir);
    cleanup.push(() => h.close());
    const events = await h.request('GET', '/v3/events?limit=1000', { headers });
    const seqs: number[] = events.body.events.filter((e: any) => e.module === 'entry' && e.action === 'create').map((e: any) => e.seq);
    assert.ok(seqs.length >= created, 'every acknowledged create has its event');
    const seen = (rx: typeof rxSlow) => new Set(rx.received.map((r) => r.json?.seq));
    await until(
      async () => {
        const [row] = await storeRows<{ open: number }>(dataDir, "SELECT COUNT(*) AS open FROM executions WHERE state <> 'succeeded'");
        return Number(row!.open) === 0;
      },
      60_000,
      'every execution to succeed',
    );
    assert.ok(seqs.every((s) => seen(rxSlow).has(s) && seen(rxHang).has(s)), 'every event reached both receivers');
    assert.equal(await h.stop('SIGTERM'), 0, h.output.join('\n'));

    // The store: every execution succeeded, one per event and webhook, and no attempt twice.
    const dup = await storeRows(dataDir, 'SELECT execution_uid, n, COUNT(*) AS c FROM attempts GROUP BY execution_uid, n HAVING COUNT(*) > 1');
    assert.deepEqual(dup, [], 'an attempt was recorded twice');
    const states = await storeRows<{ webhook_uid: string; state: string; n: number }>(
      dataDir,
      'SELECT webhook_uid, state, COUNT(*) AS n FROM executions GROUP BY webhook_uid, state ORDER BY webhook_uid, state',
    );
    assert.deepEqual(
      states.map((s) => ({ ...s, n: Number(s.n) })),
      [slow.uid, hang.uid].sort().map((w) => ({ webhook_uid: w, state: 'succeeded', n: seqs.length })),
    );
    const unattempted = await storeRows(dataDir, 'SELECT uid FROM executions x WHERE NOT EXISTS (SELECT 1 FROM attempts a WHERE a.execution_uid = x.uid)');
    assert.deepEqual(unattempted, []);
  });
});

describe('closing the server', () => {
  /** Starts a multipart upload to /v3/assets on its own keep-alive connection; the body is sent by `finish`. */
  function slowUpload(url: string, headers: Record<string, string>) {
    const boundary = 'herald-test-boundary';
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const req = httpRequest(`${url}/v3/assets`, { method: 'POST', agent, headers: { ...headers, 'content-type': `multipart/form-data; boundary=${boundary}` } });
    let socketClosed = false;
    req.on('socket', (s) => s.on('close', () => (socketClosed = true)));
    const response = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
    });
    response.catch(() => {}); // awaited by the test; handled here so an early failure is not "unhandled"
    req.write(`--${boundary}\r\nContent-Disposition: form-data; name="asset[upload]"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello`);
    return {
      response,
      socketClosed: () => socketClosed,
      finish: () => req.end(`\r\n--${boundary}--\r\n`),
      agent,
    };
  }

  it('lets a streamed response in flight finish, then closes its kept-alive connection instead of waiting for it to idle out', async () => {
    const h = await startHerald();
    const s = await h.newStack();
    const headers = { api_key: s.api_key, authorization: s.token };
    // A file large enough to be streamed (its headers go out before the body).
    const form = new FormData();
    form.append('asset[upload]', new Blob([Buffer.alloc(8 * 1024 * 1024, 7)]), 'big.bin');
    const created = await fetch(`${h.url}/v3/assets`, { method: 'POST', headers, body: form });
    assert.equal(created.status, 201);
    const uid = (await created.json()).asset.uid;

    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    let socketClosed = false;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(`${h.url}/v3/assets/${uid}/download`, { agent, headers }, resolve);
      req.on('socket', (sock) => sock.on('close', () => (socketClosed = true)));
      req.on('error', reject);
      req.end();
    });
    res.pause(); // the download is in flight, held by backpressure
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers.connection, 'keep-alive');
    const closing = h.close(30_000);
    await sleep(100);
    let bytes = 0;
    res.on('data', (c: Buffer) => (bytes += c.length));
    const ended = new Promise((r) => res.on('end', r));
    res.resume();
    await ended;
    assert.equal(bytes, 8 * 1024 * 1024, 'the response in flight when the close began was served whole');
    await closing;
    await until(() => socketClosed, 5000, 'the server to close the kept-alive connection');
    agent.destroy();
  });

  it('cuts a request still in flight at the end of the grace period rather than wait for it', async () => {
    const h = await startHerald();
    const s = await h.newStack();
    const upload = slowUpload(h.url, { api_key: s.api_key, authorization: s.token });
    await sleep(100);
    // The upload never finishes; the close must end anyway, once the grace period is over.
    await h.close(300);
    await assert.rejects(upload.response, /socket hang up|ECONNRESET/);
    await until(() => upload.socketClosed(), 5000, 'the connection to be cut');
    upload.agent.destroy();
  });
});
