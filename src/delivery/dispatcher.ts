import type { Dispatcher as HttpAgent } from 'undici';
import type { Logger } from 'pino';
import type { Db } from '../store/db.ts';
import { HeraldError } from '../errors.ts';
import { contentfulDelivery, type ContentfulAttempt } from '../contentful/delivery.ts';
import { RenderTooLarge } from './contentful.ts';
import { payloadBody } from './payload.ts';
import { claim, complete, nextDueAt, type Claimed, type Finished } from './queue/index.ts';
import { buildRequest } from './request.ts';
import { send, type AttemptRecord } from './send.ts';

/**
 * The dispatcher: claims due executions in batches, sends them concurrently within the global and
 * per-webhook caps, and records outcomes in batches (group commit).
 *
 * It never polls per delivery: `wake()` is called when executions are committed (fan-out, manual
 * retry, re-enable) and when attempts finish; a timer is set for the next scheduled retry; a slow
 * safety-net timer covers anything else (another process's writes, clock changes).
 */
export interface DispatcherOptions {
  db: Db;
  agent: HttpAgent;
  log: Logger;
  timeoutMs: number;
  /** How long a claim outlives the attempt's deadline, ms (config.leaseMarginMs). */
  leaseMarginMs: number;
  retryDelaysMs: readonly number[];
  breakerThreshold: number;
  autoSaveWindowMs: number;
  maxInFlight: number;
  maxInFlightPerWebhook: number;
  /** Largest body a Contentful transformation may render, bytes (config.maxRenderedBody). */
  maxRenderedBody: number;
  /** Called after commit with stacks whose webhooks the breaker (or a 410) disabled. */
  onDisabled: (apiKeys: Set<string>) => void;
  /** Called after each recorded attempt (metrics, tests). */
  onAttempt?: (f: Finished) => void;
}

/** What the dispatcher is doing, read-only. */
export interface DispatcherStatus {
  /** Started and not stopped. */
  running: boolean;
  inFlight: number;
  /** Attempts it may start now under the global cap. */
  freeSlots: number;
  /** When it last completed a claim round (or started), ms since the epoch. */
  lastRoundAt: number;
}

/** How long freed slots gather before they are claimed again, ms. */
const CLAIM_GATHER_MS = 1;
/** Safety-net wake-up, ms, when nothing is scheduled sooner. */
const SAFETY_NET_MS = 5_000;
/** Re-check, ms, while due work waits for free slots. */
const SATURATED_RECHECK_MS = 250;
/**
 * After a round that filled a webhook's cap with more due, the next round looks past it for other
 * webhooks' work at once, unless such a look found nothing within this many ms: with one busy
 * webhook, every round would otherwise be followed by a windowed scan for nothing (40% of rounds
 * in bench:pg). Work of other webhooks waiting behind a busy one's backlog waits at most this much
 * longer.
 */
const PAST_RECHECK_MS = 50;
/** Next look, ms, after a round whose every chosen execution another worker claimed first. */
const LOST_RETRY_MS = 5;
/**
 * Group commit: outcomes are written when this many wait, or FLUSH_MS after the first of them.
 * A slot is free once its HTTP exchange ends, so the wait costs no throughput; it delays only the
 * outcome's visibility in the log and the promotion of a lane's next execution. Each flush is a
 * transaction of about seven statements; at 2 ms, a worker on PostgreSQL flushed every ~12
 * outcomes and spent a quarter more CPU (its own and the database's) per delivery than at 10 ms.
 */
const FLUSH_BATCH = 200;
const FLUSH_MS = 10;
/**
 * Executions one claim round takes at most. A round reads this many due executions (plus a margin)
 * oldest first, so a round's cost follows what it can take, not the free slots: with one busy
 * webhook at its cap, reading a page of 256 to take the few slots it freed was most of the
 * claim's cost. A full page claims again at once.
 */
const CLAIM_PAGE = 64;
/**
 * Recording outcomes failed for a reason that passes (the database restarting, a dropped
 * connection, a deadlock): written again after this long, doubling up to FLUSH_RETRY_MAX_MS, while
 * the claims' leases last. Without it, a second's outage sent every outcome in flight again once
 * its lease ended.
 */
const FLUSH_RETRY_MS = 100;
const FLUSH_RETRY_MAX_MS = 5_000;
/** Payload bodies kept in memory (by event and format) so retries and fan-out reuse them. */
const BODY_CACHE_SIZE = 2_000;

export class DeliveryDispatcher {
  private inFlight = 0;
  private perWebhook = new Map<string, number>();
  private roundScheduled = false;
  private roundRunning = false;
  private rerun = false;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private buffer: Finished[] = [];
  /**
   * Outcomes not yet recorded (buffered, or in a flush still running). A slot is freed when its
   * HTTP exchange ends, before its outcome is written; when the store is slower than the receivers,
   * these pile up. Past `maxInFlight` of them no new claims are made until flushes catch up, so
   * memory stays bounded and no claim outlives its lease waiting to be recorded.
   */
  private unrecorded = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  /** Set while a failed write waits to be tried again (ms until then); see FLUSH_RETRY_MS. */
  private flushBackoffMs = 0;
  private flushing: Promise<void> = Promise.resolve();
  private stopped = true;
  /** Set once stop() gave up waiting: later outcomes are not recorded (their claims are released). */
  private closed = false;
  /** Executions whose attempt is running now. */
  private flying = new Set<string>();
  private bodies = new Map<string, string>();
  /** Contentful dialect: the retry schedule of attempts whose space set a retry policy. */
  private schedules = new WeakMap<Finished, readonly number[]>();
  private idleWaiters: Array<() => void> = [];
  /** When the last claim round completed (ms), or the dispatcher started; for readiness. */
  private lastRoundAt = 0;
  /** When the last deep scan past saturated webhooks ran (ms), and whether it claimed anything. */
  private deepAt = 0;
  private deepFound = false;
  /** When the last round that left saturated webhooks out ran (ms), and whether it claimed anything. */
  private pastAt = 0;
  private pastFound = false;

  constructor(private o: DispatcherOptions) {}

  start() {
    this.stopped = false;
    this.closed = false;
    this.lastRoundAt = Date.now();
    this.wake();
  }

  /** Read-only state for GET /readyz (see src/ops/readiness.ts). */
  status(): DispatcherStatus {
    return { running: !this.stopped, inFlight: this.inFlight, freeSlots: this.o.maxInFlight - this.inFlight, lastRoundAt: this.lastRoundAt };
  }

  /** Something may be due: run a claim round soon (coalesced: many wakes, one round). */
  wake() {
    if (this.stopped) return;
    if (this.roundRunning) {
      this.rerun = true;
      return;
    }
    if (this.roundScheduled) return;
    this.roundScheduled = true;
    setImmediate(() => void this.round());
  }

  private soon: NodeJS.Timeout | null = null;
  /** wake(), after CLAIM_GATHER_MS, coalescing every call meanwhile into one. */
  private wakeSoon() {
    if (this.soon || this.stopped) return;
    this.soon = setTimeout(() => {
      this.soon = null;
      this.wake();
    }, CLAIM_GATHER_MS);
  }

  get inFlightCount() {
    return this.inFlight;
  }

  private async round() {
    this.roundScheduled = false;
    if (this.stopped) return;
    this.roundRunning = true;
    this.rerun = false;
    try {
      const free = this.o.maxInFlight - this.inFlight - Math.max(0, this.unrecorded - this.o.maxInFlight);
      const limit = Math.min(free, CLAIM_PAGE);
      let claimed: Claimed[] = [];
      let capped = 0;
      let more = false;
      let lost = 0;
      if (free > 0) {
        const now = Date.now();
        const saturated = [...this.perWebhook].filter(([, n]) => n >= this.o.maxInFlightPerWebhook).map(([w]) => w);
        // Past saturated webhooks' due backlog, a deep scan is O(backlog): run one while deep scans
        // find other webhooks' work there, else once per SATURATED_RECHECK_MS; other rounds look
        // only SCAN_WINDOW due executions deep (queue.ts).
        const deep = saturated.length > 0 && (this.deepFound || now - this.deepAt >= SATURATED_RECHECK_MS);
        ({ claimed, capped, more, lost } = await claim(this.o.db, {
          now,
          limit,
          saturated,
          deep,
          freeSlots: (w) => this.o.maxInFlightPerWebhook - (this.perWebhook.get(w) ?? 0),
          // A claim outlives the attempt's deadline by a margin, so only a dead process loses it.
          leaseMs: this.o.timeoutMs + this.o.leaseMarginMs,
        }));
        if (deep) {
          this.deepAt = now;
          this.deepFound = claimed.length > 0;
        }
        if (saturated.length > 0) {
          this.pastAt = now;
          this.pastFound = claimed.length > 0;
        }
        for (const c of claimed) this.launch(c);
      }
      // Claim again at once when the round took a full page; when a webhook reached its cap and
      // more is due (the capped webhook is left out of the next scan, so work behind it gets its
      // turn; see PAST_RECHECK_MS); or when another worker took some of what was chosen
      // (scale-out: the rest of the due work is still there).
      const lookPast = capped > 0 && more && (this.pastFound || Date.now() - this.pastAt >= PAST_RECHECK_MS);
      if (claimed.length > 0 && (claimed.length >= limit || lookPast || lost > 0)) this.rerun = true;
      if (!this.rerun) {
        // Everything chosen was taken: another worker is claiming it right now. Look again shortly
        // rather than at once, so rows held longer (a webhook being deleted) are not spun on.
        if (lost > 0) this.arm(Date.now() + LOST_RETRY_MS);
        // Due work was left at the caps: finishing attempts wake us; look past the capped webhooks
        // again soon for other webhooks' work (no need to ask the store when the next execution is
        // due: now).
        else if (capped > 0) this.arm(Date.now() + (claimed.length > 0 ? PAST_RECHECK_MS : SATURATED_RECHECK_MS));
        else await this.scheduleNext(free <= 0);
      }
      this.lastRoundAt = Date.now();
    } catch (err) {
      this.o.log.error({ err }, 'dispatcher round failed; retrying soon');
      this.arm(Date.now() + 1_000);
    } finally {
      this.roundRunning = false;
      if (this.rerun && !this.stopped) this.wake();
    }
  }

  /**
   * Arms the timer for the next due execution, or the safety net. `saturated`: no slot was free, so
   * due work was left; finishing attempts wake the dispatcher, so no timer is needed for it.
   */
  private async scheduleNext(saturated: boolean) {
    const now = Date.now();
    const at = await nextDueAt(this.o.db);
    if (at === null) this.arm(now + SAFETY_NET_MS);
    // Work left at the caps: finishing attempts wake us; look again soon for other webhooks' work.
    else if (at <= now && saturated) this.arm(now + SATURATED_RECHECK_MS);
    else this.arm(Math.min(Math.max(at, now), now + SAFETY_NET_MS)); // came due during the round: at once
  }

  private arm(at: number) {
    if (this.stopped) return;
    if (this.timer && at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.wake();
    }, Math.max(0, at - Date.now()));
    this.timer.unref?.();
  }

  private bodyFor(c: Claimed, cf?: ContentfulAttempt): string {
    // A Contentful transformation makes the body the webhook's own (its template, URL, method).
    const own = cf?.delivery.body.transformation ? `:${c.webhook_uid}:${c.webhook.version}` : '';
    const key = `${c.event.seq}:${c.webhook.format}:${c.webhook.concise_payload ? 1 : 0}${own}`;
    let body = this.bodies.get(key);
    if (body === undefined) {
      body = payloadBody(c.event, { concise: c.webhook.concise_payload, contentful: cf?.delivery.body }, this.o.maxRenderedBody);
      if (this.bodies.size >= BODY_CACHE_SIZE) this.bodies.delete(this.bodies.keys().next().value!);
      this.bodies.set(key, body);
    }
    return body;
  }

  /**
   * The body, or the failed attempt's record when it cannot be sent: a transformation that renders
   * past the limit is `blocked` (Herald refused to send it), retried as any failure, so a fixed
   * template is sent on the next attempt.
   */
  private renderedBody(c: Claimed, cf: ContentfulAttempt | undefined, now: number): string | AttemptRecord {
    try {
      return this.bodyFor(c, cf);
    } catch (err) {
      if (!(err instanceof RenderTooLarge)) throw err;
      return { outcome: 'blocked', status_code: null, retry_after_ms: null, reason: err.message, response: null, started_at: now, duration_ms: 0 };
    }
  }

  private launch(c: Claimed) {
    this.inFlight++;
    this.flying.add(c.uid);
    this.perWebhook.set(c.webhook_uid, (this.perWebhook.get(c.webhook_uid) ?? 0) + 1);
    void this.attempt(c);
  }

  private async attempt(c: Claimed) {
    let finished: Finished;
    try {
      // Contentful dialect: the space's signing secret, retry policy and master locale (src/contentful/delivery.ts).
      const cf = c.webhook.format === 'contentful' ? await contentfulDelivery(this.o.db, c.event, c.webhook, this.o.retryDelaysMs) : undefined;
      const now = Date.now();
      const body = this.renderedBody(c, cf, now);
      if (typeof body !== 'string') {
        finished = { claimed: c, record: body, request: null };
        this.o.log.warn({ deliveryId: c.uid, webhook: c.webhook_uid, reason: body.reason }, 'attempt not sent');
      } else {
        const req = buildRequest(c.webhook, c.uid, body, { seq: c.event.seq, attempt: c.attempts + 1, event: `${c.event.module}.${c.event.action}` }, now, cf?.delivery);
        const record = await send(this.o.agent, req, this.o.timeoutMs);
        finished = { claimed: c, record, request: req.logged };
        this.o.log.debug({ deliveryId: c.uid, webhook: c.webhook_uid, outcome: record.outcome, status: record.status_code, ms: record.duration_ms }, 'attempt');
      }
      if (cf?.retryDelaysMs) this.schedules.set(finished, cf.retryDelaysMs);
    } catch (err) {
      // buildRequest/send do not throw; this guards against a bug losing the slot.
      this.o.log.error({ err, deliveryId: c.uid }, 'attempt crashed');
      finished = {
        claimed: c,
        record: { outcome: 'network', status_code: null, retry_after_ms: null, reason: 'internal error', response: null, started_at: Date.now(), duration_ms: 0 },
        request: null,
      };
    }
    // The slot is free once the HTTP exchange is over; the outcome is written by the next flush.
    // The execution stays claimed (lease in the future) until then, so it cannot be claimed twice.
    this.inFlight--;
    const n = (this.perWebhook.get(c.webhook_uid) ?? 1) - 1;
    if (n <= 0) this.perWebhook.delete(c.webhook_uid);
    else this.perWebhook.set(c.webhook_uid, n);
    if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    // Finished after stop() gave up on it: not recorded; stop()'s caller releases it.
    if (this.closed) return;
    this.flying.delete(c.uid);
    this.buffer.push(finished);
    this.unrecorded++;
    // Freed slots are claimed together a moment later rather than one claim per finished attempt.
    this.wakeSoon();
    if (this.buffer.length >= FLUSH_BATCH && this.flushBackoffMs === 0) void this.flush();
    else if (!this.flushTimer) this.flushTimer = setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Writes buffered outcomes in one transaction. */
  private flush(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    const batch = this.buffer;
    if (batch.length === 0) return this.flushing;
    this.buffer = [];
    this.flushing = this.flushing.then(async () => {
      /** Outcomes to write again: a write that failed for a passing reason. */
      const again: Finished[] = [];
      try {
        // One transaction per retry schedule: the engine's and (Contentful dialect) each space
        // retry policy's; almost always just one.
        const bySchedule = new Map<string, { delays: readonly number[]; items: Finished[] }>();
        for (const f of batch) {
          const delays = this.schedules.get(f) ?? this.o.retryDelaysMs;
          const key = delays.join(',');
          if (!bySchedule.has(key)) bySchedule.set(key, { delays, items: [] });
          bySchedule.get(key)!.items.push(f);
        }
        let promoted = 0;
        for (const { delays, items } of bySchedule.values()) {
          let effects;
          try {
            effects = await complete(this.o.db, items, {
              now: Date.now(),
              retryDelaysMs: delays,
              breakerThreshold: this.o.breakerThreshold,
              autoSaveWindowMs: this.o.autoSaveWindowMs,
            });
          } catch (err) {
            // While the claims hold, write them again later: nobody else may send these yet. Past
            // a lease (or stopping), give up: the claim expires and the execution is sent again
            // (at least once) rather than marked done without its outcome on disk.
            const leaseEnd = Math.min(...items.map((f) => f.claimed.leaseUntil));
            const transient = err instanceof HeraldError && err.code === 'unavailable';
            const backoff = Math.min(FLUSH_RETRY_MAX_MS, Math.max(FLUSH_RETRY_MS, this.flushBackoffMs * 2));
            if (transient && !this.stopped && Date.now() + backoff < leaseEnd) {
              this.o.log.warn({ err, count: items.length, retryInMs: backoff }, 'recording attempts failed; trying again');
              this.flushBackoffMs = backoff;
              again.push(...items);
            } else {
              this.o.log.error({ err, count: items.length, deliveryIds: items.map((f) => f.claimed.uid) }, 'recording attempts failed');
            }
            continue;
          }
          if (effects.disabledStacks.size) this.o.onDisabled(effects.disabledStacks);
          if (effects.stale.length) {
            this.o.log.warn({ deliveryIds: effects.stale }, 'attempts logged after their claim ended; the executions were left to their new claim');
          }
          promoted += effects.promoted;
          if (effects.retryAt !== null) this.arm(effects.retryAt);
          const endedBy = new Map(effects.ended.map((e) => [e.uid, e.state]));
          for (const f of items) {
            f.ended = endedBy.get(f.claimed.uid) ?? null;
            this.o.onAttempt?.(f);
          }
        }
        // A promoted execution is due: claim it. (Freed slots already woke the dispatcher when
        // their attempts ended; waking for every flush made a saturated worker scan for nothing.)
        if (promoted > 0) this.wake();
      } catch (err) {
        // A bug after the write (a callback): logged, and the flush chain goes on.
        this.o.log.error({ err }, 'after recording attempts');
      } finally {
        const heldBack = this.unrecorded > this.o.maxInFlight;
        this.unrecorded -= batch.length - again.length;
        if (again.length === 0) this.flushBackoffMs = 0;
        else {
          // In front of what finished meanwhile, written together after the back-off.
          this.buffer = [...again, ...this.buffer];
          if (this.flushTimer) clearTimeout(this.flushTimer);
          this.flushTimer = setTimeout(() => void this.flush(), this.flushBackoffMs);
        }
        // Claims were held back until outcomes were recorded (backpressure, see `unrecorded`).
        if (heldBack && this.unrecorded <= this.o.maxInFlight) this.wake();
      }
    });
    return this.flushing;
  }

  /**
   * Stops claiming, waits up to `graceMs` for in-flight attempts and records their outcomes.
   * Returns the executions whose attempts are still running: their outcomes will not be recorded;
   * the caller cuts them and releases their claims (else the claims expire and they are redone).
   */
  async stop(graceMs = 10_000): Promise<string[]> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.soon) clearTimeout(this.soon);
    this.soon = null;
    if (this.inFlight > 0) {
      await Promise.race([
        new Promise<void>((r) => this.idleWaiters.push(r)),
        new Promise<void>((r) => setTimeout(r, graceMs).unref()),
      ]);
    }
    this.closed = true;
    await this.flush();
    return [...this.flying];
  }
}
