import { repeated, type Tx } from '../../store/db.ts';
import { chunks, laneKey } from './lanes.ts';
import { UNFINISHED_ROW } from './states.ts';

/**
 * Transition: failed -> pending | queued, by a replay of failed executions (../replay.ts, mode
 * "failed"). Each is sent again as it is (same uid, so the same `webhook-id`; its attempts go on
 * counting), in event order within its lane: the lane's earliest becomes its head (pending, due
 * now) when nothing of that lane is unfinished, and the others wait queued behind it (promote.ts
 * moves them on as each one ends).
 */

export interface FailedExecution {
  uid: string;
  webhook_uid: string;
  lane: string;
}

/**
 * Sends `failed` executions of one webhook again (they must be given in event order). Executions
 * that are no longer failed (a manual retry got there first) are left alone. Returns the uids it
 * moved. A few statements per call, whatever its size: the caller passes a chunk at a time.
 */
export async function resendFailed(tx: Tx, webhookUid: string, failed: FailedExecution[], now: number): Promise<string[]> {
  if (failed.length === 0) return [];
  const lanes = [...new Set(failed.map((f) => f.lane))];
  // Scale-out (PostgreSQL): a lane's head may be ending in another process (see laneKey).
  await tx.lock?.(lanes.map((l) => laneKey(webhookUid, l)));
  const busy = new Set<string>();
  for (const part of chunks(lanes)) {
    const rows = await tx.all<{ lane: string }>(
      `SELECT DISTINCT lane FROM executions WHERE webhook_uid = ? AND lane IN (${repeated(part.length)}) AND ${UNFINISHED_ROW}`,
      [webhookUid, ...part],
    );
    for (const r of rows) busy.add(r.lane);
  }
  const heads: string[] = [];
  const behind: string[] = [];
  for (const f of failed) {
    if (busy.has(f.lane)) behind.push(f.uid);
    else {
      heads.push(f.uid);
      busy.add(f.lane);
    }
  }
  const moved: string[] = [];
  for (const [uids, state, due] of [
    [heads, 'pending', now],
    [behind, 'queued', null],
  ] as const) {
    for (const part of chunks(uids)) {
      const rows = await tx.all<{ uid: string }>(
        `UPDATE executions SET state = ?, next_attempt_at = ?, updated_at = ?, ended_at = NULL, paced = CASE WHEN paced IS NULL THEN NULL ELSE 0 END WHERE uid IN (${repeated(part.length)}) AND state = 'failed' RETURNING uid`,
        [state, due, now, ...part],
      );
      for (const r of rows) moved.push(r.uid);
    }
  }
  return moved;
}
