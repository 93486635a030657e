import type { HeraldEvent } from '../../events/event.ts';
import { sortableId } from '../../ids.ts';
import { manyRows, memo, memoByDialect, repeated, typedParams, type Tx } from '../../store/db.ts';
import type { Match } from '../../webhooks/match-index.ts';
import type { BatchSettings } from '../../webhooks/webhook.ts';
import type { ExecutionState } from '../policy.ts';
import { autoSaveDue, chunks, laneKey, laneOf, ROWS_PER_STATEMENT, type AutoSaveOptions } from './lanes.ts';
import type { Admitted, Preleased } from './prelease.ts';
import { UNFINISHED_ROW } from './states.ts';

/**
 * Transition: (event) -> pending | queued; auto-save folding (queued | pending auto_save -> itself
 * with the newer event); debounce folding (a lane's unsent change -> itself with the newer event,
 * its seq added to folded_seqs); and a batch filling up (its waiting executions -> due now).
 */

export interface EnqueueOptions extends AutoSaveOptions {
  /**
   * This store's list of executions leased by their INSERT (prelease.ts), and where to put the ones
   * this call writes so: the caller hands them to the list after commit. Absent: all pending/queued.
   */
  prelease?: { list: Preleased; tx: Admitted };
}

/** Actions a debounce never holds and never folds: the entity is gone (from an environment). */
export const NEVER_HELD: ReadonlySet<string> = new Set(['delete', 'unpublish']);
/**
 * A debounced call waits until no change of its entity came for `debounce_ms`, but at most this
 * many windows after the first change it folds: an entity edited without pause is still sent.
 */
export const DEBOUNCE_MAX_WINDOWS = 10;

/**
 * Fan-out, inside the event's transaction: one execution per matching webhook, `pending` (due now)
 * when its lane is empty, else `queued` behind the lane's head. Returns the number of executions
 * created (events folded into a waiting execution do not count).
 *
 * Auto-save coalescing: an auto_save for a lane that already has an unsent auto_save execution
 * replaces that execution's event (the receiver gets the latest state); a new auto_save execution
 * is due no sooner than `autoSaveWindowMs` after the lane's previous auto_save call. Any other
 * event makes a waiting auto_save due at once, so a publish never waits for the window.
 *
 * Per webhook (#20): with `debounce_ms`, any change folds into the lane's last execution while it
 * is unsent (see debounce()), and a new one waits `debounce_ms`; with `batch`, a new execution is
 * due when its batch's window ends (the window of the webhook's oldest waiting execution), or at
 * once when it is the batch's `max_events`th; with `rate_limit`, it is marked to get a slot of the
 * webhook's rate limit before it is claimed (pace.ts).
 */
export async function enqueue(tx: Tx, event: HeraldEvent, matches: Match[], channel: string, opts: EnqueueOptions): Promise<number> {
  const lane = laneOf(event);
  await tx.lock?.(matches.map((m) => laneKey(m.webhook.uid, lane))); // scale-out, see laneKey
  // Several webhooks: whose lanes of this entity are busy, in one look-up rather than one each.
  const busyLanes = matches.length > 1 ? await busyWebhooks(tx, matches.map((m) => m.webhook.uid), lane) : null;
  // Each row's own columns (OWN_COLUMNS of them, uid ... first_attempt_at), row after row in one
  // array made at its final length (a folded event writes no row, and leaves its part unused):
  // an array per row and a growing array of them were ~0.3 KB per event at fan-out 1.
  const own: unknown[] = new Array(matches.length * OWN_COLUMNS);
  let rows = 0;
  // Whether every row is written leased with one lease end (the plain path: see insertLeased),
  // and that end.
  let allLeased = true;
  let leaseEnd: number | null = null;
  for (const { webhook } of matches) {
    const debounceMs = webhook.debounce_ms ?? 0;
    let busy: boolean;
    if (debounceMs > 0) {
      const r = await debounce(tx, webhook.uid, lane, event, channel, debounceMs, opts.now);
      if (r === 'folded') continue;
      busy = r === 'busy';
    } else {
      // An idle lane (the common case: nothing of this entity on its way) has no auto_save to fold
      // into or to make due, so the look-up comes first and the updates run only behind it: one
      // statement fewer per execution.
      busy = busyLanes ? busyLanes.has(webhook.uid) : (await tx.get(LANE_BUSY, [webhook.uid, lane])) !== undefined;
      if (busy && event.action === 'auto_save') {
        const folded = await tx.run(
          `UPDATE executions SET event_seq = ?, coalesced = coalesced + 1, updated_at = ?
           WHERE webhook_uid = ? AND lane = ? AND action = 'auto_save' AND attempts = 0 AND state IN ('queued', 'pending')`,
          [event.seq, opts.now, webhook.uid, lane],
        );
        if (folded.changes > 0) continue;
      } else if (busy) {
        await tx.run(
          `UPDATE executions SET next_attempt_at = ?, updated_at = ?
           WHERE webhook_uid = ? AND lane = ? AND action = 'auto_save' AND state = 'pending' AND attempts = 0 AND next_attempt_at > ?`,
          [opts.now, opts.now, webhook.uid, lane, opts.now],
        );
      }
    }
    let state: ExecutionState = busy ? 'queued' : 'pending';
    let due: number | null = null;
    let leased: number | null = null;
    if (!busy) {
      // The plain path (due now, alone, unpaced) may be written leased for this process's
      // dispatcher (prelease.ts); anything held, batched or paced is written pending.
      if (opts.prelease && debounceMs === 0 && !webhook.batch && !webhook.rate_limit && event.action !== 'auto_save' && !webhook.disabled) {
        leased = opts.prelease.list.admit(opts.prelease.tx, webhook.uid, opts.now);
      }
      due = event.action === 'auto_save' ? await autoSaveDue(tx, webhook.uid, lane, opts) : opts.now;
      if (debounceMs > 0 && !NEVER_HELD.has(event.action)) due = Math.max(due, opts.now + debounceMs);
      if (webhook.batch) due = await batchDue(tx, webhook.uid, webhook.batch, due, opts.now);
    }
    const uid = sortableId('exe');
    if (leased !== null) {
      // Out of the due index (next_attempt_at NULL, as a SQLite claim writes it, lease.ts): its
      // holder is this process, which records its outcome or, giving up, makes it due at its lease
      // end (release.ts expireClaims).
      state = 'in_flight';
      due = null;
      opts.prelease!.tx.listed.push({ uid, webhook_uid: webhook.uid, lane, event_seq: event.seq, leaseUntil: leased });
      if (leaseEnd === null) leaseEnd = leased;
      else if (leased !== leaseEnd) allLeased = false;
    } else allLeased = false;
    let k = rows++ * OWN_COLUMNS;
    own[k++] = uid;
    own[k++] = webhook.uid;
    own[k++] = state;
    own[k++] = due;
    own[k++] = webhook.batch ? '' : null;
    own[k++] = webhook.rate_limit ? 0 : null;
    // Leased (in_flight): lease_until, first attempt now, as a claim writes them.
    own[k++] = leased;
    own[k] = leased === null ? null : opts.now;
    // Its lane is busy from now on (the row is written below, with the others').
    busyLanes?.add(webhook.uid);
  }
  // One statement for the event's executions (per ROWS_PER_STATEMENT), not one per webhook.
  // Parameters written into one array made at its final length: `part.flat()` and pushes of
  // spread rows were ~1% of the main thread at fan-out 10 (bench profile, session 19).
  // SQLite, every row leased with one lease end: insertLeased binds each row's uid and webhook and
  // the rest once; otherwise insertExecutions binds each row's OWN_COLUMNS.
  const leasedOnly = allLeased && leaseEnd !== null && tx.dialect === 'sqlite';
  const perRow = leasedOnly ? 2 : OWN_COLUMNS;
  for (let from = 0; from < rows; from += ROWS_PER_STATEMENT) {
    const n = Math.min(rows - from, ROWS_PER_STATEMENT);
    const plain = n < SHARED_FROM;
    // The plain statements: each row with the shared columns again; the others: what the rows
    // share bound once, after them (see putShared).
    const sharedLength = leasedOnly ? 9 : 7;
    const params: unknown[] = new Array(plain ? n * (perRow + sharedLength) : n * perRow + sharedLength);
    let i = 0;
    for (let r = from; r < from + n; r++) {
      for (let k = r * OWN_COLUMNS, end = k + perRow; k < end; k++) params[i++] = own[k];
      if (plain) i = putShared(params, i, leasedOnly, event, lane, channel, leaseEnd, opts.now);
    }
    if (!plain) putShared(params, i, leasedOnly, event, lane, channel, leaseEnd, opts.now);
    const text = leasedOnly
      ? (plain ? insertPlainLeased : insertLeased)(n)
      : plain
        ? insertPlain(tx.dialect, n)
        : insertExecutions(tx.dialect, n);
    await tx.run(text, params);
  }
  return rows;
}

/**
 * The columns an event's executions share, written into `params` from `i` (returns where they
 * end), in the order the statements take them: api_key, event_seq, lane, channel, action, then,
 * all leased (insertLeased, insertPlainLeased), lease_until and first_attempt_at, then created_at
 * and updated_at. Written in place: an array of them per event was ~0.1 KB.
 */
function putShared(params: unknown[], i: number, leasedOnly: boolean, event: HeraldEvent, lane: string, channel: string, leaseEnd: number | null, now: number): number {
  params[i++] = event.api_key;
  params[i++] = event.seq;
  params[i++] = lane;
  params[i++] = channel;
  params[i++] = event.action;
  if (leasedOnly) {
    params[i++] = leaseEnd;
    params[i++] = now;
  }
  params[i++] = now;
  params[i++] = now;
  return i;
}

/** The columns of each row enqueue() makes (uid ... first_attempt_at), before the shared ones. */
const OWN_COLUMNS = 8;
// Statement texts per shape (see memo), OR FAIL on SQLite (store/db.ts manyRows: no statement journal).
/** An event's executions, each row's own columns followed by the shared ones (see insertExecutions). */
const insertPlain = memoByDialect(
  (n: number, orFail) => `INSERT ${orFail}INTO executions (uid, webhook_uid, state, next_attempt_at, batch_uid, paced, lease_until, first_attempt_at, api_key, event_seq, lane, channel, action, created_at, updated_at)
   VALUES ${repeated(n, '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')}`,
);
/**
 * Rows from which an event's executions are written by insertExecutions rather than insertPlain:
 * its WITH costs SQLite more than it saves for a few rows (bench:rows, us of CPU per execution,
 * plain -> shared: fan-out 1 5.2-5.5 -> 7.4-7.7, 2 and 4 level within 0.4, 6 4.4-4.7 -> 4.0-4.1,
 * 10 3.8-4.0 -> 3.6-3.7).
 */
const SHARED_FROM = 4;
/**
 * An event's executions: each row's own columns in the VALUES list, the ones they share (api_key,
 * event_seq, lane, channel, action, created_at, updated_at) bound once, after the rows. SQLite
 * binds each parameter from JS one by one (a string is converted and copied each time): at fan-out
 * 10, 150 parameters per event were 86 so. The casts type the VALUES columns on PostgreSQL
 * (parameters arrive untyped), as complete.ts's do; SQLite's are bare (store/db.ts typedParams: its columns apply their affinities).
 */
const insertExecutions = memoByDialect(
  (n: number, orFail, dialect) => `WITH v (uid, webhook_uid, state, next_attempt_at, batch_uid, paced, lease_until, first_attempt_at) AS (
     VALUES ${repeated(n, `(${typedParams(dialect, 'TEXT', 'TEXT', 'TEXT', 'BIGINT', 'TEXT', 'BIGINT', 'BIGINT', 'BIGINT')})`)}
   )
   INSERT ${orFail}INTO executions (uid, api_key, webhook_uid, event_seq, lane, channel, action, state, next_attempt_at, batch_uid, paced, lease_until, first_attempt_at, created_at, updated_at)
   SELECT uid, ${typedParams(dialect, 'TEXT')}, webhook_uid, ${typedParams(dialect, 'BIGINT', 'TEXT', 'TEXT', 'TEXT')}, state, next_attempt_at, batch_uid, paced, lease_until, first_attempt_at, ${typedParams(dialect, 'BIGINT', 'BIGINT')}
   FROM v`,
);
/**
 * SQLite, an event's executions when every one is written leased for this process (prelease.ts)
 * with one lease end: state in_flight, not due (next_attempt_at NULL), alone (batch_uid NULL),
 * unpaced, first attempt now. Only uid and webhook_uid differ from row to row; the rest (api_key,
 * event_seq, lane, channel, action, lease_until, first_attempt_at, created_at, updated_at) is
 * bound once, after the rows, and what is fixed is written in the text. The same rows as
 * insertExecutions writes, with 2 parameters a row instead of 8 (each one SQLite binds from JS:
 * better-sqlite3 converts and copies a string each time).
 */
const insertLeased = memo(
  (n: number) => `WITH v (uid, webhook_uid) AS (VALUES ${repeated(n, '(?, ?)')})
   INSERT ${manyRows('sqlite')}INTO executions (uid, api_key, webhook_uid, event_seq, lane, channel, action, state, next_attempt_at, batch_uid, paced, lease_until, first_attempt_at, created_at, updated_at)
   SELECT uid, ?, webhook_uid, ?, ?, ?, ?, 'in_flight', NULL, NULL, NULL, ?, ?, ?, ? FROM v`,
);
/**
 * As insertLeased, below SHARED_FROM rows (a WITH costs SQLite more than it saves for a few rows):
 * each row in the VALUES list, 11 parameters a row instead of insertPlain's 15.
 */
const insertPlainLeased = memo(
  (n: number) => `INSERT ${manyRows('sqlite')}INTO executions (uid, webhook_uid, api_key, event_seq, lane, channel, action, lease_until, first_attempt_at, created_at, updated_at, state, next_attempt_at, batch_uid, paced)
   VALUES ${repeated(n, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'in_flight', NULL, NULL, NULL)")}`,
);
const busyOf = memo(
  (n: number) => `SELECT DISTINCT webhook_uid FROM executions WHERE webhook_uid IN (${repeated(n)}) AND lane = ? AND ${UNFINISHED_ROW}`,
);
const LANE_BUSY = `SELECT 1 AS busy FROM executions WHERE webhook_uid = ? AND lane = ? AND ${UNFINISHED_ROW} LIMIT 1`;

/** Which of `webhookUids` have an unfinished execution in `lane` (executions_unfinished). */
async function busyWebhooks(tx: Tx, webhookUids: string[], lane: string): Promise<Set<string>> {
  const busy = new Set<string>();
  for (const uids of chunks(webhookUids)) {
    const found = await tx.all<{ webhook_uid: string }>(busyOf(uids.length), [...uids, lane]);
    for (const r of found) busy.add(r.webhook_uid);
  }
  return busy;
}

async function laneBusy(tx: Tx, webhookUid: string, lane: string): Promise<boolean> {
  const row = await tx.get(LANE_BUSY, [webhookUid, lane]);
  return Boolean(row);
}

/**
 * Debounce: an event folds into its lane's last execution when that one is still unsent (queued,
 * or pending and never tried, not in a batch) and is not a delete or unpublish: the execution
 * carries the newer event (the latest state) and lists the older seqs in `folded_seqs`. A pending
 * one then waits until `debounceMs` after this change (at most DEBOUNCE_MAX_WINDOWS windows after
 * its first), keeping a rate limit slot it has. Only the lane's last execution folds, so a change
 * never jumps over a delete queued before it.
 *
 * A delete or unpublish is never held: it makes the lane's waiting change due now (it then queues
 * behind it, in order) and is never folded into.
 */
async function debounce(
  tx: Tx,
  webhookUid: string,
  lane: string,
  event: HeraldEvent,
  channel: string,
  debounceMs: number,
  now: number,
): Promise<'folded' | 'busy' | 'free'> {
  if (NEVER_HELD.has(event.action)) {
    await tx.run(
      `UPDATE executions SET next_attempt_at = ?, updated_at = ?
       WHERE webhook_uid = ? AND lane = ? AND state = 'pending' AND attempts = 0 AND next_attempt_at > ? AND (paced IS NULL OR paced = 0)`,
      [now, now, webhookUid, lane, now],
    );
    return (await laneBusy(tx, webhookUid, lane)) ? 'busy' : 'free';
  }
  const last = await tx.get<{
    uid: string;
    event_seq: number;
    action: string;
    state: string;
    attempts: number;
    next_attempt_at: number | null;
    paced: number | null;
    batch_uid: string | null;
    folded_seqs: string | null;
    created_at: number;
  }>(
    `SELECT uid, event_seq, action, state, attempts, next_attempt_at, paced, batch_uid, folded_seqs, created_at
     FROM executions WHERE webhook_uid = ? AND lane = ? AND ${UNFINISHED_ROW} ORDER BY event_seq DESC LIMIT 1`,
    [webhookUid, lane],
  );
  if (!last) return 'free';
  const unsent = Number(last.attempts) === 0 && (last.state === 'queued' || last.state === 'pending') && !last.batch_uid;
  if (!unsent || NEVER_HELD.has(last.action)) return 'busy';
  const folded = [...(last.folded_seqs ? (JSON.parse(last.folded_seqs) as number[]) : []), Number(last.event_seq)];
  let next = last.next_attempt_at === null ? null : Number(last.next_attempt_at);
  // Queued ones have no time (their head's end decides), parked ones none either, and a rate
  // limit slot is kept.
  if (last.state === 'pending' && next !== null && Number(last.paced) !== 1) {
    next = Math.max(next, Math.min(now + debounceMs, Number(last.created_at) + DEBOUNCE_MAX_WINDOWS * debounceMs));
  }
  await tx.run(
    `UPDATE executions SET event_seq = ?, action = ?, channel = ?, coalesced = coalesced + 1, folded_seqs = ?, next_attempt_at = ?, updated_at = ?
     WHERE uid = ?`,
    [event.seq, event.action, channel, JSON.stringify(folded), next, now, last.uid],
  );
  return 'folded';
}

/**
 * When a batching webhook's new execution is due: with its batch, when the window of the
 * webhook's oldest waiting execution ends (or `window_ms` from now when none waits, or later
 * when `due` says so). The `max_events`th waiting execution fills the batch: all of them are due
 * now. Reads the `executions_batching` index (at most max_events entries).
 */
async function batchDue(tx: Tx, webhookUid: string, batch: BatchSettings, due: number, now: number): Promise<number> {
  const waiting = await tx.get<{ at: number | null; n: number }>(
    `SELECT MIN(next_attempt_at) AS at, COUNT(*) AS n FROM (
       SELECT next_attempt_at FROM executions WHERE webhook_uid = ? AND state = 'pending' AND batch_uid = '' AND next_attempt_at > ?
       ORDER BY next_attempt_at LIMIT ?
     ) w`,
    [webhookUid, now, batch.max_events],
  );
  if (Number(waiting?.n ?? 0) + 1 >= batch.max_events) {
    await tx.run(
      `UPDATE executions SET next_attempt_at = ?, updated_at = ? WHERE webhook_uid = ? AND state = 'pending' AND batch_uid = '' AND next_attempt_at > ?`,
      [now, now, webhookUid, now],
    );
    return now;
  }
  const at = waiting?.at === null || waiting?.at === undefined ? null : Number(waiting.at);
  return at ?? Math.max(due, now + batch.window_ms);
}
