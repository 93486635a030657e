import { sortableId } from '../../ids.ts';
import { manyRows, memo, memoByDialect, repeated, type Db } from '../../store/db.ts';
import { decide, type Decision } from '../policy.ts';
import { loggedJson } from '../request.ts';
import type { AttemptRecord, LoggedResponse } from '../send.ts';
import { countFailures } from './breaker.ts';
import type { Claimed } from './claim.ts';
import { chunks, laneKey, sizedParts, type AutoSaveOptions } from './lanes.ts';
import { promoteNext } from './promote.ts';
import { ENDED_AT } from './states.ts';
import type { Operational } from '../operational.ts';

/**
 * Transitions: in_flight -> succeeded (2xx) | pending (failed, attempts left: due at its retry
 * time; a rate-limited one then waits for a new slot, pace.ts) | failed (no attempts left, or 410 Gone); and a stale outcome (the claim's lease ended and
 * another worker took the execution over, or it was released) -> logged only, the execution left
 * to its new claim. What follows in the same transaction: the lane's next execution is promoted
 * (promote.ts) and the circuit breaker counts (breaker.ts).
 */

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

export interface CompleteOptions extends AutoSaveOptions {
  /** The engine's retry schedule, for executions that carry none of their own (Claimed.retryDelaysMs). */
  retryDelaysMs: readonly number[];
  breakerThreshold: number;
  /**
   * Operational events (delivery/operational.ts): `executions.failed` for each execution that ended
   * failed, `webhooks.disabled` when the breaker trips, recorded in this transaction. Absent: none.
   */
  operational?: Operational;
  /** First wait before a webhook the breaker disabled is probed, ms (config.probeDelayMs); 0 or absent: never. */
  probeDelayMs?: number;
}

/** What a batch of completions changed that the caller must act on after commit. */
export interface CompleteEffects {
  /** Stacks whose webhooks were disabled (their index must be rebuilt). */
  disabledStacks: Set<string>;
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

// Statement texts per number of outcomes (see memo), OR FAIL on SQLite (store/db.ts manyRows).
const insertAttempts = memoByDialect(
  (n: number, orFail) => `INSERT ${orFail}INTO attempts (uid, execution_uid, n, started_at, duration_ms, outcome, status_code, reason, request, response)
   VALUES ${repeated(n, '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')}
   ON CONFLICT (uid) DO NOTHING`,
);
/**
 * Which executions an outcome moves: still in flight under the lease its attempt was claimed with
 * (`v` the outcomes' VALUES).
 */
const HELD = "executions.uid = v.uid AND executions.state = 'in_flight' AND executions.lease_until = v.lease_until";
// The casts type the VALUES columns on PostgreSQL (parameters arrive untyped); SQLite takes them as
// affinities.
const moveText = (n: number, orFail: string, queuedBehind: string | null) => `WITH v (uid, lease_until, state, attempts, next_attempt_at, started_at, status_code, outcome, reason) AS (
     VALUES ${repeated(n, '(CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT))')}
   )
   UPDATE ${orFail}executions SET state = v.state, attempts = v.attempts, next_attempt_at = v.next_attempt_at, lease_until = NULL,
          first_attempt_at = COALESCE(executions.first_attempt_at, v.started_at), last_status_code = v.status_code,
          last_outcome = v.outcome, last_reason = v.reason, updated_at = ?, ended_at = ${ENDED_AT('v.state', 'CAST(? AS BIGINT)')},
          paced = CASE WHEN executions.paced IS NULL THEN NULL ELSE 0 END
   FROM v WHERE ${HELD}${
     queuedBehind === null ? '' : `
   RETURNING executions.uid AS uid, ${queuedBehind} AS queued_behind`
   }`;
const moveExecutions = memoByDialect((n: number, orFail) => moveText(n, orFail, QUEUED_BEHIND));
/**
 * SQLite, while no execution at all is queued (ANY_QUEUED found none): no lane has one behind the
 * executions this ends, so the RETURNING leaves QUEUED_BEHIND's look-up per row out. callgrind,
 * bench:rows fan-out 10: SQLite's instructions per delivery 52.7-52.8k -> 51.6k (the probe included).
 */
const moveExecutionsNoneQueued = memoByDialect((n: number, orFail) => moveText(n, orFail, '0'));
/**
 * SQLite, none queued, tried first inside a savepoint (SILENT): the UPDATE without RETURNING,
 * kept when it moved every execution of the part, and then RETURNING says nothing not known
 * already (each row moved, none has anything queued behind it). SQLite's RETURNING buffers its
 * rows and hands them out one by one: bench:rows fan-out 10, 2,000 events, A B A B (session 22):
 * the UPDATE 11.0 / 10.9 us per delivery with RETURNING, 7.3 / 7.7 without (plus 1.6 for the
 * still-held count that came before it until session 25).
 */
const moveExecutionsSilent = memoByDialect((n: number, orFail) => moveText(n, orFail, null));
/**
 * SQLite, a part whose every attempt succeeded (outcome success, no reason: the execution ends
 * succeeded): the attempt rows with their outcome and reason written in the text, 8 parameters a
 * row instead of 10, and moveSucceeded with 5 instead of 9. Each parameter is bound from JS one by
 * one (better-sqlite3 converts and copies each string); the rows written are the same.
 */
const insertSucceededAttempts = memo(
  (n: number) => `INSERT ${manyRows('sqlite')}INTO attempts (uid, execution_uid, n, started_at, duration_ms, outcome, status_code, reason, request, response)
   VALUES ${repeated(n, "(?, ?, ?, ?, ?, 'success', ?, NULL, ?, ?)")}
   ON CONFLICT (uid) DO NOTHING`,
);
/** moveExecutionsSilent for a part whose every execution ends succeeded (see insertSucceededAttempts). */
const moveSucceeded = memo(
  (n: number) => `WITH v (uid, lease_until, attempts, started_at, status_code) AS (
     VALUES ${repeated(n, '(CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT))')}
   )
   UPDATE ${manyRows('sqlite')}executions SET state = 'succeeded', attempts = v.attempts, next_attempt_at = NULL, lease_until = NULL,
          first_attempt_at = COALESCE(executions.first_attempt_at, v.started_at), last_status_code = v.status_code,
          last_outcome = 'success', last_reason = NULL, updated_at = ?, ended_at = CAST(? AS BIGINT),
          paced = CASE WHEN executions.paced IS NULL THEN NULL ELSE 0 END
   FROM v WHERE ${HELD}`,
);
/**
 * SQLite, none queued: a part's silent UPDATE (moveExecutionsSilent or moveSucceeded, no
 * RETURNING) runs inside this savepoint. When it moved as many rows as the part has outcomes, each
 * outcome's execution was still in flight under its claim's lease (HELD; the uid is the key, and a
 * uid twice in a part moves one row, so fewer), and the savepoint is released. Otherwise (a claim
 * had ended, or a uid came twice) the UPDATE is rolled back to it and the part takes the UPDATE
 * with RETURNING, which says which moved. SQLite's one writer runs the transaction alone, so
 * nothing else changes the rows between. It replaces a count of the still held rows before the
 * UPDATE (the part's uid and lease bound a second time, and a look-up per row): bench:rows
 * fan-out 10 (see there for the figures).
 */
const SILENT = 'SAVEPOINT complete_silent';
const SILENT_KEPT = 'RELEASE complete_silent';
const SILENT_UNDONE = 'ROLLBACK TO complete_silent';
/**
 * Whether any execution is queued: the first entry of the `executions_queued` index (partial: state
 * = 'queued'), read once per flush in its transaction. SQLite only: its one writer runs this
 * transaction alone, and the transaction itself queues nothing before its UPDATE, so the answer
 * holds for it; on PostgreSQL other workers may queue one meanwhile.
 */
const ANY_QUEUED = "SELECT 1 FROM executions WHERE state = 'queued' LIMIT 1";
/**
 * Whether the execution's lane has queued executions (waiting behind it): only the lanes of those
 * that ended need the promote look-up (promote.ts), and most lanes have none. Read from the
 * `executions_queued` index (usually empty), in the statement that ends them: a look-up of its own
 * per webhook and flush was 1-2 us of SQLite per delivery. The queued rows are not written by
 * this statement, so PostgreSQL's snapshot of them is the one a later SELECT would see.
 */
const QUEUED_BEHIND = `EXISTS (SELECT 1 FROM executions q WHERE q.lane = executions.lane AND q.webhook_uid = executions.webhook_uid AND q.state = 'queued')`;

/**
 * The logged response with its status first: the text of `JSON.stringify({ status, ...response })`
 * in LoggedResponse's key order (as send.ts and relay.ts make it), written from its parts: the
 * headers' JSON is the one kept for the webhook when they are the same as its last response's
 * (see keptHeadersOf), the body's is JSON.stringify's of the string alone; and the whole text is
 * the last one's when status, headers, body, encoding and cut are (bench: ~0.2 KB and a flat copy
 * per attempt). `webhookUid`: whose receiver answered; absent, nothing is kept.
 */
export function responseJson(status: number | null, response: LoggedResponse, webhookUid?: string): string {
  const kept = webhookUid === undefined ? null : keptHeadersOf(webhookUid, response.headers);
  if (kept === null) return writtenResponse(status, JSON.stringify(response.headers), response);
  // The same answer as the webhook's last (a receiver's usual "ok" within one second): its text.
  if (kept.text !== '' && kept.status === status && kept.body === response.body && kept.encoding === response.encoding && kept.truncated === response.truncated) return kept.text;
  const text = writtenResponse(status, kept.json, response);
  if (response.body.length <= KEPT_BODY_LENGTH) {
    kept.status = status;
    kept.body = response.body;
    kept.encoding = response.encoding;
    kept.truncated = response.truncated;
    kept.text = text;
  } else kept.text = '';
  return text;
}

/**
 * The longest body (UTF-16 units) whose response text is kept per webhook (KeptHeaders.text):
 * receivers' usual answers are a few bytes, and a kept body is held until the webhook's next
 * answer differs (at most KEPT_HEADERS of them).
 */
const KEPT_BODY_LENGTH = 1_024;

/**
 * responseJson's text in its parts, joined: one flat string, which SQLite's binding reads as it is
 * (a template literal's tree of concatenations it copied flat first). Reused: slots 1, 3, 5, 7 and
 * 9 are set per call, the body's emptied after it.
 */
const RESPONSE_PARTS: string[] = ['{"status":', '', ',"headers":', '', ',"body":', '', ',"encoding":', '', ',"truncated":', '', '}'];

function writtenResponse(status: number | null, headers: string, response: LoggedResponse): string {
  const p = RESPONSE_PARTS;
  // An HTTP status is an integer (String's text is JSON's); the encoding one of two words.
  p[1] = status === null ? 'null' : Number.isInteger(status) ? String(status) : JSON.stringify(status);
  p[3] = headers;
  p[5] = JSON.stringify(response.body);
  p[7] = response.encoding === 'utf8' ? '"utf8"' : response.encoding === 'base64' ? '"base64"' : JSON.stringify(response.encoding);
  p[9] = response.truncated ? 'true' : 'false';
  const text = p.join('');
  p[3] = p[5] = '';
  return text;
}

/**
 * A webhook's last response headers (names and values in their order) and their JSON; and, when
 * its body was short, the last response's whole text with what it was made of (`text` '': none).
 */
interface KeptHeaders {
  names: string[];
  values: string[];
  json: string;
  status: number | null;
  body: string;
  encoding: LoggedResponse['encoding'];
  truncated: boolean;
  text: string;
}

/**
 * By webhook: a receiver answers each call with the same headers, but for its Date (the same
 * within a second), so most responses' headers are the last one's and their JSON is not made
 * again: bench fan-out 10, JSON.stringify of the response headers was ~a third of its samples
 * (the request's the rest: request.ts loggedJson). Bounded: cleared when it holds KEPT_HEADERS.
 */
const keptHeaders = new Map<string, KeptHeaders>();
const KEPT_HEADERS = 1_000;

/**
 * What is kept for `webhookUid`, its JSON being `JSON.stringify(headers)`: the last entry when
 * `headers` has the same names and values in the same order (the same object to JSON.stringify, so
 * the same text); else a new one, kept. Null for headers with a value not a string (undici gives
 * repeated ones as an array): those are not kept.
 */
function keptHeadersOf(webhookUid: string, headers: LoggedResponse['headers']): KeptHeaders | null {
  const kept = keptHeaders.get(webhookUid);
  if (kept !== undefined) {
    const { names, values } = kept;
    let i = 0;
    let same = true;
    for (const name in headers) {
      if (i === names.length || name !== names[i] || headers[name] !== values[i]) {
        same = false;
        break;
      }
      i++;
    }
    if (same && i === names.length) return kept;
  }
  const names: string[] = [];
  const values: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (typeof value !== 'string') return null;
    names.push(name);
    values.push(value);
  }
  const json = JSON.stringify(headers);
  if (kept === undefined && keptHeaders.size >= KEPT_HEADERS) keptHeaders.clear();
  const entry: KeptHeaders = { names, values, json, status: null, body: '', encoding: 'utf8', truncated: false, text: '' };
  keptHeaders.set(webhookUid, entry);
  return entry;
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
  if (batch.length === 0) return { disabledStacks: new Set(), promoted: 0, retryAt: null, stale: [] };
  // Scale-out (PostgreSQL): update webhooks in uid order so two workers' batches never wait on
  // each other's webhook rows in a cycle.
  const ordered = db.dialect === 'postgres' ? [...batch].sort((a, b) => (a.claimed.webhook_uid < b.claimed.webhook_uid ? -1 : a.claimed.webhook_uid > b.claimed.webhook_uid ? 1 : 0)) : batch;
  const all = ordered.map((f): Row => {
    f.attemptUid ??= sortableId('att');
    const n = f.claimed.attempts + 1;
    return { f, n, decision: decide(f.record, n, f.claimed.retryDelaysMs ?? opts.retryDelaysMs, opts.now), applied: true };
  });
  // The lanes' lock keys: PostgreSQL's only (tx.lock); SQLite's single writer takes no locks.
  const lanes = db.dialect === 'postgres' ? batch.map((f) => laneKey(f.claimed.webhook_uid, f.claimed.lane)) : [];
  try {
    return await write(false);
  } catch (err) {
    if (err !== LANES_BUSY) throw err;
    return write(true);
  }

  /**
   * The batch's transaction. Scale-out (PostgreSQL), the lock order (see laneKey): a stack's event
   * lock before its lanes. A batch that may record operational events (a failure ended an
   * execution, or trips the breaker) takes those stacks' event locks first. Its lanes are then only
   * tried: one held by a transaction recording that stack's events (which may lock more of its lanes
   * later, one event at a time) throws LANES_BUSY, and the batch is written again `careful`ly:
   * every stack's event lock first, so it waits for such transactions to end holding no lane they
   * may want. Waiting for a lane while holding another deadlocked with a bulk job recording events
   * lane after lane (PostgreSQL then aborted one of the two: the job's answer was a 503).
   */
  async function write(careful: boolean): Promise<CompleteEffects> {
    const effects: CompleteEffects = { disabledStacks: new Set(), promoted: 0, retryAt: null, stale: [] };
    await db.tx(async (tx) => {
      if (tx.lock) {
        const stacks = new Set((careful ? all : all.filter((r) => opts.operational && r.decision.state === 'failed')).map((r) => r.f.claimed.event.api_key));
        if (stacks.size) await tx.lock([...stacks].map((k) => `events:${k}`));
        if (careful) await tx.lock(lanes);
        else if (tx.tryLock && !(await tx.tryLock(lanes))) throw LANES_BUSY;
      }
      /** Applied ones whose lane has queued executions behind them (QUEUED_BEHIND); made for the first (most flushes have none). */
      let queuedBehind: Set<string> | null = null;
      const noneQueued = db.dialect === 'sqlite' && (await tx.values(ANY_QUEUED)).length === 0;
      const move = noneQueued ? moveExecutionsNoneQueued : moveExecutions;
      // SQLite: parts of a few sizes, so few statement texts are kept (lanes.ts, sizedParts).
      // PostgreSQL: as few parts as its limits allow, since each statement is a round trip.
      for (const part of db.dialect === 'sqlite' ? sizedParts(all) : chunks(all)) {
        // SQLite: every attempt of the part a success (insertSucceededAttempts, moveSucceeded).
        let succeeded = db.dialect === 'sqlite';
        if (succeeded) {
          for (const { f: { record }, decision } of part) {
            if (record.outcome !== 'success' || record.reason !== null || decision.state !== 'succeeded') {
              succeeded = false;
              break;
            }
          }
        }
        // Parameters written into one array each, made at its final length: pushed, a part of 128
        // rows grew its array a dozen times (about three times its final size allocated); and not
        // flatMap (an array per row, then the joined one).
        const attemptParams: unknown[] = new Array(part.length * (succeeded ? 8 : 10));
        let i = 0;
        for (const { f: { claimed, record, request, attemptUid }, n } of part) {
          attemptParams[i++] = attemptUid;
          attemptParams[i++] = claimed.uid;
          attemptParams[i++] = n;
          attemptParams[i++] = record.started_at;
          attemptParams[i++] = record.duration_ms;
          if (!succeeded) attemptParams[i++] = record.outcome;
          attemptParams[i++] = record.status_code;
          if (!succeeded) attemptParams[i++] = record.reason;
          attemptParams[i++] = loggedJson(request);
          attemptParams[i++] = record.response ? responseJson(record.status_code, record.response, claimed.webhook_uid) : null;
        }
        await tx.run(succeeded ? insertSucceededAttempts(part.length) : insertAttempts(db.dialect, part.length), attemptParams);
        for (const r of part) r.applied = true;
        if (noneQueued) {
          await tx.run(SILENT);
          const { changes } = succeeded
            ? await tx.run(moveSucceeded(part.length), succeededParamsOf(part, opts.now))
            : await tx.run(moveExecutionsSilent(db.dialect, part.length), moveParamsOf(part, opts.now));
          if (changes === part.length) {
            await tx.run(SILENT_KEPT);
            continue;
          }
          await tx.run(SILENT_UNDONE);
          await tx.run(SILENT_KEPT);
        }
        const moveParams = moveParamsOf(part, opts.now);
        // [uid, queued_behind] per row (Queryable.values: an object per outcome was a cost of its own).
        const moved = await tx.values<[string, number | boolean]>(move(db.dialect, part.length), moveParams);
        // Each row moved (the common case: one RETURNING row per execution) unless a claim had
        // ended; only then are the part's rows looked up by uid.
        if (moved.length < part.length) {
          const applied = new Set<string>();
          for (const [uid] of moved) applied.add(uid);
          for (const r of part) r.applied = applied.has(r.f.claimed.uid);
        }
        // 1/0 on SQLite, true/false on PostgreSQL.
        for (const [uid, behind] of moved) if (behind === true || Number(behind) === 1) (queuedBehind ??= new Set()).add(uid);
      }
      // One pass, in the batch's order: claims that ended before their outcome arrived (logged
      // above, nothing else follows from them), retries, lanes to promote, failures to report.
      /** The breaker's calls: a batch is one call, counted once, as its first member. */
      const calls: Row[] = [];
      let batches: Set<string> | null = null;
      let promote: Claimed[] | null = null;
      let failed: Row[] | null = null;
      for (const r of all) {
        const { claimed } = r.f;
        if (!r.applied) {
          effects.stale.push(claimed.uid);
          continue;
        }
        const { batchUid } = claimed;
        if (!batchUid) calls.push(r);
        else if (!(batches ??= new Set()).has(batchUid)) {
          batches.add(batchUid);
          calls.push(r);
        }
        const { decision } = r;
        if (decision.state === 'pending') {
          effects.retryAt = Math.min(effects.retryAt ?? Infinity, decision.next_attempt_at);
          continue;
        }
        if (queuedBehind?.has(claimed.uid)) (promote ??= []).push(claimed);
        if (decision.state === 'failed') (failed ??= []).push(r);
      }
      if (promote) effects.promoted = await promoteNext(tx, promote, opts);
      if (opts.operational && failed) {
        await opts.operational.executionsFailed(
          tx,
          failed.map(({ f: { claimed, record }, n }) => ({
            uid: claimed.uid,
            webhook: claimed.webhook,
            event: claimed.event,
            delivered: claimed.event,
            attempts: n,
            status_code: record.status_code,
            outcome: record.outcome,
            reason: record.reason,
          })),
        );
      }
      await countFailures(tx, calls, { ...opts, store: db }, effects);
    });
    // Committed: each outcome learns the end its execution reached (the writer's callers read it).
    for (const r of all) r.f.ended = r.applied && r.decision.state !== 'pending' ? r.decision.state : null;
    return effects;
  }
}

/** moveText's parameters for `part`: each row's VALUES, then updated_at and ended_at (`now`). */
function moveParamsOf(part: Row[], now: number): unknown[] {
  // Written into one array made at its final length (see complete()'s attempt parameters).
  const params: unknown[] = new Array(part.length * 9 + 2);
  let i = 0;
  for (const { f: { claimed, record }, n, decision } of part) {
    params[i++] = claimed.uid;
    params[i++] = claimed.leaseUntil;
    params[i++] = decision.state;
    params[i++] = n;
    params[i++] = decision.state === 'pending' ? decision.next_attempt_at : null;
    params[i++] = record.started_at;
    params[i++] = record.status_code;
    params[i++] = record.outcome;
    params[i++] = record.reason;
  }
  params[i++] = now;
  params[i++] = now;
  return params;
}

/**
 * moveSucceeded's parameters for `part`, every one ending succeeded: uid, lease, attempts, start
 * and status a row, then updated_at and ended_at (`now`).
 */
function succeededParamsOf(part: Row[], now: number): unknown[] {
  const params: unknown[] = new Array(part.length * 5 + 2);
  let i = 0;
  for (const { f: { claimed, record }, n } of part) {
    params[i++] = claimed.uid;
    params[i++] = claimed.leaseUntil;
    params[i++] = n;
    params[i++] = record.started_at;
    params[i++] = record.status_code;
  }
  params[i++] = now;
  params[i++] = now;
  return params;
}

/** A finished attempt with its attempt number, what the retry policy made of it, and whether its claim still held. */
interface Row {
  f: Finished;
  n: number;
  decision: Decision;
  /** Its execution moved on (still claimed when written); false: stale, logged only. */
  applied: boolean;
}

/** Thrown inside complete()'s transaction when a lane is held elsewhere: the batch is written again, careful. */
const LANES_BUSY = new Error('lanes busy');
