import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, emit, executions, until } from '../helpers/engine.ts';
import { testBackends } from '../helpers/postgres.ts';
import { QUEUE_DEPTH_SQL } from '../../src/delivery/queue/index.ts';
import { Histogram, Registry } from 'prom-client';
import { CountedHistogram } from '../../src/ops/metrics.ts';

// Asked before any test is registered: test/run.ts passes --test-force-exit, which ends a file once
// the tests registered so far have ended, so tests registered after a top-level await can be dropped.
const backends = await testBackends();

/** Reads one sample's value from Prometheus text; 0 when absent. */
function sample(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}}` : `${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('metrics', () => {
  let h: TestHerald;
  before(async () => {
    h = await startHerald({ retryDelaysMs: [100], metricsToken: 'metrics-token-0123456789' });
  });
  after(() => h.close());

  const scrape = async () => {
    const r = await h.request('GET', '/metrics', { headers: { authorization: 'Bearer metrics-token-0123456789' } });
    assert.equal(r.status, 200);
    return r.body as string;
  };

  it('refuses a scrape without the bearer token when one is set', async () => {
    assert.equal((await h.request('GET', '/metrics')).status, 401);
    assert.equal((await h.request('GET', '/metrics', { headers: { authorization: 'Bearer wrong' } })).status, 401);
  });

  it('moves counters and histograms by the right amounts for successes, failures and retries', async () => {
    let n = 0;
    // First call fails with 500, its retry succeeds; every other call succeeds.
    const rx = await startReceiver((_r, res) => {
      if (n++ === 0) res.statusCode = 500;
    });
    const down = await startReceiver();
    await down.close(); // a closed port: connections are refused
    const stack = await h.newStack();
    const ok = await createWebhook(h, stack, rx.url);
    const refused = await createWebhook(h, stack, down.url);
    const before = await scrape();

    for (let i = 0; i < 3; i++) await emit(h, stack, { uid: `bltM${i}`, action: 'publish' });
    await until(async () => (await executions(h, stack, ok.uid, '&state=succeeded')).length === 3, 5000, 'successes');
    await until(async () => (await executions(h, stack, refused.uid, '&state=failed')).length === 3, 5000, 'failures');
    const text = await scrape();
    const delta = (name: string, labels = '') => sample(text, name, labels) - sample(before, name, labels);

    assert.equal(delta('herald_events_total', 'module="entry",action="publish"'), 3);
    // ok: 4 attempts (one 500 then 3 successes); refused: 3 executions x 2 attempts.
    assert.equal(delta('herald_attempts_total', 'outcome="success"'), 3);
    assert.equal(delta('herald_attempts_total', 'outcome="http_error"'), 1);
    assert.equal(delta('herald_attempts_total', 'outcome="refused"'), 6);
    assert.equal(delta('herald_executions_ended_total', 'state="succeeded"'), 3);
    assert.equal(delta('herald_executions_ended_total', 'state="failed"'), 3);
    assert.equal(delta('herald_attempt_duration_seconds_count'), 10);
    assert.equal(delta('herald_event_to_first_attempt_seconds_count'), 6);
    assert.equal(sample(text, 'herald_queue_depth', 'state="due"'), 0);
    assert.equal(sample(text, 'herald_in_flight_attempts'), 0);
    await rx.close();
  });
});

describe('CountedHistogram', () => {
  it('prints what prom-client prints for a Histogram given the same observations', async () => {
    const bounds = [0.001, 0.0025, 0.01, 0.5, 1, 30];
    const ours = new Registry();
    const theirs = new Registry();
    const counted = new CountedHistogram('h_seconds', 'help text', bounds, ours);
    const reference = new Histogram({ name: 'h_seconds', help: 'help text', buckets: bounds, registers: [theirs] });
    // Nothing observed yet: every bucket, the sum and the count at 0.
    assert.equal(await ours.metrics(), await theirs.metrics());
    // On a bound, between bounds, past the last one, and 0.
    for (const v of [0, 0.001, 0.0011, 0.0025, 0.3, 1, 29.9, 30, 31, 1e6, 0.25]) {
      counted.observe(v);
      reference.observe(v);
    }
    const text = await ours.metrics();
    assert.equal(text, await theirs.metrics());
    assert.match(text, /h_seconds_bucket\{le="0.5"\} 6/);
    assert.match(text, /h_seconds_count 11/);
  });
});

// Scraped every few seconds: the queue depth must read the queue, not every execution the log keeps.
for (const backend of backends) {
  describe(`the queue depth query on ${backend}`, () => {
    it('reads unfinished executions through their partial index, not the whole table', async () => {
      const h = await startHerald({ backend });
      try {
        const plan = await h.herald.db.tx(async (tx) => {
          if (backend === 'sqlite') return JSON.stringify(await tx.all(`EXPLAIN QUERY PLAN ${QUEUE_DEPTH_SQL}`, [Date.now()]));
          // A few rows make any plan cheap: forbid sequential scans to see whether the index is usable at all.
          await tx.run('SET LOCAL enable_seqscan = off');
          return JSON.stringify(await tx.all(`EXPLAIN ${QUEUE_DEPTH_SQL}`, [Date.now()]));
        });
        assert.match(plan, /executions_unfinished/);
      } finally {
        await h.close();
      }
    });
  });
}
