/**
 * `npm run bench:send`: the send path alone, Herald's against the floor's, in one process and one run
 * (#21 goal 1 at fan-out 10). No store, no claims, no outcomes: what an attempt costs from its
 * request being built to its response being read, the part that `npm run bench` cannot separate
 * from the store on a shared 2-core machine (1-3% pieces were below its noise, session 11).
 *
 * Steps, alternated (SEND_STEPS, default plain,herald,plain,herald), each SEND_REQUESTS requests
 * (default 50,000) after SEND_WARMUP (default 10,000) of each kind not counted, all to the bench's
 * receiver in its own process (bench/receiver-process.ts, counting only), 10 webhooks in turn with
 * each event's body shared by its 10 requests (fan-out 10), SEND_IN_FLIGHT requests in flight
 * (default 64, as bench/floor.ts):
 *   plain    bench/floor.ts's `http` step: Herald's headers and HMAC signature made inline, sent
 *            through an undici Pool of 16 connections with dispatch() and a minimal handler;
 *   herald   src/delivery/request.ts buildRequest (Contentstack's format, as a test call builds it:
 *            no format's request() and logged fields) and the HTTP transport's send()
 *            (transports/http.ts: the delivery agent, send.ts's Exchange, the deadline wheel), with
 *            Herald's agent settings (up to 256 connections per origin, HERALD_MAX_IN_FLIGHT's default);
 *   herald16 the same with 16 connections, as plain's pool (heraldN: with N).
 * SEND_ROUNDS=1 refills freed slots as the dispatcher does (together, CLAIM_GATHER_MS = 1 ms after
 * the first frees, at most 64 a round) rather than each at once as it frees. Refilled at once, a
 * request is sent while the connection that just answered is not free yet (undici frees it a loop
 * turn or two later: a setImmediate, then the idle-socket check), so Herald's agent opens about
 * two connections per request in flight (128 for 64); in rounds the connections have been freed
 * by then, and it opens 64 (session 21). The warm-up prints how many it opened.
 *
 * Prints requests/s and CPU per request, µs: this process's main thread (its time on CPU, /proc
 * schedstat, to the ns) and the receiver's process (/proc stat, 10 ms ticks). Run under the bench
 * lock; read the CPU figures of steps of the same run side by side (A B B A: SEND_STEPS=
 * herald,herald16,herald16,herald repeated).
 *
 * Session 14 (quiet run, main thread per request): plain 19.4, herald 27.2-27.8, herald16 24.2-24.8.
 * In profiles the herald step's extra is spread thin: undici's per-origin Agent and Pool layers and a
 * longer _resume (~1.2 us), the response's headers parsed and body decoded for the attempt log (~0.8),
 * buildRequest's objects (~0.5), the deadline wheel (~0.3), more garbage (~0.5).
 */
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Pool, type Dispatcher } from 'undici';
import { buildRequest, USER_AGENT } from '../src/delivery/request.ts';
import { createHttpTransport } from '../src/delivery/transports/http.ts';
import { createTargetPolicy } from '../src/net/target.ts';
import type { Webhook } from '../src/webhooks/webhook.ts';
import { processCpuMs, sampleData } from './raw.ts';
import { ask, startReceiver } from './receiver-process.ts';

const STEPS = (process.env.SEND_STEPS ?? 'plain,herald,plain,herald').split(',').map((s) => s.trim());
const REQUESTS = Number(process.env.SEND_REQUESTS ?? 50_000);
const WARMUP = Number(process.env.SEND_WARMUP ?? 10_000);
const IN_FLIGHT = Number(process.env.SEND_IN_FLIGHT ?? 64);
const ROUNDS = process.env.SEND_ROUNDS === '1';
const FANOUT = 10;
/** Herald's default HERALD_MAX_IN_FLIGHT: the delivery agent's most connections per origin. */
const HERALD_CONNECTIONS = 256;
const TIMEOUT_MS = 30_000;

const receiver = await startReceiver();
await ask(receiver.child, 'count');
const receiverPid = receiver.child.pid!;

const secrets = Array.from({ length: FANOUT }, () => 'whsec_' + randomBytes(24).toString('base64'));
const webhooks = secrets.map(
  (secret, i) =>
    ({
      uid: `bench${i}`,
      name: `hook ${i}`,
      concise_payload: false,
      destinations: [{ target_url: `${receiver.url}/hook${i}`, custom_header: [] }],
      signing_secrets: [{ secret, expires_at: null }],
    }) as unknown as Webhook,
);
const keys = secrets.map((s) => createSecretKey(Buffer.from(s.slice('whsec_'.length), 'base64')));

/** One attempt to make: its delivery id, event seq, webhook, and the event's body (text and bytes, made once per event). */
interface Job {
  id: string;
  seq: number;
  hook: number;
  text: string;
  bytes: Buffer;
}

type Sender = (job: Job, done: (ok: boolean) => void) => void;

/** bench/floor.ts's http step. */
function plainSender(): { send: Sender; close: () => Promise<void> } {
  const pool = new Pool(receiver.url, { connections: 16, pipelining: 1 });
  class Exchange implements Dispatcher.DispatchHandler {
    status = 0;
    constructor(readonly done: (ok: boolean) => void) {}
    onConnect() {}
    onHeaders(status: number) {
      if (status >= 200) this.status = status;
      return true;
    }
    onData() {
      return true;
    }
    onComplete() {
      this.done(this.status >= 200 && this.status < 300);
    }
    onError() {
      this.done(false);
    }
  }
  return {
    send(job, done) {
      const ts = String(Math.floor(Date.now() / 1000));
      const mac = createHmac('sha256', keys[job.hook]).update(`${job.id}.${ts}.`).update(job.bytes).digest('base64');
      const headers = {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'webhook-id': job.id,
        'webhook-timestamp': ts,
        'x-herald-event': 'entry.update',
        'x-herald-seq': String(job.seq),
        'x-herald-attempt': '1',
        'webhook-signature': 'v1,' + mac,
      };
      pool.dispatch({ path: `/hook${job.hook}`, method: 'POST', body: job.bytes, headers, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS }, new Exchange(done));
    },
    close: () => pool.close(),
  };
}

/** Herald's request and HTTP transport, as the dispatcher's sendAttempt uses them. */
function heraldSender(connections = HERALD_CONNECTIONS): { send: Sender; close: () => Promise<void> } {
  const transport = createHttpTransport({ policy: createTargetPolicy(['127.0.0.0/8']), connections });
  return {
    send(job, done) {
      const req = buildRequest(webhooks[job.hook], job.id, job.text, { seq: job.seq, attempt: 1, event: 'entry.update' }, Date.now());
      void transport.send(req, TIMEOUT_MS).then((r) => done(r.outcome === 'success'));
    },
    close: () => transport.close(false),
  };
}

/** Sends `n` requests keeping IN_FLIGHT in flight; resolves when all were answered (a failure throws). */
function drive(send: Sender, n: number, firstSeq: number): Promise<void> {
  let made = 0;
  let answered = 0;
  let inFlight = 0;
  let text = '';
  let bytes = Buffer.alloc(0);
  let refill: NodeJS.Timeout | null = null;
  return new Promise((resolve, reject) => {
    const done = (ok: boolean) => {
      if (!ok) return reject(new Error('a request failed'));
      inFlight--;
      if (++answered === n) return resolve();
      if (!ROUNDS) pump(n);
      else if (!refill) refill = setTimeout(() => ((refill = null), pump(64)), 1);
    };
    const pump = (most: number) => {
      for (let k = 0; k < most && inFlight < IN_FLIGHT && made < n; k++) {
        const i = made++;
        const seq = firstSeq + Math.floor(i / FANOUT);
        if (i % FANOUT === 0) {
          text = JSON.stringify({ module: 'entry', event: 'update', seq, data: sampleData(seq) });
          bytes = Buffer.from(text);
        }
        inFlight++;
        send({ id: `exe_${firstSeq}_${i}`, seq, hook: i % FANOUT, text, bytes }, done);
      }
    };
    pump(ROUNDS ? 64 : n);
    if (ROUNDS && inFlight < IN_FLIGHT) refill = setTimeout(() => ((refill = null), pump(64)), 1);
  });
}

/**
 * This process's main thread's time on CPU so far, ms, to the ns (/proc schedstat's first field):
 * /proc's stat ticks are 10 ms, 1 us per request over 10,000 requests, coarser than the changes
 * measured. NaN where there is no schedstat.
 */
function mainThreadRunMs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'latin1').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}

const senders = { plain: plainSender(), herald: heraldSender(), herald16: heraldSender(16) };
console.log(
  `Herald send path: ${process.version}; receiver in its own process; ${IN_FLIGHT} in flight, fan-out ${FANOUT}, ` +
    `${ROUNDS ? "refilled in the dispatcher's rounds (1 ms, up to 64)" : 'refilled as each answer comes'}; ${REQUESTS.toLocaleString('en-US')} requests a step after ${WARMUP.toLocaleString('en-US')} of each kind`,
);
let seq = 1;
/** A step's sender: the three named, or heraldN (Herald's transport with N connections per origin). */
function senderOf(step: string): { send: Sender; close: () => Promise<void> } {
  const all = senders as Record<string, { send: Sender; close: () => Promise<void> }>;
  if (!all[step] && /^herald\d+$/.test(step)) all[step] = heraldSender(Number(step.slice('herald'.length)));
  if (!all[step]) throw new Error(`unknown step ${step} (plain, herald, herald16, heraldN)`);
  return all[step];
}
// Only the kinds measured are warmed up (a warm-up of the others was CPU spent, and
// instructions counted under callgrind, for nothing).
for (const kind of new Set(STEPS)) {
  const fds = readdirSync('/proc/self/fd').length;
  await drive(senderOf(kind).send, WARMUP, seq);
  seq += WARMUP;
  // Its connections (the most it opened: they stay open, keep-alive, until the end).
  console.log(`${kind.padEnd(7)} warmed up: ${readdirSync('/proc/self/fd').length - fds} more fds open`);
}
for (const step of STEPS) {
  const s = senderOf(step);
  const main0 = mainThreadRunMs();
  const receiver0 = processCpuMs(receiverPid);
  const t0 = performance.now();
  await drive(s.send, REQUESTS, seq);
  seq += REQUESTS;
  const seconds = (performance.now() - t0) / 1000;
  const us = (ms: number, digits = 2) => ((ms * 1000) / REQUESTS).toFixed(digits);
  console.log(
    `${step.padEnd(7)} ${Math.round(REQUESTS / seconds).toLocaleString('en-US').padStart(7)} requests/s  CPU per request: main thread ${us(mainThreadRunMs() - main0)} us, receiver ${us(processCpuMs(receiverPid) - receiver0, 1)} us`,
  );
}
await Promise.all(Object.values(senders).map((s) => s.close()));
receiver.child.disconnect();
