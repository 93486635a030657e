/**
 * `npm run bench:rows`: the store's side of the delivery path alone, per statement: a real SQLite
 * file with every migration, the writer set up as Herald sets it up (sqlite.ts tuneWriter and
 * tuneWriterAfterMigrations), and the bench's rows (bench/run.ts: ~1.2 KB events, one lane per
 * entity, 200 events a transaction), written by the statements of one execution's life. Prints
 * each one's CPU time per delivery and per row written: what a schema or statement change saves,
 * without the rest of Herald around it. No HTTP, no JSON of the engine.
 *
 * The path, by default, is the one the bench's fan-out lines take: the pre-lease list (prelease.ts).
 * Counted in Herald (session 19, ad-hoc counters, fan-out 1 and 10 lines): every delivery, 20,000
 * of 20,000 and 50,000 of 50,000, was written leased by its INSERT and handed out from the list; no
 * lease UPDATE ran, and claim rounds wrote nothing. So an execution's life here is: events INSERT,
 * the lane look-up and the executions INSERT written in_flight (enqueue.ts); claim rounds of 64
 * listed ones, which only read (lease.ts claimListed: the webhook_changes count on the reader
 * connection, and the round's events at fan-out 1 on the writer's, sqlite.ts committedValues, whose events the list does not hold (decoded.ts
 * EVENTS_HELD is for fan-outs; the list runs ~14,000 deep in the bench's burst, past EVENTS_KEPT);
 * one empty due scan (BEGIN IMMEDIATE, candidate SELECT, COMMIT) after each recording transaction;
 * and the outcome flushes (complete.ts: the attempts INSERT and the UPDATE..FROM per part, both
 * the statements of a part whose every attempt succeeded, as every one does here; the
 * breaker's reset UPDATE of the flush's webhooks whose count is not known to be 0, breaker.ts
 * KnownZero: here each webhook's first flush only), each a transaction.
 * BENCH_ROWS_LEASE=claim: the claim-round path instead (executions written pending, then the
 * candidate SELECT and the lease UPDATE of claim rounds of 64 in a transaction each, claim.ts and
 * lease.ts), which Herald takes for what the list does not take (a backlog past PRELEASE_CAP, a
 * slow webhook past its listDepth, retries, PostgreSQL).
 *
 * Not modelled: the counted empty scans (fan-out 10: 3-8 per 1,000 deliveries, here 0.5; fan-out
 * 1: 0-0.5, here 5; each a few us without a write), the flush size (Herald's flushes held ~100
 * outcomes at fan-out 1 and ~140 at fan-out 10 in those lines: see BENCH_ROWS_FLUSH), and the
 * claim path's reads in BENCH_ROWS_LEASE=claim (the webhook and event rows of claimedRows).
 *
 * The statement texts are copies of those files' (kept as they are there, SQLite's side): change
 * them together. Settings (environment): BENCH_ROWS_FANOUT (webhooks per event, default 10),
 * BENCH_EVENTS (default 5,000), BENCH_ROWS_FLUSH (outcomes per flush, default 80: the 10 ms group
 * commit at ~8k deliveries/s), BENCH_ROWS_SQL (SQL run after the migrations, e.g. an index to try),
 * BENCH_ROWS_PRAGMA (pragmas after the writer's, e.g. `temp_store = FILE`, `;`-separated),
 * BENCH_ROWS_LEASE (`enqueue`, the default, or `claim`: see above), BENCH_ROWS_EVENTS_READER=1 (fan-out
 * 1's listed events read back on the reader connection, as Herald did until session 22),
 * BENCH_ROWS_BIND=array (parameters bound as one array, as sqlite.ts did until session 25), BENCH_ROWS_HELD=count (complete.ts's still-held count before each part's UPDATE, as until session 25,
 * instead of its savepoint), BENCH_ROWS_WAL=1 (the WAL frames each round wrote, by the btree their page belongs to now: the
 * WAL file's frame headers read before each checkpoint, pages named by the dbstat table; slow).
 * BENCH_ROWS_CHECKPOINT_EVERY (deliveries between checkpoints, checked after each commit; default:
 * once per recording transaction's round, ~2,000 deliveries at fan-out 10; Herald's checkpoint
 * thread passes 100 ms after a commit, ~1,000 deliveries at 10k a second). Checkpoints are
 * untimed among the statements (Herald's thread runs them off the main thread). Always printed: WAL
 * frames (4 KiB pages, 4,120 bytes with their headers) written per delivery, and the pages the
 * checkpoints copied into the database file (each page once per checkpoint, whatever number of
 * its frames).
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sortableId } from '../src/ids.ts';
import { migrationFiles } from '../src/store/migrate.ts';
import { tuneWriter, tuneWriterAfterMigrations } from '../src/store/sqlite.ts';
import { chunks, paddedList, sizedParts } from '../src/delivery/queue/lanes.ts';
import { manyRows, memo, repeated } from '../src/store/db.ts';

const FANOUT = Number(process.env.BENCH_ROWS_FANOUT ?? 10);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 5_000);
const FLUSH = Number(process.env.BENCH_ROWS_FLUSH ?? 80);
/** The path (see the header): leased by the INSERT that makes each execution (the default), or by claim rounds. */
const LEASE = process.env.BENCH_ROWS_LEASE ?? 'enqueue';
if (LEASE !== 'enqueue' && LEASE !== 'claim') throw new Error(`BENCH_ROWS_LEASE: 'enqueue' (the default) or 'claim', not '${LEASE}'`);
const LEASE_AT_ENQUEUE = LEASE === 'enqueue';
/** A claim's lease, ms (the dispatcher's is longer or shorter: only its being in the future matters here). */
const LEASE_MS = 60_000;
/** Events per recording transaction, as bench/run.ts throughput() records them. */
const EVENTS_PER_TX = 200;
/** Rows from which enqueue.ts binds an event's shared columns once (its SHARED_FROM). */
const SHARED_FROM = 4;
/** Claim round size (the dispatcher's CLAIM_PAGE) and the candidates read beyond it (claim.ts). */
const CLAIM_PAGE = 64;
const CANDIDATE_MARGIN = 32;

/** WAL frames by btree (BENCH_ROWS_WAL=1). */
const WAL_BY_BTREE = process.env.BENCH_ROWS_WAL === '1';
/** Fan-out 1's events read back on the reader (BENCH_ROWS_EVENTS_READER=1), not the writer. */
const EVENTS_ON_READER = process.env.BENCH_ROWS_EVENTS_READER === '1';
/** The still-held count before a part's UPDATE (BENCH_ROWS_HELD=count), complete.ts's way before session 25, rather than its savepoint. */
const HELD_COUNT = process.env.BENCH_ROWS_HELD === 'count';
/** Deliveries between checkpoints (0: once a round). */
const CHECKPOINT_EVERY = Number(process.env.BENCH_ROWS_CHECKPOINT_EVERY ?? 0);

const dir = mkdtempSync(join(tmpdir(), 'herald-rows-'));
const file = join(dir, 'herald.db');
const db = new Database(file);
tuneWriter(db);
// Checkpointed between rounds, untimed, as the checkpoint thread does it.
db.pragma('wal_autocheckpoint = 0');
for (const m of migrationFiles('sqlite')) db.exec(m.sql);
tuneWriterAfterMigrations(db);
for (const p of (process.env.BENCH_ROWS_PRAGMA ?? '').split(';').filter((s) => s.trim())) db.pragma(p);
if (process.env.BENCH_ROWS_SQL) db.exec(process.env.BENCH_ROWS_SQL);
// The reads outside transactions go to a second, read-only connection, as Herald's (sqlite.ts openReader).
const reader = new Database(file, { readonly: true });
/**
 * BENCH_ROWS_BIND=array: parameters bound as one array, as sqlite.ts did until session 25, rather
 * than spread into arguments as it does now (sqlite.ts SPREAD_MAX); the calls below pass arrays, so
 * the statements' methods spread them unless asked not to.
 */
if (process.env.BENCH_ROWS_BIND !== 'array') {
  const proto = Object.getPrototypeOf(reader.prepare('SELECT 1')) as Record<string, (...args: unknown[]) => unknown>;
  for (const m of ['run', 'all', 'get']) {
    const f = proto[m];
    proto[m] = function (this: unknown, ...args: unknown[]) {
      const p = args[0];
      return args.length === 1 && Array.isArray(p) && p.length <= 4_096 ? f.apply(this, p) : f.apply(this, args);
    };
  }
}
reader.pragma('busy_timeout = 5000');

// enqueue.ts and complete.ts write their rows OR FAIL on SQLite (store/db.ts manyRows: no statement journal).
const OR_FAIL = manyRows('sqlite');
const UNFINISHED_ROW = "ended_at IS NULL AND state IN ('queued', 'pending', 'in_flight')";
const QUEUED_BEHIND = "EXISTS (SELECT 1 FROM executions q WHERE q.lane = executions.lane AND q.webhook_uid = executions.webhook_uid AND q.state = 'queued')";
const moveText = (n: number, queuedBehind: string) => `WITH v (uid, lease_until, state, attempts, next_attempt_at, started_at, status_code, outcome, reason) AS (
      VALUES ${repeated(n, '(CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT))')}
    )
    UPDATE ${OR_FAIL}executions SET state = v.state, attempts = v.attempts, next_attempt_at = v.next_attempt_at, lease_until = NULL,
           first_attempt_at = COALESCE(executions.first_attempt_at, v.started_at), last_status_code = v.status_code,
           last_outcome = v.outcome, last_reason = v.reason, updated_at = ?, ended_at = CASE WHEN v.state IN ('succeeded', 'failed') THEN CAST(? AS BIGINT) ELSE NULL END,
           paced = CASE WHEN executions.paced IS NULL THEN NULL ELSE 0 END
    FROM v WHERE executions.uid = v.uid AND executions.state = 'in_flight' AND executions.lease_until = v.lease_until
    RETURNING executions.uid AS uid, ${queuedBehind} AS queued_behind`;
const SQL = {
  event: `INSERT ${OR_FAIL}INTO events (api_key, branch, module, action, uid, content_type_uid, locale, environment, actor, actor_name, changes, data, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  busy: memo((n: number) => `SELECT DISTINCT webhook_uid FROM executions WHERE webhook_uid IN (${repeated(n)}) AND lane = ? AND ${UNFINISHED_ROW}`),
  busyOne: `SELECT 1 AS busy FROM executions WHERE webhook_uid = ? AND lane = ? AND ${UNFINISHED_ROW} LIMIT 1`,
  // Each row's own columns, then the event's: api_key, event_seq, lane, channel, action, created_at,
  // updated_at; after each row (fewer than SHARED_FROM rows), or once after all of them.
  // BENCH_ROWS_LEASE=enqueue: rows written as lease.ts's SQLite lease leaves them (in flight, next_attempt_at NULL: out of the due index).
  plainExecutions: memo(
    (n: number) => `INSERT ${OR_FAIL}INTO executions (uid, webhook_uid, state, next_attempt_at, batch_uid, paced, lease_until, first_attempt_at, api_key, event_seq, lane, channel, action, created_at, updated_at)
    VALUES ${repeated(n, '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')}`,
  ),
  executions: memo(
    (n: number) => `WITH v (uid, webhook_uid, state, next_attempt_at, batch_uid, paced, lease_until, first_attempt_at) AS (
      VALUES ${repeated(n, '(?, ?, ?, ?, ?, ?, ?, ?)')}
    )
    INSERT ${OR_FAIL}INTO executions (uid, api_key, webhook_uid, event_seq, lane, channel, action, state, next_attempt_at, batch_uid, paced, lease_until, first_attempt_at, created_at, updated_at)
    SELECT uid, ?, webhook_uid, ?, ?, ?, ?, state, next_attempt_at, batch_uid, paced, lease_until, first_attempt_at, ?, ?
    FROM v`,
  ),
  // enqueue.ts insertLeased / insertPlainLeased (SQLite): every row of the event leased with one
  // lease end, so only uid and webhook_uid vary; the rest is bound once (or after each row below
  // SHARED_FROM rows) and state with its NULLs is written in the text.
  leased: memo(
    (n: number) => `WITH v (uid, webhook_uid) AS (VALUES ${repeated(n, '(?, ?)')})
    INSERT ${OR_FAIL}INTO executions (uid, api_key, webhook_uid, event_seq, lane, channel, action, state, next_attempt_at, batch_uid, paced, lease_until, first_attempt_at, created_at, updated_at)
    SELECT uid, ?, webhook_uid, ?, ?, ?, ?, 'in_flight', NULL, NULL, NULL, ?, ?, ?, ? FROM v`,
  ),
  plainLeased: memo(
    (n: number) => `INSERT ${OR_FAIL}INTO executions (uid, webhook_uid, api_key, event_seq, lane, channel, action, lease_until, first_attempt_at, created_at, updated_at, state, next_attempt_at, batch_uid, paced)
    VALUES ${repeated(n, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'in_flight', NULL, NULL, NULL)")}`,
  ),
  candidates: 'SELECT uid, webhook_uid, paced FROM executions WHERE next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?',
  lease: memo((n: number) => `UPDATE ${OR_FAIL}executions SET state = 'in_flight', next_attempt_at = NULL, lease_until = ?, first_attempt_at = COALESCE(first_attempt_at, ?), updated_at = ?
    WHERE uid IN (${repeated(n)}) AND next_attempt_at <= ? RETURNING uid, webhook_uid, lane, attempts, event_seq, batch_uid, folded_seqs`),
  // lease.ts claimListed -> claimedRows (the reader): the count of webhook writes, and the events the round lacks.
  webhookChanges: 'SELECT n FROM webhook_changes WHERE id = 1',
  eventRows: memo(
    (n: number) =>
      `SELECT seq, api_key, branch, module, action, uid, content_type_uid, locale, environment, actor, actor_name, changes, data, created_at FROM events WHERE seq IN (${repeated(n)})`,
  ),
  attempts: memo((n: number) => `INSERT ${OR_FAIL}INTO attempts (uid, execution_uid, n, started_at, duration_ms, outcome, status_code, reason, request, response)
    VALUES ${repeated(n, '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')} ON CONFLICT (uid) DO NOTHING`),
  // complete.ts insertSucceededAttempts / moveSucceeded (SQLite): a part whose every attempt succeeded.
  succeededAttempts: memo((n: number) => `INSERT ${OR_FAIL}INTO attempts (uid, execution_uid, n, started_at, duration_ms, outcome, status_code, reason, request, response)
    VALUES ${repeated(n, "(?, ?, ?, ?, ?, 'success', ?, NULL, ?, ?)")} ON CONFLICT (uid) DO NOTHING`),
  moveSucceeded: memo(
    (n: number) => `WITH v (uid, lease_until, attempts, started_at, status_code) AS (
      VALUES ${repeated(n, '(CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT))')}
    )
    UPDATE ${OR_FAIL}executions SET state = 'succeeded', attempts = v.attempts, next_attempt_at = NULL, lease_until = NULL,
           first_attempt_at = COALESCE(executions.first_attempt_at, v.started_at), last_status_code = v.status_code,
           last_outcome = 'success', last_reason = NULL, updated_at = ?, ended_at = CAST(? AS BIGINT),
           paced = CASE WHEN executions.paced IS NULL THEN NULL ELSE 0 END
    FROM v WHERE executions.uid = v.uid AND executions.state = 'in_flight' AND executions.lease_until = v.lease_until`,
  ),
  move: memo((n: number) => moveText(n, QUEUED_BEHIND)),
  moveNoneQueued: memo((n: number) => moveText(n, '0')),
  stillHeld: memo(
    (n: number) =>
      `WITH v (uid, lease_until) AS (VALUES ${repeated(n, '(CAST(? AS TEXT), CAST(? AS BIGINT))')})
     SELECT count(*) FROM v JOIN executions ON executions.uid = v.uid AND executions.state = 'in_flight' AND executions.lease_until = v.lease_until`,
  ),
  anyQueued: "SELECT 1 FROM executions WHERE state = 'queued' LIMIT 1",
  // breaker.ts countFailures: the flush's webhooks whose calls all succeeded (padded list).
  resetFailures: memo((n: number) => `UPDATE webhooks SET consecutive_failures = 0 WHERE uid IN (${repeated(n)}) AND consecutive_failures <> 0`),
};

const statements = new Map<string, Database.Statement>();
const prepared = (sql: string) => {
  let s = statements.get(sql);
  if (!s) statements.set(sql, (s = db.prepare(sql)));
  return s;
};
const writerReads = new Map<string, Database.Statement>();
/** A read on the writer's connection, no transaction open (sqlite.ts committedValues), rows as arrays. */
const readOnWriter = (sql: string) => {
  let s = writerReads.get(sql);
  if (!s) writerReads.set(sql, (s = db.prepare(sql).raw(true)));
  return s;
};
const readStatements = new Map<string, Database.Statement>();
const read = (sql: string) => {
  let s = readStatements.get(sql);
  if (!s) readStatements.set(sql, (s = reader.prepare(sql).raw(true)));
  return s;
};
/**
 * CPU time (user + system, us) and rows per measured step: CPU rather than elapsed time, which on a
 * shared machine counts the waits for a CPU too (this process runs one thread of its own).
 */
const spent = new Map<string, { us: number; rows: number }>();
function timed<T>(name: string, rows: number, fn: () => T): T {
  const c0 = process.cpuUsage();
  const r = fn();
  const c = process.cpuUsage(c0);
  const s = spent.get(name) ?? { us: 0, rows: 0 };
  s.us += c.user + c.system;
  s.rows += rows;
  spent.set(name, s);
  return r;
}
const PAGE_SIZE = db.pragma('page_size', { simple: true }) as number;
const begin = db.prepare('BEGIN IMMEDIATE');
const commit = db.prepare('COMMIT');
function tx(name: string, fn: () => void) {
  begin.run();
  fn();
  timed(`COMMIT (${name})`, 1, () => commit.run());
  if (WAL_BY_BTREE) named();
  if (CHECKPOINT_EVERY > 0 && delivered - checkpointedAt >= CHECKPOINT_EVERY) checkpoint();
}

const apiKey = 'blt' + randomBytes(8).toString('hex');
const hooks = Array.from({ length: FANOUT }, () => 'blt' + randomBytes(8).toString('hex'));
// The stack and its webhooks as rows (the breaker's reset UPDATE finds them); a document of ~1 KB.
{
  const now = Date.now();
  db.prepare('INSERT INTO stacks (api_key, name, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(apiKey, 'bench', '{}', now, now);
  const doc = JSON.stringify({ name: 'bench', destinations: [{ target_url: 'http://127.0.0.1:40000/hook', custom_header: [] }], channels: ['content_types.post.entries.update'], pad: 'x'.repeat(800) });
  for (const h of hooks) db.prepare('INSERT INTO webhooks (uid, api_key, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(h, apiKey, doc, now, now);
}
// The set-up's frames (migrations, these rows) are not the delivery path's: not counted.
db.pragma('wal_checkpoint(TRUNCATE)');
const data = JSON.stringify({ entry: { uid: 'blt0', title: 'Entry', url: '/posts/0', body: 'x'.repeat(900), _version: 2, locale: 'en-us' }, content_type: { uid: 'post', title: 'Post' } });
const channel = 'content_types.post.entries.update';
// An attempt's logged request and response, the sizes the bench's are.
const request = JSON.stringify({ method: 'POST', url: 'http://127.0.0.1:40000/hook0', headers: { 'content-type': 'application/json', 'user-agent': 'Herald-Webhooks/1.0', 'x-contentstack-signature': '***', 'webhook-id': 'exe_0000000000000000000000', 'webhook-timestamp': '1733400000' }, body: '(the event payload)' });
const response = JSON.stringify({ status: 200, headers: { 'content-length': '2', date: 'Sat, 05 Dec 2026 19:00:00 GMT' }, body: 'ok' });

/** WAL frames written, and by btree (BENCH_ROWS_WAL=1); pages the checkpoints copied; deliveries so far, and at the last checkpoint. */
let walFrames = 0;
const framesBy = new Map<string, number>();
let copiedPages = 0;
/** CPU of the checkpoints (us), not among the statements': Herald's run on a thread of their own. */
let checkpointUs = 0;
let delivered = 0;
let checkpointedAt = 0;

/** Frames of the WAL (since its last restart) already named by named(). */
let framesNamed = 0;

/**
 * BENCH_ROWS_WAL=1, after each commit: the frames it wrote, each named by the btree that owns its
 * page right after that commit. Named at the checkpoint instead, a page freed by one btree and
 * reused by another within the round was charged to the second for all of its frames: the
 * partial indexes' pages (executions_due, executions_unfinished: an entry added at enqueue, gone
 * at the outcome) were charged to attempts' new leaves (fan-out 10, claim rounds: attempts'
 * leaves 0.219 frames per delivery so, 0.134 named per commit; executions_due 0.011 -> 0.066).
 * A frame's header (24 bytes, after the WAL's 32-byte one) starts with its page number and
 * carries the WAL's salts at 8 and 12: the frames of the current WAL are those whose salts are
 * the header's (16 and 20); older ones past them, from before a restart, are not.
 */
function named() {
  const fd = openSync(`${file}-wal`, 'r');
  const head = Buffer.alloc(32);
  const frame = Buffer.alloc(24);
  const pages: number[] = [];
  try {
    if (readSync(fd, head, 0, 32, 0) < 32) return;
    for (;;) {
      if (readSync(fd, frame, 0, 24, 32 + framesNamed * (24 + PAGE_SIZE)) < 24) break;
      if (frame.readUInt32BE(8) !== head.readUInt32BE(16) || frame.readUInt32BE(12) !== head.readUInt32BE(20)) break;
      pages.push(frame.readUInt32BE(0));
      framesNamed++;
    }
  } finally {
    closeSync(fd);
  }
  if (pages.length === 0) return;
  const owner = new Map<number, string>();
  for (const r of db.prepare('SELECT name, pageno, pagetype FROM dbstat').all() as Array<{ name: string; pageno: number; pagetype: string }>) owner.set(r.pageno, `${r.name} (${r.pagetype})`);
  for (const page of pages) {
    const name = owner.get(page) ?? '(free or new)';
    framesBy.set(name, (framesBy.get(name) ?? 0) + 1);
  }
}

/**
 * Checkpoints the WAL (PASSIVE, as the checkpoint thread does; nothing else reads here, so every
 * frame is copied and the next commit starts the WAL again from its beginning) and counts the
 * frames it held (each frame's page number: the first 4 bytes of its 24-byte header, after the
 * WAL's 32-byte header).
 */
function checkpoint() {
  checkpointedAt = delivered;
  const c0 = process.cpuUsage();
  const [{ log }] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number }>;
  const c = process.cpuUsage(c0);
  checkpointUs += c.user + c.system;
  walFrames += log;
  framesNamed = 0;
  if (log <= 0) return;
  // The frames as one read (Herald's WAL restarts at 16 MiB; a round here writes a few MiB).
  const wal = Buffer.allocUnsafe(32 + log * (24 + PAGE_SIZE));
  const fd = openSync(`${file}-wal`, 'r');
  readSync(fd, wal, 0, wal.length, 0);
  closeSync(fd);
  const pages = new Set<number>();
  for (let i = 0; i < log; i++) pages.add(wal.readUInt32BE(32 + i * (24 + PAGE_SIZE)));
  copiedPages += pages.size;
}

let nextEvent = 0;
/** Written leased, not handed out yet (prelease.ts's list). */
const listed: Array<{ uid: string; webhookUid: string; seq: number; leaseUntil: number }> = [];
let listedAt = 0;
/** Claimed (or handed out), their outcome not recorded yet. */
const leased: Array<{ uid: string; webhookUid: string; leaseUntil: number }> = [];

function record(n: number) {
  tx('record', () => {
    for (let k = 0; k < n; k++) {
      const uid = `blt${(nextEvent++).toString(16).padStart(16, '0')}`;
      const now = Date.now();
      // record.ts: no RETURNING on SQLite, the seq is the last insert rowid.
      const seq = timed('events INSERT', 1, () => Number(prepared(SQL.event).run([apiKey, 'main', 'entry', 'update', uid, 'post', 'en-us', null, 'bench', null, null, data, now]).lastInsertRowid));
      const lane = `entry:${uid}`;
      if (FANOUT > 1) timed('lane SELECT', FANOUT, () => prepared(SQL.busy(FANOUT)).all([...hooks, lane]));
      else timed('lane SELECT', 1, () => prepared(SQL.busyOne).get([hooks[0], lane]));
      const params: unknown[] = [];
      if (LEASE_AT_ENQUEUE) {
        // enqueue.ts's leased statements: uid and webhook a row, the rest shared.
        const leaseUntil = now + LEASE_MS;
        const shared = [apiKey, seq, lane, channel, 'update', leaseUntil, now, now, now];
        for (const h of hooks) {
          const uid = sortableId('exe');
          params.push(uid, h);
          if (FANOUT < SHARED_FROM) params.push(...shared);
          listed.push({ uid, webhookUid: h, seq, leaseUntil });
        }
        if (FANOUT >= SHARED_FROM) params.push(...shared);
        const text = FANOUT < SHARED_FROM ? SQL.plainLeased(FANOUT) : SQL.leased(FANOUT);
        timed('executions INSERT', FANOUT, () => prepared(text).run(params));
        continue;
      }
      const shared = [apiKey, seq, lane, channel, 'update', now, now];
      for (const h of hooks) {
        params.push(sortableId('exe'), h, 'pending', now, null, null, null, null);
        if (FANOUT < SHARED_FROM) params.push(...shared);
      }
      if (FANOUT >= SHARED_FROM) params.push(...shared);
      const text = FANOUT < SHARED_FROM ? SQL.plainExecutions(FANOUT) : SQL.executions(FANOUT);
      timed('executions INSERT', FANOUT, () => prepared(text).run(params));
    }
  });
}

function claimRound(): number {
  let got = 0;
  tx('claim', () => {
    const now = Date.now();
    const found = timed('candidates SELECT', 0, () => prepared(SQL.candidates).all([now, CLAIM_PAGE + CANDIDATE_MARGIN])) as Array<{ uid: string }>;
    spent.get('candidates SELECT')!.rows += found.length;
    const chosen = found.slice(0, CLAIM_PAGE).map((r) => r.uid);
    if (chosen.length === 0) return;
    const list = paddedList(chosen);
    const leaseUntil = now + LEASE_MS;
    const rows = timed('lease UPDATE', chosen.length, () => prepared(SQL.lease(list.length)).all([leaseUntil, now, now, ...list, now])) as Array<{ uid: string; webhook_uid: string }>;
    for (const r of rows) leased.push({ uid: r.uid, webhookUid: r.webhook_uid, leaseUntil });
    got = rows.length;
  });
  return got;
}

/**
 * A round's take from the list (dispatcher.ts takeListed, lease.ts claimListed): no write, reads on
 * the reader connection. Events of fan-outs are held for their listed executions (decoded.ts); at
 * fan-out 1 the round reads its events back.
 */
function listedRound(): number {
  const round = listed.slice(listedAt, listedAt + CLAIM_PAGE);
  listedAt += round.length;
  if (listedAt === listed.length) listed.length = listedAt = 0;
  if (round.length === 0) return 0;
  timed('webhook_changes (reader)', 0, () => read(SQL.webhookChanges).all());
  if (FANOUT === 1) {
    const seqs = round.map((l) => l.seq);
    for (const part of chunks(seqs)) {
      if (EVENTS_ON_READER) timed('events (reader)', part.length, () => read(SQL.eventRows(part.length)).all(part));
      else timed('events (writer)', part.length, () => readOnWriter(SQL.eventRows(part.length)).all(part));
    }
  }
  for (const l of round) leased.push(l);
  return round.length;
}

function flush(n: number) {
  const batch = leased.splice(0, n);
  if (batch.length === 0) return;
  delivered += batch.length;
  tx('complete', () => {
    const now = Date.now();
    // complete.ts ANY_QUEUED: none is queued here, so the UPDATE without QUEUED_BEHIND's look-up.
    const anyQueued = timed('queued probe', 0, () => prepared(SQL.anyQueued).all()).length > 0;
    const move = anyQueued ? SQL.move : SQL.moveNoneQueued;
    for (const part of sizedParts(batch)) {
      // Every attempt here succeeds: complete.ts's statements for such a part.
      const attempts: unknown[] = [];
      for (const b of part) attempts.push(sortableId('att'), b.uid, 1, now, 3, 200, request, response);
      timed('attempts INSERT', part.length, () => prepared(SQL.succeededAttempts(part.length)).run(attempts));
      const moves: unknown[] = [];
      for (const b of part) moves.push(b.uid, b.leaseUntil, 'succeeded', 1, null, now, 200, 'success', null);
      moves.push(now, now);
      const succeeded: unknown[] = [];
      for (const b of part) succeeded.push(b.uid, b.leaseUntil, 1, now, 200);
      succeeded.push(now, now);
      if (!anyQueued && !HELD_COUNT) {
        // complete.ts SILENT: the UPDATE in a savepoint, kept when it moved the whole part.
        timed('savepoint', 0, () => prepared('SAVEPOINT complete_silent').run());
        const moved = timed('complete UPDATE', part.length, () => prepared(SQL.moveSucceeded(part.length)).run(succeeded)).changes;
        if (moved === part.length) {
          timed('savepoint', 0, () => prepared('RELEASE complete_silent').run());
          continue;
        }
        timed('savepoint', 0, () => prepared('ROLLBACK TO complete_silent').run());
        timed('savepoint', 0, () => prepared('RELEASE complete_silent').run());
      } else if (!anyQueued) {
        const held: unknown[] = [];
        for (const b of part) held.push(b.uid, b.leaseUntil);
        const count = timed('still held count', 0, () => prepared(SQL.stillHeld(part.length)).pluck().get(held)) as number;
        if (count === part.length) {
          timed('complete UPDATE', part.length, () => prepared(SQL.moveSucceeded(part.length)).run(succeeded));
          continue;
        }
      }
      timed('complete UPDATE', part.length, () => prepared(move(part.length)).all(moves));
    }
    // Every call succeeded: the failure counts of the flush's webhooks not known to be 0 are reset
    // (breaker.ts KnownZero: each webhook's first flush only, since no call fails here).
    const webhooks = [...new Set(batch.map((b) => b.webhookUid))].filter((w) => !knownZero.has(w));
    for (const part of chunks(webhooks)) {
      const list = paddedList(part);
      timed('breaker reset UPDATE', 0, () => prepared(SQL.resetFailures(list.length)).run(list));
    }
    resetNow = webhooks;
  });
  // Learnt once the reset committed.
  for (const w of resetNow) knownZero.add(w);
}
/** Webhooks whose failure count is known to be 0 (breaker.ts KnownZero), and those the flush being written resets. */
const knownZero = new Set<string>();
let resetNow: string[] = [];

const load0 = loadavg()[0];
const cpu0 = process.cpuUsage();
for (let recorded = 0; recorded < EVENTS; recorded += EVENTS_PER_TX) {
  record(Math.min(EVENTS_PER_TX, EVENTS - recorded));
  // Claim rounds until nothing is due (the list's, then the scan's), with a flush whenever FLUSH
  // outcomes wait. Leased at enqueue: the list's rounds, then one scan, which finds nothing due.
  while (listedRound() > 0) if (leased.length >= FLUSH) flush(FLUSH);
  while (claimRound() > 0) if (leased.length >= FLUSH) flush(FLUSH);
  while (leased.length > 0) flush(FLUSH);
  checkpoint();
}
const cpu = process.cpuUsage(cpu0);
const deliveries = EVENTS * FANOUT;
let total = 0;
console.log(`store rows, ${LEASE_AT_ENQUEUE ? 'leased at enqueue (the list)' : 'claim rounds (BENCH_ROWS_LEASE=claim)'}, fan-out ${FANOUT}, ${EVENTS.toLocaleString('en')} events (load ${load0.toFixed(1)}): CPU us per delivery, per row written (rows)`);
for (const [name, s] of [...spent].sort(([a], [b]) => (a < b ? -1 : 1))) {
  total += s.us;
  const us = s.us;
  console.log(`  ${name.padEnd(26)} ${(us / deliveries).toFixed(2).padStart(7)}  ${s.rows ? (us / s.rows).toFixed(2).padStart(8) : '       -'}  (${s.rows.toLocaleString('en')})`);
}
console.log(`  ${'all statements'.padEnd(26)} ${(total / deliveries).toFixed(2).padStart(7)}; process CPU ${((cpu.user + cpu.system) / deliveries).toFixed(1)} us per delivery (checkpoints included)`);
console.log(
  `  WAL frames per delivery ${(walFrames / deliveries).toFixed(3)} (${walFrames.toLocaleString('en')}); pages checkpointed ${(copiedPages / deliveries).toFixed(3)} (${copiedPages.toLocaleString('en')}), checkpoint CPU ${(checkpointUs / deliveries).toFixed(2)} us`,
);
for (const [name, n] of [...framesBy].sort(([, a], [, b]) => b - a)) if (n / deliveries >= 0.0005) console.log(`    ${name.padEnd(32)} ${(n / deliveries).toFixed(3)}`);
if (WAL_BY_BTREE) {
  console.log('  size by btree, KiB (dbstat)');
  for (const r of db.prepare('SELECT name, SUM(pgsize) / 1024 AS kib, SUM(ncell) AS cells FROM dbstat GROUP BY name ORDER BY kib DESC LIMIT 12').all() as Array<{ name: string; kib: number; cells: number }>)
    console.log(`    ${r.name.padEnd(32)} ${String(r.kib).padStart(8)} (${r.cells.toLocaleString('en')} cells)`);
}
reader.close();
db.close();
rmSync(dir, { recursive: true, force: true });
