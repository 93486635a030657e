import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, emitTogether, until } from '../helpers/engine.ts';
import { testBackends } from '../helpers/postgres.ts';

/**
 * Webhooks whose receivers accept connections and never answer hold their slots until their
 * deadlines (30 s by default). Each holds at most its own limit (16 at first), but enough of them
 * together held every global slot, and every other stack's deliveries waited for those deadlines
 * (session 22: 0 of 5 in 25 s). A share of the global cap is kept for webhooks holding few slots
 * (concurrency.ts globalShare; its arithmetic is tested in concurrency.test.ts).
 *
 * Here the cap is 64: four dead webhooks at 16 each would fill it; 8 are kept.
 */
const MAX_IN_FLIGHT = 64;
const DEAD_WEBHOOKS = 4;

for (const backend of await testBackends()) describe(`the global cap on ${backend}`, () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  });

  it('keeps slots for another stack while one stack’s dead receivers hold all they may', async () => {
    const h = await startHerald({ backend, maxInFlight: MAX_IN_FLIGHT });
    cleanup.push(() => h.close());
    // Accepts every request and answers none until the test ends.
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const dead = await startReceiver(() => gate);
    cleanup.push(async () => {
      open();
      await dead.close();
    });
    const fast = await startReceiver();
    cleanup.push(() => fast.close());

    const noisy = await h.newStack();
    for (let i = 0; i < DEAD_WEBHOOKS; i++) await createWebhook(h, noisy, `${dead.url}/dead${i}`);
    // Distinct entities (one entity's deliveries go one at a time): 20 due at once per webhook.
    await emitTogether(h, noisy, Array.from({ length: 20 }, (_, i) => ({ uid: `bltnoisy${i}` })));
    const kept = MAX_IN_FLIGHT / 8;
    await dead.waitFor(MAX_IN_FLIGHT - kept, 30_000);

    const quiet = await h.newStack();
    const hook = await createWebhook(h, quiet, `${fast.url}/hook`);
    await emitTogether(h, quiet, Array.from({ length: 5 }, (_, i) => ({ uid: `bltquiet${i}` })));
    // Well before the dead ones' 30 s deadlines free anything.
    await fast.waitFor(5, 10_000);
    assert.ok(fast.received.every((r) => r.url === '/hook'));
    assert.equal(dead.received.length, MAX_IN_FLIGHT - kept, `the dead receiver holds ${dead.received.length} requests: all but the kept share`);
    await until(async () => {
      const rows = await h.herald.db.all<{ n: number }>("SELECT count(*) AS n FROM executions WHERE webhook_uid = ? AND state = 'succeeded'", [hook.uid]);
      return Number(rows[0].n) === 5;
    }, 10_000, 'the quiet stack’s 5 executions succeeded');
  });
});
