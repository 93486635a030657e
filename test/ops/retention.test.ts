import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { removeDir, startHerald, type TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { createWebhook, emit, executions, until } from '../helpers/engine.ts';

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
    // It ended two days ago, as far as the store knows.
    await h.herald.db.run('UPDATE executions SET updated_at = ? WHERE uid = ?', [Date.now() - 2 * 86_400_000, old.uid]);
    await h.close();

    // The pruner runs shortly after a start, then hourly.
    h = await startHerald({ logRetentionDays: 1 }, dataDir);
    cleanup.push(() => h.close());
    await until(async () => (await executions(h, stack, hook.uid)).length === 1, 10_000, 'the old execution to be pruned');
    const [kept] = await executions(h, stack, hook.uid);
    assert.notEqual(kept.uid, old.uid);
    assert.equal(kept.request_details.length, 1, 'the recent execution keeps its attempt');
    const orphans = await h.herald.db.all('SELECT uid FROM attempts WHERE execution_uid = ?', [old.uid]);
    assert.deepEqual(orphans, [], 'its attempts went with it');
  });
});
