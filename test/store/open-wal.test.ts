/**
 * Opening a SQLite store switches its file to WAL. Switching upgrades a lock, and SQLite answers
 * SQLITE_BUSY at once (without its busy handler) while another process holds a lock on the file:
 * several processes opening a new store together hit it on a loaded machine. The store tries again.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openSqlite } from '../../src/store/sqlite.ts';

/** Another process holding a write transaction on `file` for `ms`; resolves once it holds it, with its exit. */
function holdWriteLock(file: string, ms: number): Promise<{ exited: Promise<number | null> }> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(${JSON.stringify(file)});
    db.prepare('BEGIN IMMEDIATE').run();
    db.prepare('INSERT INTO t VALUES (1)').run();
    process.stdout.write('held\\n');
    setTimeout(() => { db.prepare('COMMIT').run(); db.close(); }, ${ms});`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => String(d).includes('held') && resolve({ exited }));
    child.on('exit', (code) => reject(new Error(`the lock holder exited (${code}) before holding`)));
  });
}

describe('opening a SQLite store', () => {
  it('waits for another process that holds a lock while the new file is switched to WAL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-open-wal-'));
    try {
      const file = join(dir, 'herald.db');
      // A new store's file as another process just created it: rollback journal, one table.
      const first = new Database(file);
      first.exec('CREATE TABLE t (x)');
      first.close();
      const holder = await holdWriteLock(file, 300);
      const t0 = Date.now();
      const db = await openSqlite(file);
      try {
        assert.ok(Date.now() - t0 >= 200, 'opened while the other process still held its lock');
        assert.equal((await db.get<{ journal_mode: string }>('PRAGMA journal_mode'))?.journal_mode, 'wal');
      } finally {
        await db.close();
      }
      assert.equal(await holder.exited, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
