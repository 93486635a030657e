import { sortableId } from '../ids.ts';
import type { HeraldEvent } from '../events/event.ts';
import { eventFromRow, type EventRow } from '../events/record.ts';
import type { Db, Queryable, Tx } from '../store/db.ts';
import type { Match } from '../webhooks/index.ts';
import type { Webhook } from '../webhooks/webhook.ts';
import { json, repeated } from '../store/db.ts';
import { breakerReason, breakerTrips, decide, type ExecutionState } from './policy.ts';
import type { AttemptRecord } from './send.ts';

/**
 * The delivery queue: executions in the store. Every function here is one step of an execution's
 * life (see the state machine in policy.ts), written as portable SQL over the storage interface.
 *
 * Lanes: executions of one webhook for one entity (`module:uid`) form a lane, delivered in event
 * order. Only a lane's head is `pending`; later ones wait `queued` and the head's end (success or
 * final failure) promotes the next. Lanes never block each other.
 */

export interface EnqueueOptions {
  now: number;
  /** At most one auto_save call per lane in this window, ms. */
  autoSaveWindowMs: number;
}

/** Candidates read beyond the claim's limit (see claim()). */
const CANDIDATE_MARGIN = 32;
/**
 * Due executions a scan past saturated webhooks reads at most, unless deep (see claim()). A webhook
 * at its cap with a large due backlog would otherwise make every claim round walk that backlog.
 */
export const SCAN_WINDOW = 1_000;

const UNFINISHED = "('queued', 'pending', 'in_flight')";

export function laneOf(event: Pick<HeraldEvent, 'module' | 'uid'>): string {
  return `${event.module}:${event.uid}`;
}

/**
 * Scale-out (PostgreSQL): the lock key of one webhook's lane. Enqueue (check the lane, insert
 * behind its head) and complete (end the head, promote the next) must not interleave on a lane
 * across processes, or an execution queued behind a head that just ended would wait forever.
 * No-op on SQLite, which runs one transaction at a time.
 */
function laneKey(webhookUid: string, lane: string): string {
  return `lane:${webhookUid}:${lane}`;
}

/**
 * Fan-out, inside the event's transaction: one execution per matching webhook. Returns the number
 * of executions created (auto-saves folded into a waiting one do not count).
 *
 * Auto-save coalescing: an auto_save for a lane that already has an unsent auto_save execution
 * replaces that execution's event (the receiver gets the latest state); a new auto_save execution
 * is due no sooner than `autoSaveWindowMs` after the lane's previous auto_save call. Any other
 * event makes a waiting auto_save due at once, so a publish never waits for the window.
 */
export async function enqueue(tx: Tx, event: HeraldEvent, matches: Match[], channel: string, opts: EnqueueOptions): Promise<number> {
  let created = 0;
  const lane = laneOf(event);
  await tx.lock?.(matches.map((m) => laneKey(m.webhook.uid, lane))); // scale-out, see laneKey
  for (const { webhook } of matches) {
    if (event.action === 'auto_save') {
      const folded = await tx.run(
        `UPDATE executions SET event_seq = ?, coalesced = coalesced + 1, updated_at = ?
         WHERE webhook_uid = ? AND lane = ? AND action = 'auto_save' AND attempts = 0 AND state IN ('queued', 'pending')`,
        [event.seq, opts.now, webhook.uid, lane],
      );
      if (folded.changes > 0) continue;
    } else {
      await tx.run(
        `UPDATE executions SET next_attempt_at = ?, updated_at = ?
         WHERE webhook_uid = ? AND lane = ? AND action = 'auto_save' AND state = 'pending' AND attempts = 0 AND next_attempt_at > ?`,
        [opts.now, opts.now, webhook.uid, lane, opts.now],
      );
    }
    const busy = await tx.get(`SELECT 1 AS busy FROM executions WHERE webhook_uid = ? AND lane = ? AND state IN ${UNFINISHED} LIMIT 1`, [
      webhook.uid,
      lane,
    ]);
    const state: ExecutionState = busy ? 'queued' : 'pending';
    let due: number | null = null;
    if (!busy) due = event.action === 'auto_save' ? await autoSaveDue(tx, webhook.uid, lane, opts) : opts.now;
    await tx.run(
      `INSERT INTO executions (uid, api_key, webhook_uid, event_seq, lane, channel, action, state, next_attempt_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [sortableId('exe'), event.api_key, webhook.uid, event.seq, lane, channel, event.action, state, due, opts.now, opts.now],
    );
    created++;
  }
  return created;
}

/**
 * When an auto_save execution of a lane may go: no sooner than `autoSaveWindowMs` after the lane's
 * previous auto_save call (its first attempt, counted from the moment it was claimed).
 */
async function autoSaveDue(tx: Tx, webhookUid: string, lane: string, opts: EnqueueOptions): Promise<number> {
  const last = await tx.get<{ at: number | null }>(
    "SELECT MAX(first_attempt_at) AS at FROM executions WHERE webhook_uid = ? AND lane = ? AND action = 'auto_save'",
    [webhookUid, lane],
  );
  return last?.at ? Math.max(opts.now, Number(last.at) + opts.autoSaveWindowMs) : opts.now;
}

/** An execution claimed for an attempt, with what is needed to send it. */
export interface Claimed {
  uid: string;
  webhook_uid: string;
  lane: string;
  /** Attempts made before this one. */
  attempts: number;
  /**
   * The claim's lease end (ms), as written on the execution: its outcome is recorded only while the
   * execution still carries it (see complete()).
   */
  leaseUntil: number;
  event: HeraldEvent;
  webhook: Webhook;
}

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

interface ClaimRow {
  uid: string;
  webhook_uid: string;
  lane: string;
  attempts: number;
  doc: string | null;
  w_disabled: number;
  w_reason: string | null;
  w_version: number;
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
}

/**
 * Claims due executions, oldest first, at most `freeSlots(webhook)` per webhook so a slow
 * endpoint's backlog never crowds out the others. A claimed execution is `in_flight` with
 * `next_attempt_at` = lease end, so an expired claim is simply due again.
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
  if (opts.limit <= 0) return { claimed: [], capped: 0, more: false, lost: 0 };
  return db.dialect === 'postgres' ? claimIn(db, 'postgres', opts) : db.tx((tx) => claimIn(tx, 'sqlite', opts));
}

const CLAIM_COLUMNS = `w.doc, w.disabled AS w_disabled, w.disabled_reason AS w_reason, w.version AS w_version,
  e.seq, e.api_key, e.branch, e.module, e.action, e.uid, e.content_type_uid, e.locale, e.environment, e.actor, e.actor_name, e.changes, e.data, e.created_at`;

async function claimIn(q: Queryable, dialect: Db['dialect'], opts: ClaimOptions): Promise<ClaimResult> {
  const saturated = opts.saturated ?? [];
  // A few more than needed, to step over a webhook that has fewer free slots than due work; the
  // dispatcher excludes it once saturated and claims again at once.
  const wanted = opts.limit + CANDIDATE_MARGIN;
  const excluded = `webhook_uid NOT IN (${repeated(saturated.length)})`;
  const candidates = await q.all<{ uid: string; webhook_uid: string }>(
    saturated.length === 0
      ? 'SELECT uid, webhook_uid FROM executions WHERE next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?'
      : opts.deep
        ? `SELECT uid, webhook_uid FROM executions WHERE next_attempt_at <= ? AND ${excluded} ORDER BY next_attempt_at LIMIT ?`
        : `SELECT uid, webhook_uid FROM (
             SELECT uid, webhook_uid, next_attempt_at FROM executions WHERE next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ${SCAN_WINDOW}
           ) d WHERE ${excluded} ORDER BY next_attempt_at LIMIT ?`,
    [opts.now, ...saturated, wanted],
  );
  const more = candidates.length >= wanted;
  const { chosen, capped: skipped } = choose(candidates, opts.limit, opts.freeSlots);
  const capped = skipped + saturated.length;
  if (chosen.length === 0) return { claimed: [], capped, more, lost: 0 };
  const leaseEnd = opts.now + opts.leaseMs;
  const marks = repeated(chosen.length);
  const lease = `UPDATE executions SET state = 'in_flight', next_attempt_at = ?, lease_until = ?, first_attempt_at = COALESCE(first_attempt_at, ?), updated_at = ?`;
  const leaseParams = [leaseEnd, leaseEnd, opts.now, opts.now];
  type Row = ClaimRow & EventRow & { x_uid: string };
  const rows =
    dialect === 'postgres'
      ? await q.all<Row>(
          `WITH l AS (
             ${lease} WHERE uid IN (SELECT uid FROM executions WHERE uid IN (${marks}) AND next_attempt_at <= ? FOR UPDATE SKIP LOCKED)
             RETURNING uid, webhook_uid, lane, attempts, event_seq
           )
           SELECT l.uid AS x_uid, l.webhook_uid, l.lane, l.attempts, ${CLAIM_COLUMNS}
           FROM l JOIN events e ON e.seq = l.event_seq LEFT JOIN webhooks w ON w.uid = l.webhook_uid`,
          [...leaseParams, ...chosen, opts.now],
        )
      : await (async () => {
          await q.run(`${lease} WHERE uid IN (${marks})`, [...leaseParams, ...chosen]);
          return q.all<Row>(
            `SELECT x.uid AS x_uid, x.webhook_uid, x.lane, x.attempts, ${CLAIM_COLUMNS}
             FROM executions x JOIN events e ON e.seq = x.event_seq LEFT JOIN webhooks w ON w.uid = x.webhook_uid
             WHERE x.uid IN (${marks})`,
            chosen,
          );
        })();
  const claimed: Claimed[] = [];
  for (const r of rows) {
    if (r.doc === null) {
      // Its webhook was deleted: nothing to send it to.
      await q.run("UPDATE executions SET state = 'failed', next_attempt_at = NULL, lease_until = NULL, last_reason = ? WHERE uid = ?", [
        'the webhook was deleted',
        r.x_uid,
      ]);
    } else if (Number(r.w_disabled)) {
      // A claim that expired after its webhook was disabled: park it with the others.
      await q.run("UPDATE executions SET state = 'pending', next_attempt_at = NULL, lease_until = NULL WHERE uid = ?", [r.x_uid]);
    } else {
      claimed.push({
        uid: r.x_uid,
        webhook_uid: r.webhook_uid,
        lane: r.lane,
        attempts: Number(r.attempts),
        leaseUntil: leaseEnd,
        event: eventFromRow(r),
        webhook: webhookFromRow(r),
      });
    }
  }
  // Rows come back in no particular order; attempts start oldest first.
  const order = new Map(chosen.map((uid, i) => [uid, i]));
  claimed.sort((a, b) => order.get(a.uid)! - order.get(b.uid)!);
  return { claimed, capped, more, lost: chosen.length - rows.length };
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

/**
 * Disabling a webhook parks its pending executions (due nowhere) so claiming never scans them;
 * enabling it makes them due now. Both run in the caller's transaction.
 */
export async function parkWebhook(tx: Queryable, webhookUid: string): Promise<void> {
  await tx.run("UPDATE executions SET next_attempt_at = NULL WHERE webhook_uid = ? AND state = 'pending'", [webhookUid]);
}

/** Removes a deleted webhook's executions and their attempts (in-flight ones finish unrecorded). */
export async function dropExecutions(tx: Queryable, webhookUid: string): Promise<void> {
  await tx.run('DELETE FROM attempts WHERE execution_uid IN (SELECT uid FROM executions WHERE webhook_uid = ?)', [webhookUid]);
  await tx.run('DELETE FROM executions WHERE webhook_uid = ?', [webhookUid]);
}

export async function unparkWebhook(tx: Queryable, webhookUid: string, now: number): Promise<void> {
  await tx.run("UPDATE executions SET next_attempt_at = ? WHERE webhook_uid = ? AND state = 'pending' AND next_attempt_at IS NULL", [now, webhookUid]);
}

/** The stored definition with the columns that are the truth for state kept outside the doc. */
export function webhookFromRow(r: { doc: string | null; w_disabled: number; w_reason: string | null; w_version: number }): Webhook {
  const w = json<Webhook>(r.doc);
  w.disabled = Boolean(Number(r.w_disabled));
  w.disabled_reason = r.w_reason;
  w.version = Number(r.w_version);
  return w;
}

/** One finished attempt, with what was sent, ready to be recorded. */
export interface Finished {
  claimed: Claimed;
  record: AttemptRecord;
  /** What was sent, secrets masked (JSON). */
  request: unknown;
  /** The attempt row's id, given on the first try to record it, so a retried write adds no second row. */
  attemptUid?: string;
  /** Set once recorded: the end the execution reached with this attempt, if any. */
  ended?: 'succeeded' | 'failed' | null;
}

export interface CompleteOptions extends EnqueueOptions {
  retryDelaysMs: readonly number[];
  breakerThreshold: number;
}

/** What a batch of completions changed that the caller must act on after commit. */
export interface CompleteEffects {
  /** Stacks whose webhooks were disabled (their index must be rebuilt). */
  disabledStacks: Set<string>;
  /** Executions that reached an end, with their end state. */
  ended: Array<{ uid: string; state: 'succeeded' | 'failed' }>;
  /** Queued executions made their lane's head: due now (or at their auto-save window). */
  promoted: number;
  /** When the earliest retry this batch scheduled falls due (ms), or null when none was. */
  retryAt: number | null;
  /**
   * Executions whose claim had ended when the outcome was written (the lease expired and another
   * worker claimed it, or it was released): the attempt is logged, the execution left as it is.
   */
  stale: string[];
}

/** Rows per multi-row statement in complete(): 10 parameters a row stays far below both backends' limits. */
const ROWS_PER_STATEMENT = 250;

function chunks<T>(xs: T[], size = ROWS_PER_STATEMENT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/**
 * Records a batch of attempts in one transaction (group commit): the attempt rows, each
 * execution's next state by the retry policy, the next execution of a finished lane, and the
 * circuit breaker. An outcome is on disk before its execution counts as done.
 *
 * Fenced by the claim: an execution moves on only while it is still `in_flight` under this claim's
 * lease. A worker whose outcome arrives after its lease ended (stalled, or cut off from the
 * database for longer than the lease margin) must not undo the claim of the worker that took the
 * execution over; its attempt is still logged. The attempt rows' ids are fixed on the first try, so
 * writing a batch again after an error whose commit may have gone through adds no second row.
 *
 * Statements are per batch, not per attempt (a multi-row INSERT, one UPDATE over a VALUES list, one
 * look-up of the next execution per webhook): on PostgreSQL each statement is a round trip, and a
 * worker's throughput is bounded by them.
 */
export async function complete(db: Db, batch: Finished[], opts: CompleteOptions): Promise<CompleteEffects> {
  const effects: CompleteEffects = { disabledStacks: new Set(), ended: [], promoted: 0, retryAt: null, stale: [] };
  if (batch.length === 0) return effects;
  // Scale-out (PostgreSQL): update webhooks in uid order so two workers' batches never wait on
  // each other's webhook rows in a cycle.
  const ordered = db.dialect === 'postgres' ? [...batch].sort((a, b) => (a.claimed.webhook_uid < b.claimed.webhook_uid ? -1 : a.claimed.webhook_uid > b.claimed.webhook_uid ? 1 : 0)) : batch;
  const all = ordered.map((f) => {
    f.attemptUid ??= sortableId('att');
    const n = f.claimed.attempts + 1;
    return { f, n, decision: decide(f.record, n, opts.retryDelaysMs, opts.now) };
  });
  await db.tx(async (tx) => {
    // Scale-out (PostgreSQL): lock the batch's lanes (see laneKey).
    await tx.lock?.(batch.map((f) => laneKey(f.claimed.webhook_uid, f.claimed.lane)));
    const applied = new Set<string>();
    for (const part of chunks(all)) {
      await tx.run(
        `INSERT INTO attempts (uid, execution_uid, n, started_at, duration_ms, outcome, status_code, reason, request, response)
         VALUES ${repeated(part.length, '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')}
         ON CONFLICT (uid) DO NOTHING`,
        part.flatMap(({ f: { claimed, record, request, attemptUid }, n }) => [
          attemptUid,
          claimed.uid,
          n,
          record.started_at,
          record.duration_ms,
          record.outcome,
          record.status_code,
          record.reason,
          JSON.stringify(request),
          record.response ? JSON.stringify({ status: record.status_code, ...record.response }) : null,
        ]),
      );
      // The casts type the VALUES columns on PostgreSQL (parameters arrive untyped); SQLite takes
      // them as affinities.
      const moved = await tx.all<{ uid: string }>(
        `WITH v (uid, lease_until, state, attempts, next_attempt_at, started_at, status_code, outcome, reason) AS (
           VALUES ${repeated(part.length, '(CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT))')}
         )
         UPDATE executions SET state = v.state, attempts = v.attempts, next_attempt_at = v.next_attempt_at, lease_until = NULL,
                first_attempt_at = COALESCE(executions.first_attempt_at, v.started_at), last_status_code = v.status_code,
                last_outcome = v.outcome, last_reason = v.reason, updated_at = ?
         FROM v WHERE executions.uid = v.uid AND executions.state = 'in_flight' AND executions.lease_until = v.lease_until
         RETURNING executions.uid AS uid`,
        [
          ...part.flatMap(({ f: { claimed, record }, n, decision }) => [
            claimed.uid,
            claimed.leaseUntil,
            decision.state,
            n,
            decision.state === 'pending' ? decision.next_attempt_at : null,
            record.started_at,
            record.status_code,
            record.outcome,
            record.reason,
          ]),
          opts.now,
        ],
      );
      for (const m of moved) applied.add(m.uid);
    }
    // Claims that ended before their outcome arrived: logged above, nothing else follows from them.
    const rows = all.filter((r) => applied.has(r.f.claimed.uid));
    for (const r of all) if (!applied.has(r.f.claimed.uid)) effects.stale.push(r.f.claimed.uid);
    for (const { decision } of rows) {
      if (decision.state === 'pending') effects.retryAt = Math.min(effects.retryAt ?? Infinity, decision.next_attempt_at);
    }
    const ended = rows.filter((r) => r.decision.state !== 'pending');
    for (const r of ended) effects.ended.push({ uid: r.f.claimed.uid, state: r.decision.state as 'succeeded' | 'failed' });
    effects.promoted = await promoteNext(tx, ended.map((r) => r.f.claimed), opts);
    await countFailures(tx, rows, opts, effects);
  });
  return effects;
}

/**
 * The lanes whose head ended: each lane's earliest queued execution becomes its head, due now (an
 * auto_save with no real change behind it waits for the auto-save window, see enqueue). Returns
 * how many were promoted.
 */
async function promoteNext(tx: Tx, ended: Claimed[], opts: CompleteOptions): Promise<number> {
  let promoted = 0;
  const lanesBy = new Map<string, Set<string>>();
  for (const c of ended) {
    if (!lanesBy.has(c.webhook_uid)) lanesBy.set(c.webhook_uid, new Set());
    lanesBy.get(c.webhook_uid)!.add(c.lane);
  }
  const dueNow: string[] = [];
  for (const [webhookUid, laneSet] of lanesBy) {
    for (const lanes of chunks([...laneSet])) {
      const heads = await tx.all<{ uid: string; lane: string; action: string }>(
        `SELECT uid, lane, action FROM (
           SELECT uid, lane, action, ROW_NUMBER() OVER (PARTITION BY lane ORDER BY event_seq) AS r
           FROM executions WHERE webhook_uid = ? AND lane IN (${repeated(lanes.length)}) AND state = 'queued'
         ) q WHERE r = 1`,
        [webhookUid, ...lanes],
      );
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
    await tx.run(`UPDATE executions SET state = 'pending', next_attempt_at = ?, updated_at = ? WHERE uid IN (${repeated(uids.length)})`, [
      opts.now,
      opts.now,
      ...uids,
    ]);
  }
  return promoted;
}

/**
 * The circuit breaker, in the batch's order: an ended execution that failed counts one more
 * consecutive failure of its webhook, one that succeeded resets the count; reaching the threshold
 * (or a 410) disables the webhook and parks its pending executions. Retries still pending count
 * neither way.
 */
async function countFailures(tx: Tx, rows: Array<{ f: Finished; decision: ReturnType<typeof decide> }>, opts: CompleteOptions, effects: CompleteEffects) {
  /** Webhooks whose failure count this batch already reset (once per batch is enough). */
  const reset = new Set<string>();
  for (const { f, decision } of rows) {
    const webhookUid = f.claimed.webhook_uid;
    if (decision.state === 'pending') continue;
    if (decision.state === 'succeeded') {
      if (!reset.has(webhookUid)) {
        reset.add(webhookUid);
        await tx.run('UPDATE webhooks SET consecutive_failures = 0 WHERE uid = ? AND consecutive_failures <> 0', [webhookUid]);
      }
      continue;
    }
    reset.delete(webhookUid);
    const w = await tx.get<{ failures: number; disabled: number; api_key: string }>(
      'UPDATE webhooks SET consecutive_failures = consecutive_failures + 1 WHERE uid = ? RETURNING consecutive_failures AS failures, disabled, api_key',
      [webhookUid],
    );
    if (!w || Number(w.disabled)) continue;
    const reason = decision.disable ?? (breakerTrips(Number(w.failures), opts.breakerThreshold) ? breakerReason(opts.breakerThreshold) : null);
    if (reason) {
      await tx.run('UPDATE webhooks SET disabled = 1, disabled_reason = ?, updated_at = ? WHERE uid = ?', [reason, opts.now, webhookUid]);
      await parkWebhook(tx, webhookUid);
      effects.disabledStacks.add(w.api_key);
    }
  }
}

/**
 * When the next execution of an enabled webhook falls due (ms), or null when none waits.
 * In-flight executions count at their lease end.
 */
export async function nextDueAt(db: Db): Promise<number | null> {
  const row = await db.get<{ at: number | null }>('SELECT MIN(next_attempt_at) AS at FROM executions WHERE next_attempt_at IS NOT NULL');
  return row?.at === null || row?.at === undefined ? null : Number(row.at);
}

/**
 * Manual retry: the execution is due now whatever its state (a queued one jumps its lane: the
 * user asked). Returns false when it does not exist for this webhook; an execution being
 * delivered right now is left as it is.
 */
export async function retryNow(db: Db, webhookUid: string, executionUid: string, now: number): Promise<'retrying' | 'in_flight' | 'not_found'> {
  return db.tx(async (tx) => {
    const row = await tx.get<{ state: string }>('SELECT state FROM executions WHERE uid = ? AND webhook_uid = ?', [executionUid, webhookUid]);
    if (!row) return 'not_found';
    if (row.state === 'in_flight') return 'in_flight';
    await tx.run("UPDATE executions SET state = 'pending', next_attempt_at = ?, updated_at = ? WHERE uid = ?", [now, now, executionUid]);
    return 'retrying';
  });
}

/**
 * At start, with one process per store (SQLite): claims left by a previous run of this process are
 * due now rather than at their lease end. Returns how many were released.
 */
export async function releaseClaims(db: Db, now: number): Promise<number> {
  const { changes } = await db.run("UPDATE executions SET state = 'pending', next_attempt_at = ?, lease_until = NULL, updated_at = ? WHERE state = 'in_flight'", [
    now,
    now,
  ]);
  return changes;
}

/**
 * At shutdown: these executions' attempts were cut before their outcome was known; they are due
 * now (another worker, or this process after a restart, sends them again). Returns how many.
 */
export async function releaseExecutions(db: Db, uids: string[], now: number): Promise<number> {
  if (uids.length === 0) return 0;
  const marks = repeated(uids.length);
  const { changes } = await db.run(
    `UPDATE executions SET state = 'pending', next_attempt_at = ?, lease_until = NULL, updated_at = ? WHERE uid IN (${marks}) AND state = 'in_flight'`,
    [now, now, ...uids],
  );
  return changes;
}
