import type { HeraldEvent } from '../../events/event.ts';
import { ClaimedEvent, eventFromRow, type EventRow } from '../../events/record.ts';
import { json, manyRows, memo, repeated, type Db, type Queryable, type Tx } from '../../store/db.ts';
import { webhookFromRow, type WebhookRow } from '../../webhooks/store.ts';
import { decodedWebhook, type DecodedEvents } from './decoded.ts';
import { chunks } from './lanes.ts';
import { expireClaims } from './release.ts';
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

/**
 * PostgreSQL's (in its CTE, leaseRows): next_attempt_at = lease_until, so a claim whose worker died
 * is due again (in the due index) at its lease end, for any worker to take over.
 */
const LEASE = `UPDATE executions SET state = 'in_flight', next_attempt_at = ?, lease_until = ?, first_attempt_at = COALESCE(first_attempt_at, ?), updated_at = ?`;
const LEASE_IN_BATCH = `${LEASE}, batch_uid = ?`;
/**
 * SQLite's, OR FAIL (store/db.ts manyRows: a claim round leases many rows, with no statement
 * journal), and next_attempt_at NULL: out of the due index while leased. One process owns a SQLite
 * store and holds every lease in it: it records each outcome, or, giving up on one, makes the
 * execution due at its lease end (release.ts expireClaims, from outcome-writer.ts); a lease left by
 * a dead process is released at the next start (releaseClaims). Kept in the index, each leased row
 * was an index entry written by its lease (or INSERT, enqueue.ts) and removed by its outcome:
 * bench:rows, SQLite's instructions per delivery (callgrind), fan-out 10 56.5k -> 53.5k.
 */
const LEASE_SQLITE = `UPDATE ${manyRows('sqlite')}executions SET state = 'in_flight', next_attempt_at = NULL, lease_until = ?, first_attempt_at = COALESCE(first_attempt_at, ?), updated_at = ?`;
/** What a lease returns of each execution (SQLite); its event and webhook are read apart. */
const LEASED = 'uid, webhook_uid, lane, attempts, event_seq, batch_uid, folded_seqs';
/** A row of LEASED, in its order. */
type LeasedValues = [string, string, string, number, number, string | null, string | null];

// Statement texts per shape (see memo): the WHERE clauses callers pass are memoized by them too.
const selectUids = memo((where: string) => `SELECT uid FROM executions WHERE ${where}`);
const uidIn = memo((n: number) => `uid IN (${repeated(n)})`);
const lease = memo((where: string) => `${LEASE_SQLITE} WHERE ${where} RETURNING ${LEASED}`);
const leaseInBatch = memo((where: string) => `${LEASE_SQLITE}, batch_uid = ? WHERE ${where} RETURNING ${LEASED}`);
const webhookRows = memo((n: number) => `SELECT uid, doc, disabled, disabled_reason, version, created_at, updated_at FROM webhooks WHERE uid IN (${repeated(n)})`);
/**
 * How many writes webhooks' rows have had (store migration 024's triggers): claim rounds reuse the
 * rows read while it stays the same (claimedRows). SQLite only, as claimedRows.
 */
const WEBHOOK_CHANGES = 'SELECT n FROM webhook_changes WHERE id = 1';
/** A row of webhookRows, in its column order. */
type WebhookValues = [string, string, number, string | null, number, number, number];
/** A row of eventRows, in its column order. */
type EventValues = [number, string, string, string, string, string, string | null, string | null, string | null, string, string | null, string | null, string, number];
const eventRows = memo(
  (n: number) =>
    `SELECT seq, api_key, branch, module, action, uid, content_type_uid, locale, environment, actor, actor_name, changes, data, created_at FROM events WHERE seq IN (${repeated(n)})`,
);

/** An execution as the lease returned it (SQLite). */
interface LeasedRow {
  uid: string;
  webhook_uid: string;
  lane: string;
  attempts: number;
  event_seq: number;
  batch_uid: string | null;
  folded_seqs: string | null;
  /** Its lease end, when it differs from row to row (listed ones, claimListed): else claimedRows' `leaseEnd`. */
  leaseUntil?: number;
}

/**
 * Leases the executions `select` names (a WHERE clause over `executions`, with ORDER BY/LIMIT when
 * given) that are still unclaimed, and returns them with their event and webhook. PostgreSQL: one
 * statement, rows another worker is claiming right now skipped (SKIP LOCKED); SQLite: in the
 * caller's transaction. Found on the way: an execution whose webhook was deleted -> failed, one
 * whose webhook was disabled meanwhile -> parked (counted in `dropped`). `batchUid`: also put the
 * leased ones in this batch. `events`: the store's decoded events (decoded.ts).
 */
export async function leaseRows(
  q: Queryable,
  dialect: Db['dialect'],
  events: DecodedEvents,
  select: { where: string; params: unknown[]; orderLimit?: string },
  now: number,
  leaseEnd: number,
  batchUid?: string,
): Promise<Claimed[] & { dropped: number }> {
  const tail = select.orderLimit ?? '';
  // SQLite's lease writes no next_attempt_at (LEASE_SQLITE).
  if (dialect === 'sqlite') return leaseSqlite(q, events, select, batchUid === undefined ? [leaseEnd, now, now] : [leaseEnd, now, now, batchUid], batchUid, leaseEnd);
  const setParams = batchUid === undefined ? [leaseEnd, leaseEnd, now, now] : [leaseEnd, leaseEnd, now, now, batchUid];
  type Row = ClaimRow & EventRow & { x_uid: string };
  const set = batchUid === undefined ? LEASE : LEASE_IN_BATCH;
  // The candidates are chosen and locked once, in a MATERIALIZED CTE, and only they are leased.
  // Written as `UPDATE ... WHERE uid IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)`, PostgreSQL
  // may run the subquery again while the UPDATE goes (a nested loop's inner side): each run skips
  // the rows this statement already changed and brings the next n, so the LIMIT is not a limit.
  // Seen as one batch call of 500 executions with max_events 100 (test/delivery/storms.test.ts).
  const rows = await q.all<Row>(
    `WITH c AS MATERIALIZED (SELECT uid FROM executions WHERE ${select.where} ${tail} FOR UPDATE SKIP LOCKED),
     l AS (
       ${set} WHERE uid IN (SELECT uid FROM c)
       RETURNING uid, webhook_uid, lane, attempts, event_seq, batch_uid, folded_seqs
     )
     SELECT l.uid AS x_uid, l.webhook_uid, l.lane, l.attempts, l.batch_uid, l.folded_seqs, ${CLAIM_COLUMNS}
     FROM l JOIN events e ON e.seq = l.event_seq LEFT JOIN webhooks w ON w.uid = l.webhook_uid`,
    [...select.params, ...setParams],
  );
  const claimed = [] as unknown as Claimed[] & { dropped: number };
  claimed.dropped = 0;
  // As on SQLite (leaseSqlite): of the events read, only the newest is kept for later claims; the
  // round's executions of one event share it (byseq).
  let newest = -1;
  for (const r of rows) if (Number(r.seq) > newest) newest = Number(r.seq);
  const byseq = new Map<number, HeraldEvent>();
  for (const r of rows) {
    const webhook: WebhookRow | null =
      r.doc === null
        ? null
        : { doc: r.doc, disabled: r.w_disabled, disabled_reason: r.w_reason, version: r.w_version, created_at: r.w_created_at, updated_at: r.w_updated_at };
    const leased = { uid: r.x_uid, webhook_uid: r.webhook_uid, lane: r.lane, attempts: r.attempts, batch_uid: r.batch_uid, folded_seqs: r.folded_seqs };
    // Decoded before the webhook is checked: a dropped execution's event is parsed for nothing, rarely.
    const seq = Number(r.seq);
    let event = byseq.get(seq);
    if (event === undefined) byseq.set(seq, (event = events.decoded(r, seq === newest)));
    if (!claimedWith(claimed, leased, webhook, event, leaseEnd)) await drop(q, claimed, leased.uid, webhook);
  }
  return claimed;
}

/**
 * SQLite: the lease returns the executions' own columns; their webhooks are read once per webhook
 * (not once per execution), and their events only when this store's decoded events lack them (an
 * event's every execution after the first, retries, a fan-out's other webhooks). A JOIN read the
 * event's data and the webhook's document again for every execution leased.
 */
async function leaseSqlite(
  q: Queryable,
  events: DecodedEvents,
  select: { where: string; params: unknown[]; orderLimit?: string },
  setParams: unknown[],
  batchUid: string | undefined,
  leaseEnd: number,
): Promise<Claimed[] & { dropped: number }> {
  const claimed = [] as unknown as Claimed[] & { dropped: number };
  claimed.dropped = 0;
  let where = select.where;
  let params = select.params;
  if (select.orderLimit) {
    const uids = (await q.all<{ uid: string }>(selectUids(`${select.where} ${select.orderLimit}`), select.params)).map((r) => r.uid);
    if (uids.length === 0) return claimed;
    where = uidIn(uids.length);
    params = uids;
  }
  // Only what is still unclaimed (the chosen candidates were read in this transaction). Rows as
  // arrays, in LEASED's order (Queryable.values).
  const taken: LeasedRow[] = [];
  for (const r of await q.values<LeasedValues>((batchUid === undefined ? lease : leaseInBatch)(where), [...setParams, ...params])) {
    taken.push({ uid: r[0], webhook_uid: r[1], lane: r[2], attempts: r[3], event_seq: r[4], batch_uid: r[5], folded_seqs: r[6] });
  }
  if (taken.length === 0) return claimed;
  return claimedRows(q, events, taken, leaseEnd);
}

/**
 * Executions this process wrote leased at enqueue (prelease.ts), claimed with their event and
 * webhook without a lease statement: their rows are in_flight under `leaseUntil` since their
 * INSERT, and nothing else changes an in_flight row's event, lane or attempts. Their webhooks are
 * read (once per webhook): one deleted (its executions went with it) or disabled since is dropped
 * as a claim drops it (see drop).
 */
export async function claimListed(
  db: Db,
  events: DecodedEvents,
  listed: ReadonlyArray<{ uid: string; webhook_uid: string; lane: string; event_seq: number; leaseUntil: number }>,
): Promise<Claimed[] & { dropped: number }> {
  const rows: LeasedRow[] = [];
  for (const l of listed) {
    rows.push({ uid: l.uid, webhook_uid: l.webhook_uid, lane: l.lane, attempts: 0, event_seq: l.event_seq, batch_uid: null, folded_seqs: null, leaseUntil: l.leaseUntil });
  }
  // Their events, webhooks and the webhooks' write count through committedValues (the writer's
  // warm page cache): rows of events, which never change once committed, named by executions whose
  // INSERT committed with them, and the rows a round reads whatever it claims. On the reader, each
  // round (one per commit of recorded events, at the bench's latency line ~1 per 2.7 events) began
  // a read transaction after the writer's commit: its page cache thrown away, the WAL's index read
  // again, pages read back through pread.
  return claimedRows(db, events, rows, undefined, db.committedValues?.bind(db));
}

/** Leased rows with their webhooks (read once per webhook) and events (read when not kept): see leaseSqlite. */
async function claimedRows(
  q: Queryable,
  events: DecodedEvents,
  taken: LeasedRow[],
  leaseEnd?: number,
  /** How the events, webhooks and their write count are read, when not by `q.values` (claimListed). */
  reads: Queryable['values'] = q.values.bind(q),
): Promise<Claimed[] & { dropped: number }> {
  const claimed = [] as unknown as Claimed[] & { dropped: number };
  claimed.dropped = 0;
  // The webhook rows an earlier round read, while no webhook was written since (the count read
  // first: a write committed between it and the rows read below makes the next round read again).
  const [[changes]] = await reads<[number]>(WEBHOOK_CHANGES);
  const hooks = events.webhookRows(Number(changes));
  const hookUids: string[] = [];
  for (const t of taken) if (!hooks.has(t.webhook_uid) && !hookUids.includes(t.webhook_uid)) hookUids.push(t.webhook_uid);
  // Rows as arrays (Queryable.values), made into objects here: one literal per row. A webhook
  // deleted has no row: read again by each round that has executions of it (they are dropped).
  for (const part of chunks(hookUids)) {
    for (const w of await reads<WebhookValues>(webhookRows(part.length), part)) {
      hooks.set(w[0], { doc: w[1], disabled: w[2], disabled_reason: w[3], version: w[4], created_at: w[5], updated_at: w[6] });
    }
  }
  // Each event taken from the store's kept ones once, here: keeping the ones read below pushes
  // the oldest kept out, which may be events of this very round.
  const byseq = new Map<number, HeraldEvent>();
  const missing = new Set<number>();
  // How many of each event's executions this round claims (an event kept as recorded is forgotten
  // once all of its executions were claimed: decoded.ts known).
  const claims = new Map<number, number>();
  for (const t of taken) {
    const seq = Number(t.event_seq);
    claims.set(seq, (claims.get(seq) ?? 0) + 1);
  }
  for (const [seq, n] of claims) {
    const known = events.known(seq, n);
    if (known) byseq.set(seq, known);
    else missing.add(seq);
  }
  // Of the events read, only the newest is kept for later claims: its other executions (a fan-out's)
  // may be due right behind this round's last. Any other was wanted by this round's claims alone,
  // which share it (byseq): at fan-out 1, every one. Kept, each of those (~1.6 KB with its data)
  // lived through the next 511 events' claims and reached V8's old generation. With the body rule
  // of dispatcher.ts (sharedSeqs), bench fan-out 1 line: 4.7-4.8 -> 0.3-1.2 KB promoted per
  // delivery, 7 -> 1-3 mark-compacts (session 11).
  let newest = -1;
  for (const seq of missing) if (seq > newest) newest = seq;
  for (const part of chunks([...missing])) {
    for (const v of await reads<EventValues>(eventRows(part.length), part)) {
      const e: EventRow = {
        seq: v[0],
        api_key: v[1],
        branch: v[2],
        module: v[3],
        action: v[4],
        uid: v[5],
        content_type_uid: v[6],
        locale: v[7],
        environment: v[8],
        actor: v[9],
        actor_name: v[10],
        changes: v[11],
        data: v[12],
        created_at: v[13],
      };
      byseq.set(Number(e.seq), events.decoded(e, Number(e.seq) === newest));
    }
  }
  for (const t of taken) {
    const event = byseq.get(Number(t.event_seq));
    // An execution without its event (never so: events are kept for good) is left leased, as the
    // JOIN this replaced left it, and due at its lease end (SQLite's lease wrote it out of the due
    // index): it is looked at again then.
    if (!event) {
      await expireClaims(q, [t.uid]);
      continue;
    }
    const webhook = hooks.get(t.webhook_uid) ?? null;
    if (!claimedWith(claimed, t, webhook, event, leaseEnd ?? t.leaseUntil!)) await drop(q, claimed, t.uid, webhook);
  }
  return claimed;
}

/**
 * One leased execution, claimed with its event and webhook; false when its webhook is gone or
 * disabled (see drop). Synchronous: a claim round runs it for every execution it leases.
 */
function claimedWith(claimed: Claimed[], x: Omit<LeasedRow, 'event_seq'>, webhook: WebhookRow | null, shared: HeraldEvent, leaseEnd: number): boolean {
  if (webhook === null || Number(webhook.disabled)) return false;
  // The event and the webhook are parsed once (decoded.ts): shared, never changed here.
  claimed.push({
    uid: x.uid,
    webhook_uid: x.webhook_uid,
    lane: x.lane,
    attempts: Number(x.attempts),
    leaseUntil: leaseEnd,
    event: x.folded_seqs ? withFoldedSeqs(shared, json<number[]>(x.folded_seqs)) : shared,
    batchUid: x.batch_uid,
    webhook: decodedWebhook(x.webhook_uid, webhook),
  });
  return true;
}

/** `event` with a debounced execution's `folded_seqs`: a copy, the shared one left as it is. */
function withFoldedSeqs(event: HeraldEvent, folded: number[]): HeraldEvent {
  // A spread would lose a ClaimedEvent's `data` (its prototype's).
  return event instanceof ClaimedEvent ? event.withFoldedSeqs(folded) : Object.assign({}, event, { folded_seqs: folded });
}

/**
 * A leased execution that cannot be sent: its webhook was deleted (-> failed) or disabled
 * meanwhile (-> parked). Counted in `claimed.dropped`.
 */
async function drop(q: Queryable, claimed: { dropped: number }, uid: string, webhook: WebhookRow | null): Promise<void> {
  if (webhook === null) {
    // Its webhook was deleted: nothing to send it to (-> failed).
    await q.run("UPDATE executions SET state = 'failed', next_attempt_at = NULL, lease_until = NULL, last_reason = ?, ended_at = updated_at WHERE uid = ?", [
      'the webhook was deleted',
      uid,
    ]);
  } else {
    // A claim that expired after its webhook was disabled: park it with the others (-> parked).
    await q.run("UPDATE executions SET state = 'pending', next_attempt_at = NULL, lease_until = NULL WHERE uid = ?", [uid]);
  }
  claimed.dropped++;
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
