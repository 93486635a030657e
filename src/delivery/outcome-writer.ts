import type { Logger } from 'pino';
import { HeraldError } from '../errors.ts';
import type { Db } from '../store/db.ts';
import { complete, expireClaims, type CompleteEffects, type Finished } from './queue/index.ts';
import type { Operational } from './operational.ts';

/**
 * The dispatcher's batched outcome writer (group commit): finished attempts wait here and are
 * written together, one transaction per batch (queue/complete.ts), then reported back to the
 * dispatcher. A slot is free once its HTTP exchange ends, before its outcome is written.
 */

/**
 * Group commit: outcomes are written when this many wait, or FLUSH_MS after the first of them.
 * The wait costs no throughput; it delays only the outcome's visibility in the log and the
 * promotion of a lane's next execution. Each flush is a transaction of about seven statements; at
 * 2 ms, a worker on PostgreSQL flushed every ~12 outcomes and spent a quarter more CPU (its own and
 * the database's) per delivery than at 10 ms.
 */
const FLUSH_BATCH = 200;
const FLUSH_MS = 10;
/**
 * Recording outcomes failed for a reason that passes (the database restarting, a dropped
 * connection, a deadlock): written again after this long, doubling up to FLUSH_RETRY_MAX_MS, while
 * the claims' leases last. Without it, a second's outage sent every outcome in flight again once
 * its lease ended.
 */
const FLUSH_RETRY_MS = 100;
const FLUSH_RETRY_MAX_MS = 5_000;
/** The wait after `lastMs` (0: none yet) before a failed write is tried again: FLUSH_RETRY_MS doubling up to FLUSH_RETRY_MAX_MS. */
const retryAfter = (lastMs: number) => Math.min(FLUSH_RETRY_MAX_MS, Math.max(FLUSH_RETRY_MS, lastMs * 2));

export interface OutcomeWriterOptions {
  db: Db;
  log: Logger;
  /** The engine's retry schedule, for executions whose format set none. */
  retryDelaysMs: readonly number[];
  breakerThreshold: number;
  autoSaveWindowMs: number;
  /** Operational events recorded with outcomes (queue/complete.ts); absent: none. */
  operational?: Operational;
  /** First probe of a webhook the breaker disabled, ms (queue/breaker.ts). */
  probeDelayMs?: number;
  /** Unrecorded outcomes past which the dispatcher claims nothing new (its maxInFlight). */
  maxUnrecorded: number;
  /** True once the dispatcher is stopping: a failed write is not tried again then. */
  stopping(): boolean;
  /** After a batch is on disk, with what it changed; each outcome's `ended` is set. */
  onRecorded(effects: CompleteEffects, batch: Finished[]): void;
  /** Unrecorded outcomes fell back to `maxUnrecorded` after being above it: claims may resume. */
  onCaughtUp(): void;
  /** SQLite: executions given up on are due again from `at` (ms, their earliest lease end): see giveUp. */
  onExpired(at: number): void;
}

export class OutcomeWriter {
  private buffer: Finished[] = [];
  /**
   * Outcomes not yet recorded (buffered, or in a flush still running). When the store is slower
   * than the receivers, these pile up; past `maxUnrecorded` of them the dispatcher makes no new
   * claims until flushes catch up, so memory stays bounded and no claim outlives its lease
   * waiting to be recorded.
   */
  unrecorded = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Set while a failed write waits to be tried again (ms until then); see FLUSH_RETRY_MS. */
  private backoffMs = 0;
  private flushing: Promise<void> = Promise.resolve();
  /**
   * SQLite: claims given up on (see giveUp) not yet made due at their lease end, because that write
   * failed too; written again after `expireBackoffMs` (FLUSH_RETRY_MS doubling up to
   * FLUSH_RETRY_MAX_MS) until it goes through or the dispatcher stops (the next start releases
   * every claim: release.ts releaseClaims).
   */
  private owed: Array<{ uid: string; leaseUntil: number }> = [];
  private expireBackoffMs = 0;
  private expireTimer: NodeJS.Timeout | null = null;

  constructor(private o: OutcomeWriterOptions) {}

  /** Queues one finished attempt for the next batch. */
  add(f: Finished) {
    this.buffer.push(f);
    this.unrecorded++;
    if (this.buffer.length >= FLUSH_BATCH && this.backoffMs === 0) void this.flush();
    else if (!this.timer) this.timer = setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Writes what waits in one transaction; resolves once this and every earlier write ended. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.buffer;
    if (batch.length === 0) return this.flushing;
    this.buffer = [];
    this.flushing = this.flushing.then(() => this.write(batch));
    return this.flushing;
  }

  private async write(batch: Finished[]) {
    /** Outcomes to write again: a write that failed for a passing reason. */
    let again: Finished[] = [];
    try {
      let effects: CompleteEffects;
      try {
        // Each execution carries its own retry schedule when its format set one (Claimed.retryDelaysMs).
        effects = await complete(this.o.db, batch, {
          now: Date.now(),
          retryDelaysMs: this.o.retryDelaysMs,
          breakerThreshold: this.o.breakerThreshold,
          autoSaveWindowMs: this.o.autoSaveWindowMs,
          operational: this.o.operational,
          probeDelayMs: this.o.probeDelayMs,
        });
      } catch (err) {
        // While the claims hold, write them again later: nobody else may send these yet. Past a
        // lease (or stopping), give up: the claim expires and the execution is sent again (at
        // least once) rather than marked done without its outcome on disk.
        const leaseEnd = Math.min(...batch.map((f) => f.claimed.leaseUntil));
        const transient = err instanceof HeraldError && err.code === 'unavailable';
        const backoff = retryAfter(this.backoffMs);
        if (transient && !this.o.stopping() && Date.now() + backoff < leaseEnd) {
          this.o.log.warn({ err, count: batch.length, retryInMs: backoff }, 'recording attempts failed; trying again');
          this.backoffMs = backoff;
          again = batch;
        } else {
          this.o.log.error({ err, count: batch.length, deliveryIds: batch.map((f) => f.claimed.uid) }, 'recording attempts failed');
          await this.giveUp(batch);
        }
        return;
      }
      if (effects.stale.length) {
        this.o.log.warn({ deliveryIds: effects.stale }, 'attempts logged after their claim ended; the executions were left to their new claim');
      }
      // Each outcome's `ended` was set by complete().
      this.o.onRecorded(effects, batch);
    } catch (err) {
      // A bug after the write (a callback): logged, and the flush chain goes on.
      this.o.log.error({ err }, 'after recording attempts');
    } finally {
      const heldBack = this.unrecorded > this.o.maxUnrecorded;
      this.unrecorded -= batch.length - again.length;
      if (again.length === 0) this.backoffMs = 0;
      else {
        // In front of what finished meanwhile, written together after the back-off.
        this.buffer = [...again, ...this.buffer];
        if (this.timer) clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.flush(), this.backoffMs);
      }
      if (heldBack && this.unrecorded <= this.o.maxUnrecorded) this.o.onCaughtUp();
    }
  }

  /**
   * Outcomes not recorded, for good: their executions are due again at their lease end and sent
   * again then (at least once), as an expired claim is. On PostgreSQL the lease wrote them so; on
   * SQLite, whose leases are out of the due index (queue/lease.ts LEASE_SQLITE), this writes them
   * so (queue/release.ts expireClaims), or tries again later when that write fails as well. Never throws.
   */
  private async giveUp(batch: Finished[]): Promise<void> {
    if (this.o.db.dialect !== 'sqlite') return;
    for (const f of batch) this.owed.push({ uid: f.claimed.uid, leaseUntil: f.claimed.leaseUntil });
    await this.expireOwed();
  }

  /** Makes the owed claims due at their lease end (giveUp); on failure, tries again after a back-off. */
  private async expireOwed(): Promise<void> {
    const owed = this.owed;
    if (owed.length === 0) return;
    this.owed = [];
    try {
      await expireClaims(this.o.db, owed.map((c) => c.uid));
      this.expireBackoffMs = 0;
      let at = Infinity;
      for (const c of owed) at = Math.min(at, c.leaseUntil);
      this.o.onExpired(at);
    } catch (err) {
      this.owed = owed.concat(this.owed);
      // Stopping: the next start releases every claim (releaseClaims); nothing to wait for here.
      if (this.o.stopping()) return;
      this.expireBackoffMs = retryAfter(this.expireBackoffMs);
      this.o.log.warn({ err, count: owed.length, retryInMs: this.expireBackoffMs }, 'making unrecorded deliveries due again failed; trying again');
      if (this.expireTimer === null) {
        this.expireTimer = setTimeout(() => {
          this.expireTimer = null;
          void this.expireOwed();
        }, this.expireBackoffMs);
        this.expireTimer.unref?.();
      }
    }
  }
}
