import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, sleep, until } from '../helpers/engine.ts';

/**
 * Each webhook's concurrency limit adapts to its receiver (src/delivery/concurrency.ts, pure rules
 * tested in concurrency.test.ts): a healthy receiver with a backlog gets more calls at once than
 * the old fixed cap of 16; one answering 503 gets one at a time. The limit shows in the stats
 * route and in /metrics.
 */
const MAX = 64;

/** A receiver that counts how many requests it holds at once, answering `status` after `ms`. */
async function countingReceiver(status: number, ms: number) {
  let now = 0;
  const seen = { max: 0, maxSince: 0 };
  const rx = await startReceiver(async (_req, res) => {
    now++;
    seen.max = Math.max(seen.max, now);
    seen.maxSince = Math.max(seen.maxSince, now);
    await sleep(ms);
    now--;
    res.statusCode = status;
  });
  return { rx, seen };
}

/** `n` entry updates of distinct entities in one transaction: a backlog that is due at once. */
async function backlog(h: TestHerald, stack: { api_key: string }, n: number) {
  await h.herald.db.tx(async (tx) => {
    for (let i = 0; i < n; i++) {
      const uid = `bltentry${i}`;
      await h.herald.events.record(tx, {
        api_key: stack.api_key, branch: 'main', module: 'entry', action: 'update', uid, content_type_uid: 'blog', locale: 'en-us', actor: 'test',
        data: { entry: { uid, title: `Entry ${i}` }, content_type: { uid: 'blog', title: 'Blog' } },
      });
    }
  });
}

async function limitOf(h: TestHerald, stack: { api_key: string; token: string }, uid: string): Promise<{ limit: number | null; max: number }> {
  const r = await h.request('GET', `/v3/webhooks/${uid}/stats`, { headers: { api_key: stack.api_key, authorization: stack.token } });
  assert.equal(r.status, 200);
  return r.body.stats.concurrency;
}

describe('adaptive concurrency per webhook', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  });

  it('a healthy receiver with a backlog gets more than 16 calls at once, within the maximum', async () => {
    const { rx, seen } = await countingReceiver(200, 150);
    cleanup.push(() => rx.close());
    const h = await startHerald({ maxInFlight: 256, maxInFlightPerWebhook: MAX });
    cleanup.push(() => h.close());
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, `${rx.url}/hook`);
    // Distinct entities: one entity's deliveries go one at a time (per-entity order).
    await backlog(h, stack, 500);
    await rx.waitFor(500, 120_000);
    assert.ok(seen.max > 16, `the receiver held at most ${seen.max} requests at once`);
    assert.ok(seen.max <= MAX, `never more than the maximum (${seen.max})`);
    const c = await limitOf(h, stack, hook.uid);
    assert.equal(c.max, MAX);
    assert.ok(c.limit !== null && c.limit > 16, `limit now ${c.limit}`);
    const metrics = await h.request('GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(String(metrics.body), new RegExp(`herald_webhook_concurrency_limit\\{webhook="${hook.uid}"\\} \\d+`));
  });

  it('a receiver answering 503 is brought down to one call at a time', async () => {
    // Answers take 150 ms: the first round's 16 calls (new connections each) all reach the receiver
    // before the first answer, even on a loaded machine (at 20 ms the first answers came back while
    // later calls of the round were still being connected: seen.max < 8 at load 14).
    const { rx, seen } = await countingReceiver(503, 150);
    cleanup.push(() => rx.close());
    const h = await startHerald({ maxInFlight: 256, maxInFlightPerWebhook: MAX, retryDelaysMs: [300, 300, 300, 300, 300, 300, 300, 300], circuitBreakerThreshold: 1_000 });
    cleanup.push(() => h.close());
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, `${rx.url}/hook`);
    await backlog(h, stack, 100);
    await until(async () => (await limitOf(h, stack, hook.uid)).limit === 1, 30_000, 'the limit to reach 1');
    assert.ok(seen.max >= 8, `the first round went out wide (${seen.max}), as before`);
    // From here on, the receiver never holds more than one (the attempts started before settle first).
    await sleep(400);
    seen.maxSince = 0;
    await sleep(1500);
    assert.ok(rx.received.length < 100 * 9, 'still retrying');
    assert.ok(seen.maxSince <= 1, `held ${seen.maxSince} at once after the limit reached 1`);
  });
});
