import { memo, repeated, type Db, type Queryable } from '../../store/db.ts';
import { formBatches } from './batch.ts';
import { decodedEvents, type DecodedEvents } from './decoded.ts';
import { paddedList } from './lanes.ts';
import { leaseRows, type Candidate, type Claimed, type InTx } from './lease.ts';
import { pace } from './pace.ts';
import { DUE } from './states.ts';

export type { Candidate, Claimed, InTx } from './lease.ts';
export { claimedOne } from './lease.ts';

/**
 * Transitions: pending (due) -> in_flight (claimed, under a lease); in_flight whose lease ended ->
 * in_flight (taken over: its process died; at-least-once); and, found while claiming, an execution
 * whose webhook was deleted -> failed, one whose webhook was disabled meanwhile -> parked.
 */

/** Candidates read beyond the claim's limit (see claim()). */
const CANDIDATE_MARGIN = 32;
/**
 * Due executions a scan past saturated webhooks reads at most, unless deep (see claim()). A webhook
 * at its cap with a large due backlog would otherwise make every claim round walk that backlog.
 */
export const SCAN_WINDOW = 1_000;

export interface ClaimOptions {
  now: number;
  /** How many to claim at most. */
  limit: number;
  /** Free slots of each webhook; webhooks absent from the map have `perWebhook` free. */
  freeSlots: (webhookUid: string) => number;
  /** Webhooks with no free slot, left out of the scan. */
  saturated?: string[];
  /**
   * With saturated webhooks: false (default) reads at most SCAN_WINDOW due executions looking for
   * other webhooks' work; true reads past the saturated webhooks' whole due backlog (O(backlog):
   * the dispatcher asks for it sparingly, see dispatcher.ts).
   */
  deep?: boolean;
  /** How long a claim holds, ms: past it, the execution is due again (its process died). */
  leaseMs: number;
}

/** What a claim round got: see claim(). */
export interface ClaimResult {
  claimed: Claimed[];
  /** Due executions left because their webhook had no free slot (saturated webhooks included). */
  capped: number;
  /** The scan stopped at its limit: more due work may follow. */
  more: boolean;
  /** Chosen executions another worker claimed first (PostgreSQL): look again at once. */
  lost: number;
  /** Executions given a rate limit slot this round (pace.ts): some may be due at once, claim again. */
  paced: number;
}

/**
 * Claims due executions, oldest first, at most `freeSlots(webhook)` per webhook so a slow
 * endpoint's backlog never crowds out the others. A claimed execution is `in_flight` with
 * `next_attempt_at` = lease end, so an expired claim is simply due again (SQLite: NULL, out of the
 * due index, until this process gives up on its outcome; lease.ts LEASE_SQLITE).
 *
 * Invariant that makes this cheap: only pending and in-flight executions have a next_attempt_at;
 * queued, finished and parked (webhook disabled) ones have NULL, and the due index holds only the
 * others. The scan walks it in order and skips webhooks at their cap, so it reads O(limit) rows;
 * past a saturated webhook's due backlog it reads at most SCAN_WINDOW rows unless `deep`.
 *
 * PostgreSQL (scale-out): two statements and no transaction, since each round trip is paid by
 * every claim: the candidates are read without locks, then one statement locks the chosen ones
 * that no other worker is claiming right now (SKIP LOCKED), re-checks they are still due (one
 * claimed and committed meanwhile is not), leases them and returns them with their event and
 * webhook. No execution is claimed twice, and an expired lease is taken over by the one worker
 * that locks it. SQLite (one process, one writer) runs the same steps in one transaction.
 */
export async function claim(db: Db, opts: ClaimOptions): Promise<ClaimResult> {
  if (opts.limit <= 0) return { claimed: [], capped: 0, more: false, lost: 0, paced: 0 };
  const events = decodedEvents(db);
  // PostgreSQL: pacing takes its own short transactions; SQLite: all in the claim's one.
  return db.dialect === 'postgres'
    ? claimIn(db, 'postgres', events, opts, (fn) => db.tx(fn))
    : db.tx((tx) => claimIn(tx, 'sqlite', events, opts, (fn) => fn(tx)));
}

// Statement texts per shape (see memo): by the number of saturated webhooks left out, and of
// executions chosen.
const dueCandidates = `SELECT uid, webhook_uid, paced FROM executions WHERE ${DUE} ORDER BY next_attempt_at LIMIT ?`;
const notIn = (n: number) => `webhook_uid NOT IN (${repeated(n)})`;
const deepCandidates = memo((n: number) => `SELECT uid, webhook_uid, paced FROM executions WHERE ${DUE} AND ${notIn(n)} ORDER BY next_attempt_at LIMIT ?`);
const windowCandidates = memo(
  (n: number) => `SELECT uid, webhook_uid, paced FROM (
     SELECT uid, webhook_uid, paced, next_attempt_at FROM executions WHERE ${DUE} ORDER BY next_attempt_at LIMIT ${SCAN_WINDOW}
   ) d WHERE ${notIn(n)} ORDER BY next_attempt_at LIMIT ?`,
);
const chosenDue = memo((n: number) => `uid IN (${repeated(n)}) AND ${DUE}`);

async function claimIn(q: Queryable, dialect: Db['dialect'], events: DecodedEvents, opts: ClaimOptions, inTx: InTx): Promise<ClaimResult> {
  const saturated = opts.saturated ?? [];
  // A few more than needed, to step over a webhook that has fewer free slots than due work; the
  // dispatcher excludes it once saturated and claims again at once.
  const wanted = opts.limit + CANDIDATE_MARGIN;
  // Rows as arrays (Queryable.values): uid, webhook_uid, paced.
  const read: Candidate[] = [];
  for (const r of await q.values<[string, string, number | null]>(
    saturated.length === 0 ? dueCandidates : opts.deep ? deepCandidates(saturated.length) : windowCandidates(saturated.length),
    [opts.now, ...saturated, wanted],
  )) {
    read.push({ uid: r[0], webhook_uid: r[1], paced: r[2] });
  }
  const more = read.length >= wanted;
  // Executions of rate-limited webhooks get a slot first (pace.ts); they are claimed when it comes.
  const unpaced = read.filter((c) => c.paced !== null && Number(c.paced) === 0);
  const paced = unpaced.length > 0 ? await pace(inTx, unpaced, opts.now) : 0;
  const candidates = unpaced.length > 0 ? read.filter((c) => c.paced === null || Number(c.paced) !== 0) : read;
  const { chosen, capped: skipped } = choose(candidates, opts.limit, opts.freeSlots);
  const capped = skipped + saturated.length;
  if (chosen.length === 0) return { claimed: [], capped, more, lost: 0, paced };
  const leaseEnd = opts.now + opts.leaseMs;
  // The uid list padded to a power of two (lanes.ts, paddedList): one lease text per size kept.
  const listed = paddedList(chosen);
  const claimed = await leaseRows(q, dialect, events, { where: chosenDue(listed.length), params: [...listed, opts.now] }, opts.now, leaseEnd);
  const rowCount = claimed.length + claimed.dropped;
  // Rows come back in no particular order; attempts start oldest first.
  const order = new Map(chosen.map((uid, i) => [uid, i]));
  claimed.sort((a, b) => order.get(a.uid)! - order.get(b.uid)!);
  // Executions of batching webhooks go in batches: one Claimed each, with its members (batch.ts).
  const sent = claimed.some((c) => c.batchUid !== null && c.webhook.batch) ? await formBatches(q, dialect, events, claimed, opts.now, leaseEnd) : claimed;
  return { claimed: sent, capped, more, lost: chosen.length - rowCount, paced };
}

/**
 * Which candidates (in due order) to claim: at most `limit`, and at most `freeSlots(webhook)` of
 * each webhook. `capped` counts the candidates left for want of their webhook's slots.
 */
export function choose(candidates: Array<{ uid: string; webhook_uid: string }>, limit: number, freeSlots: (webhookUid: string) => number) {
  const taken = new Map<string, number>();
  const chosen: string[] = [];
  let capped = 0;
  for (const c of candidates) {
    if (chosen.length >= limit) break;
    const n = taken.get(c.webhook_uid) ?? 0;
    if (n >= freeSlots(c.webhook_uid)) {
      capped++;
      continue;
    }
    taken.set(c.webhook_uid, n + 1);
    chosen.push(c.uid);
  }
  return { chosen, capped };
}
