/**
 * Rate limit acceptance (#20 item 3): a webhook with `rate_limit: {max: 20, per: "second"}` receives
 * 200 queued deliveries in 10 s +- 1 s, with one API process and two workers on PostgreSQL: one
 * budget for the webhook, shared by both workers (two budgets would drain in 5 s).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { spawnHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, until } from '../helpers/engine.ts';
import { freshSchema, testBackends } from '../helpers/postgres.ts';

const DELIVERIES = 200;
const WRITERS = 8;

const backends = await testBackends();

describe('a rate limit across processes on one PostgreSQL database', { skip: !backends.includes('postgres') && 'no PostgreSQL reachable' }, () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  });

  it('drains 200 deliveries at 20 per second (10 s +- 1 s) with two workers sharing one budget', async () => {
    const schema = await freshSchema();
    cleanup.push(schema.drop);
    const sql = new pg.Client({ connectionString: schema.url });
    await sql.connect();
    cleanup.push(() => sql.end());

    const rx = await startReceiver();
    cleanup.push(() => rx.close());
    const shared = { HERALD_DATABASE_URL: schema.url };
    const [api, w1, w2] = await Promise.all([
      spawnHerald({ ...shared, HERALD_ROLE: 'api', HERALD_RATE_LIMIT: '0' }),
      spawnHerald({ ...shared, HERALD_ROLE: 'worker', HERALD_LOG_LEVEL: 'debug' }),
      spawnHerald({ ...shared, HERALD_ROLE: 'worker', HERALD_LOG_LEVEL: 'debug' }),
    ]);
    for (const p of [api, w1, w2]) cleanup.push(() => p.close());

    const stack = await api.newStack();
    const headers = { api_key: stack.api_key, authorization: stack.token };
    // First one call a minute, so that every change queues up whatever the machine's speed (the
    // first call goes at once); then 20 a second, and the 200 queued calls drain at that pace.
    const hook = await createWebhook(api, stack, rx.url, { channels: ['content_types.entries.create'], rate_limit: { max: 1, per: 'minute' } });
    assert.deepEqual(hook.rate_limit, { max: 1, per: 'minute' });
    const ct = await api.request('POST', '/v3/content_types', {
      headers,
      body: { content_type: { title: 'Post', uid: 'post', schema: [{ uid: 'title', data_type: 'text', display_name: 'Title', mandatory: true, unique: false }] } },
    });
    assert.equal(ct.status, 201, JSON.stringify(ct.body));

    const started = Date.now();
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let i = w; i < DELIVERIES + 1; i += WRITERS) {
          const r = await api.request('POST', '/v3/content_types/post/entries', { headers, body: { entry: { title: `entry ${i}` } } });
          assert.equal(r.status, 201, JSON.stringify(r.body));
        }
      }),
    );
    const written = Date.now() - started;
    await rx.waitFor(1, 10_000);
    const queued = async () => Number((await sql.query("SELECT COUNT(*) AS n FROM executions WHERE state IN ('pending', 'queued')")).rows[0].n);
    await until(async () => (await queued()) === DELIVERIES, 30_000, '200 deliveries queued');
    // The log shows them waiting for the rate limit.
    await until(
      async () => {
        const log = await api.request('GET', `/v3/webhooks/${hook.uid}/executions?limit=100&state=pending`, { headers });
        return log.body.webhooks.length === 100 && log.body.webhooks.every((x: any) => x.rate_limited);
      },
      30_000,
      'the log shows the queued calls waiting for the rate limit',
    );
    assert.equal(rx.received.length, 1);

    const lifted = await api.request('PUT', `/v3/webhooks/${hook.uid}`, { headers, body: { webhook: { rate_limit: { max: 20, per: 'second' } } } });
    assert.equal(lifted.status, 200, JSON.stringify(lifted.body));
    const liftedAt = Date.now();
    await rx.waitFor(DELIVERIES + 1, 60_000);
    const drained = rx.received.slice(1);
    const first = drained[0].at;
    const last = drained[DELIVERIES - 1].at;
    const span = last - first;
    // Every change once.
    const titles = new Set(rx.received.map((r) => r.json.data.entry.title));
    assert.equal(titles.size, DELIVERIES + 1);
    // Evenly: no second holds much more than the limit (a worker that woke late may catch up a few).
    let busiest = 0;
    for (let i = 0, j = 0; i < drained.length; i++) {
      while (drained[i].at - drained[j].at >= 1_000) j++;
      busiest = Math.max(busiest, i - j + 1);
    }
    // Both workers sent some: the budget is one, not one per process.
    const sentBy = [w1, w2].map((w) => w.output.filter((l) => l.includes('"msg":"attempt"')).length);
    console.log(`# ${DELIVERIES} queued deliveries in ${span} ms (first to last; ${last - liftedAt} ms after the limit was set), changes written in ${written} ms; busiest second ${busiest}; by worker ${sentBy.join(' / ')}`);
    assert.ok(span >= 9_000 && span <= 11_000, `200 deliveries at 20/s took ${span} ms from first to last`);
    assert.ok(last - liftedAt <= 11_000, `the last came ${last - liftedAt} ms after the limit was set`);
    assert.ok(busiest <= 30, `at most ~20 calls in any second, a few more when a late worker catches up (${busiest})`);
    assert.ok(sentBy[0] > 0 && sentBy[1] > 0, `both workers delivered (${sentBy.join(' / ')})`);
  });
});
