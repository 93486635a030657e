import type { Db } from '../store/db.ts';

/**
 * Log retention: finished executions (succeeded or failed) older than the retention period are
 * deleted with their attempts, in small batches, each its own short transaction, so pruning never
 * holds the store long enough to stall delivery. Unfinished executions are never pruned, whatever
 * their age: a change is not forgotten before it was delivered or given up on.
 */

/** Executions deleted per transaction. */
export const PRUNE_BATCH = 500;

/** Deletes one batch of finished executions last updated before `cutoff` (ms); returns how many. */
export async function pruneBatch(db: Db, cutoff: number, batch = PRUNE_BATCH): Promise<number> {
  return db.tx(async (tx) => {
    const rows = await tx.all<{ uid: string }>(
      "SELECT uid FROM executions WHERE state IN ('succeeded', 'failed') AND updated_at < ? LIMIT ?",
      [cutoff, batch],
    );
    if (rows.length === 0) return 0;
    const marks = rows.map(() => '?').join(', ');
    const uids = rows.map((r) => r.uid);
    await tx.run(`DELETE FROM attempts WHERE execution_uid IN (${marks})`, uids);
    await tx.run(`DELETE FROM executions WHERE uid IN (${marks})`, uids);
    return rows.length;
  });
}

/** Prunes everything due, batch after batch, yielding to other work between batches. */
export async function pruneAll(db: Db, cutoff: number): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await pruneBatch(db, cutoff);
    total += n;
    if (n < PRUNE_BATCH) return total;
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
