import { memo, memoByDialect, repeated, type Tx } from '../../store/db.ts';
import type { Claimed } from './claim.ts';
import { autoSaveDue, chunks, type AutoSaveOptions } from './lanes.ts';

/**
 * Transition: queued -> pending, when the head of its lane ended (succeeded, or failed for good):
 * the lane's earliest queued execution becomes its head. Runs inside complete()'s transaction.
 */

/**
 * The lanes whose head ended: each lane's earliest queued execution becomes its head, due now (an
 * auto_save with no real change behind it waits for the auto-save window, see enqueue). Returns
 * how many were promoted.
 */
export async function promoteNext(tx: Tx, ended: Claimed[], opts: AutoSaveOptions): Promise<number> {
  let promoted = 0;
  const lanesBy = new Map<string, Set<string>>();
  for (const c of ended) {
    if (!lanesBy.has(c.webhook_uid)) lanesBy.set(c.webhook_uid, new Set());
    lanesBy.get(c.webhook_uid)!.add(c.lane);
  }
  const dueNow: string[] = [];
  for (const [webhookUid, laneSet] of lanesBy) {
    for (const lanes of chunks([...laneSet])) {
      const heads = await tx.all<{ uid: string; lane: string; action: string }>(queuedHeads(lanes.length), [webhookUid, ...lanes]);
      for (const next of heads) {
        promoted++;
        if (next.action !== 'auto_save') {
          dueNow.push(next.uid);
          continue;
        }
        // A waiting auto_save goes at once when a real change waits behind it.
        const behind = await tx.get("SELECT 1 AS x FROM executions WHERE webhook_uid = ? AND lane = ? AND state = 'queued' AND action <> 'auto_save' LIMIT 1", [
          webhookUid,
          next.lane,
        ]);
        if (behind) dueNow.push(next.uid);
        else {
          const due = await autoSaveDue(tx, webhookUid, next.lane, opts);
          await tx.run("UPDATE executions SET state = 'pending', next_attempt_at = ?, updated_at = ? WHERE uid = ?", [due, opts.now, next.uid]);
        }
      }
    }
  }
  for (const uids of chunks(dueNow)) {
    await tx.run(dueNowIn(tx.dialect, uids.length), [opts.now, opts.now, ...uids]);
  }
  return promoted;
}

// Statement texts per number of lanes / executions (see memo).
const queuedHeads = memo(
  (n: number) => `SELECT uid, lane, action FROM (
     SELECT uid, lane, action, ROW_NUMBER() OVER (PARTITION BY lane ORDER BY event_seq) AS r
     FROM executions WHERE webhook_uid = ? AND lane IN (${repeated(n)}) AND state = 'queued'
   ) q WHERE r = 1`,
);
/**
 * OR FAIL on SQLite (store/db.ts manyRows: it may write several rows, and without it SQLite copies
 * each page it touches into a statement journal). Both callers (complete.ts, probe.ts) run it in
 * their transaction and let a failure end it.
 */
const dueNowIn = memoByDialect((n: number, orFail) => `UPDATE ${orFail}executions SET state = 'pending', next_attempt_at = ?, updated_at = ? WHERE uid IN (${repeated(n)})`);
