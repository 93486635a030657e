import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, emit, executions, until } from '../helpers/engine.ts';
import { testBackends } from '../helpers/postgres.ts';

/** One sample's value from Prometheus text; 0 when absent. */
function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/**
 * A webhook's enabled state has one writer (webhooks/store.ts): the circuit breaker's change is a
 * new version like any other, and executions parked while a webhook is disabled are "parked"
 * alike in the metrics, readiness and the activity log.
 */
for (const backend of await testBackends()) describe(`a webhook's enabled state on ${backend}`, () => {
  /** One attempt per execution, and the breaker trips on the second failed execution. */
  let quick: TestHerald;
  /** Retries a minute apart: a failed first attempt leaves its execution waiting. */
  let patient: TestHerald;
  before(async () => {
    [quick, patient] = await Promise.all([
      startHerald({ backend, retryDelaysMs: [], circuitBreakerThreshold: 2 }),
      startHerald({ backend, retryDelaysMs: [60_000] }),
    ]);
  });
  after(() => Promise.all([quick.close(), patient.close()]));

  it('makes the breaker disabling a Contentful definition a new version, so a PUT with the old version is a 409', async () => {
    const rx = await startReceiver((_r, res) => void (res.statusCode = 500));
    const stack = await quick.newStack();
    const cf = { authorization: `Bearer ${stack.token}`, 'content-type': 'application/vnd.contentful.management.v1+json' };
    const path = `/spaces/${stack.api_key}/webhook_definitions`;
    const created = await quick.request('POST', path, { headers: cf, body: { name: 'build', url: rx.url + '/cf', topics: ['*.*'] } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.sys.version, 1);
    const id = created.body.sys.id;

    await emit(quick, stack, { uid: 'bltBreakA' });
    await emit(quick, stack, { uid: 'bltBreakB' });
    const tripped = await until(async () => {
      const r = await quick.request('GET', `${path}/${id}`, { headers: cf });
      return r.body.active === false ? r.body : null;
    }, 10_000, 'the breaker');
    assert.equal(tripped.sys.version, 2, 'the breaker made a new version');

    const stale = await quick.request('PUT', `${path}/${id}`, {
      headers: { ...cf, 'x-contentful-version': '1' },
      body: { name: 'build', url: rx.url + '/cf', topics: ['*.*'], active: true },
    });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.sys.id, 'VersionMismatch');
    const still = await quick.request('GET', `${path}/${id}`, { headers: cf });
    assert.equal(still.body.active, false, 'the stale PUT did not turn it back on');

    const current = await quick.request('PUT', `${path}/${id}`, {
      headers: { ...cf, 'x-contentful-version': '2' },
      body: { name: 'build', url: rx.url + '/cf', topics: ['*.*'], active: true },
    });
    assert.equal(current.status, 200);
    assert.equal(current.body.active, true);
    assert.equal(current.body.sys.version, 3);
    await rx.close();
  });

  it('counts executions waiting on a disabled webhook as parked, not due, in metrics, readiness and the log alike', async () => {
    const rx = await startReceiver((_r, res) => void (res.statusCode = 500));
    const stack = await patient.newStack();
    const hook = await createWebhook(patient, stack, rx.url);
    const headers = { api_key: stack.api_key, authorization: stack.token };
    const depth = async () => {
      const text = (await patient.request('GET', '/metrics')).body as string;
      return Object.fromEntries(['due', 'retry', 'parked'].map((s) => [s, sample(text, 'herald_queue_depth', `state="${s}"`)]));
    };
    const before = await depth();
    await emit(patient, stack, { uid: 'bltParkA' });
    await emit(patient, stack, { uid: 'bltParkB' });
    // Both fail once and wait a minute for their retry.
    await until(async () => (await executions(patient, stack, hook.uid)).filter((x: any) => x.attempts === 1).length === 2, 10_000, 'first attempts');
    assert.equal((await patient.request('POST', `/v3/webhooks/${hook.uid}/disable`, { headers })).status, 200);

    const after = await depth();
    assert.equal(after.parked - before.parked, 2, 'two parked');
    assert.equal(after.due - before.due, 0, 'parked executions are not due');
    assert.equal(after.retry - before.retry, 0, 'nor waiting for a retry');
    const ready = await patient.request('GET', '/readyz');
    assert.equal(ready.status, 200);
    const log = await executions(patient, stack, hook.uid);
    assert.deepEqual(log.map((x: any) => [x.state, x.parked, x.next_attempt_at]), [
      ['pending', true, null],
      ['pending', true, null],
    ]);

    // Enabled again: due now, no longer parked.
    assert.equal((await patient.request('POST', `/v3/webhooks/${hook.uid}/enable`, { headers })).status, 200);
    await until(async () => (await executions(patient, stack, hook.uid)).every((x: any) => !x.parked), 10_000, 'unparked');
    assert.equal((await depth()).parked - before.parked, 0);
    await rx.close();
  });
});
