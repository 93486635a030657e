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
 *
 * The lock order, so no two transactions wait for each other in a cycle: a transaction that may
 * lock a stack's lanes in several calls (recording events, one event at a time; a replay's chunk)
 * holds the stack's event lock (`events:{api_key}`) first, for its whole length; any other takes
 * its lanes in one call, and one that holds lanes never waits for another lane (complete.ts tries
 * them, and on a busy one starts again behind the stacks' event locks).
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
export const ROWS_PER_STATEMENT = 250;

export function chunks<T>(xs: T[], size = ROWS_PER_STATEMENT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/** The largest part of sizedParts, rows (a power of two below ROWS_PER_STATEMENT). */
const LARGEST_PART = 128;

/**
 * `xs` in parts whose sizes are powers of two, largest first (37 rows: 32, 4, 1), for multi-row
 * statements SQLite runs often. Why: the store prepares a statement once per text and keeps it
 * (sqlite.ts); a multi-row statement has one text per row count, and each kept statement holds
 * its compiled program in SQLite's memory (outside V8's heap), up to ~150 KB at 128 rows. Group
 * commits of every size from 1 to 128 left a 100k backlog's drain with 524 statements holding 26
 * MiB (a 1k drain: 105, 4 MiB), a third of the RSS it gained over the 1k drain. Parts of powers of
 * two make at most 8 texts per statement, for one statement per bit of a batch's size (37: 3).
 */
export function sizedParts<T>(xs: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; ) {
    const left = xs.length - i;
    const size = left >= LARGEST_PART ? LARGEST_PART : 2 ** Math.floor(Math.log2(left));
    out.push(xs.slice(i, i + size));
    i += size;
  }
  return out;
}

/**
 * `xs` with its last element repeated up to the next power of two (5 uids: 8), for an `IN (...)`
 * list, where a repeated value changes nothing: the statement's text then comes in a few sizes
 * only (see sizedParts). Empty stays empty.
 */
export function paddedList<T>(xs: T[]): T[] {
  if (xs.length <= 1) return xs;
  const size = 2 ** Math.ceil(Math.log2(xs.length));
  if (size === xs.length) return xs;
  const out = xs.slice();
  while (out.length < size) out.push(xs[xs.length - 1]);
  return out;
}
