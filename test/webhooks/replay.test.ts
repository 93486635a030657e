import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { assertPayloadsMatchSchemas } from '../helpers/payload-schemas.ts';
import { startReceiver, type Received } from '../helpers/receiver.ts';
import { until } from '../helpers/engine.ts';
import { pruneReplays } from '../../src/delivery/replay.ts';

/**
 * Replays (POST /v3/webhooks/{uid}/replay): after an outage, every execution that failed for good
 * is sent again, once, in order per entity; past events go to a new webhook in order; the job's
 * progress reaches done. Runs on PostgreSQL too (HERALD_TEST_BACKEND=postgres).
 */
describe('replays: POST /v3/webhooks/{uid}/replay and GET /v3/webhooks/{uid}/replays/{job}', () => {
  let h: TestHerald;
  let api_key: string;
  let token: string;
  let down: Awaited<ReturnType<typeof startReceiver>>;
  let fresh: Awaited<ReturnType<typeof startReceiver>>;
  let hook: string;
  const entries: string[] = [];
  let from = 0;
  let to = 0;
  const headers = () => ({ api_key, authorization: token });
  const ok = async (method: string, path: string, body?: unknown, status = 200) => {
    const r = await h.request(method, path, { headers: headers(), ...(body === undefined ? {} : { body }) });
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const waitDone = (webhook: string, job: string) =>
    until(async () => {
      const j = (await ok('GET', `/v3/webhooks/${webhook}/replays/${job}`)).job;
      return j.state === 'done' ? j : null;
    }, 60_000, `replay ${job} to be done`);
  /** Entry uid -> the seqs a receiver got for it, in arrival order. */
  const lanes = (got: readonly Received[]) => {
    const by = new Map<string, number[]>();
    for (const r of got) {
      const uid = r.json.data.entry.uid as string;
      by.set(uid, [...(by.get(uid) ?? []), Number(r.headers['x-herald-seq'])]);
    }
    return by;
  };

  before(async () => {
    // One attempt per execution, and no breaker: the outage fails every execution for good at once.
    h = await startHerald({ retryDelaysMs: [], circuitBreakerThreshold: 0 });
    ({ api_key, token } = await h.newStack('Replay site'));
    down = await startReceiver((_r, res) => void (res.statusCode = 503));
    fresh = await startReceiver();
    await ok('POST', '/v3/content_types', { content_type: { title: 'Post', uid: 'post', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }, { uid: 'n', display_name: 'N', data_type: 'number' }] } }, 201);
    hook = (await ok('POST', '/v3/webhooks', { webhook: { name: 'site build', destinations: [{ target_url: down.url + '/hook' }], channels: ['content_types.post.entries.update'] } }, 201)).webhook.uid;
    for (let i = 0; i < 10; i++) entries.push((await ok('POST', '/v3/content_types/post/entries', { entry: { title: `Post ${i}`, n: 0 } }, 201)).entry.uid);
    from = Date.now();
    // 200 updates, 20 per entry, interleaved across entries: every one fails while the receiver is down.
    for (let round = 1; round <= 20; round++) {
      for (const uid of entries) await ok('PUT', `/v3/content_types/post/entries/${uid}`, { entry: { n: round } });
    }
    to = Date.now();
    await until(async () => (await ok('GET', `/v3/webhooks/${hook}/executions?state=failed&limit=1`)).count === 200, 60_000, '200 failed executions');
  });
  after(async () => {
    await h.close();
    await down.close();
    await fresh.close();
  });

  test('a replay of 200 failed executions after the receiver recovers delivers each once, in order per entity, and the job reaches done', async () => {
    const failedUids = new Set<string>();
    for (let skip = 0; skip < 200; skip += 100) {
      for (const x of (await ok('GET', `/v3/webhooks/${hook}/executions?state=failed&limit=100&skip=${skip}`)).webhooks) failedUids.add(x.uid);
    }
    assert.equal(failedUids.size, 200);
    // The receiver recovers.
    down.respond = undefined;
    const seen = down.received.length;
    const started = await ok('POST', `/v3/webhooks/${hook}/replay`, { from: new Date(from).toISOString(), to: new Date(to).toISOString(), mode: 'failed' }, 202);
    assert.equal(started.job.total, 200);
    assert.equal(started.job.state, 'running');
    assert.match(started.job.uid, /^rpl_/);
    const job = await waitDone(hook, started.job.uid);
    assert.deepEqual([job.total, job.done, job.succeeded, job.failed], [200, 200, 200, 0]);
    assert.ok(job.finished_at);

    const got = down.received.slice(seen);
    assert.equal(got.length, 200, 'each sent once, nothing else');
    const ids = got.map((r) => String(r.headers['webhook-id']));
    assert.equal(new Set(ids).size, 200, 'no execution twice');
    assert.deepEqual(new Set(ids), failedUids, 'the same executions (same webhook-id) as failed');
    for (const [uid, seqs] of lanes(got)) {
      assert.equal(seqs.length, 20, uid);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `entity ${uid} in event order`);
    }
    assert.equal((await ok('GET', `/v3/webhooks/${hook}/executions?state=failed&limit=1`)).count, 0);
    assert.equal(await assertPayloadsMatchSchemas(h, headers(), got), 200);
    // Nothing failed is left in the range: a second replay has nothing to do.
    const again = await ok('POST', `/v3/webhooks/${hook}/replay`, { from, to, mode: 'failed' }, 202);
    assert.deepEqual([again.job.state, again.job.total], ['done', 0]);
  });

  test('an events replay to a new webhook delivers the range in order, matching the webhook as it is now', async () => {
    // Made after the events: fan-out never sent it any. Its condition leaves the first entry out.
    const created = await ok('POST', '/v3/webhooks', {
      webhook: { name: 'new search index', destinations: [{ target_url: fresh.url }], channels: ['content_types.entries.update'], conditions: [{ not: { equals: [{ doc: 'uid' }, entries[0]] } }] },
    }, 201);
    const started = await ok('POST', `/v3/webhooks/${created.webhook.uid}/replay`, { from, to, mode: 'events' }, 202);
    assert.equal(started.job.total, 180);
    const job = await waitDone(created.webhook.uid, started.job.uid);
    assert.deepEqual([job.total, job.done, job.succeeded], [180, 180, 180]);
    assert.equal(fresh.received.length, 180);
    const by = lanes(fresh.received);
    assert.equal(by.has(entries[0]), false, 'the condition holds for replayed events too');
    assert.equal(by.size, 9);
    for (const [uid, seqs] of by) {
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `entity ${uid} in event order`);
      assert.deepEqual(fresh.received.filter((r) => r.json.data.entry.uid === uid).map((r) => r.json.data.entry.n), Array.from({ length: 20 }, (_, i) => i + 1), 'each update once, as it was');
    }
    assert.equal(await assertPayloadsMatchSchemas(h, headers(), fresh.received), 180);
    // The activity log shows them as executions of the new webhook.
    assert.equal((await ok('GET', `/v3/webhooks/${created.webhook.uid}/executions?state=succeeded&limit=1`)).count, 180);
    // Finished jobs go with the log retention (a cutoff in the future takes every finished one).
    assert.ok((await pruneReplays(h.herald.db, Date.now() + 1000)) >= 1);
    assert.equal((await h.request('GET', `/v3/webhooks/${created.webhook.uid}/replays/${started.job.uid}`, { headers: headers() })).status, 404);
  });

  test('bad requests get a 422 naming the field; a disabled webhook a 409; another webhook\'s job a 404', async () => {
    const bad = async (body: unknown, field: string, re: RegExp) => {
      const r = await h.request('POST', `/v3/webhooks/${hook}/replay`, { headers: headers(), body });
      assert.equal(r.status, 422, JSON.stringify(r.body));
      assert.match(r.body.errors[field][0], re);
    };
    await bad({ from, to }, 'mode', /"failed".*"events"/);
    await bad({ to, mode: 'failed' }, 'from', /is required/);
    await bad({ from: 'yesterday', to, mode: 'failed' }, 'from', /ISO date/);
    await bad({ from: to, to: from, mode: 'failed' }, 'to', /before from/);
    await bad({ from: '2026-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z', mode: 'events' }, 'to', /at most 31 days/);
    await bad({ from, to, mode: 'failed', everything: true }, 'everything', /not a known field/);
    const other = (await ok('POST', '/v3/webhooks', { webhook: { name: 'other', destinations: [{ target_url: fresh.url }], channels: ['*.*'] } }, 201)).webhook.uid;
    const job = (await ok('POST', `/v3/webhooks/${hook}/replay`, { from, to, mode: 'failed' }, 202)).job.uid;
    assert.equal((await h.request('GET', `/v3/webhooks/${other}/replays/${job}`, { headers: headers() })).status, 404);
    await ok('POST', `/v3/webhooks/${other}/disable`);
    const r = await h.request('POST', `/v3/webhooks/${other}/replay`, { headers: headers(), body: { from, to, mode: 'events' } });
    assert.equal(r.status, 409);
    assert.match(r.body.error_message, /disabled/);
  });

  test('a range holding more than 10,000 matching events is refused with a 422, and nothing is made', async () => {
    const stack = await h.newStack('Busy site');
    const at = Date.now();
    // 10,001 events in the event log (written as rows, 500 a statement, to be quick on both stores).
    await h.herald.db.tx(async (tx) => {
      for (let start = 0; start < 10_001; start += 500) {
        const n = Math.min(500, 10_001 - start);
        await tx.run(
          `INSERT INTO events (api_key, branch, module, action, uid, content_type_uid, locale, environment, actor, data, created_at) VALUES ${Array(n).fill('(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
          Array.from({ length: n }, (_, i) => [stack.api_key, 'main', 'entry', 'update', `bltbusy${(start + i) % 50}`, 'post', 'en-us', null, 'admin', '{"entry":{}}', Date.now()]).flat(),
        );
      }
    });
    const w = await h.request('POST', '/v3/webhooks', { headers: { api_key: stack.api_key, authorization: stack.token }, body: { webhook: { name: 'all', destinations: [{ target_url: fresh.url }], channels: ['*.*'] } } });
    assert.equal(w.status, 201);
    const r = await h.request('POST', `/v3/webhooks/${w.body.webhook.uid}/replay`, { headers: { api_key: stack.api_key, authorization: stack.token }, body: { from: at, to: Date.now(), mode: 'events' } });
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.match(r.body.errors.to[0], /more than 10,000 matching events/);
    const x = await h.request('GET', `/v3/webhooks/${w.body.webhook.uid}/executions?limit=1`, { headers: { api_key: stack.api_key, authorization: stack.token } });
    assert.equal(x.body.count, 0);
  });
});

describe('a replay cut short by a restart', () => {
  test('goes on when Herald starts again, and makes each execution once', async () => {
    let h = await startHerald({ retryDelaysMs: [], circuitBreakerThreshold: 0 });
    const dir = h.dataDir;
    const rx = await startReceiver((_r, res) => void (res.statusCode = 500));
    try {
      const stack = await h.newStack('Restart site');
      const headers = { api_key: stack.api_key, authorization: stack.token };
      const w = await h.request('POST', '/v3/webhooks', { headers, body: { webhook: { name: 'r', destinations: [{ target_url: rx.url }], channels: ['*.*'] } } });
      const hook = w.body.webhook.uid as string;
      const from = Date.now();
      for (let i = 0; i < 30; i++) {
        await h.herald.db.tx((tx) => h.herald.events.record(tx, { api_key: stack.api_key, branch: 'main', module: 'entry', action: 'update', uid: `bltr${i % 3}`, content_type_uid: 'post', locale: 'en-us', actor: 'admin', data: { entry: { uid: `bltr${i % 3}`, n: i } } }));
      }
      await until(async () => (await h.request('GET', `/v3/webhooks/${hook}/executions?state=failed&limit=1`, { headers })).body.count === 30, 30_000, '30 failed');
      // A job whose executions were not made yet when its process stopped (as a crash right after the 202 leaves it).
      const job = 'rpl_restart0000000000000000';
      const now = Date.now();
      await h.herald.db.run(
        "INSERT INTO replays (uid, api_key, webhook_uid, mode, range_from, range_to, state, total, enqueued, last_seq, created_at, updated_at) VALUES (?, ?, ?, 'failed', ?, ?, 'enqueuing', 30, 0, 0, ?, ?)",
        [job, stack.api_key, hook, from, now, now, now],
      );
      const before = await h.request('GET', `/v3/webhooks/${hook}/replays/${job}`, { headers });
      assert.deepEqual([before.body.job.state, before.body.job.done], ['running', 0]);
      await h.close();
      rx.respond = undefined;
      const seen = rx.received.length;
      h = await startHerald({ retryDelaysMs: [], circuitBreakerThreshold: 0 }, dir);
      const done = await until(async () => {
        const j = (await h.request('GET', `/v3/webhooks/${hook}/replays/${job}`, { headers })).body.job;
        return j.state === 'done' ? j : null;
      }, 60_000, 'the resumed job to be done');
      assert.deepEqual([done.total, done.done, done.succeeded], [30, 30, 30]);
      const got = rx.received.slice(seen);
      assert.equal(got.length, 30);
      assert.equal(new Set(got.map((r) => r.headers['webhook-id'])).size, 30, 'each once');
      for (const uid of ['bltr0', 'bltr1', 'bltr2']) {
        const ns = got.filter((r) => r.json.data.entry.uid === uid).map((r) => r.json.data.entry.n);
        assert.deepEqual(ns, [...ns].sort((a, b) => a - b), `${uid} in event order`);
      }
    } finally {
      await h.close();
      await rx.close();
    }
  });
});
