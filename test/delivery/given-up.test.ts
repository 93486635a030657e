/**
 * An outcome the outcome writer gives up recording (src/delivery/outcome-writer.ts: the write
 * failed for a reason that does not pass) leaves its execution in flight; it must be sent again at
 * its lease end by the running process, not wait for a restart. On SQLite a lease keeps the row
 * out of the due index (queue/lease.ts LEASE_SQLITE), so the writer's give-up puts it back, due at
 * its lease end (queue/release.ts expireClaims); on PostgreSQL the lease wrote it so.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, emit, sleep, until } from '../helpers/engine.ts';

const ON_POSTGRES = process.env.HERALD_TEST_BACKEND === 'postgres';
/** deliveryTimeoutMs + leaseMarginMs: a claim's lease, ms. */
const TIMEOUT_MS = 1_000;
const MARGIN_MS = 500;

/** Makes every INSERT of a second attempt's row fail (not a passing error: the writer gives up at once). */
async function refuseSecondAttempts(h: TestHerald): Promise<() => Promise<void>> {
  if (ON_POSTGRES) {
    await h.herald.db.run("CREATE FUNCTION refuse_attempt() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql");
    await h.herald.db.run('CREATE TRIGGER refuse_attempt BEFORE INSERT ON attempts FOR EACH ROW WHEN (NEW.n = 2) EXECUTE FUNCTION refuse_attempt()');
    return async () => {
      await h.herald.db.run('DROP TRIGGER refuse_attempt ON attempts');
      await h.herald.db.run('DROP FUNCTION refuse_attempt()');
    };
  }
  await h.herald.db.run("CREATE TRIGGER refuse_attempt BEFORE INSERT ON attempts WHEN NEW.n = 2 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
  return async () => void (await h.herald.db.run('DROP TRIGGER refuse_attempt'));
}

describe('an outcome the writer gave up recording', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  });

  it('is sent again at its lease end, without a restart, then recorded', async () => {
    const h = await startHerald({ deliveryTimeoutMs: TIMEOUT_MS, leaseMarginMs: MARGIN_MS, retryDelaysMs: [100, 100, 100] });
    cleanup.push(() => h.close());
    // The first call fails (recorded: attempt 1, a retry at 100 ms); the retry, claimed by a scan
    // under a claim's lease, is answered but its outcome cannot be written; the call after answers too.
    const rx = await startReceiver((r, res) => void (res.statusCode = rx.received.indexOf(r) === 0 ? 500 : 200));
    cleanup.push(() => rx.close());
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, rx.url);
    const allow = await refuseSecondAttempts(h);
    await emit(h, stack, { uid: 'bltGivenUp' });
    await rx.waitFor(2, 5_000);
    // The writer flushes within ~10 ms and gives up at once (the error does not pass).
    await sleep(300);
    const held = await h.herald.db.get<{ state: string; attempts: number; next_attempt_at: number | null; lease_until: number | null }>(
      'SELECT state, attempts, next_attempt_at, lease_until FROM executions WHERE webhook_uid = ?',
      [hook.uid],
    );
    assert.equal(held?.state, 'in_flight', 'the claim stands: its outcome is not on disk');
    assert.equal(Number(held?.attempts), 1);
    // Due again at its lease end: in the due index, whatever the backend.
    assert.equal(Number(held?.next_attempt_at), Number(held?.lease_until));
    await allow();
    await rx.waitFor(3, TIMEOUT_MS + MARGIN_MS + 5_000);
    // Against the lease as written (the claim's time + timeout + margin), not the second call's arrival: a loaded machine may take a while from claim to send.
    assert.ok(rx.received[2].at >= Number(held?.lease_until), `sent again once the lease ended, not before (${Number(held?.lease_until) - rx.received[2].at} ms early)`);
    await until(
      async () => (await h.herald.db.get<{ state: string }>('SELECT state FROM executions WHERE webhook_uid = ?', [hook.uid]))?.state === 'succeeded',
      5_000,
      'the attempt after it recorded',
    );
    assert.equal(rx.received.length, 3);
    assert.equal(rx.received[2].headers['webhook-id'], rx.received[1].headers['webhook-id'], 'the same delivery');
  });
});
