import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints of the SQLite store on a thread of their own.
 *
 * Every commit appends pages to the WAL; a checkpoint copies them back into the database file and
 * fsyncs both files, so that the WAL can start again from its beginning. SQLite's automatic
 * checkpoint runs inside the commit that crosses its threshold, on the thread that committed:
 * Herald's only thread. Under delivery load (thousands of small commits a second, 40 MB of WAL
 * between two checkpoints) that held the event loop in fsync for tens of ms at a time (strace: 34
 * fsyncs, 435 ms in all, the longest 78 ms, in the bench's latency and closed-loop lines), and every
 * delivery and request waiting meanwhile made the latency tail (NOTES.md, #21).
 *
 * Here a worker thread with its own connection runs PASSIVE checkpoints, which never block the
 * writer: commits go on while pages are copied and synced. One catch: the WAL starts again from its
 * beginning only after a moment when every frame in it has been copied, and with commits arriving
 * during a pass, a pass always leaves the newest frames behind. So once the WAL holds
 * RESTART_FRAMES, a second pass copies what arrived during the first, and a last one runs while the
 * store's writer lock is held (`holdWrites`): the writer waits for a pass over a few pages (two
 * small fsyncs; the event loop does not wait), and the next commit starts the WAL from its
 * beginning.
 *
 * SQLite's automatic checkpoint (wal_autocheckpoint, sqlite.ts) runs inside the commit that crosses
 * its threshold: WAL fsync ~45 ms plus the database file's, on the event loop, every 1-3 s once the
 * thread fell behind under load (strace, session 10). While the thread runs, the store raises that
 * threshold from 40 to 100 MiB (`onReady`, sqlite.ts BACKSTOP_PAGES): a bound should the thread
 * stall, not a step of normal work. A thread that fails, exits, or leaves a pass unanswered for
 * PASS_TIMEOUT_MS is given up (`onError`) and the threshold goes back.
 *
 * The WAL's restart stays with the store's next commit (which writes and syncs the new WAL header
 * there, 0.3-10 ms). Done by the thread (a one-page write of its own after the finishing pass,
 * session 10, 03e96d6), it cost more than it saved: a write by another connection makes the
 * writer drop its whole page cache, and restarting every WAL a pass had caught up on past 2 MiB
 * held the writer lock every ~180 ms at 2,500 events/s. The latency line, 3 alternated pairs
 * (rounds 2 and 3): with it 146/45, 30/64, 14/34 ms; without 27/29, 22/32, 10/30.
 */

/** The worker's code: CommonJS, loading the same better-sqlite3 the store uses (workerData.module). */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file, { fileMustExist: true });
// Named, for \`top -H\` and the bench's CPU per thread (Linux; elsewhere there is no such file).
try {
  require('node:fs').writeFileSync('/proc/thread-self/comm', 'herald-checkpt');
} catch {}
// A PASSIVE checkpoint takes no lock it would wait for; never sleep on one.
db.pragma('busy_timeout = 0');
parentPort.postMessage({ ready: true });
parentPort.on('message', (m) => {
  if (m.type === 'close') {
    db.close();
    parentPort.postMessage({ id: m.id });
    parentPort.close();
    return;
  }
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ id: m.id, busy: r.busy, log: r.log, checkpointed: r.checkpointed });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String((err && err.message) || err) });
  }
});
`;

/**
 * How long after a commit the next checkpoint starts, at most, ms. A pass copies each page once
 * however many commits rewrote it since the last pass (the attempts table's right edge, the
 * executions a claim and then an outcome rewrite, index pages), and syncs the WAL and the database
 * file once: the longer between passes, the fewer pages copied and fsyncs per delivery. bench:rows
 * at fan-out 10 (`BENCH_ROWS_CHECKPOINT_EVERY`, deliveries between passes; ~10k deliveries/s makes
 * 20 ms ~200 of them): pages copied per delivery 0.50 / 0.45 / 0.37 / 0.33 and checkpoint CPU
 * 7.5 / 5.7 / 4.9 / 4.0 us per delivery every 100 / 200 / 500 / 1,000 deliveries. It was 20 ms
 * always. A commit is durable in the WAL, checkpointed or not; the WAL's size is RESTART_FRAMES'
 * business, and so that its restart does not come late, passes come sooner as the WAL nears it
 * (checkpointWait).
 */
export const CHECKPOINT_EVERY_MS = 100;
/**
 * The shortest wait between passes, ms (the old fixed one): when the WAL, at the rate it grew
 * between the last two passes, would reach RESTART_FRAMES sooner than CHECKPOINT_EVERY_MS.
 */
export const CHECKPOINT_SOON_MS = 20;

/**
 * How long after a commit the next pass starts, ms: CHECKPOINT_EVERY_MS, or the time the WAL takes
 * to grow by `framesLeft` (to RESTART_FRAMES) at `framesPerMs`, if shorter, but not under
 * CHECKPOINT_SOON_MS. A rate of 0 (not known yet, or no growth): CHECKPOINT_EVERY_MS.
 */
export function checkpointWait(framesLeft: number, framesPerMs: number): number {
  if (!(framesPerMs > 0)) return CHECKPOINT_EVERY_MS;
  return Math.min(CHECKPOINT_EVERY_MS, Math.max(CHECKPOINT_SOON_MS, framesLeft / framesPerMs));
}
/**
 * Frames (4 KiB pages) the WAL may hold before it is made to start again from its beginning with
 * a finishing pass under the writer lock (16 MiB). That pass copies and syncs only what arrived
 * since the unlocked pass before it, but it holds writes for two fsyncs, so it runs only this
 * often; SQLite's own backstop is at 10,000 pages (sqlite.ts).
 */
export const RESTART_FRAMES = 4_096;
/**
 * How long a pass may go unanswered before the thread is given up and SQLite's own checkpoint
 * comes back, ms (a pass copies at most a few tens of MB and fsyncs twice: seconds on a slow disk).
 */
export const PASS_TIMEOUT_MS = 30_000;

interface PassResult {
  /** Frames in the WAL, and how many of them are in the database file now (-1, -1: not in WAL mode). */
  log: number;
  checkpointed: number;
  busy: number;
}

export interface CheckpointerOptions {
  /** The database file (WAL mode). */
  file: string;
  /** Runs `fn` while no transaction writes (the store's writer lock). */
  holdWrites<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Whether a transaction is open on the writer's connection now. One open across a pass began
   * before the pass copied the last frame, so its commit does not start the WAL again (SQLite
   * restarts it only for a write transaction begun once every frame is copied).
   */
  writing(): boolean;
  /** The thread has opened the store and checkpoints from now on: SQLite's own may stop. */
  onReady?(): void;
  /** The thread failed (or went unanswered): reported once; SQLite's own checkpoint must take over. */
  onError(err: Error): void;
}

export class Checkpointer {
  private worker: Worker;
  private nextId = 0;
  private waiting = new Map<number, { resolve: (r: PassResult) => void; reject: (e: Error) => void }>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private dirty = false;
  /** Commits so far: a pass that saw none while it ran left nothing behind. */
  private commits = 0;
  private closed = false;
  private failed = false;
  /** The WAL's frames at the last pass and when it was asked for (ms), its growth since the one before (frames/ms), the wait it gives (checkpointWait). */
  private lastLog = -1;
  private lastAt = 0;
  private growth = 0;
  private wait = CHECKPOINT_EVERY_MS;
  private onReady!: (ok: boolean) => void;
  /**
   * Passes asked of the thread so far, and the one it runs until it answers (null between passes):
   * checkpoint.test.ts paces its commits by them, so that how far the WAL grows depends on the
   * commits a pass sees, not on how much CPU the thread got. Set once a pass (every 20 ms at most),
   * never per commit.
   */
  passes = 0;
  passing: Promise<unknown> | null = null;
  /** Resolves once the thread has opened the store (true), or failed (false). */
  readonly ready: Promise<boolean>;

  constructor(private o: CheckpointerOptions) {
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    // No execArgv: the thread runs plain JavaScript and needs none of the process's loaders (tsx).
    this.worker = new Worker(WORKER, { eval: true, workerData: { file: o.file, module }, execArgv: [] });
    this.worker.unref();
    this.ready = new Promise((resolve) => (this.onReady = resolve));
    this.worker.on('message', (m: { id: number; error?: string; ready?: true } & PassResult) => {
      if (m.ready) {
        if (this.failed || this.closed) return;
        this.o.onReady?.();
        return this.onReady(true);
      }
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.error !== undefined) w.reject(new Error(m.error));
      else w.resolve(m);
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', () => this.fail(new Error('the checkpoint thread exited')));
  }

  /** A transaction committed: checkpoint within CHECKPOINT_EVERY_MS (sooner as the WAL nears its restart). */
  committed() {
    this.commits++;
    this.dirty = true;
    if (this.timer || this.running || this.closed || this.failed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.cycle().finally(() => {
        this.running = null;
        // Commits during the cycle: the next one.
        if (this.dirty) this.committed();
      });
    }, this.wait);
    this.timer.unref();
  }

  /** One PASSIVE pass. */
  private pass(): Promise<PassResult> {
    const id = this.nextId++;
    const passing = new Promise<PassResult>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`the checkpoint thread left a pass unanswered for ${PASS_TIMEOUT_MS} ms`)), PASS_TIMEOUT_MS);
      timer.unref();
      const done = () => clearTimeout(timer);
      this.waiting.set(id, { resolve: (r) => (done(), resolve(r)), reject: (e) => (done(), reject(e)) });
      this.worker.postMessage({ type: 'checkpoint', id });
    });
    this.passes++;
    this.passing = passing;
    const over = () => {
      if (this.passing === passing) this.passing = null;
    };
    passing.then(over, over);
    return passing;
  }

  /**
   * An unlocked pass; when the WAL has grown past RESTART_FRAMES, a second one (for what arrived
   * during the first) and the finishing pass with writes held, after which the next commit starts
   * the WAL again from its beginning.
   */
  private async cycle() {
    this.dirty = false;
    try {
      const before = this.commits;
      const at = Date.now();
      const r = await this.pass();
      this.paced(r.log, at);
      // Not in WAL mode (an in-memory store); or everything copied, nothing committed since and
      // no transaction open now (`log` counts the frames there were when the pass began): the next
      // transaction begins after the pass, and its commit restarts the WAL. A transaction open now
      // began before the pass ended: its commit would not, and one held open across every pass
      // (awaiting I/O inside tx()) would keep the WAL from ever starting again (checkpoint.test.ts).
      if (r.log <= 0 || (r.checkpointed === r.log && this.commits === before && !this.o.writing()) || r.log < RESTART_FRAMES || this.closed) return;
      await this.pass();
      if (this.closed) return;
      await this.o.holdWrites(() => this.pass());
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /**
   * The next wait from the WAL's growth between this pass and the last: frames it held when each
   * began. A WAL that started again since (fewer frames than before) keeps the growth known.
   */
  private paced(log: number, at: number) {
    if (log > this.lastLog && this.lastLog >= 0 && at > this.lastAt) this.growth = (log - this.lastLog) / (at - this.lastAt);
    this.lastLog = log;
    this.lastAt = at;
    this.wait = checkpointWait(RESTART_FRAMES - log, this.growth);
  }

  private fail(err: Error) {
    if (this.failed || this.closed) return;
    this.failed = true;
    this.onReady(false);
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
    // A wedged thread would hold its connection's locks; one that failed is of no further use.
    void this.worker.terminate();
    this.o.onError(err);
  }

  private closing: Promise<void> | null = null;

  /**
   * Stops checkpointing (the last connection's close checkpoints what is left). Called again, it
   * answers the first call's promise: the thread is gone and would never answer a second request
   * (a store closed twice, as readiness tests do, hung its process).
   */
  close(): Promise<void> {
    return (this.closing ??= this.stop());
  }

  private async stop() {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    if (this.failed) return void (await this.worker.terminate());
    const id = this.nextId++;
    await new Promise<void>((resolve) => {
      this.waiting.set(id, { resolve: () => resolve(), reject: () => resolve() });
      this.worker.postMessage({ type: 'close', id });
    });
    await this.worker.terminate();
  }
}
