/**
 * `npm run bench:floor`: the floor of goal 1 (#21). The least work any design that keeps Herald's
 * promises must do per delivery on this machine, written plainly in one process with no Herald
 * code, each piece switchable, measured in the same run as the raw ceiling (bench/raw.ts, the same
 * receiver process, body and pool settings as `npm run bench`'s raw line). Prints figures only.
 *
 * The promises kept: no lost change (the event and its executions are written in the content
 * write's transaction, here transactions of 200 events as the bench's fan-out lines record them);
 * an attempt's outcome is written (an UPDATE of its execution and an attempt row, in group commits
 * of up to 200 or 10 ms, as outcome-writer.ts) before the execution counts as done; at-least-once
 * (after a crash, executions not done are sent again). What the floor leaves out, as a single
 * process may: the claim's read (work just committed is handed to the senders from memory; a
 * restart would scan for unfinished executions) and, unless asked, the claim's write.
 *
 * Steps (each a fresh stream of events, all through one undici Pool like the raw line's):
 *   raw       the raw ceiling, as bench/run.ts measures it;
 *   post      POSTs of each event's own body (serialised once per event) driven by this file's
 *             dispatcher, with only content-type and x-herald-seq (as Herald's; the receiver only counts here);
 *   http      + what a webhook needs per attempt: Standard Webhooks HMAC-SHA256 over id.timestamp.body
 *             and Herald's headers (webhook-id/-timestamp/-signature, x-herald-event/-seq/-attempt, ua);
 *   store     + SQLite (WAL, synchronous=NORMAL, checkpoints on a thread of their own as Herald's):
 *             events and executions inserted in transactions of 200 events, outcomes group-committed;
 *   claim     + a claim write (UPDATE of each execution to in flight, rounds of 64) before sending;
 *   thread    claim's work with the sending (signature, headers, the POST, the log's request text)
 *             on one worker thread of its own pool: the floor of a sender-thread design. The main
 *             thread hands each turn's attempts over in one message (each distinct body once) and
 *             the thread answers with one message per turn of its own;
 * at fan-out 1 and 10 (e.g. `store10`). FLOOR_STEPS picks them (default all, raw first and last).
 * Settings: FLOOR_EVENTS (fan-out 1 events, default 20,000; fan-out 10 a quarter, as bench/run.ts),
 * FLOOR_WARMUP (events at fan-out 1 through the store step first, not counted; default 5,000),
 * FLOOR_THREAD_WARMUP (events through the thread step's sender before its first step; default 40,000),
 * FLOOR_INFLIGHT (requests in flight, default 64 as the raw line), FLOOR_CONNECTIONS (default 16,
 * as the raw line), FLOOR_INDEXES=1 (the indexes a product needs: executions by webhook and due
 * time, attempts by execution), FLOOR_LOG=1 (each attempt row keeps its request headers and
 * response, as Herald's log does), FLOOR_REQUEST=1 (undici's request() and a body stream per
 * response, as the raw line, rather than dispatch() and a handler, as Herald's send.ts),
 * FLOOR_PROFILE=<prefix> (a CPU profile of each step).
 *
 * Each step prints deliveries/s, its ratio to the first raw line's POST/s, CPU per delivery, µs (this
 * process with all its threads, its main thread, the receiver's process; /proc, 10 ms ticks) and
 * the ratios that CPU alone would allow (bound()). Run under the bench lock, alternated with
 * `BENCH_LINES=raw,fanout1,fanout10 npm run -s bench`; the machine's speed moves 2x between phases
 * (compare the two raw lines of a run), so read ratios, not rates.
 */
import Database from 'better-sqlite3';
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Pool, type Dispatcher } from 'undici';
import { cpuBounds, mainThreadCpuMs, processCpuMs, rawMeasured, sampleData, type RawFigures } from './raw.ts';
import { ask, RECEIVER, startReceiver } from './receiver-process.ts';

const EVENTS = Number(process.env.FLOOR_EVENTS ?? 20_000);
const WARMUP = Number(process.env.FLOOR_WARMUP ?? 5_000);
/** Events through the thread step's sender before its first step, not counted (its isolate compiles its send path; bench/run.ts warms sender threads with 40,000). */
const THREAD_WARMUP = Number(process.env.FLOOR_THREAD_WARMUP ?? 40_000);
const IN_FLIGHT = Number(process.env.FLOOR_INFLIGHT ?? 64);
/** Connections of the steps' pool (default 16, the raw line's; Herald's agent allows up to HERALD_MAX_IN_FLIGHT, 256). */
const CONNECTIONS = Number(process.env.FLOOR_CONNECTIONS ?? 16);
const INDEXES = process.env.FLOOR_INDEXES === '1';
const LOG = process.env.FLOOR_LOG === '1';
const REQUEST = process.env.FLOOR_REQUEST === '1';
const PROFILE = process.env.FLOOR_PROFILE;
const STEPS = (process.env.FLOOR_STEPS ?? 'raw,post1,http1,store1,claim1,http10,store10,claim10,raw').split(',').map((s) => s.trim());
/** Events per recording transaction (bench/run.ts throughput()). */
const EVENTS_PER_TX = 200;
/** Group commit of outcomes: at this many, or this many ms after the first (outcome-writer.ts). */
const FLUSH_BATCH = 200;
const FLUSH_MS = 10;
/** Claim round size (the dispatcher's CLAIM_PAGE); a round is taken when fewer than this many claimed wait. */
const CLAIM_PAGE = 64;
/** Checkpoint thread period, ms: PASSIVE checkpoints off the main thread, as sqlite-checkpoint.ts. */
const CHECKPOINT_MS = 100;
const USER_AGENT = 'Herald-Webhooks/0.1 (+https://github.com/herald)';

// ---- the store: the least a durable design writes ----
const dir = mkdtempSync(join(tmpdir(), 'herald-floor-'));
const file = join(dir, 'floor.db');
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
// Checkpoints run on the thread below; SQLite's own only as a far bound (sqlite.ts BACKSTOP_PAGES).
db.pragma('wal_autocheckpoint = 25600');
db.pragma('cache_size = -16384');
db.pragma('temp_store = MEMORY');
db.exec(`
  CREATE TABLE events (seq INTEGER PRIMARY KEY, api_key TEXT NOT NULL, kind TEXT NOT NULL, uid TEXT NOT NULL, created_at INTEGER NOT NULL, body TEXT NOT NULL);
  -- state: 0 queued, 1 in flight, 2 succeeded, 3 failed
  CREATE TABLE executions (id INTEGER PRIMARY KEY, event_seq INTEGER NOT NULL, webhook INTEGER NOT NULL, state INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER, lease_until INTEGER, ended_at INTEGER);
  CREATE TABLE attempts (id INTEGER PRIMARY KEY, execution_id INTEGER NOT NULL, n INTEGER NOT NULL, started_at INTEGER NOT NULL,
    duration_us INTEGER NOT NULL, status INTEGER NOT NULL, request TEXT, response TEXT);
`);
if (INDEXES) {
  db.exec(`
    CREATE INDEX executions_webhook ON executions (webhook, id);
    CREATE INDEX executions_due ON executions (next_at) WHERE state < 2;
    CREATE INDEX attempts_execution ON attempts (execution_id);
  `);
}
const sql = {
  begin: db.prepare('BEGIN IMMEDIATE'),
  commit: db.prepare('COMMIT'),
  event: db.prepare('INSERT INTO events (api_key, kind, uid, created_at, body) VALUES (?, ?, ?, ?, ?)'),
  execution: db.prepare('INSERT INTO executions (event_seq, webhook, state, next_at) VALUES (?, ?, 0, ?)'),
  claim: db.prepare('UPDATE executions SET state = 1, lease_until = ? WHERE id = ?'),
  done: db.prepare('UPDATE executions SET state = ?, attempts = attempts + 1, next_at = NULL, lease_until = NULL, ended_at = ? WHERE id = ?'),
  attempt: db.prepare('INSERT INTO attempts (execution_id, n, started_at, duration_us, status, request, response) VALUES (?, ?, ?, ?, ?, ?, ?)'),
};

/** PASSIVE checkpoints on a thread with its own connection: the WAL's pages reach the file off the main thread. */
const checkpointer = new Worker(
  `const { parentPort, workerData } = require('node:worker_threads');
   const db = new (require(workerData.module))(workerData.file);
   db.pragma('busy_timeout = 0');
   const t = setInterval(() => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} }, workerData.ms);
   parentPort.on('message', () => { clearInterval(t); db.close(); process.exit(0); });`,
  { eval: true, workerData: { module: createRequire(import.meta.url).resolve('better-sqlite3'), file, ms: CHECKPOINT_MS } },
);

/**
 * The `thread` step's sender: signs, sends and answers in batches, as claim's main thread does
 * inline. In: { url, paths, keys } once, then { bodies: Uint8Array[], jobs: number[] } (id, seq,
 * hook, body index per job). Out: one flat array per turn (id, status, started, us per job) and the
 * log's request texts beside it.
 */
const SENDER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHmac, createSecretKey } = require('node:crypto');
const { Pool } = require(workerData.undici);
const pool = new Pool(workerData.url, { connections: workerData.connections, pipelining: 1 });
const keys = workerData.keys.map((k) => createSecretKey(Buffer.from(k)));
const paths = workerData.paths;
let out = [];
let texts = [];
let scheduled = false;
const reply = () => {
  scheduled = false;
  const o = out, x = texts;
  out = []; texts = [];
  parentPort.postMessage({ out: o, texts: x });
};
class Exchange {
  constructor(id, hook, started, t0, headers) { this.id = id; this.hook = hook; this.started = started; this.t0 = t0; this.headers = headers; this.status = 0; }
  onConnect() {}
  onHeaders(status) { if (status >= 200) this.status = status; return true; }
  onData() { return true; }
  onComplete() { this.answer(); }
  onError() { this.status = 0; this.answer(); }
  answer() {
    out.push(this.id, this.status, this.started, Math.round((performance.now() - this.t0) * 1000));
    texts.push(workerData.log ? JSON.stringify({ method: 'POST', url: paths[this.hook], headers: this.headers }) : null);
    if (!scheduled) { scheduled = true; setImmediate(reply); }
  }
}
parentPort.on('message', (m) => {
  if (m === 'stop') { pool.close().then(() => process.exit(0)); return; }
  const bodies = m.bodies.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  const jobs = m.jobs;
  for (let k = 0; k < jobs.length; k += 4) {
    const idNum = jobs[k], seq = jobs[k + 1], hook = jobs[k + 2], body = bodies[jobs[k + 3]];
    const id = 'exe_' + idNum;
    const started = Date.now();
    const t0 = performance.now();
    const ts = String(Math.floor(started / 1000));
    const mac = createHmac('sha256', keys[hook]).update(id + '.' + ts + '.').update(body).digest('base64');
    const headers = {
      'content-type': 'application/json',
      'user-agent': workerData.ua,
      'webhook-id': id,
      'webhook-timestamp': ts,
      'x-herald-event': 'entry.update',
      'x-herald-seq': String(seq),
      'x-herald-attempt': '1',
      'webhook-signature': 'v1,' + mac,
    };
    pool.dispatch({ path: paths[hook], method: 'POST', body, headers, headersTimeout: 30000, bodyTimeout: 30000 }, new Exchange(idNum, hook, started, t0, headers));
  }
});
`;

// ---- one step ----
interface Step {
  fanout: number;
  sign: boolean;
  store: boolean;
  claim: boolean;
  /** Sending on a worker thread (the `thread` step). */
  thread: boolean;
}
/** One delivery to make: its execution, event and webhook, and the event's body (shared by its fan-out). */
interface Job {
  id: number;
  seq: number;
  hook: number;
  body: Buffer;
}

const hookKeys = Array.from({ length: 10 }, () => randomBytes(24));
const hooks = hookKeys.map((k, i) => ({ path: `/hook${i}`, key: createSecretKey(k) }));
const apiKey = 'blt' + randomBytes(8).toString('hex');
let nextSeq = 1e9; // without the store: sequence numbers and execution ids from memory
let nextId = 1e9;

/** Makes `events` events at fan-out `s.fanout` and delivers them; resolves with the deliveries/s and CPU per delivery. */
async function run(pool: Pool, receiverPid: number, events: number, s: Step, sender: Worker | null = null): Promise<Figures> {
  const expected = events * s.fanout;
  const queued: Job[] = []; // committed, not yet claimed; the claimed head is cut off every 4,096
  let qHead = 0;
  const claimed: Job[] = [];
  let cHead = 0;
  let inFlight = 0;
  let done = 0;
  const outcomes: Array<{ job: Job; status: number; started: number; us: number; request: string | null }> = [];
  let flushTimer: NodeJS.Timeout | null = null;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));

  const flush = () => {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = null;
    const n = outcomes.length;
    if (n === 0) return;
    const now = Date.now();
    sql.begin.run();
    for (let k = 0; k < n; k++) {
      const o = outcomes[k];
      const ok = o.status >= 200 && o.status < 300;
      sql.done.run(ok ? 2 : 3, now, o.job.id);
      sql.attempt.run(o.job.id, 1, o.started, o.us, o.status, o.request, LOG ? '{"status":' + o.status + ',"headers":{"content-length":"2"},"body":"ok"}' : null);
    }
    sql.commit.run();
    outcomes.length = 0;
    done += n;
    if (done === expected) finish();
  };

  /** Moves up to CLAIM_PAGE queued jobs to claimed, writing the claim when asked. */
  const claimRound = () => {
    const n = Math.min(CLAIM_PAGE, queued.length - qHead);
    if (n === 0) return;
    if (s.claim) {
      const lease = Date.now() + 60_000;
      sql.begin.run();
      for (let k = 0; k < n; k++) sql.claim.run(lease, queued[qHead + k].id);
      sql.commit.run();
    }
    for (let k = 0; k < n; k++) claimed.push(queued[qHead + k]);
    qHead += n;
    if (qHead > 4096) queued.splice(0, qHead), (qHead = 0);
  };

  // The thread step's batch for this turn: each distinct body once, four numbers per job.
  let outBodies: Buffer[] = [];
  let outJobs: number[] = [];
  let lastBody: Buffer | null = null;
  let handOff = false;
  const handOver = () => {
    handOff = false;
    sender!.postMessage({ bodies: outBodies, jobs: outJobs });
    outBodies = [];
    outJobs = [];
    lastBody = null;
  };
  if (sender) {
    sender.removeAllListeners('message');
    sender.on('message', (m: { out: number[]; texts: Array<string | null> }) => {
      const o = m.out;
      for (let k = 0, j = 0; k < o.length; k += 4, j++) {
        inFlight--;
        outcomes.push({ job: { id: o[k], seq: 0, hook: 0, body: EMPTY }, status: o[k + 1], started: o[k + 2], us: o[k + 3], request: m.texts[j] });
      }
      if (outcomes.length >= FLUSH_BATCH) flush();
      else if (!flushTimer && outcomes.length > 0) flushTimer = setTimeout(flush, FLUSH_MS);
      pump();
    });
  }

  const send = (job: Job) => {
    inFlight++;
    if (sender) {
      if (job.body !== lastBody) outBodies.push((lastBody = job.body));
      outJobs.push(job.id, job.seq, job.hook, outBodies.length - 1);
      if (!handOff) {
        handOff = true;
        queueMicrotask(handOver);
      }
      return;
    }
    const hook = hooks[job.hook];
    const id = 'exe_' + job.id;
    const started = Date.now();
    const t0 = performance.now();
    let headers: Record<string, string>;
    if (s.sign) {
      const ts = String(Math.floor(started / 1000));
      const mac = createHmac('sha256', hook.key).update(`${id}.${ts}.`).update(job.body).digest('base64');
      headers = {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'webhook-id': id,
        'webhook-timestamp': ts,
        'x-herald-event': 'entry.update',
        'x-herald-seq': String(job.seq),
        'x-herald-attempt': '1',
        'webhook-signature': 'v1,' + mac,
      };
    } else headers = { 'content-type': 'application/json', 'x-herald-seq': String(job.seq) };
    if (REQUEST) {
      pool.request({ path: hook.path, method: 'POST', body: job.body, headers, headersTimeout: 30_000, bodyTimeout: 30_000 }).then(
        async (res) => {
          await res.body.dump();
          answered(job, res.statusCode, started, t0, headers);
        },
        () => answered(job, 0, started, t0, headers),
      );
    } else pool.dispatch({ path: hook.path, method: 'POST', body: job.body, headers, headersTimeout: 30_000, bodyTimeout: 30_000 }, new Exchange(job, started, t0, headers));
  };

  /** undici's handler interface, as send.ts uses it: the response's status, its body's chunks dropped (Herald keeps up to a cap). */
  class Exchange implements Dispatcher.DispatchHandler {
    status = 0;
    constructor(
      readonly job: Job,
      readonly started: number,
      readonly t0: number,
      readonly headers: Record<string, string>,
    ) {}
    onConnect() {}
    onHeaders(status: number) {
      if (status >= 200) this.status = status;
      return true;
    }
    onData() {
      return true;
    }
    onComplete() {
      answered(this.job, this.status, this.started, this.t0, this.headers);
    }
    onError() {
      answered(this.job, 0, this.started, this.t0, this.headers);
    }
  }

  const answered = (job: Job, status: number, started: number, t0: number, headers: Record<string, string>) => {
    inFlight--;
    if (s.store) {
      // The log's copy of the request (secrets would be masked; these headers carry none but the signature).
      outcomes.push({ job, status, started, us: Math.round((performance.now() - t0) * 1000), request: LOG ? JSON.stringify({ method: 'POST', url: hooks[job.hook].path, headers }) : null });
      if (outcomes.length >= FLUSH_BATCH) flush();
      else if (!flushTimer) flushTimer = setTimeout(flush, FLUSH_MS);
    } else if (++done === expected) finish();
    pump();
  };

  const pump = () => {
    while (inFlight < IN_FLIGHT) {
      if (cHead === claimed.length) {
        claimed.length = 0;
        cHead = 0;
        claimRound();
        if (claimed.length === 0) return;
      }
      send(claimed[cHead++]);
    }
  };

  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuMs();
  const receiver0 = processCpuMs(receiverPid);
  const t0 = performance.now();
  for (let i = 0; i < events; i += EVENTS_PER_TX) {
    const n = Math.min(EVENTS_PER_TX, events - i);
    const now = Date.now();
    if (s.store) sql.begin.run();
    for (let j = 0; j < n; j++) {
      const uid = `blt${(i + j).toString(16).padStart(16, '0')}`;
      // Serialised once: stored as the event row and sent as every attempt's body.
      const text = JSON.stringify({ module: 'entry', api_key: apiKey, event: 'update', triggered_at: now, data: sampleData(i + j) });
      const body = Buffer.from(text);
      const seq = s.store ? Number(sql.event.run(apiKey, 'entry.update', uid, now, text).lastInsertRowid) : nextSeq++;
      for (let h = 0; h < s.fanout; h++) {
        const id = s.store ? Number(sql.execution.run(seq, h, now).lastInsertRowid) : nextId++;
        queued.push({ id, seq, hook: h, body });
      }
    }
    if (s.store) sql.commit.run();
    pump();
    await new Promise((r) => setImmediate(r)); // let responses run between batches, as the bench's recording does
  }
  await finished;
  const rate = expected / ((performance.now() - t0) / 1000);
  const cpu = process.cpuUsage(cpu0);
  const perDelivery = (ms: number) => (ms * 1000) / expected;
  return { rate, cpuUs: (cpu.user + cpu.system) / expected, mainUs: perDelivery(mainThreadCpuMs() - main0), receiverUs: perDelivery(processCpuMs(receiverPid) - receiver0) };
}

const EMPTY = Buffer.alloc(0);

/** A step's deliveries/s, and CPU per delivery, µs: this process, its main thread, the receiver's process. */
type Figures = RawFigures;

/** The ratios a step's CPU per delivery allows against the raw line's rate (raw.ts cpuBounds). */
function bound(raw: Figures, r: Figures): string {
  const b = cpuBounds(raw, r);
  return `${availableParallelism()} cores ${b.cores.toFixed(2)}, 1 thread ${b.thread.toFixed(2)}`;
}

/** FLOOR_PROFILE=<prefix>: a CPU profile of each step but raw, in <prefix>.<step>.cpuprofile (read with /work/tools/prof.mjs or DevTools). */
async function profiled<T>(name: string, fn: () => Promise<T>): Promise<T> {
  if (!PROFILE) return fn();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(`${PROFILE}.${name}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  }
}

/**
 * Starts the thread step's sender and warms it (FLOOR_WARMUP events through it, not counted, so its
 * isolate has compiled the send path as the main thread's has).
 */
async function startSender(url: string): Promise<Worker> {
  const w = new Worker(SENDER_SOURCE, {
    eval: true,
    workerData: { undici: createRequire(import.meta.url).resolve('undici'), url, connections: CONNECTIONS, paths: hooks.map((h) => h.path), keys: hookKeys, ua: USER_AGENT, log: LOG },
  });
  await new Promise((r) => w.once('online', r));
  return w;
}

const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en') : String(n));

async function main() {
  const receiver = await startReceiver();
  const pool = new Pool(receiver.url, { connections: CONNECTIONS, pipelining: 1 });
  console.log(
    `Herald floor: ${process.version}; ${RECEIVER === 'lean' ? 'lean receiver' : 'receiver'} in its own process; ${IN_FLIGHT} in flight on ${CONNECTIONS} connections; SQLite WAL synchronous=NORMAL in ${dir}` +
      `${INDEXES ? '; product indexes' : ''}${LOG ? '; attempt rows log request and response' : ''}; load ${loadavg()[0].toFixed(1)}`,
  );
  const rpid = receiver.child.pid!;
  // Deliveries counted here, not by the receiver: it answers them as it answers the raw POSTs (receiver.ts).
  await ask(receiver.child, 'count');
  const cpu = (r: Figures) => `CPU ${fmt(r.cpuUs)} us per delivery, main thread ${fmt(r.mainUs)}, receiver ${fmt(r.receiverUs)}`;
  if (WARMUP > 0) await run(pool, rpid, WARMUP, { fanout: 1, sign: true, store: true, claim: false, thread: false });
  let raw: Figures | null = null;
  let sender: Worker | null = null;
  for (const name of STEPS) {
    if (name === 'raw') {
      const r = await rawMeasured(receiver.url, 1, 3, rpid);
      raw ??= r;
      console.log(`raw      ${fmt(r.rate).padStart(7)} POST/s (undici Pool, 16 connections, after 1 s not counted)  ${cpu(r)}`);
      continue;
    }
    const m = /^(post|http|store|claim|thread)(1|10)$/.exec(name);
    if (!m) throw new Error(`FLOOR_STEPS: unknown step ${name}`);
    const kind = m[1];
    const fanout = Number(m[2]);
    const thread = kind === 'thread';
    const step: Step = { fanout, sign: kind !== 'post', store: kind === 'store' || kind === 'claim' || thread, claim: kind === 'claim' || thread, thread };
    if (thread && !sender) {
      sender = await startSender(receiver.url);
      if (THREAD_WARMUP > 0) await run(pool, rpid, THREAD_WARMUP, { fanout: 1, sign: true, store: true, claim: true, thread: true }, sender);
    }
    const r = await profiled(name, () => run(pool, rpid, fanout === 1 ? EVENTS : Math.round(EVENTS / 4), step, thread ? sender : null));
    console.log(
      `${name.padEnd(8)} ${fmt(r.rate).padStart(7)} deliveries/s  ratio ${(r.rate / (raw?.rate ?? NaN)).toFixed(2)}  ${cpu(r)}${raw ? `; CPU-bound ratios ${bound(raw, r)}` : ''}`,
    );
  }
  await pool.close();
  sender?.postMessage('stop');
  checkpointer.postMessage('stop');
  receiver.child.disconnect();
  db.close();
  rmSync(dir, { recursive: true, force: true });
}

await main();
