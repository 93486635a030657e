import { sortableIdFloor } from '../ids.ts';
import { repeated, type Db } from '../store/db.ts';

/**
 * Log retention: finished executions (succeeded or failed) older than the retention period are
 * deleted with their attempts, in small batches, each its own short transaction, so pruning never
 * holds the store long enough to stall delivery. Unfinished executions are never pruned, whatever
 * their age: a change is not forgotten before it was delivered or given up on.
 */

/** Executions deleted per transaction. */
export const PRUNE_BATCH = 500;

/**
 * Deletes one batch of finished executions last updated before `cutoff` (ms), in id order after
 * `after`; returns how many it deleted and the last id it looked at (null when none is left).
 *
 * Execution ids sort by creation time (sortableId), and one updated before the cutoff was created
 * before it: the scan walks the primary key from the oldest id and stops at the cutoff's ids, so
 * it reads old executions only, never the recent log.
 */
export async function pruneBatch(db: Db, cutoff: number, after = '', batch = PRUNE_BATCH): Promise<{ pruned: number; last: string | null }> {
  return db.tx(async (tx) => {
    const rows = await tx.all<{ uid: string; state: string; updated_at: number }>(
      'SELECT uid, state, updated_at FROM executions WHERE uid > ? AND uid < ? ORDER BY uid LIMIT ?',
      [after, sortableIdFloor('exe', cutoff), batch],
    );
    if (rows.length === 0) return { pruned: 0, last: null };
    // Unfinished executions are kept whatever their age; so are ones finished after the cutoff.
    const uids = rows.filter((r) => (r.state === 'succeeded' || r.state === 'failed') && Number(r.updated_at) < cutoff).map((r) => r.uid);
    if (uids.length > 0) {
      const marks = repeated(uids.length);
      await tx.run(`DELETE FROM attempts WHERE execution_uid IN (${marks})`, uids);
      await tx.run(`DELETE FROM executions WHERE uid IN (${marks})`, uids);
    }
    return { pruned: uids.length, last: rows[rows.length - 1].uid };
  });
}

/** Prunes everything due, batch after batch, yielding to other work between batches. */
export async function pruneAll(db: Db, cutoff: number): Promise<number> {
  let total = 0;
  for (let after = ''; ; ) {
    const { pruned, last } = await pruneBatch(db, cutoff, after);
    total += pruned;
    if (last === null) return total;
    after = last;
    await new Promise((r) => setImmediate(r));
  }
}

/** How often the pruner runs, ms. */
export const PRUNE_INTERVAL_MS = 3_600_000;

/**
 * Runs `prune` (by default the activity log's pruneAll) shortly after start and every
 * PRUNE_INTERVAL_MS with the retention cutoff; returns a stop function.
 */
export function startPruner(
  db: Db,
  retentionDays: number,
  onError: (err: unknown) => void,
  onPruned?: (n: number) => void,
  prune: (cutoff: number) => Promise<number> = (cutoff) => pruneAll(db, cutoff),
): () => Promise<void> {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const run = () => {
    running = prune(Date.now() - retentionDays * 86_400_000).then(
      (n) => {
        if (n && !stopped) onPruned?.(n);
      },
      (err) => {
        if (!stopped) onError(err);
      },
    );
  };
  const timer = setInterval(run, PRUNE_INTERVAL_MS);
  timer.unref();
  // First run shortly after start, not during it.
  const first = setTimeout(run, 1_000);
  first.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    clearTimeout(first);
    await running;
  };
}
