import type { Logger } from 'pino';
import { HeraldError, invalid } from '../errors.ts';
import { eventFromRow, type EventRow } from '../events/record.ts';
import { sortableId } from '../ids.ts';
import { repeated, type Db, type Tx } from '../store/db.ts';
import { eventChannel } from '../webhooks/channels.ts';
import { compileExplainer } from '../webhooks/explain.ts';
import { getWebhook } from '../webhooks/store.ts';
import type { Webhook } from '../webhooks/webhook.ts';
import { enqueue, resendFailed, type FailedExecution } from './queue/index.ts';
import { chunks } from './queue/lanes.ts';

/**
 * Replays (POST /v3/webhooks/{uid}/replay): recover after an outage in one step.
 *
 * - mode `failed` sends again every execution of the webhook that failed for good and was created
 *   in the range (queue/resend.ts: the same executions, so the same `webhook-id`);
 * - mode `events` makes new executions of every event of the stack recorded in the range that the
 *   webhook matches as it is now (channels, branches, conditions: webhooks/explain.ts, the match
 *   index's tests), through the queue's own enqueue, in event order.
 *
 * Either way the per-entity lanes keep each entity's deliveries in event order. A replay is a
 * durable job (table `replays`, migration 013): the request counts what it will send (refused past
 * MAX_REPLAY_EXECUTIONS), stores the job and answers; the executions are then made in chunks of
 * REPLAY_CHUNK, one transaction each (a replay never holds the store for long, so no other stack's
 * writes wait on it), each chunk also recording which executions are the job's
 * (`replay_executions`) and moving the job's compare-and-set counters, so a job taken up again
 * after a crash (resume(), at start) or by two processes at once never makes an execution twice.
 * Progress is read from the queue itself: `done` counts the job's executions that ended (succeeded,
 * or failed for good).
 */

export const REPLAY_MODES = ['failed', 'events'] as const;
export type ReplayMode = (typeof REPLAY_MODES)[number];

/** Longest range one replay covers, ms: 31 days (past the default log retention of 30 days). */
export const MAX_REPLAY_RANGE_MS = 31 * 24 * 3_600_000;
/** Most executions one replay sends. */
export const MAX_REPLAY_EXECUTIONS = 10_000;
/** Executions made or reset per transaction (events mode: events looked at per transaction). */
export const REPLAY_CHUNK = 250;

export interface ReplayRequest {
  /** The range, ms since the epoch, both ends included. */
  from: number;
  to: number;
  mode: ReplayMode;
}

/** A job as the API shows it. */
export interface ReplayJob {
  uid: string;
  webhook_uid: string;
  mode: ReplayMode;
  from: string;
  to: string;
  /** running: executions are being made or delivered; done: every one of them ended. */
  state: 'running' | 'done';
  /** Executions the job sends (exact once they are all made; until then, as counted at the start). */
  total: number;
  /** Of those, how many ended: succeeded, or failed for good. */
  done: number;
  succeeded: number;
  failed: number;
  created_at: string;
  finished_at: string | null;
}

/** A time given as an ISO date or milliseconds since the epoch. */
function time(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value !== '') {
    const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (!Number.isNaN(ms)) return ms;
  }
  throw invalid(field, 'is required: an ISO date (2026-12-05T08:00:00Z) or milliseconds since the epoch');
}

/** Checks a replay request's body (pure): `{ from, to, mode }`, or a 422 naming the field. */
export function parseReplayRequest(body: unknown): ReplayRequest {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HeraldError('bad_request', 'The body must be a JSON object: { "from": ..., "to": ..., "mode": "failed" | "events" }.');
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) if (!['from', 'to', 'mode'].includes(key)) throw invalid(key, 'is not a known field');
  if (!(REPLAY_MODES as readonly unknown[]).includes(b.mode)) throw invalid('mode', 'must be "failed" (send failed executions again) or "events" (send the events of the range again)');
  const from = time(b.from, 'from');
  const to = time(b.to, 'to');
  if (to < from) throw invalid('to', 'must not be before from');
  if (to - from > MAX_REPLAY_RANGE_MS) throw invalid('to', `must be at most ${MAX_REPLAY_RANGE_MS / 86_400_000} days after from: replay a longer outage in several ranges`);
  return { from, to, mode: b.mode as ReplayMode };
}

interface JobRow {
  uid: string;
  api_key: string;
  webhook_uid: string;
  mode: ReplayMode;
  range_from: number;
  range_to: number;
  state: 'enqueuing' | 'running' | 'done';
  total: number;
  enqueued: number;
  last_seq: number;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export interface ReplayDeps {
  db: Db;
  log: Logger;
  /** Makes the dispatcher (of every process) look for due executions now. */
  wake(): void;
  /** The auto-save window enqueue applies (HERALD_AUTO_SAVE_WINDOW), ms. */
  autoSaveWindowMs: number;
}

export interface Replays {
  /** Counts, stores and starts a replay of `webhook`; answers the job at once (the executions are made in the background). */
  start(webhook: Webhook, ask: ReplayRequest): Promise<ReplayJob>;
  /** A job of a webhook, with its progress; undefined when there is none. */
  get(webhookUid: string, jobUid: string): Promise<ReplayJob | undefined>;
  /** Takes up jobs that were still making executions when their process stopped (call at start). */
  resume(): Promise<void>;
  /** Stops making executions (a job left half made is taken up at the next start) and waits for the chunk in progress. */
  stop(): Promise<void>;
}

export function createReplays(deps: ReplayDeps): Replays {
  const { db, log } = deps;
  const running = new Map<string, Promise<void>>();
  let stopped = false;

  /** Runs a job's chunks in the background, once per process. */
  function launch(job: JobRow) {
    if (stopped || running.has(job.uid)) return;
    const p = makeExecutions(job)
      .catch((err) => log.error({ err, replay: job.uid }, 'a replay stopped making executions; it goes on at the next start'))
      .finally(() => running.delete(job.uid));
    running.set(job.uid, p);
  }

  async function makeExecutions(job: JobRow): Promise<void> {
    let failures = 0;
    for (;;) {
      if (stopped) return;
      let step: Awaited<ReturnType<typeof chunk>>;
      try {
        step = await db.tx((tx) => chunk(tx, job));
        failures = 0;
      } catch (err) {
        // A busy store: try the chunk again (nothing of it committed), a few times, then leave it to the next start.
        if (++failures > 5) throw err;
        log.warn({ err, replay: job.uid }, 'a replay chunk failed; trying it again');
        await new Promise((r) => setTimeout(r, 100 * 2 ** failures));
        continue;
      }
      if (step.next !== 'more') return;
      // Committed: the job's counters moved with it.
      job.enqueued += step.made;
      job.last_seq = step.lastSeq;
    }
  }

  /**
   * One chunk, in its own transaction: claims the job's next chunk by its counters (another process
   * taking up the same job changes them, and this one stops), makes or resets up to REPLAY_CHUNK
   * executions, and records them as the job's.
   */
  async function chunk(tx: Tx, job: JobRow): Promise<{ next: 'more' | 'finished' | 'lost'; made: number; lastSeq: number }> {
    // Scale-out (PostgreSQL): the stack's event lock before any of its lanes, as every transaction
    // that locks lanes one event at a time takes it (queue/lanes.ts, laneKey).
    await tx.lock?.([`events:${job.api_key}`]);
    const now = Date.now();
    const claimed = await tx.run("UPDATE replays SET updated_at = ? WHERE uid = ? AND state = 'enqueuing' AND enqueued = ? AND last_seq = ?", [now, job.uid, job.enqueued, job.last_seq]);
    if (claimed.changes === 0) return { next: 'lost', made: 0, lastSeq: job.last_seq };
    const webhook = await getWebhook(tx, job.webhook_uid, job.api_key);
    let made: string[] = [];
    let lastSeq = job.last_seq;
    let finished = !webhook;
    if (webhook && job.mode === 'failed') {
      // Still failed, created in the range, and failed before the job began (one the job sent
      // that failed again is done, not sent once more).
      const rows = await tx.all<FailedExecution>(
        `SELECT uid, webhook_uid, lane FROM executions
         WHERE webhook_uid = ? AND state = 'failed' AND created_at >= ? AND created_at <= ? AND updated_at <= ?
         ORDER BY event_seq, uid LIMIT ?`,
        [job.webhook_uid, job.range_from, job.range_to, job.created_at, REPLAY_CHUNK],
      );
      if (rows.length === 0) finished = true;
      else made = await resendFailed(tx, job.webhook_uid, rows, now);
    } else if (webhook) {
      const events = (
        await tx.all<EventRow>('SELECT * FROM events WHERE api_key = ? AND seq > ? AND created_at >= ? AND created_at <= ? ORDER BY seq LIMIT ?', [
          job.api_key,
          job.last_seq,
          job.range_from,
          job.range_to,
          REPLAY_CHUNK,
        ])
      ).map(eventFromRow);
      if (events.length === 0) finished = true;
      else {
        const explain = compileExplainer(webhook);
        // Executions made from here on sort after this id (ids are time-ordered, see ids.ts).
        const floor = sortableId('exe');
        const seqs: number[] = [];
        for (const event of events) {
          const m = explain(event);
          if (!m.matches) continue;
          await enqueue(tx, event, [{ webhook, channel: m.channel }], eventChannel(event), { now, autoSaveWindowMs: deps.autoSaveWindowMs });
          seqs.push(event.seq);
        }
        for (const part of chunks(seqs)) {
          const rows = await tx.all<{ uid: string }>(`SELECT uid FROM executions WHERE webhook_uid = ? AND uid > ? AND event_seq IN (${repeated(part.length)})`, [job.webhook_uid, floor, ...part]);
          made.push(...rows.map((r) => r.uid));
        }
        lastSeq = events.at(-1)!.seq;
      }
    }
    for (const part of chunks(made)) {
      await tx.run(`INSERT INTO replay_executions (replay_uid, execution_uid) VALUES ${repeated(part.length, '(?, ?)')} ON CONFLICT DO NOTHING`, part.flatMap((uid) => [job.uid, uid]));
    }
    if (made.length > 0) tx.afterCommit(deps.wake);
    if (finished) {
      // The total is now exact: what the job made (auto-saves folded together, executions a manual retry took first...).
      await tx.run("UPDATE replays SET state = 'running', total = (SELECT COUNT(*) FROM replay_executions WHERE replay_uid = ?), updated_at = ? WHERE uid = ?", [job.uid, now, job.uid]);
      return { next: 'finished', made: made.length, lastSeq };
    }
    await tx.run('UPDATE replays SET enqueued = enqueued + ?, last_seq = ?, updated_at = ? WHERE uid = ?', [made.length, lastSeq, now, job.uid]);
    return { next: 'more', made: made.length, lastSeq };
  }

  async function present(row: JobRow): Promise<ReplayJob> {
    const c = await db.get<{ succeeded: number | null; failed: number | null; gone: number | null }>(
      `SELECT SUM(CASE WHEN x.state = 'succeeded' THEN 1 ELSE 0 END) AS succeeded,
              SUM(CASE WHEN x.state = 'failed' THEN 1 ELSE 0 END) AS failed,
              SUM(CASE WHEN x.uid IS NULL THEN 1 ELSE 0 END) AS gone
       FROM replay_executions r LEFT JOIN executions x ON x.uid = r.execution_uid WHERE r.replay_uid = ?`,
      [row.uid],
    );
    const succeeded = Number(c?.succeeded ?? 0);
    const failed = Number(c?.failed ?? 0);
    // An execution pruned (log retention) or dropped with its webhook has ended too.
    const done = succeeded + failed + Number(c?.gone ?? 0);
    let state = row.state;
    let finishedAt = row.finished_at;
    if (state === 'running' && done >= Number(row.total)) {
      finishedAt = Date.now();
      await db.run("UPDATE replays SET state = 'done', finished_at = ?, updated_at = ? WHERE uid = ? AND state = 'running'", [finishedAt, finishedAt, row.uid]);
      state = 'done';
    }
    return {
      uid: row.uid,
      webhook_uid: row.webhook_uid,
      mode: row.mode,
      from: new Date(Number(row.range_from)).toISOString(),
      to: new Date(Number(row.range_to)).toISOString(),
      state: state === 'done' ? 'done' : 'running',
      total: Number(row.total),
      done,
      succeeded,
      failed,
      created_at: new Date(Number(row.created_at)).toISOString(),
      finished_at: finishedAt === null ? null : new Date(Number(finishedAt)).toISOString(),
    };
  }

  /** How many executions a replay would send now (counting stops past `max`). */
  async function count(webhook: Webhook, ask: ReplayRequest, max: number): Promise<number> {
    if (ask.mode === 'failed') {
      const row = await db.get<{ n: number }>(
        "SELECT COUNT(*) AS n FROM (SELECT 1 AS x FROM executions WHERE webhook_uid = ? AND state = 'failed' AND created_at >= ? AND created_at <= ? LIMIT ?) q",
        [webhook.uid, ask.from, ask.to, max + 1],
      );
      return Number(row?.n ?? 0);
    }
    const explain = compileExplainer(webhook);
    let n = 0;
    for (let after = 0; ; ) {
      const events = await db.all<EventRow>('SELECT * FROM events WHERE api_key = ? AND seq > ? AND created_at >= ? AND created_at <= ? ORDER BY seq LIMIT 1000', [webhook.api_key, after, ask.from, ask.to]);
      for (const row of events) if (explain(eventFromRow(row)).matches) n++;
      if (events.length < 1000 || n > max) return n;
      after = Number(events.at(-1)!.seq);
    }
  }

  const numbers = (r: JobRow): JobRow => ({ ...r, range_from: Number(r.range_from), range_to: Number(r.range_to), total: Number(r.total), enqueued: Number(r.enqueued), last_seq: Number(r.last_seq), created_at: Number(r.created_at) });

  return {
    async start(webhook, ask) {
      if (webhook.disabled) {
        throw new HeraldError('conflict', 'The webhook is disabled: enable it, then replay (a replay sends now).', { errors: { webhook: ['is disabled'] } });
      }
      const n = await count(webhook, ask, MAX_REPLAY_EXECUTIONS);
      if (n > MAX_REPLAY_EXECUTIONS) {
        throw invalid('to', `the range holds more than ${MAX_REPLAY_EXECUTIONS.toLocaleString('en')} ${ask.mode === 'failed' ? 'failed executions' : 'matching events'}; a replay sends at most ${MAX_REPLAY_EXECUTIONS.toLocaleString('en')}: replay it in shorter ranges`);
      }
      const now = Date.now();
      const job: JobRow = {
        uid: sortableId('rpl'),
        api_key: webhook.api_key,
        webhook_uid: webhook.uid,
        mode: ask.mode,
        range_from: ask.from,
        range_to: ask.to,
        state: n === 0 ? 'done' : 'enqueuing',
        total: n,
        enqueued: 0,
        last_seq: 0,
        created_at: now,
        updated_at: now,
        finished_at: n === 0 ? now : null,
      };
      await db.run(
        `INSERT INTO replays (uid, api_key, webhook_uid, mode, range_from, range_to, state, total, enqueued, last_seq, created_at, updated_at, finished_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [job.uid, job.api_key, job.webhook_uid, job.mode, job.range_from, job.range_to, job.state, job.total, 0, 0, now, now, job.finished_at],
      );
      if (n > 0) launch({ ...job });
      return present(job);
    },
    async get(webhookUid, jobUid) {
      const row = await db.get<JobRow>('SELECT * FROM replays WHERE uid = ? AND webhook_uid = ?', [jobUid, webhookUid]);
      return row ? present(numbers(row)) : undefined;
    },
    async resume() {
      const rows = await db.all<JobRow>("SELECT * FROM replays WHERE state = 'enqueuing'");
      for (const row of rows) {
        log.info({ replay: row.uid, webhook: row.webhook_uid }, 'taking up a replay that was still making executions');
        launch(numbers(row));
      }
    },
    async stop() {
      stopped = true;
      await Promise.all(running.values());
    },
  };
}

/** Replays deleted per transaction by pruneReplays. */
const PRUNE_REPLAYS_BATCH = 100;

/**
 * Log retention for replays (HERALD_LOG_RETENTION_DAYS, with the activity log they count): jobs
 * that finished making executions and last changed before `cutoff` (ms) are deleted with their
 * list of executions, a batch per transaction. A job still making executions is kept whatever its
 * age. Returns how many jobs it deleted.
 */
export async function pruneReplays(db: Db, cutoff: number): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await db.tx(async (tx) => {
      const rows = await tx.all<{ uid: string }>("SELECT uid FROM replays WHERE state <> 'enqueuing' AND updated_at < ? LIMIT ?", [cutoff, PRUNE_REPLAYS_BATCH]);
      if (rows.length === 0) return 0;
      const uids = rows.map((r) => r.uid);
      await tx.run(`DELETE FROM replay_executions WHERE replay_uid IN (${repeated(uids.length)})`, uids);
      await tx.run(`DELETE FROM replays WHERE uid IN (${repeated(uids.length)})`, uids);
      return uids.length;
    });
    total += n;
    if (n < PRUNE_REPLAYS_BATCH) return total;
  }
}
