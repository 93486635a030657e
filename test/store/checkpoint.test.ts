/**
 * The SQLite store's WAL checkpoints on their own thread (src/store/sqlite-checkpoint.ts): while
 * thousands of transactions commit, the thread keeps the WAL starting again from its beginning (far
 * below SQLite's own threshold, raised meanwhile and back to 40 MB if the thread dies),
 * and every commit is in the store when it is opened again. On a real SQLite file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { CHECKPOINT_EVERY_MS, CHECKPOINT_SOON_MS, type Checkpointer, checkpointWait } from '../../src/store/sqlite-checkpoint.ts';
import { AUTOCHECKPOINT_PAGES, BACKSTOP_PAGES, openSqlite, type SqliteDb } from '../../src/store/sqlite.ts';

const COMMITS = 8_000;
/** Commits at most while one checkpoint pass runs (then the test waits for the pass's answer). */
const PER_PASS = 200;
/** Commits at most between two checkpoint passes (then the test waits for the next pass to start). */
const BETWEEN_PASSES = 200;
/** Bytes each commit adds: one row of this size, so at least one full 4 KiB page per commit. */
const ROW_BYTES = 4_000;

function walBytes(file: string): number {
  try {
    return statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
}

/**
 * Runs `fn` on a store with a `blobs` table whose checkpoint thread is up (a server runs for long:
 * the thread is up before its load comes, it opens the store itself), with the errors it reported.
 * The store is closed on failure too: one left open keeps the file's process alive until its time
 * limit. (Closing it twice is fine: see "lets the store be closed twice".)
 */
async function withBlobStore(fn: (s: { db: SqliteDb; file: string; checkpointer: Checkpointer; errors: Error[] }) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-checkpoint-'));
  const file = join(dir, 'herald.db');
  const errors: Error[] = [];
  let db: SqliteDb | undefined;
  try {
    db = (await openSqlite(file, { checkpointThread: true, onCheckpointError: (e) => errors.push(e) })) as SqliteDb;
    assert.equal(await db.checkpointThread(), true);
    const checkpointer = (db as unknown as { checkpointer: Checkpointer }).checkpointer;
    await db.run('CREATE TABLE blobs (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    await fn({ db, file, checkpointer, errors });
  } finally {
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('WAL checkpoints on their own thread', () => {
  it('come every CHECKPOINT_EVERY_MS, sooner when the WAL at its growth would reach its restart first', () => {
    // Growth not known yet, or none: the long wait.
    assert.equal(checkpointWait(4_096, 0), CHECKPOINT_EVERY_MS);
    assert.equal(checkpointWait(-10, 0), CHECKPOINT_EVERY_MS);
    // 10 frames a ms with 4,000 to go: 400 ms away, the long wait.
    assert.equal(checkpointWait(4_000, 10), CHECKPOINT_EVERY_MS);
    // 1,000 frames to go at 20 a ms: 50 ms.
    assert.equal(checkpointWait(1_000, 20), 50);
    // At or past the restart: the shortest wait, never less.
    assert.equal(checkpointWait(100, 20), CHECKPOINT_SOON_MS);
    assert.equal(checkpointWait(-500, 20), CHECKPOINT_SOON_MS);
  });

  it('lets the store be closed twice (the second close answers at once, it does not wait on the thread)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-checkpoint-'));
    try {
      const db = await openSqlite(join(dir, 'herald.db'), { checkpointThread: true, onCheckpointError: () => {} });
      await db.close();
      const second = await Promise.race([db.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('hung'), 5_000).unref())]);
      assert.equal(second, 'closed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keep SQLite's own checkpoint as a far bound while the thread runs, and as before when the thread dies", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-checkpoint-'));
    const file = join(dir, 'herald.db');
    const errors: Error[] = [];
    try {
      const db = (await openSqlite(file, { checkpointThread: true, onCheckpointError: (e) => errors.push(e) })) as SqliteDb;
      const autocheckpoint = () => db.handle.pragma('wal_autocheckpoint', { simple: true });
      assert.equal(await db.checkpointThread(), true);
      assert.equal(autocheckpoint(), BACKSTOP_PAGES);
      // The thread ends (as a crash of it would): reported once, and commits checkpoint again.
      await (db as unknown as { checkpointer: { worker: { terminate(): Promise<number> } } }).checkpointer.worker.terminate();
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(errors.length, 1);
      assert.equal(autocheckpoint(), AUTOCHECKPOINT_PAGES);
      await db.run('CREATE TABLE t (x)');
      await db.run('INSERT INTO t VALUES (1)');
      await db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keep the WAL small under thousands of commits, and lose none of them', async () => {
    await withBlobStore(async ({ db, file, checkpointer, errors }) => {
      const body = 'x'.repeat(ROW_BYTES);
      let largestWal = 0;
      let passes = 0;
      let duringPass = 0;
      let betweenPasses = 0;
      for (let i = 0; i < COMMITS; i++) {
        await db.tx((tx) => tx.run('INSERT INTO blobs (id, body) VALUES (?, ?)', [i, body]));
        largestWal = Math.max(largestWal, walBytes(file));
        // Commits go on while the thread's passes run and while it waits for its next one, as
        // requests and deliveries do, but at most PER_PASS during a pass and BETWEEN_PASSES between
        // two: how far the WAL grows depends on the commits each pass sees, not on how much CPU
        // the thread got (at load ~9 it once fell far behind) nor on how fast this process commits.
        if (checkpointer.passes !== passes) {
          passes = checkpointer.passes;
          duringPass = betweenPasses = 0;
        }
        if (checkpointer.passing) {
          if (++duringPass >= PER_PASS) await checkpointer.passing;
        } else if (++betweenPasses >= BETWEEN_PASSES) {
          // Until the next pass is asked for (it may also have ended by the time this looks).
          while (checkpointer.passes === passes && errors.length === 0) await new Promise((r) => setTimeout(r, 1));
        } else if (i % 10 === 9) {
          // Commits arrive over time, so the thread's timer comes due between them.
          await new Promise((r) => setTimeout(r, 1));
        }
      }
      // About 64 MB were written (two pages a commit). SQLite's own checkpoint alone lets the WAL
      // grow to its threshold (10,000 pages, ~40 MB) before it starts again; the thread makes it
      // start again past RESTART_FRAMES (4,096 pages, 16 MiB), with a finishing pass under the
      // writer lock, or sooner after a pass during which nothing committed. How far past depends
      // on the commits until the finishing pass: here at most BETWEEN_PASSES before the pass that
      // finds the WAL past RESTART_FRAMES and PER_PASS during each of the cycle's three passes,
      // ~2.5 pages each (~25 MB), however much CPU the thread gets. Commits paced by 1 ms sleeps
      // alone (before session 25) drew the margin from the thread keeping up: 27.8 MB once at load
      // ~9 against 24 MB. Without the finishing pass the WAL reached 101 MB here (SQLite's own far
      // bound, BACKSTOP_PAGES), with RESTART_FRAMES at SQLite's own 10,000 pages 51.6 MB. The
      // bound is a literal: it must not follow a changed RESTART_FRAMES.
      const bound = 32 * 1024 * 1024;
      assert.ok(largestWal < bound, `the WAL grew to ${largestWal} bytes (bound ${bound}) over ${passes} passes`);
      assert.deepEqual(errors, []);
      await db.close();

      const again = new Database(file, { readonly: true });
      try {
        const row = again.prepare('SELECT COUNT(*) AS n, SUM(LENGTH(body)) AS bytes FROM blobs').get() as { n: number; bytes: number };
        assert.deepEqual(row, { n: COMMITS, bytes: COMMITS * ROW_BYTES });
      } finally {
        again.close();
      }
    });
  });

  it('start the WAL again when a transaction is open across every pass (one awaiting I/O inside tx())', async () => {
    await withBlobStore(async ({ db, file, checkpointer, errors }) => {
      const body = 'x'.repeat(ROW_BYTES);
      let largestWal = 0;
      let heldAcross = 0;
      for (let i = 0; i < COMMITS; i++) {
        await db.tx(async (tx) => {
          await tx.run('INSERT INTO blobs (id, body) VALUES (?, ?)', [i, body]);
          // A pass under way: this transaction, begun before it ends, commits only after its
          // answer was handled. Its commit cannot start the WAL again (its snapshot is older than
          // the pass's last copy), so the pass must not count as a quiet moment. Only one commit
          // fits in a pass (this one holds the writer), so the WAL grows by commits, not CPU.
          if (checkpointer.passing) {
            heldAcross++;
            await checkpointer.passing;
          }
        });
        largestWal = Math.max(largestWal, walBytes(file));
        if (i % 10 === 9) await new Promise((r) => setTimeout(r, 1));
      }
      assert.ok(heldAcross > 10, `a transaction was open across ${heldAcross} passes only`);
      // ~64 MB of rows written, as above. When the thread took every pass with a transaction
      // across it for a quiet moment, it never ran its finishing pass and the WAL reached 75-91 MB
      // (two runs). With it: RESTART_FRAMES (16 MiB) and the few commits until the finishing pass.
      const bound = 32 * 1024 * 1024;
      assert.ok(largestWal < bound, `the WAL grew to ${largestWal} bytes (bound ${bound}) with ${heldAcross} passes held across`);
      assert.deepEqual(errors, []);
    });
  });
});
