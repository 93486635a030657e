import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import type { Config } from '../../src/config.ts';
import { startHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, emit, executions, sleep, until } from '../helpers/engine.ts';
import { freshSchema, testBackends } from '../helpers/postgres.ts';

/**
 * Outcomes are written after the HTTP exchange, in batches; a slot is freed when its exchange ends,
 * before its outcome is written. Here another session holds a lock that every outcome write waits
 * for:
 * - when the store cannot keep up, the dispatcher stops claiming once `maxInFlight` outcomes wait,
 *   instead of sending the whole backlog with nothing recorded (unbounded memory, and claims that
 *   outlive their lease are sent twice);
 * - when the write fails for a reason that passes (the connection writing them is cut), the worker
 *   writes them again while its claims last, instead of leaving the executions to be sent a second
 *   time once their leases end.
 */
const MAX_IN_FLIGHT = 4;
const EVENTS = 40;

const backends = await testBackends();

describe('when outcomes cannot be written', { skip: !backends.includes('postgres') && 'no PostgreSQL reachable' }, () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  });

  /**
   * Herald on a fresh schema with a webhook, and a session that holds `attempts` in SHARE mode:
   * attempt rows cannot be inserted until it commits; claiming (which never touches attempts) goes on.
   */
  async function blockedOutcomes(settings: Partial<Config>) {
    const schema = await freshSchema();
    cleanup.push(schema.drop);
    const h = await startHerald({ databaseUrl: schema.url, ...settings });
    cleanup.push(() => h.close());
    const rx = await startReceiver();
    cleanup.push(() => rx.close());
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, rx.url, { channels: ['content_types.entries.update'] });
    const blocker = new pg.Client({ connectionString: schema.url });
    await blocker.connect();
    cleanup.push(() => blocker.end());
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE attempts IN SHARE MODE');
    const blockerPid = (await blocker.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    return { schema, h, rx, stack, hook, blocker, blockerPid };
  }

  it('stops claiming once maxInFlight outcomes wait, then delivers the rest once each', async () => {
    const { h, rx, stack, hook, blocker } = await blockedOutcomes({ maxInFlight: MAX_IN_FLIGHT, maxInFlightPerWebhook: MAX_IN_FLIGHT });

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

  it('writes them again after the connection writing them is cut: every execution sent once and logged once', async () => {
    // Leases far longer than the waits below: an execution sent again at lease end would show as a
    // timeout, not as a late duplicate.
    const { schema, h, rx, stack, hook, blocker, blockerPid } = await blockedOutcomes({ leaseMarginMs: 120_000 });
    const admin = new pg.Client({ connectionString: schema.url });
    await admin.connect();
    cleanup.push(() => admin.end());
    const events = 6;
    for (let i = 0; i < events; i++) await emit(h, stack, { uid: `bltentry${String(i).padStart(4, '0')}` });
    await rx.waitFor(events);
    const waiting = await until(
      async () => {
        // Only the sessions our blocker holds up: pg_stat_activity lists every session on the
        // server, and another run of this test (two suites on one server) has writers of its own.
        const r = await admin.query(
          "SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)) AND query LIKE 'INSERT INTO attempts%'",
          [blockerPid],
        );
        return r.rows.length > 0 ? r.rows.map((x) => x.pid as number) : undefined;
      },
      10_000,
      'the outcome write waiting on the lock',
    );
    for (const pid of waiting!) await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await blocker.query('COMMIT');

    await until(async () => (await executions(h, stack, hook.uid, '&state=succeeded')).length === events, 15_000, 'every execution succeeded');
    const ids = rx.received.map((r) => String(r.headers['webhook-id']));
    assert.equal(new Set(ids).size, events);
    assert.equal(ids.length, events, 'each execution was sent once');
    const logged = await admin.query('SELECT execution_uid, count(*)::int AS n FROM attempts GROUP BY execution_uid');
    assert.equal(logged.rows.length, events);
    assert.ok(logged.rows.every((r) => r.n === 1), `one attempt row per execution: ${JSON.stringify(logged.rows)}`);
  });
});
