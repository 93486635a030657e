import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { startHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, emit, executions, sleep, until } from '../helpers/engine.ts';
import { freshSchema, testBackends } from '../helpers/postgres.ts';

/**
 * A slot is freed when its HTTP exchange ends, before its outcome is written. When the store cannot
 * keep up (here: another session holds a lock that every outcome write waits for), the dispatcher
 * stops claiming once `maxInFlight` outcomes wait, instead of sending the whole backlog with nothing
 * recorded (unbounded memory, and claims that outlive their lease are sent twice).
 */
const MAX_IN_FLIGHT = 4;
const EVENTS = 40;

const backends = await testBackends();

describe('when outcomes cannot be written', { skip: !backends.includes('postgres') && 'no PostgreSQL reachable' }, () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  });

  it('stops claiming once maxInFlight outcomes wait, then delivers the rest once each', async () => {
    const schema = await freshSchema();
    cleanup.push(schema.drop);
    const h = await startHerald({ databaseUrl: schema.url, maxInFlight: MAX_IN_FLIGHT, maxInFlightPerWebhook: MAX_IN_FLIGHT });
    cleanup.push(() => h.close());
    const rx = await startReceiver();
    cleanup.push(() => rx.close());
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, rx.url, { channels: ['content_types.entries.update'] });

    // Attempt rows cannot be inserted while this session holds the table in SHARE mode; claiming
    // (which never touches attempts) goes on.
    const blocker = new pg.Client({ connectionString: schema.url });
    await blocker.connect();
    cleanup.push(() => blocker.end());
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE attempts IN SHARE MODE');

    // One entity per event: separate lanes, so ordering does not hold any of them back.
    for (let i = 0; i < EVENTS; i++) await emit(h, stack, { uid: `bltentry${String(i).padStart(4, '0')}` });
    await rx.waitFor(MAX_IN_FLIGHT * 2);
    await sleep(1_000); // time enough to send many more, were claims not held back
    // In flight plus waiting to be written: at most maxInFlight of each.
    assert.equal(rx.received.length, MAX_IN_FLIGHT * 2, `${rx.received.length} calls were sent while no outcome could be written`);

    await blocker.query('COMMIT');
    await rx.waitFor(EVENTS);
    await until(async () => (await executions(h, stack, hook.uid, '&state=succeeded')).length === EVENTS, 10_000, 'every execution succeeded');
    const ids = rx.received.map((r) => String(r.headers['webhook-id']));
    assert.equal(ids.length, EVENTS);
    assert.equal(new Set(ids).size, EVENTS, 'each execution was sent once');
  });
});
