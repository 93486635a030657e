/**
 * Statements that write several rows on the delivery path run `OR FAIL` on SQLite (store/db.ts
 * manyRows): no statement journal, so a failed one keeps the rows it wrote before failing, inside
 * its transaction. What makes that safe is checked here on a real store of each backend: such a
 * statement failing never lets any of its rows commit, whether its transaction ran alone or as a
 * member of a group commit (sqlite.ts gathered: the group rolls back and is split at the member, the others
 * commit).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { manyRows, type Db, type Tx } from '../../src/store/db.ts';
import { testBackends } from '../helpers/postgres.ts';
import { openFreshStore } from '../helpers/store.ts';

for (const backend of await testBackends()) {
  describe(`a statement writing several rows that fails, on ${backend}`, () => {
    let db: Db;
    let drop: () => Promise<void>;
    before(async () => {
      ({ db, drop } = await openFreshStore(backend, 'many-rows'));
    });
    after(async () => {
      await db.close();
      await drop();
    });
    beforeEach(() => db.run('DELETE FROM stacks'));

    /** Stacks `keys`, in one statement, as the delivery path writes its rows (manyRows). */
    const insert = (tx: Tx, keys: string[]) =>
      tx.run(`INSERT ${manyRows(tx.dialect)}INTO stacks (api_key, name, doc, created_at, updated_at) VALUES ${keys.map(() => "(?, 'n', '{}', 0, 0)").join(', ')}`, keys);
    const stacks = async () => (await db.all<{ api_key: string }>('SELECT api_key FROM stacks ORDER BY api_key')).map((r) => r.api_key);

    it('says which dialect each transaction runs on, and SQLite’s statements are OR FAIL', async () => {
      assert.equal(await db.tx(async (tx) => tx.dialect), backend);
      assert.equal(manyRows(backend), backend === 'sqlite' ? 'OR FAIL ' : '');
    });

    it('commits none of its rows: its transaction rolls back', async () => {
      // The third row repeats the first's key: the statement fails after writing two rows.
      await assert.rejects(db.tx((tx) => insert(tx, ['a', 'b', 'a'])));
      assert.deepEqual(await stacks(), []);
      await db.tx((tx) => insert(tx, ['c', 'd']));
      assert.deepEqual(await stacks(), ['c', 'd']);
    });

    it('commits none of its rows in a group commit, and the other members’ rows commit', async () => {
      const [first, failing, last] = await Promise.allSettled([
        db.tx((tx) => insert(tx, ['a', 'b']), { gather: true }),
        db.tx(async (tx) => {
          await insert(tx, ['m']);
          await insert(tx, ['x', 'y', 'x']);
        }, { gather: true }),
        db.tx((tx) => insert(tx, ['z']), { gather: true }),
      ]);
      assert.equal(first.status, 'fulfilled');
      assert.equal(failing.status, 'rejected');
      assert.equal(last.status, 'fulfilled');
      assert.deepEqual(await stacks(), ['a', 'b', 'z'], 'nothing of the failed member (m, x, y)');
    });
  });
}
