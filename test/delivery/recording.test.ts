import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { startHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, emit, executions, until } from '../helpers/engine.ts';
import { freshSchema, testBackends } from '../helpers/postgres.ts';

/**
 * Outcomes are written after the HTTP exchange, in batches. When that write fails for a reason
 * that passes (here: the database connection recording them is cut), the worker writes them again
 * while its claims last, instead of leaving the executions to be sent a second time once their
 * leases end.
 */
const EVENTS = 6;

const backends = await testBackends();

describe('when recording outcomes fails for a moment', { skip: !backends.includes('postgres') && 'no PostgreSQL reachable' }, () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  });

  it('writes them again while the claims hold: every execution sent once and logged once', async () => {
    const schema = await freshSchema();
    cleanup.push(schema.drop);
    // Leases far longer than the test's waits: an execution sent again at lease end would show as
    // a timeout below, not as a late duplicate.
    const h = await startHerald({ databaseUrl: schema.url, leaseMarginMs: 120_000 });
    cleanup.push(() => h.close());
    const rx = await startReceiver();
    cleanup.push(() => rx.close());
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, rx.url, { channels: ['content_types.entries.update'] });

    // Attempt rows cannot be inserted while this session holds the table in SHARE mode: the
    // outcome write waits on the lock, and is then cut.
    const admin = new pg.Client({ connectionString: schema.url });
    await admin.connect();
    cleanup.push(() => admin.end());
    const blocker = new pg.Client({ connectionString: schema.url });
    await blocker.connect();
    cleanup.push(() => blocker.end());
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE attempts IN SHARE MODE');

    for (let i = 0; i < EVENTS; i++) await emit(h, stack, { uid: `bltentry${String(i).padStart(4, '0')}` });
    await rx.waitFor(EVENTS);
    const waiting = await until(
      async () => {
        const r = await admin.query("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO attempts%'");
        return r.rows.length > 0 ? r.rows.map((x) => x.pid as number) : undefined;
      },
      10_000,
      'the outcome write waiting on the lock',
    );
    for (const pid of waiting!) await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await blocker.query('COMMIT');

    await until(async () => (await executions(h, stack, hook.uid, '&state=succeeded')).length === EVENTS, 15_000, 'every execution succeeded');
    const ids = rx.received.map((r) => String(r.headers['webhook-id']));
    assert.equal(new Set(ids).size, EVENTS);
    assert.equal(ids.length, EVENTS, 'each execution was sent once');
    const logged = await admin.query('SELECT execution_uid, count(*)::int AS n FROM attempts GROUP BY execution_uid');
    assert.equal(logged.rows.length, EVENTS);
    assert.ok(logged.rows.every((r) => r.n === 1), `one attempt row per execution: ${JSON.stringify(logged.rows)}`);
  });
});
