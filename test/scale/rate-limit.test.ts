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
    const hook = await createWebhook(api, stack, rx.url, { channels: ['content_types.entries.create'], rate_limit: { max: 20, per: 'second' } });
    assert.deepEqual(hook.rate_limit, { max: 20, per: 'second' });
    const ct = await api.request('POST', '/v3/content_types', {
      headers,
      body: { content_type: { title: 'Post', uid: 'post', schema: [{ uid: 'title', data_type: 'text', display_name: 'Title', mandatory: true, unique: false }] } },
    });
    assert.equal(ct.status, 201, JSON.stringify(ct.body));

    // 200 changes, far faster than 20 a second: the deliveries queue up behind the rate limit.
    const started = Date.now();
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let i = w; i < DELIVERIES; i += WRITERS) {
          const r = await api.request('POST', '/v3/content_types/post/entries', { headers, body: { entry: { title: `entry ${i}` } } });
          assert.equal(r.status, 201, JSON.stringify(r.body));
        }
      }),
    );
    const written = Date.now() - started;
    // While they drain, the log and the metrics show the waiting ones as rate limited.
    const waiting = await until(
      async () => Number((await sql.query("SELECT COUNT(*) AS n FROM executions WHERE state = 'pending' AND paced = 1 AND next_attempt_at IS NOT NULL")).rows[0].n),
      10_000,
      'executions waiting for the rate limit',
    );
    assert.ok(waiting > 0);
    const log = await api.request('GET', `/v3/webhooks/${hook.uid}/executions?limit=100`, { headers });
    assert.ok(log.body.webhooks.some((x: any) => x.rate_limited && x.state === 'pending'), 'the log shows calls waiting for the rate limit');

    await rx.waitFor(DELIVERIES, 60_000);
    const first = rx.received[0].at;
    const last = rx.received[DELIVERIES - 1].at;
    const span = last - first;
    // Every change once.
    const titles = new Set(rx.received.map((r) => r.json.data.entry.title));
    assert.equal(titles.size, DELIVERIES);
    // Evenly: no second holds much more than the limit (a worker that woke late may catch up a few).
    let busiest = 0;
    for (let i = 0, j = 0; i < rx.received.length; i++) {
      while (rx.received[i].at - rx.received[j].at >= 1_000) j++;
      busiest = Math.max(busiest, i - j + 1);
    }
    // Both workers sent some: the budget is one, not one per process.
    const sentBy = [w1, w2].map((w) => w.output.filter((l) => l.includes('"msg":"attempt"')).length);
    console.log(`# ${DELIVERIES} deliveries in ${span} ms (first to last), written in ${written} ms; busiest second ${busiest}; by worker ${sentBy.join(' / ')}`);
    assert.ok(span >= 9_000 && span <= 11_000, `200 deliveries at 20/s took ${span} ms from first to last`);
    assert.ok(busiest <= 25, `at most ~20 calls in any second (${busiest})`);
    assert.ok(sentBy[0] > 0 && sentBy[1] > 0, `both workers delivered (${sentBy.join(' / ')})`);
  });
});
