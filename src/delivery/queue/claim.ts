import type { HeraldEvent } from '../../events/event.ts';
import { eventFromRow, type EventRow } from '../../events/record.ts';
import { repeated, type Db, type Queryable } from '../../store/db.ts';
import { webhookFromRow } from '../../webhooks/store.ts';
import type { Webhook } from '../../webhooks/webhook.ts';
import { DUE } from './states.ts';

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
  /**
   * The wait before each retry of this execution, ms (`[i]` after attempt i+1); absent: the
   * engine's schedule. Set by its delivery format before the attempt (a Contentful space's retry
   * policy), read when its outcome is recorded (complete.ts).
   */
  retryDelaysMs?: readonly number[];
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
  w_created_at: number;
  w_updated_at: number;
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
  w.created_at AS w_created_at, w.updated_at AS w_updated_at,
  e.seq, e.api_key, e.branch, e.module, e.action, e.uid, e.content_type_uid, e.locale, e.environment, e.actor, e.actor_name, e.changes, e.data, e.created_at`;

async function claimIn(q: Queryable, dialect: Db['dialect'], opts: ClaimOptions): Promise<ClaimResult> {
  const saturated = opts.saturated ?? [];
  // A few more than needed, to step over a webhook that has fewer free slots than due work; the
  // dispatcher excludes it once saturated and claims again at once.
  const wanted = opts.limit + CANDIDATE_MARGIN;
  const excluded = `webhook_uid NOT IN (${repeated(saturated.length)})`;
  const candidates = await q.all<{ uid: string; webhook_uid: string }>(
    saturated.length === 0
      ? `SELECT uid, webhook_uid FROM executions WHERE ${DUE} ORDER BY next_attempt_at LIMIT ?`
      : opts.deep
        ? `SELECT uid, webhook_uid FROM executions WHERE ${DUE} AND ${excluded} ORDER BY next_attempt_at LIMIT ?`
        : `SELECT uid, webhook_uid FROM (
             SELECT uid, webhook_uid, next_attempt_at FROM executions WHERE ${DUE} ORDER BY next_attempt_at LIMIT ${SCAN_WINDOW}
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
             ${lease} WHERE uid IN (SELECT uid FROM executions WHERE uid IN (${marks}) AND ${DUE} FOR UPDATE SKIP LOCKED)
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
      // Its webhook was deleted: nothing to send it to (-> failed).
      await q.run("UPDATE executions SET state = 'failed', next_attempt_at = NULL, lease_until = NULL, last_reason = ? WHERE uid = ?", [
        'the webhook was deleted',
        r.x_uid,
      ]);
    } else if (Number(r.w_disabled)) {
      // A claim that expired after its webhook was disabled: park it with the others (-> parked).
      await q.run("UPDATE executions SET state = 'pending', next_attempt_at = NULL, lease_until = NULL WHERE uid = ?", [r.x_uid]);
    } else {
      claimed.push({
        uid: r.x_uid,
        webhook_uid: r.webhook_uid,
        lane: r.lane,
        attempts: Number(r.attempts),
        leaseUntil: leaseEnd,
        event: eventFromRow(r),
        webhook: webhookFromRow({
          doc: r.doc,
          disabled: r.w_disabled,
          disabled_reason: r.w_reason,
          version: r.w_version,
          created_at: r.w_created_at,
          updated_at: r.w_updated_at,
        }),
      });
    }
  }
  // Rows come back in no particular order; attempts start oldest first.
  const order = new Map(chosen.map((uid, i) => [uid, i]));
  claimed.sort((a, b) => order.get(a.uid)! - order.get(b.uid)!);
  return { claimed, capped, more, lost: chosen.length - rows.length };
}

/**
 * One execution, claimed by the caller under lease `leaseUntil` (the half-open probe, probe.ts),
 * with its event and webhook as claim() returns them; undefined when it or its webhook is gone.
 */
export async function claimedOne(q: Queryable, uid: string, leaseUntil: number): Promise<Claimed | undefined> {
  const r = await q.get<ClaimRow & EventRow & { x_uid: string }>(
    `SELECT x.uid AS x_uid, x.webhook_uid, x.lane, x.attempts, ${CLAIM_COLUMNS}
     FROM executions x JOIN events e ON e.seq = x.event_seq JOIN webhooks w ON w.uid = x.webhook_uid WHERE x.uid = ?`,
    [uid],
  );
  if (!r) return undefined;
  return {
    uid: r.x_uid,
    webhook_uid: r.webhook_uid,
    lane: r.lane,
    attempts: Number(r.attempts),
    leaseUntil,
    event: eventFromRow(r),
    webhook: webhookFromRow({ doc: r.doc!, disabled: r.w_disabled, disabled_reason: r.w_reason, version: r.w_version, created_at: r.w_created_at, updated_at: r.w_updated_at }),
  };
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
