/**
 * `npm run bench:pg` (or `npm run bench -- --postgres`): Herald scaled out on PostgreSQL. This
 * process is the API node (role `api`: it records events, their executions are committed with
 * them); worker nodes are real `herald serve --role worker` processes; the receiver is the SQLite
 * bench's, in its own process. Prints:
 * - deliveries per second with one worker process, then with two: a backlog of BENCH_PG_EVENTS
 *   events (fan-out 1) is recorded, not yet due; the workers start and settle, then the backlog
 *   falls due and they drain it; the rate is deliveries over the time from the first arrival at
 *   the receiver until every outcome is recorded; with each drain, CPU per delivery by process
 *   (workers, receiver, this process, PostgreSQL; from /proc, Linux only) and the idle share of
 *   the cores, and the ceiling the cores put on any number of workers at one worker's CPU cost.
 *   PostgreSQL's figure is the backends serving the bench's and the workers' connections (found by
 *   their client ports), so other clients of a shared server do not count; every other postgres
 *   process (theirs, and the server's background writers) is printed apart, outside the total;
 * - the same with a receiver that answers in 20 ms: the workers' slots, not the cores, are the limit;
 * - event-to-first-attempt latency (commit -> request arrived) p50/p95/p99 at 200 events/s, one
 *   event per transaction, with two workers woken by LISTEN/NOTIFY.
 * The database is BENCH_DATABASE_URL (default HERALD_TEST_DATABASE_URL, else
 * postgres://postgres@127.0.0.1:5432/test); everything lives in a schema dropped at the end.
 * Speed goals live here, never in tests. Run on an otherwise idle machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import type { EventInput } from '../src/events/event.ts';
import { launchFlags } from '../src/ops/launch.js';
import { SIGNALS } from '../src/store/signals.ts';
import { startServer, type Running } from '../src/server.ts';
import { CORES, connectedPorts, cpuSnapshot, cpuSplit } from './cpu.ts';
import { sampleData } from './raw.ts';
import { ask, startReceiver } from './receiver-process.ts';

const ADMIN = 'bench-admin-token-0123456789';
const DATABASE_URL = process.env.BENCH_DATABASE_URL || process.env.HERALD_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const EVENTS = Number(process.env.BENCH_PG_EVENTS ?? 10_000);
/** Drains with one worker and with two, alternating; the best of each is reported. */
const ROUNDS = Number(process.env.BENCH_PG_ROUNDS ?? 3);
/** The slow-receiver drains: how long the receiver takes to answer, ms. */
const SLOW_RECEIVER_MS = 20;
const LATENCY_RATE = 200; // events/s
const LATENCY_SECONDS = 10;
/** How long started workers idle before the backlog falls due, ms (their start-up CPU is over). */
const SETTLE_MS = 2_000;
/** The same caps as the SQLite bench, per worker process. */
const WORKER_ENV = { HERALD_MAX_IN_FLIGHT: '256', HERALD_MAX_IN_FLIGHT_PER_WEBHOOK: '32' };

/** A `herald serve --role worker` process on the bench's schema; resolves once it listens. */
async function startWorker(url: string, dataDir: string): Promise<ChildProcess> {
  // BENCH_PG_PROFILE=<dir>: each worker writes a V8 CPU profile there when it stops.
  const profile = process.env.BENCH_PG_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PG_PROFILE}`] : [];
  // The node flags the `herald` command starts `herald serve` with (src/ops/launch.js: the young
  // generation's size), so a worker here runs as an installed one does.
  const serveFlags = launchFlags(['serve'], process.env, []);
  const child = spawn(process.execPath, [...serveFlags, ...profile, '--import', 'tsx', 'src/cli.ts', 'serve', '--role', 'worker', '--port', '0', '--data-dir', dataDir], {
    env: {
      ...process.env,
      ...WORKER_ENV,
      HERALD_DATABASE_URL: url,
      HERALD_ADMIN_TOKEN: ADMIN,
      HERALD_ALLOW_PRIVATE_TARGETS: '127.0.0.0/8',
      HERALD_LOG_LEVEL: 'info',
      HERALD_LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      if (buf.includes('herald is listening')) resolve();
      if (buf.length > 100_000) buf = buf.slice(-1000);
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before listening`)));
  });
  return child;
}

async function stopWorker(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

function event(apiKey: string, i: number): EventInput {
  return { api_key: apiKey, branch: 'main', module: 'entry', action: 'update', uid: `blt${i.toString(16).padStart(16, '0')}`, content_type_uid: 'post', locale: 'en-us', actor: 'bench', data: sampleData(i) };
}

/** A stack with one webhook to `url`; returns its api_key. */
async function stackWithHook(h: Running, url: string): Promise<string> {
  const post = async (path: string, body: unknown, headers: Record<string, string>) => {
    const r = await fetch(h.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const json: any = await r.json();
    if (r.status >= 300) throw new Error(`${path}: ${r.status} ${JSON.stringify(json)}`);
    return json;
  };
  const stack = (await post('/v3/stacks', { stack: { name: 'bench' } }, { authtoken: ADMIN })).stack.api_key as string;
  await post(
    '/v3/webhooks',
    { webhook: { name: 'bench', destinations: [{ target_url: url, custom_header: [] }], channels: ['content_types.entries.update'] } },
    { authtoken: ADMIN, api_key: stack },
  );
  return stack;
}

/**
 * The PostgreSQL backends serving `pids`' connections (their pg_stat_activity pids). On a machine
 * shared with other PostgreSQL clients, only these count as the bench's PostgreSQL CPU.
 */
async function backendsOf(pids: number[]): Promise<number[]> {
  const ports = connectedPorts(pids, Number(new URL(DATABASE_URL).port || 5432));
  if (ports.length === 0) return [];
  const c = new pg.Client({ connectionString: DATABASE_URL });
  await c.connect();
  try {
    return (await c.query('SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1::int[])', [ports])).rows.map((r) => Number(r.pid));
  } finally {
    await c.end();
  }
}

async function until(check: () => Promise<boolean>, what: string, ms = 600_000, everyMs = 100) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Records a backlog of EVENTS events (transactions of 200) due an hour from now, starts `workers`
 * worker processes and lets them settle, then makes the backlog due and times the drain: from the
 * first request at the receiver to the moment every execution's outcome is recorded (a delivery
 * counts once it is durable). Workers start before the clock: a starting process compiles its code
 * (a second or more of CPU), which would otherwise be counted against the second worker only.
 */
async function drain(h: Running, receiver: ChildProcess, receiverUrl: string, schemaUrl: string, dataDir: string, workers: number, receiverMs = 0, events = EVENTS) {
  const apiKey = await stackWithHook(h, `${receiverUrl}/drain${workers}${receiverMs ? `?delay=${receiverMs}` : ''}`);
  for (let i = 0; i < events; i += 200) {
    await h.herald.db.tx(async (tx) => {
      for (let j = i; j < Math.min(events, i + 200); j++) await h.herald.events.record(tx, event(apiKey, j));
    });
  }
  await h.herald.db.run('UPDATE executions SET next_attempt_at = next_attempt_at + 3600000 WHERE next_attempt_at IS NOT NULL');
  const started = await Promise.all(Array.from({ length: workers }, () => startWorker(schemaUrl, dataDir)));
  try {
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    await ask(receiver, 'reset');
    const workerPids = started.map((c) => c.pid!);
    const backends = new Set(await backendsOf([...workerPids, process.pid]));
    const before = cpuSnapshot();
    await h.herald.db.run('UPDATE executions SET next_attempt_at = ? WHERE next_attempt_at IS NOT NULL', [Date.now()]);
    h.herald.db.notify?.(SIGNALS.executions);
    // Done when no execution is due or claimed any more (only those have a next_attempt_at): one
    // read of the due index's first entry.
    await until(async () => !(await h.herald.db.get('SELECT next_attempt_at FROM executions WHERE next_attempt_at IS NOT NULL ORDER BY next_attempt_at LIMIT 1')), 'every outcome recorded', 600_000, 25);
    const recordedAt = performance.timeOrigin + performance.now();
    const after = cpuSnapshot();
    // Backends opened during the drain count from zero; those closed during it are not seen.
    for (const pid of await backendsOf([...workerPids, process.pid])) backends.add(pid);
    const cpu = cpuSplit(before, after, events, { workers: workerPids, receiver: [receiver.pid!], bench: [process.pid] }, backends.size ? [...backends] : undefined);
    const { arrivals } = await ask<{ arrivals: Array<[string, number]> }>(receiver, 'stats');
    if (arrivals.length < events) throw new Error(`the receiver got ${arrivals.length} of ${events} deliveries`);
    const first = arrivals.reduce((m, [, at]) => Math.min(m, at), Infinity);
    return { rate: events / ((recordedAt - first) / 1000), cpu };
  } finally {
    await Promise.all(started.map(stopWorker));
    // Every drain starts from the same empty queue (no dead rows left by the previous one).
    await h.herald.db.tx((tx) => tx.exec('TRUNCATE events, executions, attempts; ANALYZE'));
  }
}

/** LATENCY_RATE events/s for LATENCY_SECONDS, one transaction each, with two workers running. */
async function latency(h: Running, receiver: ChildProcess, receiverUrl: string, schemaUrl: string, dataDir: string): Promise<number[]> {
  const apiKey = await stackWithHook(h, `${receiverUrl}/latency`);
  const workers = await Promise.all([startWorker(schemaUrl, dataDir), startWorker(schemaUrl, dataDir)]);
  try {
    await ask(receiver, 'reset');
    const committed = new Map<number, number>();
    const total = LATENCY_RATE * LATENCY_SECONDS;
    const t0 = performance.now();
    for (let i = 0; i < total; i++) {
      const wait = t0 + (i * 1000) / LATENCY_RATE - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const e = await h.herald.db.tx((tx) => h.herald.events.record(tx, event(apiKey, 1_000_000 + i)));
      committed.set(e.seq, performance.timeOrigin + performance.now());
    }
    let arrivals: Array<[string, number]> = [];
    await until(async () => {
      arrivals = (await ask<{ arrivals: Array<[string, number]> }>(receiver, 'stats')).arrivals;
      return arrivals.length >= total;
    }, `${total} deliveries`);
    const out: number[] = [];
    for (const [key, at] of arrivals) {
      const c = committed.get(Number(key.split(':')[0]));
      if (c !== undefined) out.push(at - c);
    }
    return out.sort((a, b) => a - b);
  } finally {
    await Promise.all(workers.map(stopWorker));
  }
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function admin(sql: string) {
  const c = new pg.Client({ connectionString: DATABASE_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function main() {
  const schema = `herald_bench_${randomBytes(4).toString('hex')}`;
  try {
    await admin(`CREATE SCHEMA ${schema}`);
  } catch (err) {
    console.error(`bench:pg needs PostgreSQL at ${DATABASE_URL.replace(/:[^:@/]*@/, ':****@')} (set BENCH_DATABASE_URL): ${(err as Error).message}`);
    process.exit(1);
  }
  const u = new URL(DATABASE_URL);
  u.searchParams.set('options', `-c search_path=${schema}`);
  const schemaUrl = u.toString();
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-pg-'));
  const receiver = await startReceiver();
  const version = await (async () => {
    const c = new pg.Client({ connectionString: DATABASE_URL });
    await c.connect();
    const v = (await c.query('SHOW server_version')).rows[0].server_version as string;
    await c.end();
    return v;
  })();
  console.log(`Herald bench on PostgreSQL ${version} (schema ${schema}); ${process.version}; API node in this process, workers and receiver in their own; workers started with ${launchFlags(['serve'], process.env, []).join(' ') || 'no node flags'}`);
  const config = loadConfig(
    { port: 0, dataDir: dir, adminToken: ADMIN, allowPrivateTargets: ['127.0.0.0/8'], logLevel: 'silent', databaseUrl: schemaUrl, role: 'api', rateLimit: 0 },
    {},
  );
  const h = await startServer(config, { log: pino({ level: 'silent' }) });
  try {
    // Alternating runs, best of each: other work on the machine only ever slows a run down.
    let one = 0;
    let two = 0;
    /** CPU per delivery (all processes) of the fastest one-worker drain, µs. */
    let oneCpuUs = 0;
    for (let r = 1; r <= ROUNDS; r++) {
      const a = await drain(h, receiver.child, receiver.url, schemaUrl, dir, 1);
      const b = await drain(h, receiver.child, receiver.url, schemaUrl, dir, 2);
      console.log(`  run ${r}: 1 worker ${fmt(a.rate)} /s, 2 workers ${fmt(b.rate)} /s`);
      for (const [n, d] of [[1, a], [2, b]] as const) if (d.cpu) console.log(`    ${n} worker${n > 1 ? 's' : ' '}: ${d.cpu.line}`);
      if (a.rate > one) oneCpuUs = a.cpu?.totalUs ?? 0;
      one = Math.max(one, a.rate);
      two = Math.max(two, b.rate);
    }
    console.log(`deliveries per second, 1 worker process  (backlog of ${fmt(EVENTS)} events, fan-out 1, best of ${ROUNDS}):  ${fmt(one)} /s`);
    console.log(`deliveries per second, 2 worker processes (backlog of ${fmt(EVENTS)} events, fan-out 1, best of ${ROUNDS}):  ${fmt(two)} /s  (${(two / one).toFixed(2)}x one worker)`);
    // Everything here shares the machine's cores: at one worker's CPU per delivery (worker,
    // PostgreSQL, receiver and this process together), all cores busy deliver at most this many.
    if (oneCpuUs > 0) {
      const ceiling = (CORES * 1e6) / oneCpuUs;
      console.log(`ceiling on these ${CORES} cores at one worker's CPU per delivery (${fmt(oneCpuUs)} µs, all processes):  ${fmt(ceiling)} /s  (${(ceiling / one).toFixed(2)}x one worker)`);
    }
    // The same drains against a receiver that takes SLOW_RECEIVER_MS to answer, as endpoints that
    // do work (a build hook, a search index) do: the workers' slots, not the two shared cores, are
    // the limit, which is what adding a worker adds.
    const slowOne = (await drain(h, receiver.child, receiver.url, schemaUrl, dir, 1, SLOW_RECEIVER_MS)).rate;
    const slowTwo = (await drain(h, receiver.child, receiver.url, schemaUrl, dir, 2, SLOW_RECEIVER_MS)).rate;
    console.log(
      `deliveries per second, receiver answering in ${SLOW_RECEIVER_MS} ms (backlog of ${fmt(EVENTS)} events):  1 worker ${fmt(slowOne)} /s, 2 workers ${fmt(slowTwo)} /s  (${(slowTwo / slowOne).toFixed(2)}x)`,
    );
    const lat = await latency(h, receiver.child, receiver.url, schemaUrl, dir);
    console.log(
      `event -> first attempt at ${LATENCY_RATE} events/s, 2 workers (${fmt(lat.length)} events):  p50 ${pct(lat, 50).toFixed(1)} ms, p95 ${pct(lat, 95).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms, max ${lat[lat.length - 1].toFixed(1)} ms`,
    );
  } finally {
    await h.close();
    receiver.child.disconnect();
    rmSync(dir, { recursive: true, force: true });
    await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  }
}

await main();
