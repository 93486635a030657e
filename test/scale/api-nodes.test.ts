/**
 * Several API nodes on one PostgreSQL database: a webhook changed through one node is matched (or
 * no longer matched) by events another node records, and executions committed by an API node wake
 * a worker elsewhere without waiting for its polling fallback.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { createWebhook, emit, until } from '../helpers/engine.ts';
import { freshSchema, testBackends, type TestSchema } from '../helpers/postgres.ts';
import { startReceiver } from '../helpers/receiver.ts';

const backends = await testBackends();

describe('API nodes sharing one PostgreSQL database', { skip: !backends.includes('postgres') && 'no PostgreSQL reachable' }, () => {
  let schema: TestSchema;
  let a: TestHerald;
  let b: TestHerald;
  before(async () => {
    schema = await freshSchema();
    [a, b] = await Promise.all([startHerald({ databaseUrl: schema.url, role: 'api' }), startHerald({ databaseUrl: schema.url, role: 'api' })]);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await schema?.drop();
  });

  /** Executions an event got, read from the shared database. */
  const executionsOf = async (seq: number) => Number((await a.herald.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM executions WHERE event_seq = ?', [seq]))!.n);

  it('matches a webhook created on one node in events recorded on another, and stops once it is disabled there', async (t) => {
    const stack = await a.newStack();
    // B has matched an event of this stack before the webhook exists: it holds an empty list.
    assert.equal(await executionsOf((await emit(b, stack, { uid: 'bltBefore' })).seq), 0);

    const hook = await createWebhook(a, stack, 'http://127.0.0.1:9/never-called');
    let probes = 0;
    await until(async () => (probes++, (await executionsOf((await emit(b, stack, { uid: `bltProbe${probes}` })).seq)) === 1), 5_000, 'B to match the new webhook');
    t.diagnostic(`events B recorded before it matched the webhook created on A: ${probes}`);

    const disabled = await a.request('POST', `/v3/webhooks/${hook.uid}/disable`, { headers: { api_key: stack.api_key, authorization: stack.token } });
    assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
    await until(async () => (probes++, (await executionsOf((await emit(b, stack, { uid: `bltProbe${probes}` })).seq)) === 0), 5_000, 'B to stop matching the disabled webhook');
  });

  it('lets a reader paging through events never skip one that commits late', async () => {
    const stack = await a.newStack();
    const input = { api_key: stack.api_key, branch: 'main', module: 'entry' as const, action: 'update' as const, uid: 'bltSlow', actor: 'test', data: {} };
    // A records an event and holds its transaction open; B records the stack's next event meanwhile.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let recorded!: () => void;
    const first = new Promise<void>((r) => (recorded = r));
    const slow = a.herald.db.tx(async (tx) => {
      const e = await a.herald.events.record(tx, input);
      recorded();
      await held;
      return e;
    });
    await first;
    const fast = b.herald.db.tx((tx) => b.herald.events.record(tx, { ...input, uid: 'bltFast' }));
    await new Promise((r) => setTimeout(r, 200)); // room for B to commit, were it not made to wait
    const page = async () => (await b.request('GET', '/v3/events?after=0', { headers: { api_key: stack.api_key, authorization: stack.token } })).body.events as Array<{ seq: number; uid: string }>;
    assert.deepEqual(await page(), [], 'no later event is visible while an earlier one is uncommitted');
    release();
    const [e1, e2] = await Promise.all([slow, fast]);
    assert.ok(e1.seq < e2.seq);
    assert.deepEqual((await page()).map((e) => e.uid), ['bltSlow', 'bltFast']);
  });

  it('wakes a worker in another process as soon as an API node commits executions', async () => {
    // The worker's fallback timer fires 5 s after its last round; each delivery here is awaited
    // for half that, so only the signal the API node sends after its commit can bring it.
    const worker = await startHerald({ databaseUrl: schema.url, role: 'worker' });
    const rx = await startReceiver();
    try {
      const stack = await a.newStack();
      await createWebhook(a, stack, rx.url);
      for (let i = 0; i < 5; i++) {
        await emit(a, stack, { uid: `bltWake${i}` });
        await rx.waitFor(i + 1, 2_500);
      }
    } finally {
      await rx.close();
      await worker.close();
    }
  });
});
