/**
 * SQLite's parameters reach better-sqlite3 as arguments up to sqlite.ts SPREAD_MAX and as one array
 * past it (the two bind the same values; arguments are cheaper to read, an array uses no stack).
 * Checked on a real store: every kind of value the store converts binds the same both ways, and a
 * statement with SQLite's most parameters binds from deep in the call stack, where that many
 * arguments would not fit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/store/db.ts';
import { openFreshStore } from '../helpers/store.ts';

describe('SQLite statements’ parameters', () => {
  let db: Db;
  let drop: () => Promise<void>;
  before(async () => {
    ({ db, drop } = await openFreshStore('sqlite', 'bound-parameters'));
  });
  after(async () => {
    await db.close();
    await drop();
  });

  /** `values` bound into a VALUES list of one column, read back in order. */
  const echo = async (values: unknown[]) =>
    (await db.values<[unknown]>(`SELECT column1 FROM (VALUES ${values.map(() => '(?)').join(', ')})`, values)).map(([v]) => v);

  it('binds each kind of value the same in a short statement and in one of 5,000 parameters', async () => {
    const kinds = [null, undefined, true, false, 0, 42, -7, 1.5, '', 'text', 'ünïcödé ✓', Buffer.from([0, 1, 255])];
    const want = [null, null, 1, 0, 0, 42, -7, 1.5, '', 'text', 'ünïcödé ✓', Buffer.from([0, 1, 255])];
    assert.deepEqual(await echo(kinds), want);
    const many = Array.from({ length: 5_000 }, (_, i) => kinds[i % kinds.length]);
    assert.deepEqual(await echo(many), many.map((_, i) => want[i % want.length]));
    // A row's parameters in a write, and the count it reports.
    assert.equal((await db.run(`UPDATE stacks SET name = name WHERE api_key IN (${many.map(() => '?').join(', ')})`, many.map(String))).changes, 0);
  });

  it('binds SQLite’s most parameters (32,766) from deep in the call stack, where as many arguments would not fit', async () => {
    const most = Array.from({ length: 32_766 }, (_, i) => i);
    const sql = `SELECT count(*), sum(column1) FROM (VALUES ${most.map(() => '(?)').join(', ')})`;
    let reached = 0;
    const deep = <T>(depth: number, at: () => T): T => {
      reached++;
      return depth === 0 ? at() : deep(depth - 1, at);
    };
    // How deep `deep` goes on this stack; then the statement at 85% of that, ~150 KB from the end,
    // which a spread of 32,766 arguments (8 bytes each) would overflow. better-sqlite3 binds within
    // the call: at that depth.
    assert.throws(() => deep(Infinity, () => 0), RangeError);
    const limit = reached;
    assert.ok(limit > 1_000, `${limit} calls deep`);
    assert.deepEqual(await deep(Math.floor(limit * 0.85), () => db.values<[number, number]>(sql, most)), [[32_766, (32_765 * 32_766) / 2]]);
  });
});
