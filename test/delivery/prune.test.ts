import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pruneAll, PRUNE_BATCH } from '../../src/delivery/prune.ts';
import { sortableId, sortableIdFloor } from '../../src/ids.ts';
import { startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, emit, emitTogether, until } from '../helpers/engine.ts';

describe('log retention', () => {
  let h: TestHerald;
  before(async () => {
    h = await startHerald();
  });
  after(() => h.close());

  it('prunes finished executions and their attempts past the retention, never unfinished ones', async (t) => {
    const rx = await startReceiver();
    // Closed also when the test fails before closing it below: an open receiver keeps the file's process alive.
    t.after(() => rx.close());
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, rx.url);
    const count = PRUNE_BATCH + 20; // more than one batch
    // In one transaction: 520 one at a time took 13.6 s of the 20 s wait alone at load 15, and past it in the
    // whole of test/delivery/ at load 13.
    await emitTogether(h, stack, Array.from({ length: count }, (_, i) => ({ uid: `bltPrune${i}` })));
    await until(async () => {
      const r = await h.request('GET', `/v3/webhooks/${hook.uid}/executions?limit=1&state=succeeded`, { headers: { api_key: stack.api_key, authorization: stack.token } });
      return r.body.count === count;
    }, 20_000, 'all delivered');
    // One execution is still waiting (its receiver refuses): it must survive pruning.
    await rx.close();
    const waiting = await emit(h, stack, { uid: 'bltStillWaiting' });
    await until(async () => {
      const row = await h.herald.db.get<{ attempts: number }>('SELECT attempts FROM executions WHERE event_seq = ?', [waiting.seq]);
      return row && row.attempts >= 1;
    }, 5000, 'a failed first attempt');

    // Nothing is old enough yet.
    assert.equal(await pruneAll(h.herald.db, Date.now() - 86_400_000), 0);
    // Everything finished before now is past a cutoff of now.
    const pruned = await pruneAll(h.herald.db, Date.now() + 1);
    assert.equal(pruned, count);
    const left = await h.herald.db.all<{ event_seq: number; state: string }>('SELECT event_seq, state FROM executions WHERE webhook_uid = ?', [hook.uid]);
    assert.deepEqual(left.map((r) => r.event_seq), [waiting.seq]);
    const orphans = await h.herald.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM attempts a WHERE NOT EXISTS (SELECT 1 FROM executions x WHERE x.uid = a.execution_uid)');
    assert.equal(Number(orphans!.n), 0);
  });

  it('bounds execution ids by creation time, so pruning reads only executions older than the cutoff', async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const before = sortableId('exe');
    await sleep(3);
    const floor = sortableIdFloor('exe', Date.now());
    await sleep(3);
    const after = sortableId('exe');
    // JS compares ASCII strings by code unit: byte order, as the stores compare uids (SQLite's
    // default BINARY collation, COLLATE "C" on PostgreSQL).
    assert.ok(before < floor && floor < after, `${before} < ${floor} < ${after}`);
  });
});
