import type { HeraldEvent } from '../../events/event.ts';
import { eventFromRow, type EventRow } from '../../events/record.ts';
import { json, repeated, type Db, type Queryable, type Tx } from '../../store/db.ts';
import { webhookFromRow } from '../../webhooks/store.ts';
import { decodedEvent, decodedWebhook } from './decoded.ts';
import type { Webhook } from '../../webhooks/webhook.ts';

/**
 * Transition: pending (due) | in_flight (lease ended) -> in_flight under a new lease: the statement
 * every claim runs (claim.ts, and the batches it forms, batch.ts), returning what is needed to send
 * each one; found on the way, an execution whose webhook was deleted -> failed, one whose webhook
 * was disabled -> parked.
 */

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
  /** `executions.batch_uid`: null (sent alone), '' (its webhook batches; not in a batch yet) or the batch it went in. */
  batchUid: string | null;
  /**
   * Set on the one Claimed that stands for a batch (batch.ts): the batch's id (the call's
   * `webhook-id`) and every execution it carries, this one included, in event order. The call's
   * outcome is each member's.
   */
  batch?: { uid: string; members: Claimed[] };
}

/** A candidate for a claim: a due execution, read without locks. */
export interface Candidate {
  uid: string;
  webhook_uid: string;
  /** See the `paced` column: 0 means it needs a rate limit slot first (pace.ts). */
  paced: number | null;
}

interface ClaimRow {
  uid: string;
  webhook_uid: string;
  lane: string;
  attempts: number;
  batch_uid: string | null;
  folded_seqs: string | null;
  doc: string | null;
  w_disabled: number;
  w_reason: string | null;
  w_version: number;
  w_created_at: number;
  w_updated_at: number;
}

/** Runs `fn` in a transaction (see claim()). */
export type InTx = <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;

const CLAIM_COLUMNS = `w.doc, w.disabled AS w_disabled, w.disabled_reason AS w_reason, w.version AS w_version,
  w.created_at AS w_created_at, w.updated_at AS w_updated_at,
  e.seq, e.api_key, e.branch, e.module, e.action, e.uid, e.content_type_uid, e.locale, e.environment, e.actor, e.actor_name, e.changes, e.data, e.created_at`;

const LEASE = `UPDATE executions SET state = 'in_flight', next_attempt_at = ?, lease_until = ?, first_attempt_at = COALESCE(first_attempt_at, ?), updated_at = ?`;

/**
 * Leases the executions `select` names (a WHERE clause over `executions`, with ORDER BY/LIMIT when
 * given) that are still unclaimed, and returns them with their event and webhook. PostgreSQL: one
 * statement, rows another worker is claiming right now skipped (SKIP LOCKED); SQLite: in the
 * caller's transaction. Found on the way: an execution whose webhook was deleted -> failed, one
 * whose webhook was disabled meanwhile -> parked (counted in `dropped`). `batchUid`: also put the
 * leased ones in this batch.
 */
export async function leaseRows(
  q: Queryable,
  dialect: Db['dialect'],
  select: { where: string; params: unknown[]; orderLimit?: string },
  now: number,
  leaseEnd: number,
  batchUid?: string,
): Promise<Claimed[] & { dropped: number }> {
  const set = batchUid === undefined ? LEASE : `${LEASE}, batch_uid = ?`;
  const setParams = batchUid === undefined ? [leaseEnd, leaseEnd, now, now] : [leaseEnd, leaseEnd, now, now, batchUid];
  const tail = select.orderLimit ?? '';
  type Row = ClaimRow & EventRow & { x_uid: string };
  let rows: Row[];
  if (dialect === 'postgres') {
    // The candidates are chosen and locked once, in a MATERIALIZED CTE, and only they are leased.
    // Written as `UPDATE ... WHERE uid IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)`, PostgreSQL
    // may run the subquery again while the UPDATE goes (a nested loop's inner side): each run skips
    // the rows this statement already changed and brings the next n, so the LIMIT is not a limit.
    // Seen as one batch call of 500 executions with max_events 100 (test/delivery/storms.test.ts).
    rows = await q.all<Row>(
      `WITH c AS MATERIALIZED (SELECT uid FROM executions WHERE ${select.where} ${tail} FOR UPDATE SKIP LOCKED),
       l AS (
         ${set} WHERE uid IN (SELECT uid FROM c)
         RETURNING uid, webhook_uid, lane, attempts, event_seq, batch_uid, folded_seqs
       )
       SELECT l.uid AS x_uid, l.webhook_uid, l.lane, l.attempts, l.batch_uid, l.folded_seqs, ${CLAIM_COLUMNS}
       FROM l JOIN events e ON e.seq = l.event_seq LEFT JOIN webhooks w ON w.uid = l.webhook_uid`,
      [...select.params, ...setParams],
    );
  } else {
    const uids = tail ? (await q.all<{ uid: string }>(`SELECT uid FROM executions WHERE ${select.where} ${tail}`, select.params)).map((r) => r.uid) : null;
    if (uids && uids.length === 0) rows = [];
    else {
      const where = uids ? `uid IN (${repeated(uids.length)})` : select.where;
      const params = uids ?? select.params;
      // Only what is still unclaimed (the chosen candidates were read in this transaction).
      const taken = await q.all<{ uid: string }>(`${set} WHERE ${where} RETURNING uid`, [...setParams, ...params]);
      rows =
        taken.length === 0
          ? []
          : await q.all<Row>(
              `SELECT x.uid AS x_uid, x.webhook_uid, x.lane, x.attempts, x.batch_uid, x.folded_seqs, ${CLAIM_COLUMNS}
               FROM executions x JOIN events e ON e.seq = x.event_seq LEFT JOIN webhooks w ON w.uid = x.webhook_uid
               WHERE x.uid IN (${repeated(taken.length)})`,
              taken.map((t) => t.uid),
            );
    }
  }
  const claimed = [] as unknown as Claimed[] & { dropped: number };
  claimed.dropped = 0;
  for (const r of rows) {
    if (r.doc === null) {
      // Its webhook was deleted: nothing to send it to (-> failed).
      await q.run("UPDATE executions SET state = 'failed', next_attempt_at = NULL, lease_until = NULL, last_reason = ? WHERE uid = ?", [
        'the webhook was deleted',
        r.x_uid,
      ]);
      claimed.dropped++;
    } else if (Number(r.w_disabled)) {
      // A claim that expired after its webhook was disabled: park it with the others (-> parked).
      await q.run("UPDATE executions SET state = 'pending', next_attempt_at = NULL, lease_until = NULL WHERE uid = ?", [r.x_uid]);
      claimed.dropped++;
    } else {
      // Parsed once per event and per webhook definition (decoded.ts): shared, never changed here.
      const shared = decodedEvent(r);
      const event = r.folded_seqs ? { ...shared, folded_seqs: json<number[]>(r.folded_seqs) } : shared;
      claimed.push({
        uid: r.x_uid,
        webhook_uid: r.webhook_uid,
        lane: r.lane,
        attempts: Number(r.attempts),
        leaseUntil: leaseEnd,
        event,
        batchUid: r.batch_uid,
        webhook: decodedWebhook(r.webhook_uid, {
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
  return claimed;
}

/**
 * One execution, claimed by the caller under lease `leaseUntil` (the half-open probe, probe.ts),
 * with its event and webhook as claim() returns them; undefined when it or its webhook is gone.
 */
export async function claimedOne(q: Queryable, uid: string, leaseUntil: number): Promise<Claimed | undefined> {
  const r = await q.get<ClaimRow & EventRow & { x_uid: string }>(
    `SELECT x.uid AS x_uid, x.webhook_uid, x.lane, x.attempts, x.batch_uid, x.folded_seqs, ${CLAIM_COLUMNS}
     FROM executions x JOIN events e ON e.seq = x.event_seq JOIN webhooks w ON w.uid = x.webhook_uid WHERE x.uid = ?`,
    [uid],
  );
  if (!r) return undefined;
  const event = eventFromRow(r);
  if (r.folded_seqs) event.folded_seqs = json<number[]>(r.folded_seqs);
  return {
    uid: r.x_uid,
    webhook_uid: r.webhook_uid,
    lane: r.lane,
    attempts: Number(r.attempts),
    leaseUntil,
    event,
    // Sent alone, even when it went in a batch: the probe tries one delivery.
    batchUid: null,
    webhook: webhookFromRow({ doc: r.doc!, disabled: r.w_disabled, disabled_reason: r.w_reason, version: r.w_version, created_at: r.w_created_at, updated_at: r.w_updated_at }),
  };
}
