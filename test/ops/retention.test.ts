import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { removeDir, startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, emit, executions, until } from '../helpers/engine.ts';
import { sortableIdFloor } from '../../src/ids.ts';

describe('log retention in a running server', () => {
  const cleanup: Array<() => Promise<unknown> | void> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('prunes finished executions older than the retention period, with their attempts, in the background', async () => {
    const rx = await startReceiver();
    cleanup.push(() => rx.close());
    let h: TestHerald = await startHerald({ logRetentionDays: 1 });
    const dataDir = h.dataDir;
    cleanup.push(() => removeDir(dataDir));
    const stack = await h.newStack();
    const hook = await createWebhook(h, stack, rx.url);
    const oldEvent = await emit(h, stack, { uid: 'bltOld', action: 'publish' });
    await emit(h, stack, { uid: 'bltNew', action: 'publish' });
    const done = await until(async () => {
      const list = await executions(h, stack, hook.uid, '&state=succeeded');
      return list.length === 2 ? list : null;
    }, 5000, 'both deliveries');
    const old = done!.find((x: any) => x.seq === oldEvent.seq)!;
    assert.ok(old);
    // It was made and ended two days ago, as far as the store knows (its id says when it was made).
    const twoDaysAgo = Date.now() - 2 * 86_400_000;
    const oldUid = `${sortableIdFloor('exe', twoDaysAgo)}old`;
    await h.herald.db.tx(async (tx) => {
      await tx.run('UPDATE executions SET uid = ?, created_at = ?, updated_at = ? WHERE uid = ?', [oldUid, twoDaysAgo, twoDaysAgo, old.uid]);
      await tx.run('UPDATE attempts SET execution_uid = ? WHERE execution_uid = ?', [oldUid, old.uid]);
    });
    await h.close();

    // The pruner runs shortly after a start, then hourly.
    h = await startHerald({ logRetentionDays: 1 }, dataDir);
    cleanup.push(() => h.close());
    await until(async () => (await executions(h, stack, hook.uid)).length === 1, 10_000, 'the old execution to be pruned');
    const [kept] = await executions(h, stack, hook.uid);
    assert.notEqual(kept.uid, oldUid);
    assert.equal(kept.request_details.length, 1, 'the recent execution keeps its attempt');
    const orphans = await h.herald.db.all('SELECT uid FROM attempts WHERE execution_uid = ?', [oldUid]);
    assert.deepEqual(orphans, [], 'its attempts went with it');
  });
});
