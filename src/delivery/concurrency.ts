import type { AttemptResult } from './policy.ts';

/**
 * Adaptive concurrency per webhook: how many attempts one webhook may have in flight, learned
 * from its receiver's answers the way TCP congestion control learns a window (and Netflix's
 * concurrency-limits a server's limit), instead of a fixed cap.
 *
 * - Slow start: from `initial`, each success while the webhook used at least half its limit adds
 *   one, until the first decrease. Then congestion avoidance: each such success adds 1/limit
 *   (about one per round of `limit` attempts). A webhook that never fills half its limit is not
 *   limited by it, and its limit does not grow.
 * - Overload (a timeout, 429, 503, 502, 504, a refused or broken connection) halves the limit;
 *   another 5xx takes a tenth off; a latency above `latencyTolerance` x the receiver's baseline
 *   (plus `latencySlackMs`, so jitter of a fast receiver is not read as queueing) takes a tenth
 *   off. At most one decrease per `cooldownMs` (a burst of failures from one overload is one
 *   signal, as TCP reacts once per window).
 * - The baseline is the lowest latency seen, drifting up by 1% of the gap per sample, so a receiver
 *   whose real latency grew (a slower page build) is not punished forever.
 * - Latency is the receiver's, as far as this process can tell: an attempt's duration counts only
 *   as long as this process's event loop sat idle during it (`idleMs`). While the loop is busy
 *   (other attempts, claim rounds, outcome writes, garbage collection) an answer that arrived waits
 *   unread, and that wait is this process's, not the receiver's. Counted as the receiver's, a busy
 *   worker took a tenth off its limit every few hundred ms against an instant receiver, claimed in
 *   smaller rounds, and spent more CPU per delivery (its own and PostgreSQL's) at a lower rate.
 * - Between 1 and `max` (HERALD_MAX_IN_FLIGHT_PER_WEBHOOK).
 *
 * Pure state and arithmetic: the dispatcher feeds it each finished attempt and reads `limit`.
 */
export interface LimitSettings {
  /** Upper bound (the configured per-webhook maximum). */
  max: number;
  /** Where a webhook starts. Default min(16, max): the fixed cap Herald had before. */
  initial?: number;
  /** A latency above this multiple of the baseline means the receiver is queueing. Default 2. */
  latencyTolerance?: number;
  /** Added to the tolerated latency, ms. Default 10. */
  latencySlackMs?: number;
  /** Least time between two decreases, ms. Default 100. */
  cooldownMs?: number;
  /**
   * When this webhook's limit was made, on the clock latencyAt() is read with: the ms this
   * process's event loop sat idle since it started (the `idleMs` clock). Default 0.
   */
  since?: number;
}

export interface Observation extends Pick<AttemptResult, 'outcome' | 'status_code'> {
  /** How long the attempt took, ms. */
  duration_ms: number;
  /** The webhook's attempts in flight when this one started (this one included). */
  inFlight: number;
  /**
   * How long this process's event loop sat idle while the attempt was out, ms; absent: unknown
   * (the whole duration counts). The receiver took at least this long: the rest of the duration
   * the answer may have waited for this process.
   */
  idleMs?: number;
}

/** Outcomes that say the receiver (or the path to it) cannot take more now. */
const OVERLOAD_STATUS = new Set([429, 502, 503, 504]);

export class AdaptiveLimit {
  private value: number;
  private slowStart = true;
  private baselineMs: number | null = null;
  private lastDecreaseAt = -Infinity;
  private latencyMs: number | null = null;
  private readonly since: number;
  readonly max: number;
  private readonly tolerance: number;
  private readonly slackMs: number;
  private readonly cooldownMs: number;

  constructor(s: LimitSettings) {
    this.max = Math.max(1, Math.floor(s.max));
    this.value = Math.min(this.max, Math.max(1, s.initial ?? 16));
    this.tolerance = s.latencyTolerance ?? 2;
    this.slackMs = s.latencySlackMs ?? 10;
    this.cooldownMs = s.cooldownMs ?? 100;
    this.since = s.since ?? 0;
  }

  /** Attempts this webhook may have in flight now (an integer from 1 to max). */
  get limit(): number {
    return Math.max(1, Math.min(this.max, Math.floor(this.value)));
  }

  /** The lowest recent latency, ms (null before the first answer). */
  get baseline(): number | null {
    return this.baselineMs;
  }

  /**
   * The receiver's recent latency, ms: a moving average (weight 1/8 per sample, as TCP's smoothed
   * round-trip time) of each sent attempt's duration, counted as far as this process's loop sat
   * idle (`idleMs`, as the queueing check reads it), timeouts and broken connections included.
   * Null before the first attempt that reached the network. Read by listDepth().
   */
  get latency(): number | null {
    return this.latencyMs;
  }

  /**
   * The latency to expect (ms), `idleNow` being the loop's idle ms now (the `since` clock):
   * `latency`, or before any attempt finished, the loop's idle time since this limit was made (its
   * first attempt started about then and has not answered: the receiver took at least that long,
   * counted as `latency` is, without this process's busy time). A new webhook of a fast receiver
   * lists deep from its first transaction; one whose first answer is slow lists less with each ms
   * it is awaited. Counted in wall time, a busy process's first answer read ~100 ms late cut the
   * bench's fan-out 10 listed share to 94-95%.
   */
  latencyAt(idleNow: number): number {
    return this.latencyMs ?? Math.max(0, idleNow - this.since);
  }

  /** Learns from one finished attempt at time `now` (ms). */
  observe(o: Observation, now: number): void {
    // Refused before sending (blocked address, DNS): no time at the receiver to learn from.
    if (o.outcome !== 'blocked' && o.outcome !== 'dns') {
      const d = Math.max(0, o.duration_ms);
      const ms = o.idleMs === undefined ? d : Math.max(0, Math.min(d, o.idleMs));
      this.latencyMs = this.latencyMs === null ? ms : this.latencyMs + (ms - this.latencyMs) / 8;
    }
    const overload =
      o.outcome === 'timeout' || o.outcome === 'refused' || o.outcome === 'network' || (o.status_code !== null && OVERLOAD_STATUS.has(o.status_code));
    if (overload) return this.decrease(0.5, now);
    if (o.status_code !== null && o.status_code >= 500) return this.decrease(0.9, now);
    // Refused before sending (blocked, DNS): says nothing about the receiver's capacity.
    if (o.status_code === null) return;

    // An answer: its latency tells whether the receiver is queueing. The receiver took at least
    // the part of the duration this process was idle for (idleMs) and at most the whole duration:
    // the check uses the least (a busy loop is not read as queueing), the baseline the most (a
    // sample taken while the loop was busy would otherwise set the baseline far under the
    // receiver's real latency, and every later answer of a steady 20 ms receiver would look like
    // queueing: the limit then shrank against a healthy receiver).
    const duration = Math.max(0, o.duration_ms);
    const ms = o.idleMs === undefined ? duration : Math.max(0, Math.min(duration, o.idleMs));
    if (this.baselineMs === null || duration < this.baselineMs) this.baselineMs = duration;
    else this.baselineMs += (duration - this.baselineMs) * 0.01;
    if (ms > this.baselineMs * this.tolerance + this.slackMs) return this.decrease(0.9, now);

    // Grow only when the limit is what holds the webhook back.
    if (o.inFlight * 2 < this.limit) return;
    this.value = Math.min(this.max, this.value + (this.slowStart ? 1 : 1 / this.value));
  }

  private decrease(factor: number, now: number) {
    this.slowStart = false;
    if (now - this.lastDecreaseAt < this.cooldownMs) return;
    this.lastDecreaseAt = now;
    this.value = Math.max(1, this.value * factor);
  }
}

/**
 * How far ahead of its attempts a webhook's executions may be leased (queue/prelease.ts), ms of
 * expected wait: an execution listed is shown `in_flight` ("Sending…") until its attempt starts, so
 * a webhook lists only what it is expected to start within this horizon. At a slow receiver's
 * pace that is about its limit; at a fast one's, the most (LIST_DEPTH_MAX).
 */
export const LIST_HORIZON_MS = 1_000;
/**
 * The deepest a webhook may list, in multiples of its limit: deep enough that recording in batches
 * (200 events a transaction in the bench) lists a busy fast webhook's executions (bench fan-out 10,
 * 50k executions recorded in ~1.5 s: at 8x ~8% went through the list, at 64x 35-50%, at 256x all,
 * with PRELEASE_CAP 65,536; session 16).
 */
export const LIST_DEPTH_MAX = 256;

/**
 * The most executions one webhook may have waiting (in flight or listed) in this process: those
 * expected to start within LIST_HORIZON_MS. With `limit` attempts out at once, each taking
 * `latencyMs`, the n-th waiting one starts after about (n / limit - 1) x latencyMs, so
 * limit x (1 + horizon / latency), between limit (what can start now) and limit x LIST_DEPTH_MAX.
 * Latency unknown: limit, until the receiver's pace is seen (the dispatcher passes a lower bound
 * before the first answer, AdaptiveLimit.latencyAt()).
 */
export function listDepth(limit: number, latencyMs: number | null, horizonMs = LIST_HORIZON_MS): number {
  const max = limit * LIST_DEPTH_MAX;
  if (latencyMs === null) return limit;
  if (latencyMs <= 0) return max;
  return Math.min(max, Math.max(limit, Math.floor(limit * (1 + horizonMs / latencyMs))));
}

/**
 * The share of the global cap (HERALD_MAX_IN_FLIGHT) kept for webhooks that hold few slots: 1/8 of
 * it. Without it, webhooks whose receivers accept connections and never answer could hold every
 * global slot until their deadlines (30 s): 16 of them at the starting limit of 16 fill 256, and
 * every other stack's webhooks waited (measured, session 22: 0 of 5 deliveries in 25 s). Each
 * webhook's own limit alone cannot prevent it: many webhooks each within their limits.
 */
export const RESERVE_SHARE = 8;

/** How a claim round may use the free global slots: see globalShare(). */
export interface GlobalShare {
  /** Executions the round may claim in all. */
  slots: number;
  /** The most slots any one webhook may hold (in flight, and claimed by this round) after it. */
  heldAtMost: number;
}

/**
 * What a claim round may take of `free` global slots (of `maxInFlight`): while more than the
 * reserve (maxInFlight / RESERVE_SHARE) is free, what is above it, for any webhook within its own
 * limit; once only the reserve is free, it goes to webhooks holding fewer than reserve /
 * RESERVE_SHARE slots (at least 1), each up to that many. Webhooks stuck on dead receivers hold
 * more than that, so another stack's webhook still gets its attempts out at once (a few at a time),
 * instead of waiting for the dead ones' deadlines. Defaults: 256 in all, 32 kept, 4 each. Below 8
 * in all nothing is kept (a cap that small is a test's or a deliberate trickle).
 * A single busy webhook can so hold at most maxInFlight minus the reserve (224 of 256).
 */
export function globalShare(maxInFlight: number, free: number): GlobalShare {
  const reserve = Math.floor(maxInFlight / RESERVE_SHARE);
  if (free > reserve) return { slots: free - reserve, heldAtMost: Infinity };
  return { slots: Math.max(0, free), heldAtMost: Math.max(1, Math.floor(reserve / RESERVE_SHARE)) };
}
