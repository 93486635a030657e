import type { HeraldEvent } from '../../events/event.ts';
import type { Tx } from '../../store/db.ts';

/**
 * Lanes: executions of one webhook for one entity (`module:uid`) form a lane, delivered in event
 * order. Only a lane's head is `pending`; later ones wait `queued`, and the head's end (success or
 * final failure) promotes the next (promote.ts). Lanes never block each other.
 */

export function laneOf(event: Pick<HeraldEvent, 'module' | 'uid'>): string {
  return `${event.module}:${event.uid}`;
}

/**
 * Scale-out (PostgreSQL): the lock key of one webhook's lane. Enqueue (check the lane, insert
 * behind its head) and complete (end the head, promote the next) must not interleave on a lane
 * across processes, or an execution queued behind a head that just ended would wait forever.
 * No-op on SQLite, which runs one transaction at a time.
 */
export function laneKey(webhookUid: string, lane: string): string {
  return `lane:${webhookUid}:${lane}`;
}

/** Auto-save's window, shared by enqueue and promote. */
export interface AutoSaveOptions {
  now: number;
  /** At most one auto_save call per lane in this window, ms. */
  autoSaveWindowMs: number;
}

/**
 * When an auto_save execution of a lane may go: no sooner than `autoSaveWindowMs` after the lane's
 * previous auto_save call (its first attempt, counted from the moment it was claimed).
 */
export async function autoSaveDue(tx: Tx, webhookUid: string, lane: string, opts: AutoSaveOptions): Promise<number> {
  const last = await tx.get<{ at: number | null }>(
    "SELECT MAX(first_attempt_at) AS at FROM executions WHERE webhook_uid = ? AND lane = ? AND action = 'auto_save'",
    [webhookUid, lane],
  );
  return last?.at ? Math.max(opts.now, Number(last.at) + opts.autoSaveWindowMs) : opts.now;
}

/** Rows per multi-row statement: 10 parameters a row stays far below both backends' limits. */
const ROWS_PER_STATEMENT = 250;

export function chunks<T>(xs: T[], size = ROWS_PER_STATEMENT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}
