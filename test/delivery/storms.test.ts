/**
 * Event storms (#20): batching, debounce and rate limits, each opt-in per webhook. Real receivers,
 * both stores (PostgreSQL when reachable). The multi-process pacing acceptance is in
 * test/scale/rate-limit.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver, type Received } from '../helpers/receiver.ts';
import { createWebhook, emit, emitTogether, executions, sleep, until, type Stack } from '../helpers/engine.ts';
import { testBackends } from '../helpers/postgres.ts';

const verify = (secret: string, r: Received) => new StandardWebhook(secret).verify(r.body, r.headers as Record<string, string>);

for (const backend of await testBackends()) describe(`event storms on ${backend}`, () => {
  let h: TestHerald;
  before(async () => {
    h = await startHerald({ backend, retryDelaysMs: [300, 300, 300, 300], circuitBreakerThreshold: 3 });
  });
  /** Receivers to close however a test ends (an open one would keep the test process alive). */
  const receivers: Array<{ close(): Promise<unknown> }> = [];
  const receiver = async (...args: Parameters<typeof startReceiver>) => {
    const rx = await startReceiver(...args);
    receivers.push(rx);
    return rx;
  };
  after(async () => {
    for (const rx of receivers) await rx.close().catch(() => {});
    await h.close();
  });

  const put = (stack: Stack, uid: string, webhook: Record<string, unknown>) =>
    h.request('PUT', `/v3/webhooks/${uid}`, { headers: { api_key: stack.api_key, authorization: stack.token }, body: { webhook } });
  const post = (stack: Stack, webhook: Record<string, unknown>) =>
    h.request('POST', '/v3/webhooks', {
      headers: { api_key: stack.api_key, authorization: stack.token },
      body: { webhook: { name: 'storm', destinations: [{ target_url: 'http://127.0.0.1:9/x' }], channels: ['*.*'], ...webhook } },
    });

  it('refuses bad batch, debounce and rate limit settings with a 422 naming the field, and shows good ones', async () => {
    const stack = await h.newStack();
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ batch: { max_events: 0, window_ms: 1000 } }, 'batch.max_events'],
      [{ batch: { max_events: 1001, window_ms: 1000 } }, 'batch.max_events'],
      [{ batch: { max_events: 10, window_ms: 5 } }, 'batch.window_ms'],
      [{ batch: { max_events: 10, window_ms: 60_001 } }, 'batch.window_ms'],
      [{ batch: { max_events: 10, window_ms: 100, size: 3 } }, 'batch.size'],
      [{ batch: 'yes' }, 'batch'],
      [{ debounce_ms: -1 }, 'debounce_ms'],
      [{ debounce_ms: 1.5 }, 'debounce_ms'],
      [{ debounce_ms: 300_001 }, 'debounce_ms'],
      [{ rate_limit: { max: 20, per: 'hour' } }, 'rate_limit.per'],
      [{ rate_limit: { max: 0, per: 'second' } }, 'rate_limit.max'],
      [{ rate_limit: { max: 1001, per: 'second' } }, 'rate_limit.max'],
      [{ rate_limit: { max: 5, per: 'minute', burst: 2 } }, 'rate_limit.burst'],
      [{ batch: { max_events: 10, window_ms: 100 }, format: 'contentful' }, 'batch'],
      [{ batch: { max_events: 10, window_ms: 100 }, rate_limit: { max: 5, per: 'second' } }, 'rate_limit'],
    ];
    for (const [fields, field] of bad) {
      const r = await post(stack, fields);
      assert.equal(r.status, 422, `${JSON.stringify(fields)} -> ${r.status} ${JSON.stringify(r.body)}`);
      assert.ok(r.body.errors?.[field], `${JSON.stringify(fields)} names ${field}: ${JSON.stringify(r.body.errors)}`);
      assert.match(r.body.error_message, new RegExp(field.replace('.', '\\.')));
    }
    const ok = await post(stack, { batch: { max_events: 100, window_ms: 1000 }, debounce_ms: 500 });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.deepEqual(ok.body.webhook.batch, { max_events: 100, window_ms: 1000 });
    assert.equal(ok.body.webhook.debounce_ms, 500);
    assert.equal(ok.body.webhook.rate_limit, null);
    // Off again with null / 0; a field left out keeps its value.
    const off = await put(stack, ok.body.webhook.uid, { batch: null, rate_limit: { max: 2, per: 'minute' } });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.equal(off.body.webhook.batch, null);
    assert.equal(off.body.webhook.debounce_ms, 500);
    assert.deepEqual(off.body.webhook.rate_limit, { max: 2, per: 'minute' });
    // The Contentful dialect's definitions have no such fields: named as unknown there.
    const cf = await h.request('POST', `/spaces/${stack.api_key}/webhook_definitions`, {
      headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/vnd.contentful.management.v1+json' },
      body: { name: 'cf', url: 'http://127.0.0.1:9/x', topics: ['*.*'], batch: { max_events: 10, window_ms: 100 } },
    });
    assert.equal(cf.status, 422, JSON.stringify(cf.body));
    assert.match(JSON.stringify(cf.body), /batch/);
  });

  it('batches 500 quick publishes into 5 signed calls of 100, every event exactly once, each element the body it would have had alone', async () => {
    const rx = await receiver();
    const stack = await h.newStack();
    const single = await receiver();
    const alone = await createWebhook(h, stack, single.url, { channels: ['content_types.entries.publish'] });
    const hook = await createWebhook(h, stack, rx.url, { channels: ['content_types.entries.publish'], batch: { max_events: 100, window_ms: 1000 } });
    // 500 publishes recorded in one transaction, as a bulk job may record them (the receiver must
    // not depend on how fast a loaded machine records them one by one).
    const seqs = await h.herald.db.tx(async (tx) => {
      const out: number[] = [];
      for (let i = 0; i < 500; i++) {
        const uid = `bltentry${String(i).padStart(4, '0')}`;
        const e = await h.herald.events.record(tx, {
          api_key: stack.api_key,
          branch: 'main',
          module: 'entry',
          action: 'publish',
          uid,
          content_type_uid: 'blog',
          locale: 'en-us',
          environment: 'production',
          actor: 'test',
          data: { entry: { uid, title: `Post ${i}` }, content_type: { uid: 'blog', title: 'Blog' }, environment: { name: 'production' } },
        });
        out.push(e.seq);
      }
      return out;
    });
    await until(async () => rx.received.reduce((n, r) => n + (r.json?.events?.length ?? 0), 0) >= 500, 30_000, 'all 500 events batched');
    await single.waitFor(500, 30_000);
    await sleep(300);
    assert.equal(rx.received.length, 5, `calls: ${rx.received.map((r) => r.json.events.length).join(', ')}`);
    const got: number[] = [];
    for (const r of rx.received) {
      verify(hook.signing_secret, r); // signed once, over the whole batch body
      assert.match(String(r.headers['webhook-id']), /^bat_/);
      assert.equal(r.headers['x-herald-event'], 'batch');
      assert.equal(r.headers['x-herald-batch-size'], String(r.json.events.length));
      assert.ok(r.json.events.length <= 100);
      for (const e of r.json.events) got.push(e.seq);
    }
    assert.deepEqual([...got].sort((a, b) => a - b), seqs, 'every event exactly once');
    // Each element is byte for byte the body the unbatched webhook got for that event.
    const bodyBySeq = new Map(single.received.map((r) => [r.json.seq as number, r.body]));
    for (const r of rx.received) {
      const elements = JSON.parse(r.body).events as unknown[];
      const expected = `{"events":[${elements.map((e: any) => bodyBySeq.get(e.seq)).join(',')}]}`;
      assert.equal(r.body, expected);
    }
    const ok = await executions(h, stack, hook.uid, '&state=succeeded');
    assert.equal(ok.length, 100);
    assert.ok(ok.every((x) => x.batch?.size === 100 && x.batch.uid.startsWith('bat_')));
    assert.equal(alone.uid !== hook.uid, true);
    await rx.close();
    await single.close();
  });

  it('a bulk publish of 500 entries reaches a batching webhook in at most 6 calls (5 plus the job event), each verifying, every event once', async () => {
    const rx = await receiver();
    const stack = await h.newStack();
    const headers = { api_key: stack.api_key, authorization: stack.token };
    const ok = async (method: string, path: string, body: unknown, status = 201) => {
      const r = await h.request(method, path, { headers, body });
      assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    await ok('POST', '/v3/environments', { environment: { name: 'production' } });
    await ok('POST', '/v3/content_types', { content_type: { title: 'Post', uid: 'post', schema: [{ uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true }] } });
    const uids: string[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = w; i < 500; i += 8) uids.push((await ok('POST', '/v3/content_types/post/entries', { entry: { title: `Post ${i}` } })).entry.uid);
      }),
    );
    const hook = await createWebhook(h, stack, rx.url, {
      channels: ['content_types.entries.publish', 'jobs.environments.publish.completed'],
      batch: { max_events: 100, window_ms: 1000 },
    });
    const res = await ok('POST', '/v3/bulk/publish', { entries: uids.map((uid) => ({ uid, content_type: 'post', locale: 'en-us' })), locales: ['en-us'], environments: ['production'] }, 200);
    const count = () => rx.received.reduce((n, r) => n + r.json.events.length, 0);
    await until(() => count() >= 501, 60_000, '500 publishes and the job event');
    await sleep(1_500);
    const sizes = rx.received.map((r) => r.json.events.length);
    assert.ok(rx.received.length <= 6, `${rx.received.length} calls: ${sizes.join(', ')}`);
    const events = rx.received.flatMap((r) => {
      verify(hook.signing_secret, r);
      return r.json.events as any[];
    });
    assert.equal(events.length, 501, 'every event exactly once');
    const published = events.filter((e) => e.module === 'entry');
    assert.deepEqual(published.map((e) => e.data.entry.uid).sort(), [...uids].sort());
    assert.equal(new Set(events.map((e) => e.seq)).size, 501);
    const jobs = events.filter((e) => e.module === 'job');
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0].data.job_id, res.job_id);
  });

  it('sends a partial batch when its window ends, retries a failed batch whole under the same id, and shows its events in the log', async () => {
    let fail = true;
    const rx = await receiver((_r, res) => void (res.statusCode = fail ? 503 : 200));
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, rx.url, { batch: { max_events: 50, window_ms: 400 } });
    const first = Date.now();
    // In one transaction: one by one, on a loaded machine the window could end between them.
    await emitTogether(h, stack, [0, 1, 2].map((i) => ({ uid: `bltwin${i}`, data: { entry: { uid: `bltwin${i}`, title: `W${i}` } } })));
    await rx.waitFor(1, 10_000);
    assert.ok(rx.received[0].at - first >= 350, `the batch waited for its window (${rx.received[0].at - first} ms)`);
    assert.equal(rx.received[0].json.events.length, 3);
    fail = false;
    await rx.waitFor(2, 10_000);
    assert.equal(rx.received[1].headers['webhook-id'], rx.received[0].headers['webhook-id'], 'a retry keeps the batch id');
    assert.equal(rx.received[1].headers['x-herald-attempt'], '2');
    assert.deepEqual(
      rx.received[1].json.events.map((e: any) => e.seq),
      rx.received[0].json.events.map((e: any) => e.seq),
    );
    verify(hook.signing_secret, rx.received[1]);
    const list = (await until(async () => {
      const xs = await executions(h, stack, hook.uid);
      return xs.length === 3 && xs.every((x) => x.state === 'succeeded') && xs;
    }, 10_000, 'the batch succeeded')) as any[];
    const batchUid = String(rx.received[0].headers['webhook-id']);
    for (const x of list) {
      assert.deepEqual(x.batch, { uid: batchUid, size: 3 });
      assert.equal(x.attempts, 2);
      // Each member's attempt shows the call: the batch's body, rebuilt.
      assert.equal(x.request_details[1].request.body, rx.received[1].body);
      assert.equal(x.request_details[1].request.batch, batchUid);
    }
    // The view of one execution lists the batch's events, each to be opened by its uid.
    const one = await h.request('GET', `/v3/webhooks/${list[0].uid}/logs`, { headers: { api_key: stack.api_key, authorization: stack.token } });
    assert.equal(one.status, 200, JSON.stringify(one.body));
    const shown = one.body.webhooks[0];
    const members = shown.batch.executions as any[];
    assert.deepEqual(members.map((m) => m.entity.uid), ['bltwin0', 'bltwin1', 'bltwin2']);
    assert.deepEqual(members.map((m) => m.uid).sort(), list.map((x: any) => x.uid).sort());
    // A manual retry of one member sends the whole batch again.
    const retry = await h.request('POST', `/v3/webhooks/${hook.uid}/retry`, {
      headers: { api_key: stack.api_key, authorization: stack.token },
      body: { execution_uid: list[2].uid },
    });
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    await rx.waitFor(3, 10_000);
    assert.equal(rx.received[2].json.events.length, 3);
    assert.equal(rx.received[2].headers['webhook-id'], batchUid);
    await rx.close();
  });

  it('keeps per-entity order across batches: a batch carries one change of an entity, the next waits', async () => {
    const rx = await receiver();
    const stack = await h.newStack();
    await createWebhook(h, stack, rx.url, { batch: { max_events: 10, window_ms: 50 } });
    for (let v = 0; v < 4; v++) {
      for (const uid of ['bltorda', 'bltordb']) await emit(h, stack, { uid, data: { entry: { uid, title: `${uid} v${v}` } } });
    }
    await until(() => rx.received.reduce((n, r) => n + r.json.events.length, 0) >= 8, 10_000, 'all 8 events');
    const seen = new Map<string, string[]>();
    for (const r of rx.received) {
      const inCall = r.json.events.map((e: any) => e.data.entry.uid);
      assert.equal(new Set(inCall).size, inCall.length, 'one change per entity in a call');
      for (const e of r.json.events) seen.set(e.data.entry.uid, [...(seen.get(e.data.entry.uid) ?? []), e.data.entry.title]);
    }
    for (const uid of ['bltorda', 'bltordb']) assert.deepEqual(seen.get(uid), [0, 1, 2, 3].map((v) => `${uid} v${v}`));
    await rx.close();
  });

  it('debounce folds 20 quick updates of one entry into one call with the latest state and every folded seq', async () => {
    const rx = await receiver();
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, rx.url, { debounce_ms: 1500 });
    const seqs: number[] = [];
    for (let v = 1; v <= 20; v++) seqs.push((await emit(h, stack, { data: { entry: { uid: 'bltentry0001', title: `v${v}` } } })).seq);
    await rx.waitFor(1, 15_000);
    await sleep(1_800);
    assert.equal(rx.received.length, 1, 'one call');
    const body = rx.received[0].json;
    assert.equal(body.data.entry.title, 'v20');
    assert.equal(body.seq, seqs[19]);
    assert.deepEqual(body.folded_seqs, seqs.slice(0, 19));
    verify(hook.signing_secret, rx.received[0]);
    const [x] = (await until(async () => {
      const xs = await executions(h, stack, hook.uid);
      return xs.length === 1 && xs[0].state === 'succeeded' && xs;
    }, 5_000, 'logged')) as any[];
    assert.deepEqual(x.folded_seqs, seqs.slice(0, 19));
    assert.equal(x.coalesced, 19);
    assert.equal(x.request_details[0].request.body, rx.received[0].body, 'the log rebuilds the folded body');
    await rx.close();
  });

  it('debounce never holds a delete: the waiting change goes at once, then the delete', async () => {
    const rx = await receiver();
    const stack = await h.newStack();
    await createWebhook(h, stack, rx.url, { debounce_ms: 60_000 });
    const t0 = Date.now();
    await emit(h, stack, { action: 'update', data: { entry: { uid: 'bltentry0001', title: 'edited' } } });
    await emit(h, stack, { action: 'update', data: { entry: { uid: 'bltentry0001', title: 'edited again' } } });
    await sleep(200);
    assert.equal(rx.received.length, 0, 'the update waits for its debounce');
    await emit(h, stack, { action: 'delete', data: { entry: { uid: 'bltentry0001', title: 'edited again' } } });
    await rx.waitFor(2, 10_000);
    assert.ok(Date.now() - t0 < 30_000);
    assert.deepEqual(rx.received.map((r) => r.json.event), ['update', 'delete']);
    assert.equal(rx.received[0].json.data.entry.title, 'edited again');
    assert.equal(rx.received[0].json.folded_seqs.length, 1);
    assert.equal(rx.received[1].json.folded_seqs, undefined);
    await rx.close();
  });

  it('a rate limit spaces calls and shows the waiting ones as rate_limited in the log and the metrics; removing it sends them', async () => {
    const rx = await receiver();
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, rx.url, { rate_limit: { max: 1, per: 'minute' } });
    for (const uid of ['bltrate1', 'bltrate2', 'bltrate3']) await emit(h, stack, { uid, data: { entry: { uid, title: uid } } });
    await rx.waitFor(1, 10_000);
    const waiting = (await until(async () => {
      const xs = (await executions(h, stack, hook.uid)).filter((x) => x.rate_limited);
      return xs.length === 2 && xs;
    }, 10_000, 'two executions waiting for the rate limit')) as any[];
    const slots = waiting.map((x: any) => Date.parse(x.next_attempt_at)).sort((a: number, b: number) => a - b);
    assert.ok(slots[1] - slots[0] >= 59_000 && slots[1] - slots[0] <= 61_000, `slots a minute apart: ${slots[1] - slots[0]} ms`);
    assert.ok(slots[0] - rx.received[0].at >= 58_000, 'the next slot is a minute after the first call');
    for (const x of waiting) assert.equal(x.state, 'pending');
    assert.equal((await executions(h, stack, hook.uid, '&state=pending')).length, 2);
    const metrics = await h.request('GET', '/metrics');
    assert.match(String(metrics.body), /herald_queue_depth\{state="rate_limited"\} [1-9]/);
    await sleep(300);
    assert.equal(rx.received.length, 1, 'nothing else before its slot');
    // Lifting the limit: what waited goes now.
    const lifted = await put(stack, hook.uid, { rate_limit: null });
    assert.equal(lifted.status, 200);
    await rx.waitFor(3, 10_000);
    assert.equal((await executions(h, stack, hook.uid)).filter((x) => x.rate_limited).length, 0);
    await rx.close();
  });

  it('a rate limit paces a burst evenly', async () => {
    const rx = await receiver();
    const stack = await h.newStack();
    await createWebhook(h, stack, rx.url, { rate_limit: { max: 10, per: 'second' } });
    const burstAt = Date.now();
    for (let i = 0; i < 12; i++) await emit(h, stack, { uid: `bltburst${i}`, data: { entry: { uid: `bltburst${i}`, title: 'x' } } });
    await rx.waitFor(12, 20_000);
    // 11 gaps of 100 ms from the first slot, which is no sooner than the burst; a loaded machine may
    // send late, never early. (Measured from the first call's arrival instead, a late first call
    // made the span come out short: 998 ms once under load.)
    const span = rx.received[11].at - burstAt;
    assert.ok(span >= 1_100, `12 calls at 10/s: the last came ${span} ms after the burst`);
    await rx.close();
  });
});
