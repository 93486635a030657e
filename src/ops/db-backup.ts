import Database from 'better-sqlite3';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { HeraldError } from '../errors.ts';

/**
 * `herald db backup --to FILE`: a consistent copy of the SQLite store, taken online while Herald
 * runs (and writes) in another process.
 *
 * It uses SQLite's online backup API (better-sqlite3 `db.backup()`) through a read-only connection
 * of its own, copying every page in ONE step: a step reads one snapshot (WAL included), so the copy
 * is the store as of one commit. (Copying in small steps would restart each time Herald commits,
 * which under load may be forever.) The copy is written next to the target and renamed into place
 * once complete and checked, so a file at the target is always a whole backup.
 */

/** The store's file under the data dir (the one src/herald.ts opens). */
export function storeFile(dataDir: string): string {
  return join(resolve(dataDir), 'herald.db');
}

export interface BackupResult {
  file: string;
  bytes: number;
  pages: number;
  /** SQLite's `quick_check` of the copy: 'ok' or its first problem. */
  check: string;
}

/** Pages per backup step: all of them (see above). */
const ALL_PAGES = 0x7fffffff;

export async function backupStore(dataDir: string, to: string): Promise<BackupResult> {
  const source = storeFile(dataDir);
  const target = resolve(to);
  if (!existsSync(source)) throw new HeraldError('not_found', `There is no Herald store at ${source} (check --data-dir).`);
  if (existsSync(target)) throw new HeraldError('conflict', `${target} already exists; choose a new file (a backup never overwrites one).`);
  if (!existsSync(dirname(target))) throw new HeraldError('not_found', `The folder of ${target} does not exist.`);
  const partial = `${target}.partial-${process.pid}`;
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    // Herald's writer may hold the lock for a moment; wait for it (ms) rather than fail.
    db.pragma('busy_timeout = 10000');
    const { totalPages } = await db.backup(partial, { progress: () => ALL_PAGES });
    const copy = new Database(partial);
    let check: string;
    try {
      // The copy is a file on its own: no WAL beside it.
      copy.pragma('journal_mode = DELETE');
      check = String(copy.pragma('quick_check', { simple: true }));
    } finally {
      copy.close();
    }
    if (check !== 'ok') throw new HeraldError('internal', `The copy failed its integrity check: ${check}`);
    renameSync(partial, target);
    return { file: target, bytes: statSync(target).size, pages: totalPages, check };
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  } finally {
    db.close();
  }
}
