import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { TargetPolicy } from '../../net/target.ts';
import type { OutgoingRequest } from '../request.ts';
import type { AttemptRecord } from '../send.ts';
import { senderBundle } from './sender-bundle.ts';
import { decodeRecords, RequestEncoder, type Shape, type ToMain, type ToSender } from './sender-wire.ts';
import { failure, setSenderIdle, type Transport } from './transport.ts';

/**
 * HTTP(S) deliveries on sender threads (config.senderThreads): the thread that owns the store
 * (claims, group commits) hands each plain HTTP attempt to one of N worker threads, each running
 * its own guarded undici agent (agent.ts: the address policy is applied in that thread, to the
 * address it connects to), the attempt's deadline (its own timer wheel, send.ts) and the
 * response handling (status, Retry-After, the logged response cut and scrubbed of secrets). The
 * AttemptRecord comes back as the in-process transport makes it.
 *
 * Why: on a 2-core machine Herald's one thread was saturated at fan-out 1 (undici, socket writes
 * and response streams ~15% of it, plus their garbage) while the second core sat mostly idle.
 *
 * Messages go in batches both ways: the attempts handed over during one turn of the event loop
 * go to their thread in one message, and a thread answers with one message per turn of its own.
 * A thread gets the attempt when it has the fewest in flight.
 *
 * What stays on this thread (`fallback`, the in-process HTTP transport): destinations with OAuth
 * (token cache and its refresh on 401), with a client certificate or their own CAs (an agent per
 * certificate set), and, when an egress proxy is set, everything (createTransports): those are
 * rare, and their state (tokens, agents) would otherwise be per thread.
 *
 * The threads start once attempts go out at `startRate` a second (a thread loads undici and the
 * sender's bundle, sender-bundle.ts: ~0.35 s of CPU; ~0.7 s through tsx without one), so a
 * Herald that delivers now and then never pays for them; until one is ready, attempts go through
 * `fallback`. A thread that cannot start leaves every attempt to
 * `fallback` (logged once). A thread that dies, or stops answering (BACKSTOP_MS), has its attempts
 * in flight answered `network` (the receiver may have got them: retried, at least once) and is
 * replaced.
 */
export interface ThreadedHttpOptions {
  policy: TargetPolicy;
  /** Sender threads (>= 1). */
  threads: number;
  /** Most connections per origin in each thread (config.maxInFlight). */
  connections: number;
  /** Carries what the threads do not: OAuth, mutual TLS / own CAs; and everything if threads cannot start. */
  fallback: Transport;
  log: Logger;
  /**
   * Attempts within one second that start the threads (config.senderThreadsStartRate; 0: the
   * first attempt). A thread costs ~0.35 s of CPU to start (a fresh isolate, undici, the sender's
   * bundle) and its own heap; it saves ~90 µs of the main thread's CPU per attempt (NOTES.md, session 8), so it
   * pays for itself after a few thousand attempts: in a burst, not for a webhook called now and then.
   */
  startRate: number;
  /**
   * The share of this thread's time (its event loop's utilization, 0..1, over BUSY_WINDOW_MS) above
   * which ready threads take the attempts (config.senderThreadsBusy); 0: they take every attempt.
   * They hand them back once this thread's share and theirs together fall under `busy` less
   * BUSY_HYSTERESIS. Why: a thread saves this thread CPU only while this thread is what limits the
   * rate; otherwise each attempt pays two hand-offs and is sent from a second heap, and a thread
   * sharing cores with the receiver made deliveries at half load lag (NOTES.md, session 16).
   */
  busy?: number;
}

/** What a sender thread gets at start (sender-worker.ts). */
export interface SenderThreadData {
  allow: readonly string[];
  connections: number;
}

/**
 * The worker's code: loads the sender thread's bundle (sender-bundle.ts), or, without one,
 * registers tsx (the thread starts without the process's loaders, whether the process got tsx by
 * `--import` or by bin/herald.js's register()) and loads sender-worker.ts.
 */
const BOOT = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) {
    const { register } = await import(workerData.tsx);
    register();
  }
  await import(workerData.entry);
})().catch((err) => setImmediate(() => { throw err; }));
`;
const TSX = import.meta.resolve('tsx/esm/api');
const SOURCE = new URL('./sender-worker.ts', import.meta.url);

/** What a thread loads: the bundle, or the sources through tsx. */
interface Boot {
  entry: string;
  tsx?: string;
}

/** The bundle once per process (built or checked at the first start), else tsx. */
let boot: Promise<Boot> | null = null;
function senderBoot(): Promise<Boot> {
  boot ??= senderBundle(SOURCE).then((entry) => (entry ? { entry } : { entry: SOURCE.href, tsx: TSX }));
  return boot;
}

/**
 * How long past its own deadline an attempt's record may take to come back before the thread is
 * taken for wedged (ms): the thread enforces deadlines itself, so this only fires when the thread
 * stopped answering; it is then replaced, and what it held is answered `network` (retried).
 */
const BACKSTOP_MS = 10_000;

/** How many of a message's last bodies an attempt's body is compared with (by identity first) before it is added as another. */
const BODIES_LOOKED_AT = 4;

/** The window `startRate` counts attempts in, ms. */
const START_WINDOW_MS = 1_000;

/** How often this thread's and the sender threads' loop utilization is read for `busy`, ms. */
const BUSY_WINDOW_MS = 200;
/** How far under `busy` both threads' utilization must fall before attempts stay on this thread again. */
const BUSY_HYSTERESIS = 0.15;
/**
 * Largest young generation of a sender thread's heap, MiB (V8's default follows the machine's
 * memory: 32 MiB here, as the main thread's). A thread's objects live for one HTTP exchange; with
 * the default, its young generation grew to full size only under a large backlog: with a thread, a
 * 100k backlog's peak RSS was 1.20-1.29x a 1k backlog's (goal 4: 1.2x), at 8 MiB 1.10-1.22x,
 * without threads 1.02-1.08x (session 16). The rest is the main heap's: with a thread it promoted
 * more (23-26 mark-compacts against 5 over the drain; not explained yet).
 */
const THREAD_YOUNG_MB = 8;

interface Waiting {
  req: OutgoingRequest;
  /** The shape it was sent with (sender-wire.ts): its record's response headers are read against it. */
  shape: Shape | null;
  /** The message it went in (SenderThread `gathering`): not yet posted while that is the current one. */
  message: number;
  timeoutMs: number;
  /** When the record is overdue (ms since the epoch): see BACKSTOP_MS. */
  due: number;
  resolve: (r: AttemptRecord) => void;
}

class SenderThread {
  private worker: Worker;
  ready = false;
  private gone = false;
  /**
   * This turn's attempts, flat (sender-wire.ts), how many, their distinct bodies (compared by
   * identity) and those bodies' bytes (the request's own, encoded where the body was made: copied
   * into the message's buffer at its flush) with their total length.
   */
  private encoder = new RequestEncoder();
  private unposted = 0;
  private bodies: string[] = [];
  private bodyBytes: Buffer[] = [];
  private bodyLength = 0;
  /** The number of the message being gathered (see Waiting `message`). */
  private gathering = 0;
  private flushQueued = false;
  /** Attempts handed to this thread and not answered, by id. */
  /**
   * Attempts handed to this thread and not answered, by id: a slot each, freed slots reused
   * (`vacant`), as the dispatcher keeps its attempts in flight. Not a Map: a Map with an insert
   * and a delete per attempt replaces its hash table as it grows and shrinks, and a replaced table
   * that reached the old generation keeps every entry after it alive until a mark-compact
   * (session 27, h2), so each attempt's request, body and promise were promoted.
   */
  private slots: Array<Waiting | null> = [];
  private vacant: number[] = [];
  private waitingCount = 0;
  private closing: { resolve: () => void } | null = null;

  constructor(
    o: ThreadedHttpOptions,
    boot: Boot,
    private onReady: (t: SenderThread) => void,
    /** The thread could not start or stopped: called once, with what it was given and had not answered. */
    private onGone: (t: SenderThread, started: boolean, err: Error, unsent: Waiting[], unanswered: Waiting[]) => void,
  ) {
    const data: SenderThreadData = { allow: o.policy.allow, connections: o.connections };
    // No execArgv: the process's own preloads (bench probes, --inspect) stay on the main thread.
    this.worker = new Worker(BOOT, { eval: true, execArgv: [], workerData: { ...data, ...boot }, resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_MB } });
    this.worker.unref();
    this.worker.on('message', (m: ToMain) => this.message(m));
    this.worker.on('error', (err) => this.lost(err));
    this.worker.on('exit', (code) => this.lost(new Error(`sender thread exited (code ${code})`)));
  }

  get inFlight(): number {
    return this.waitingCount;
  }

  private lastElu: EventLoopUtilization | null = null;
  /** This thread's event-loop utilization since the last call (0..1). */
  utilization(): number {
    const now = this.worker.performance.eventLoopUtilization();
    const d = this.lastElu ? this.worker.performance.eventLoopUtilization(now, this.lastElu) : now;
    this.lastElu = now;
    return d.utilization;
  }

  send(w: Waiting) {
    if (this.waitingCount++ === 0) this.worker.ref();
    const id = this.vacant.length > 0 ? this.vacant.pop()! : this.slots.length;
    this.slots[id] = w;
    w.message = this.gathering;
    const r = w.req;
    // The body's index among the message's: an event's attempts come one after another, sharing
    // its body (one string): the last few bodies are looked at, not a Map (see `slots`).
    const bodies = this.bodies;
    let body = bodies.length - 1;
    const last = Math.max(0, bodies.length - BODIES_LOOKED_AT);
    while (body >= last && bodies[body] !== r.body) body--;
    if (body < last) {
      body = bodies.push(r.body) - 1;
      // A request without its bytes (not buildRequest's) is encoded here. A GET's go too (the
      // thread sends none): a POST of the same text may share its entry.
      const bytes = r.bodyBytes ?? Buffer.from(r.body);
      this.bodyBytes.push(bytes);
      this.bodyLength += bytes.length;
    }
    w.shape = this.encoder.add(id, r, body, w.timeoutMs);
    this.unposted++;
    // Shape ids ran out: what was encoded against them goes now, the next message starts afresh.
    if (this.encoder.full) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      // Every attempt handed over in this turn of the loop goes in one message.
      setImmediate(() => this.flush());
    }
  }

  private flush() {
    this.flushQueued = false;
    if (this.gone || this.unposted === 0) return;
    // The bodies' bytes one after another in a buffer of their own, handed over (transferred):
    // the thread reads each body from it in place.
    const buffer = Buffer.allocUnsafeSlow(this.bodyLength);
    const bodyEnds: number[] = [];
    let end = 0;
    for (const b of this.bodyBytes) {
      buffer.set(b, end);
      bodyEnds.push((end += b.length));
    }
    const msg: ToSender = { t: 'send', ...this.encoder.take(), bodies: buffer.buffer, bodyEnds };
    this.taken();
    this.worker.postMessage(msg, [buffer.buffer]);
  }

  /** The encoder's attempts and their bodies were taken (posted, or dropped with the thread): the next message starts empty. */
  private taken() {
    this.unposted = 0;
    this.gathering++;
    this.bodies = [];
    this.bodyBytes = [];
    this.bodyLength = 0;
  }

  private message(m: ToMain) {
    if (m.t === 'ready') {
      this.ready = true;
      this.onReady(this);
    } else if (m.t === 'done') {
      if (this.gone) return;
      decodeRecords(m.items, this.shapeOf, this.answered);
      if (this.waitingCount === 0) this.worker.unref();
    } else if (m.t === 'closed') {
      this.closing?.resolve();
    }
  }

  private shapeOf = (id: number): Shape | null | undefined => this.slots[id]?.shape;

  private answered = (id: number, record: AttemptRecord, idleMs: number) => {
    const w = this.slots[id];
    if (!w) return;
    this.slots[id] = null;
    this.vacant.push(id);
    this.waitingCount--;
    setSenderIdle(record, idleMs);
    w.resolve(record);
  };

  /** The thread stopped (an error, an exit, or wedged): what it held is handed to `onGone`. */
  lost(err: Error) {
    if (this.gone) return;
    this.gone = true;
    const gathering = this.gathering;
    this.encoder.take();
    this.taken();
    const unsent: Waiting[] = [];
    const unanswered: Waiting[] = [];
    for (const w of this.takeWaiting()) (w.message === gathering ? unsent : unanswered).push(w);
    this.closing?.resolve();
    void this.worker.terminate();
    this.onGone(this, this.ready, err, unsent, unanswered);
  }

  /** An attempt whose record is overdue (BACKSTOP_MS): the thread stopped answering. */
  overdue(now: number): boolean {
    for (const w of this.slots) if (w !== null && w.due < now) return true;
    return false;
  }

  /** Stops the thread: graceful (in-flight attempts end first) or `force` (cut). */
  async close(force: boolean): Promise<void> {
    if (this.gone) return;
    if (this.ready) {
      this.flush();
      const closed = new Promise<void>((resolve) => (this.closing = { resolve }));
      this.worker.ref();
      this.worker.postMessage({ t: 'close', force } satisfies ToSender);
      await closed;
    }
    this.gone = true;
    await this.worker.terminate();
    // Whatever the thread had not answered (cut, or never started) ends here.
    for (const w of this.takeWaiting()) w.resolve(failure(Date.now(), 'network', 'Herald stopped before the attempt ended'));
  }

  /** Every attempt not answered, leaving none. */
  private takeWaiting(): Waiting[] {
    const all = this.slots.filter((w): w is Waiting => w !== null);
    this.slots = [];
    this.vacant = [];
    this.waitingCount = 0;
    return all;
  }
}

export interface ThreadedHttpTransport extends Transport {
  /** Starts the threads if they are not yet; resolves true once one is ready, false if they cannot start (tests). */
  started(): Promise<boolean>;
  /** Threads ready to send now. */
  readonly ready: number;
}

export function createThreadedHttpTransport(o: ThreadedHttpOptions): ThreadedHttpTransport {
  let threads: SenderThread[] = [];
  let ready: SenderThread[] = [];
  /** Set when a thread could not start: every attempt stays on this thread from then on. */
  let unavailable = false;
  let closed = false;
  let backstop: NodeJS.Timeout | null = null;
  const startWaiters: Array<(ok: boolean) => void> = [];
  /** Attempts sent in the current START_WINDOW_MS window, and when it began. */
  let windowCount = 0;
  let windowAt = 0;
  /** Threads were started once: a dead one is replaced at once, not after another burst. */
  let unstarted = true;
  /** Ready threads take the attempts (see `busy`): always when `busy` is 0. */
  const busy = o.busy ?? 0;
  let offload = busy <= 0;
  let watch: NodeJS.Timeout | null = null;
  let lastElu = performance.eventLoopUtilization();
  /** Every BUSY_WINDOW_MS once the threads started: whether the threads take the attempts now. */
  const measure = () => {
    const now = performance.eventLoopUtilization();
    const main = performance.eventLoopUtilization(now, lastElu).utilization;
    lastElu = now;
    let theirs = 0;
    for (const t of ready) theirs += t.utilization();
    // What the threads do would be this thread's work without them: their share counts too, or
    // handing attempts to them would soon look like reason to take them back.
    if (!offload) offload = main > busy;
    else offload = main + theirs >= busy - BUSY_HYSTERESIS;
  };

  const onReady = (t: SenderThread) => {
    ready.push(t);
    if (ready.length === o.threads) o.log.info({ threads: o.threads }, 'sender threads ready: HTTP deliveries are sent from them');
    for (const w of startWaiters.splice(0)) w(true);
  };

  const onGone = (t: SenderThread, started: boolean, err: Error, unsent: Waiting[], unanswered: Waiting[]) => {
    threads = threads.filter((x) => x !== t);
    ready = ready.filter((x) => x !== t);
    if (closed) {
      for (const w of [...unsent, ...unanswered]) w.resolve(failure(Date.now(), 'network', 'Herald stopped before the attempt ended'));
      return;
    }
    if (!started) {
      unavailable = true;
      o.log.error({ err }, 'a sender thread could not start; HTTP deliveries are sent from the main thread');
      for (const w of startWaiters.splice(0)) w(false);
    } else {
      o.log.error({ err, unanswered: unanswered.length }, 'a sender thread stopped; its attempts in flight are recorded as failed and retried, and a new thread starts');
      start();
    }
    // Never sent: send them here. Sent and unanswered: the receiver may have them; retried later.
    for (const w of unsent) void o.fallback.send(w.req, w.timeoutMs).then(w.resolve);
    for (const w of unanswered) w.resolve(failure(Date.now(), 'network', 'the sender thread stopped before the attempt ended'));
  };

  /** Starts threads up to `o.threads` (the first attempt does; so does a thread's death). */
  function start() {
    if (closed || unavailable) return;
    unstarted = false;
    void senderBoot().then((b) => {
      if (closed || unavailable) return;
      try {
        while (threads.length < o.threads) threads.push(new SenderThread(o, b, onReady, onGone));
      } catch (err) {
        unavailable = true;
        o.log.error({ err }, 'a sender thread could not start; HTTP deliveries are sent from the main thread');
        for (const w of startWaiters.splice(0)) w(false);
      }
    });
    if (busy > 0 && !watch) {
      watch = setInterval(measure, BUSY_WINDOW_MS);
      watch.unref();
    }
    if (!backstop) {
      backstop = setInterval(() => {
        const now = Date.now();
        for (const t of ready) if (t.overdue(now)) t.lost(new Error(`no record came back within ${BACKSTOP_MS} ms past an attempt's deadline`));
      }, 1_000);
      backstop.unref();
    }
  }

  return {
    send(req, timeoutMs) {
      const d = req.destination;
      if (closed || unavailable || d?.access_token_url || d?.client_certificate || d?.ca_certificate) return o.fallback.send(req, timeoutMs);
      if (unstarted) {
        const now = Date.now();
        if (now - windowAt >= START_WINDOW_MS) {
          windowAt = now;
          windowCount = 0;
        }
        if (++windowCount >= o.startRate) start();
      }
      // Until a thread is ready (a few hundred ms after it starts), and while this thread is not
      // busy (`busy`), attempts go from here.
      if (ready.length === 0 || !offload) return o.fallback.send(req, timeoutMs);
      // The ready thread with the fewest attempts in flight.
      let t = ready[0]!;
      for (let i = 1; i < ready.length; i++) if (ready[i]!.inFlight < t.inFlight) t = ready[i]!;
      return new Promise((resolve) => t.send({ req, timeoutMs, due: Date.now() + timeoutMs + BACKSTOP_MS, resolve, shape: null, message: 0 }));
    },
    get ready() {
      return ready.length;
    },
    started() {
      if (ready.length > 0) return Promise.resolve(true);
      if (unavailable || closed) return Promise.resolve(false);
      start();
      return new Promise((r) => startWaiters.push(r));
    },
    async close(force) {
      closed = true;
      if (backstop) clearInterval(backstop);
      backstop = null;
      if (watch) clearInterval(watch);
      watch = null;
      for (const w of startWaiters.splice(0)) w(false);
      await Promise.all([...threads.map((t) => t.close(!!force)), o.fallback.close(force)]);
      threads = [];
      ready = [];
    },
  };
}
