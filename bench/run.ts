/**
 * `npm run bench`: Herald's delivery path on the embedded default (SQLite, WAL) against a local
 * receiver in another process. Prints:
 * - the raw ceiling: plain undici POSTs per second to the same receiver, no Herald in between;
 * - deliveries per second sustained, fan-out 1 and fan-out 10, and their ratio to the ceiling;
 * - event-to-first-attempt latency p50/p99 (event committed -> request arrived at the receiver)
 *   at half the sustained rate;
 * - peak RSS of the process running Herald;
 * - the read figure (bench/read.ts, also `npm run bench:read` alone): delivery API entry lists
 *   against a fixed-body fastify route.
 * Speed goals live here, never in tests. Run on an otherwise idle machine.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Pool } from 'undici';
import { loadConfig } from '../src/config.ts';
import type { EventInput } from '../src/events/event.ts';
import { startServer, type Running } from '../src/server.ts';
import { readBench } from './read.ts';
import { ask, startReceiver } from './receiver-process.ts';

const ADMIN = 'bench-admin-token-0123456789';
const EVENTS_FANOUT_1 = Number(process.env.BENCH_EVENTS ?? 20_000);
const EVENTS_FANOUT_10 = Math.round(EVENTS_FANOUT_1 / 4);
const LATENCY_SECONDS = 5;
const RAW_SECONDS = 3;

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

/** A body the size of a typical entry update payload (~1.2 KB). */
function sampleData(i: number) {
  return {
    entry: { uid: `blt${i.toString(16).padStart(16, '0')}`, title: `Entry ${i}`, url: `/posts/${i}`, body: 'x'.repeat(900), _version: 2, locale: 'en-us' },
    content_type: { uid: 'post', title: 'Post' },
  };
}

async function rawCeiling(url: string): Promise<number> {
  const pool = new Pool(url, { connections: 16, pipelining: 1 });
  const body = JSON.stringify({ event: 'update', module: 'entry', data: sampleData(0) });
  let done = 0;
  const end = Date.now() + RAW_SECONDS * 1000;
  const worker = async () => {
    while (Date.now() < end) {
      const res = await pool.request({ path: '/raw', method: 'POST', body, headers: { 'content-type': 'application/json' } });
      await res.body.dump();
      done++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 64 }, worker));
  const rate = done / ((performance.now() - t0) / 1000);
  await pool.close();
  return rate;
}

async function createStackAndHooks(h: Running, url: string, hooks: number) {
  const post = async (path: string, body: unknown, headers: Record<string, string>) => {
    const r = await fetch(h.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const json: any = await r.json();
    if (r.status >= 300) throw new Error(`${path}: ${r.status} ${JSON.stringify(json)}`);
    return json;
  };
  const stack = (await post('/v3/stacks', { stack: { name: 'bench' } }, { authtoken: ADMIN })).stack.api_key as string;
  for (let i = 0; i < hooks; i++) {
    await post(
      '/v3/webhooks',
      { webhook: { name: `hook ${i}`, destinations: [{ target_url: `${url}/hook${i}`, custom_header: [] }], channels: ['content_types.entries.update'] } },
      { authtoken: ADMIN, api_key: stack },
    );
  }
  return stack;
}

function event(apiKey: string, i: number): EventInput {
  return { api_key: apiKey, branch: 'main', module: 'entry', action: 'update', uid: `blt${i.toString(16).padStart(16, '0')}`, content_type_uid: 'post', locale: 'en-us', actor: 'bench', data: sampleData(i) };
}

/** Successful attempts recorded per stack, counted from the engine's own notifications. */
const successes = new Map<string, number>();
function succeeded(_h: Running, apiKey: string): number {
  return successes.get(apiKey) ?? 0;
}

/** Records `events` events in transactions of 200 while delivery runs; returns deliveries per second. */
async function throughput(h: Running, url: string, events: number, fanout: number): Promise<number> {
  const apiKey = await createStackAndHooks(h, url, fanout);
  const expected = events * fanout;
  const t0 = performance.now();
  for (let i = 0; i < events; i += 200) {
    await h.herald.db.tx(async (tx) => {
      for (let j = i; j < Math.min(events, i + 200); j++) await h.herald.events.record(tx, event(apiKey, j));
    });
    await new Promise((r) => setImmediate(r)); // let the dispatcher run between batches
  }
  while ((await succeeded(h, apiKey)) < expected) await new Promise((r) => setTimeout(r, 20));
  return expected / ((performance.now() - t0) / 1000);
}

/** Drives `rate` events/s for LATENCY_SECONDS, one transaction each; returns arrival latencies, ms. */
async function latency(h: Running, receiver: ChildProcess, url: string, rate: number): Promise<number[]> {
  const apiKey = await createStackAndHooks(h, url, 1);
  await ask(receiver, 'reset');
  const committed = new Map<number, number>();
  const total = Math.round(rate * LATENCY_SECONDS);
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const e = await h.herald.db.tx((tx) => h.herald.events.record(tx, event(apiKey, 1_000_000 + i)));
    committed.set(e.seq, performance.timeOrigin + performance.now());
  }
  while ((await succeeded(h, apiKey)) < total) await new Promise((r) => setTimeout(r, 20));
  const stats = await ask<{ arrivals: Array<[string, number]> }>(receiver, 'stats');
  const out: number[] = [];
  for (const [key, at] of stats.arrivals) {
    const seq = Number(key.split(':')[0]);
    const c = committed.get(seq);
    if (c !== undefined) out.push(at - c);
  }
  return out.sort((a, b) => a - b);
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main() {
  const receiver = await startReceiver();
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
  const config = loadConfig(
    { port: 0, dataDir: dir, adminToken: ADMIN, allowPrivateTargets: ['127.0.0.0/8'], logLevel: 'silent', maxInFlight: 256, maxInFlightPerWebhook: 32 },
    {},
  );
  console.log(`Herald bench: SQLite (WAL, synchronous=NORMAL) in ${dir}; ${process.version}; receiver in its own process`);

  const raw = await rawCeiling(receiver.url);
  console.log(`raw ceiling (undici Pool, 16 connections, no Herald):   ${fmt(raw)} POST/s`);

  const h = await startServer(config, { log: pino({ level: 'silent' }) });
  h.herald.delivery.onAttempt((f) => {
    if (f.record.outcome === 'success') successes.set(f.claimed.event.api_key, (successes.get(f.claimed.event.api_key) ?? 0) + 1);
  });
  try {
    const f1 = await throughput(h, receiver.url, EVENTS_FANOUT_1, 1);
    console.log(`sustained deliveries, fan-out 1 (${fmt(EVENTS_FANOUT_1)} events):   ${fmt(f1)} deliveries/s  (ratio to raw ${(f1 / raw).toFixed(2)})`);
    const f10 = await throughput(h, receiver.url, EVENTS_FANOUT_10, 10);
    console.log(`sustained deliveries, fan-out 10 (${fmt(EVENTS_FANOUT_10)} events):  ${fmt(f10)} deliveries/s  (ratio to raw ${(f10 / raw).toFixed(2)})`);
    const rate = Math.max(50, Math.round(f1 / 2));
    const lat = await latency(h, receiver.child, receiver.url, rate);
    console.log(
      `event -> first attempt at half load (${fmt(rate)} events/s, ${fmt(lat.length)} events):  p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms, max ${lat[lat.length - 1].toFixed(1)} ms`,
    );
  } finally {
    await h.close();
    clearInterval(rssTimer);
    console.log(`peak RSS (Herald + bench driver):   ${(peakRss / 1024 / 1024).toFixed(0)} MiB`);
    receiver.child.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
await readBench();
