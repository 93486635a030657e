/**
 * Db.committedValues (SQLite): a read the delivery path runs on the writer's connection when no
 * transaction is open there (its page cache stays warm across its own commits; the reader's is
 * thrown away after each). It must read as the reader would: committed rows only, whatever
 * transaction is open on the writer when it is called, and nothing that writes.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Db } from '../../src/store/db.ts';
import { openFreshStore } from '../helpers/store.ts';

describe('committedValues on SQLite', () => {
  let db: Db;
  let drop: () => Promise<void>;
  before(async () => {
    ({ db, drop } = await openFreshStore('sqlite', 'committed-values'));
  });
  after(async () => {
    await db.close();
    await drop();
  });
  beforeEach(() => db.run('DELETE FROM stacks'));

  const stack = (key: string) => [key, `stack ${key}`, '{}', 0, 0];
  const INSERT = 'INSERT INTO stacks (api_key, name, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?)';
  const KEYS = 'SELECT api_key FROM stacks ORDER BY api_key';

  it('reads committed rows, outside any transaction', async () => {
    await db.run(INSERT, stack('a'));
    assert.deepEqual(await db.committedValues!(KEYS), [['a']]);
  });

  it("never sees a row of the writer's open transaction, called while it is open (between its statements and across its awaits)", async () => {
    await db.run(INSERT, stack('a'));
    const seen: unknown[][][] = [];
    await db.tx(async (tx) => {
      await tx.run(INSERT, stack('b'));
      seen.push(await db.committedValues!(KEYS));
      await new Promise((r) => setImmediate(r));
      seen.push(await db.committedValues!(KEYS));
      // The transaction itself sees its row.
      assert.deepEqual(await tx.values(KEYS), [['a'], ['b']]);
    });
    assert.deepEqual(seen, [[['a']], [['a']]]);
    assert.deepEqual(await db.committedValues!(KEYS), [['a'], ['b']]);
  });

  it('never sees a row of a transaction that rolls back, read while it was open', async () => {
    let seen: unknown[][] = [];
    await assert.rejects(
      db.tx(async (tx) => {
        await tx.run(INSERT, stack('c'));
        seen = await db.committedValues!(KEYS);
        throw new Error('rolled back');
      }),
      /rolled back/,
    );
    assert.deepEqual(seen, []);
    assert.deepEqual(await db.committedValues!(KEYS), []);
  });

  it('refuses a statement that writes, and writes nothing', async () => {
    await assert.rejects(db.committedValues!(INSERT, stack('d')), /not a read-only statement/);
    await assert.rejects(db.committedValues!(`${INSERT} RETURNING api_key`, stack('e')), /not a read-only statement/);
    assert.deepEqual(await db.values(KEYS), []);
  });
});
