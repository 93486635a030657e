import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, emit, executions, until, type Stack } from '../helpers/engine.ts';
import { assembleBuckets } from '../../src/delivery/stats.ts';

/**
 * The activity log's questions: which entity a delivery was about (title, content type, locale),
 * searching and filtering by event, "any failure" (a retry may still come) apart from "failed for
 * good", and the per-bucket health behind the web app's chart (GET /v3/webhooks/{uid}/stats).
 */
describe('the activity log answers what is failing, for which entry, since when', () => {
  let h: TestHerald;
  let stack: Stack;
  let headers: Record<string, string>;
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  let hook: { uid: string };
  let startedAt: number;

  before(async () => {
    // Two attempts in all, the automatic retry a minute away: a failed first attempt stays
    // pending with a retry scheduled, and a manual retry that fails ends it as failed for good.
    h = await startHerald({ retryDelaysMs: [60_000] });
    stack = await h.newStack();
    headers = { api_key: stack.api_key, authorization: stack.token };
    rx = await startReceiver(async (r, res) => {
      const uid: string = r.json?.data?.entry?.uid ?? '';
      if (uid.startsWith('bltslow')) await new Promise((done) => setTimeout(done, 500));
      if (uid.startsWith('bltfail')) res.statusCode = 500;
    });
    hook = await createWebhook(h, stack, `${rx.url}/hook`);
    startedAt = Date.now();
    const entry = (uid: string, title: string, action: 'update' | 'publish' = 'update') =>
      emit(h, stack, { uid, action, locale: 'fr-fr', data: { entry: { uid, title }, content_type: { uid: 'blog', title: 'Blog' } } });
    for (let i = 0; i < 7; i++) await entry(`bltok${i}`, `Fine post ${i}`);
    await entry('bltslow1', 'Slow post');
    await entry('bltfail1', 'Broken post', 'publish');
    await entry('bltfail2', 'Another broken post');
    await until(async () => (await executions(h, stack, hook.uid)).every((x) => x.attempts >= 1), 15_000, 'first attempts');
  });

  after(async () => {
    await rx?.close();
    await h?.close();
  });

  it('names the entity of each delivery: uid, title, content type and locale', async () => {
    const [x] = await executions(h, stack, hook.uid, '&q=bltslow1');
    assert.deepEqual(x.entity, { uid: 'bltslow1', title: 'Slow post', content_type_uid: 'blog', locale: 'fr-fr' });
  });

  it('finds deliveries by entity uid or by a part of the title in any case, and by event', async () => {
    const byTitle = await executions(h, stack, hook.uid, '&q=BROKEN');
    assert.deepEqual(byTitle.map((x) => x.entity_uid).sort(), ['bltfail1', 'bltfail2']);
    const byUid = await executions(h, stack, hook.uid, '&q=bltok3');
    assert.deepEqual(byUid.map((x) => x.entity.title), ['Fine post 3']);
    const wildcard = await executions(h, stack, hook.uid, '&q=%25');
    assert.equal(wildcard.length, 0, 'a % in the search is text, not a wildcard');
    const publishes = await executions(h, stack, hook.uid, '&event=publish');
    assert.deepEqual(publishes.map((x) => x.entity_uid), ['bltfail1']);
    const r = await h.request('GET', `/v3/webhooks/${hook.uid}/executions?event=publish&q=post`, { headers });
    assert.equal(r.body.count, 1, 'the count follows the filters');
    const bad = await h.request('GET', `/v3/webhooks/${hook.uid}/executions?event=shout`, { headers });
    assert.equal(bad.status, 422);
    assert.match(JSON.stringify(bad.body), /event/);
  });

  it('tells "any failure" (a retry is scheduled) from "failed for good"', async () => {
    const anyFailure = await executions(h, stack, hook.uid, '&failed=any');
    assert.deepEqual(anyFailure.map((x) => x.entity_uid).sort(), ['bltfail1', 'bltfail2']);
    assert.ok(anyFailure.every((x) => x.state === 'pending' && x.next_attempt_at), 'both wait for their automatic retry');
    assert.equal((await executions(h, stack, hook.uid, '&state=failed')).length, 0);

    // A manual retry uses the second and last attempt: bltfail1 is now failed for good.
    const fail1 = anyFailure.find((x) => x.entity_uid === 'bltfail1');
    assert.equal((await h.request('POST', `/v3/webhooks/${hook.uid}/retry`, { headers, body: { execution_uid: fail1.uid } })).status, 200);
    const failed = await until(async () => {
      const list = await executions(h, stack, hook.uid, '&state=failed');
      return list.length === 1 ? list : null;
    }, 10_000, 'failed for good');
    assert.equal(failed![0].entity_uid, 'bltfail1');
    assert.deepEqual((await executions(h, stack, hook.uid, '&failed=any')).map((x) => x.entity_uid).sort(), ['bltfail1', 'bltfail2']);
  });

  it('counts successes and failures per bucket, with the p95 attempt duration, for the chart', async () => {
    const to = Date.now() + 1000;
    const from = startedAt - 60_000;
    const r = await h.request('GET', `/v3/webhooks/${hook.uid}/stats?from=${new Date(from).toISOString()}&to=${to}&bucket=1m`, { headers });
    assert.equal(r.status, 200);
    const s = r.body.stats;
    assert.equal(s.bucket_ms, 60_000);
    assert.equal(s.buckets.length, Math.ceil((to - from) / 60_000));
    assert.equal(s.buckets[0].start, new Date(from).toISOString());
    // 8 successes (7 fine, 1 slow); 3 failures (bltfail1 twice, bltfail2 once).
    assert.equal(s.succeeded, 8);
    assert.equal(s.failed, 3);
    assert.equal(s.buckets.reduce((n: number, b: { succeeded: number }) => n + b.succeeded, 0), 8);
    assert.equal(s.buckets[0].succeeded + s.buckets[0].failed, 0, 'nothing before the test began');
    assert.equal(s.buckets[0].p95_ms, null);
    // One bucket over the whole window: with 11 attempts the nearest-rank p95 is the 11th, the 500 ms answer.
    const whole = await h.request('GET', `/v3/webhooks/${hook.uid}/stats?from=${from}&to=${to}&bucket=${to - from}`, { headers });
    assert.equal(whole.body.stats.buckets.length, 1);
    assert.ok(whole.body.stats.buckets[0].p95_ms >= 500, `p95 ${whole.body.stats.buckets[0].p95_ms}`);

    const dflt = await h.request('GET', `/v3/webhooks/${hook.uid}/stats`, { headers });
    assert.equal(dflt.body.stats.buckets.length, 24, 'by default the last 24 hours, hour by hour');
    assert.equal(dflt.body.stats.succeeded, 8);

    const tooMany = await h.request('GET', `/v3/webhooks/${hook.uid}/stats?bucket=1s`, { headers });
    assert.equal(tooMany.status, 422);
    assert.match(tooMany.body.error_message, /^bucket /);
    const garbled = await h.request('GET', `/v3/webhooks/${hook.uid}/stats?bucket=often`, { headers });
    assert.equal(garbled.status, 422);
    const other = await h.newStack();
    const hidden = await h.request('GET', `/v3/webhooks/${hook.uid}/stats`, { headers: { api_key: other.api_key, authorization: other.token } });
    assert.equal(hidden.status, 404, "another stack's webhook is not found");
  });

  it('is described in the OpenAPI description', async () => {
    const r = await h.request('GET', '/v3/openapi.json');
    const op = r.body.paths['/v3/webhooks/{uid}/stats']?.get;
    assert.ok(op, 'the stats route is described');
    assert.deepEqual(op.parameters.filter((p: { in: string }) => p.in === 'query').map((p: { name: string }) => p.name).sort(), ['bucket', 'from', 'to']);
  });
});

describe('assembling stats buckets', () => {
  it('lists every bucket of the window in order, empty ones with zero counts and no p95', () => {
    const from = Date.UTC(2026, 0, 1);
    const out = assembleBuckets({ from, to: from + 3 * 3600_000 - 1, bucket: 3600_000 }, [{ b: 1, succeeded: 4, failed: 1, p95_ms: 12 }]);
    assert.deepEqual(out, [
      { start: '2026-01-01T00:00:00.000Z', succeeded: 0, failed: 0, p95_ms: null },
      { start: '2026-01-01T01:00:00.000Z', succeeded: 4, failed: 1, p95_ms: 12 },
      { start: '2026-01-01T02:00:00.000Z', succeeded: 0, failed: 0, p95_ms: null },
    ]);
  });
});
