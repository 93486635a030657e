import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Db } from '../store/db.ts';
import { HeraldError } from '../errors.ts';
import { BodyTooLarge, prepareDelivery, type DeliveryFormat, type Prepared, type PreparedDelivery } from './formats/index.ts';
import { AdaptiveLimit, globalShare, listDepth } from './concurrency.ts';
import { OutcomeWriter } from './outcome-writer.ts';
import type { Operational } from './operational.ts';
import { claim, nextDueAt, type Claimed, type Finished } from './queue/index.ts';
import { decodedEvents } from './queue/decoded.ts';
import { claimListed } from './queue/lease.ts';
import { preleased, releaseStale, type Preleased } from './queue/prelease.ts';
import { buildRequest, encodedBody, type EncodedBody, type OutgoingRequest } from './request.ts';
import type { AttemptRecord } from './send.ts';
import type { Transport } from './transports/index.ts';
import { senderIdleMs } from './transports/transport.ts';

/**
 * The dispatcher: claims due executions in batches and sends them concurrently within the global
 * and per-webhook caps; the outcome writer (outcome-writer.ts) records their outcomes in batches.
 *
 * It never polls per delivery: `wake()` is called when executions are committed (fan-out, manual
 * retry, re-enable) and when attempts finish; a timer is set for the next scheduled retry; a slow
 * safety-net timer covers anything else (another process's writes, clock changes).
 */
export interface DispatcherOptions {
  db: Db;
  /** Carries each attempt to its destination, whatever its kind (transports/). */
  transport: Transport;
  log: Logger;
  timeoutMs: number;
  /** How long a claim outlives the attempt's deadline, ms (config.leaseMarginMs). */
  leaseMarginMs: number;
  retryDelaysMs: readonly number[];
  breakerThreshold: number;
  autoSaveWindowMs: number;
  maxInFlight: number;
  /** The most attempts one webhook may have in flight; its adaptive limit moves below it (concurrency.ts). */
  maxInFlightPerWebhook: number;
  /** Largest body a Contentful transformation may render, bytes (config.maxRenderedBody). */
  maxRenderedBody: number;
  /** Operational events recorded with outcomes (delivery/operational.ts); absent: none. */
  operational?: Operational;
  /** First probe of a webhook the breaker disabled, ms (config.probeDelayMs). */
  probeDelayMs?: number;
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
 * Executions one claim round takes at most. A round reads this many due executions (plus a margin)
 * oldest first, so a round's cost follows what it can take, not the free slots: with one busy
 * webhook at its cap, reading a page of 256 to take the few slots it freed was most of the
 * claim's cost. A full page claims again at once.
 */
const CLAIM_PAGE = 64;
/**
 * How long this process's event loop has sat idle since it started, ms (libuv's count; ~0.15 µs a
 * call; the `idle` of eventLoopUtilization(), without the object that makes twice per attempt).
 * Its growth over an attempt is the part of the attempt's duration that cannot have been this
 * process's own delay (concurrency.ts `idleMs`).
 */
const loopIdleMs = () => performance.nodeTiming.idleTime;
/**
 * What the adaptive limit reads of an attempt. A literal, not `{ ...record, inFlight, idleMs }`:
 * V8 (Node 20) takes 3-6 us for a spread followed by keys the spread object lacks.
 */
const observation = (record: AttemptRecord, inFlight: number, idleBefore: number) => ({
  outcome: record.outcome,
  status_code: record.status_code,
  duration_ms: record.duration_ms,
  inFlight,
  // Sent from a sender thread: that thread's delays are this process's too (transports/transport.ts).
  idleMs: Math.min(loopIdleMs() - idleBefore, senderIdleMs(record)),
});
/**
 * A finished attempt with every field it will have: complete() sets `attemptUid` and `ended` later,
 * and added to a literal of three they needed a second block of properties (~25 more bytes per
 * attempt) and gave its outcomes two shapes.
 */
const finishedAttempt = (claimed: Claimed, record: AttemptRecord, request: unknown): Finished => ({ claimed, record, request, attemptUid: undefined, ended: undefined });

/** `module.action` (the x-herald-event header) by module and action: each made once, not per attempt. */
const eventNames = new Map<string, Map<string, string>>();

function eventName(module: string, action: string): string {
  let byAction = eventNames.get(module);
  if (!byAction) eventNames.set(module, (byAction = new Map()));
  let name = byAction.get(action);
  if (name === undefined) byAction.set(action, (name = `${module}.${action}`));
  return name;
}

/**
 * Payload bodies kept in memory (by event and format) with their bytes, so a fan-out's claims
 * reuse both (see sharedSeqs): with the bytes kept apart (request.ts, one entry), an event's body
 * was encoded 4.6 times at fan-out 10 in the bench, claims of several events interleaving.
 */
const BODY_CACHE_SIZE = 2_000;

/**
 * The events of a claim round (`claimed`, in due order) whose body other claims may still want:
 * those with several executions in the round (a fan-out), and the round's last, whose other
 * executions may be due right behind it. Any other body is its one claim's: at fan-out 1 every
 * body was kept, and 2,000 of them, each living through the next 1,999 deliveries, reached V8's
 * old generation (with lease.ts's rule for events read back, bench fan-out 1 line: 4.7-4.8 -> 0.3-1.2
 * KB promoted per delivery, 7 -> 1-3 mark-compacts, session 11). A retry renders its body again.
 * The round's last only while its event is kept (`events`, decoded.ts): an event kept as recorded
 * is forgotten once all its executions were claimed, and so is its body.
 */
export function sharedSeqs(claimed: ReadonlyArray<{ event: { seq: number } }>, events?: { holds(seq: number): boolean }): Set<number> {
  const shared = new Set<number>();
  if (claimed.length === 0) return shared;
  const seen = new Set<number>();
  for (const c of claimed) {
    if (seen.has(c.event.seq)) shared.add(c.event.seq);
    else seen.add(c.event.seq);
  }
  const last = claimed[claimed.length - 1].event.seq;
  if (!events || events.holds(last)) shared.add(last);
  return shared;
}

export class DeliveryDispatcher {
  private inFlight = 0;
  private perWebhook = new Map<string, number>();
  /** Each webhook's adaptive concurrency limit in this process (concurrency.ts). */
  private limits = new Map<string, AdaptiveLimit>();
  private roundScheduled = false;
  private roundRunning = false;
  private rerun = false;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private stopped = true;
  /** Set once stop() gave up waiting: later outcomes are not recorded (their claims are released). */
  private closed = false;
  /**
   * Claims whose attempt (or batch's call) is running now, each in the slot launch() gave it
   * (null: free; `vacant` lists those). Not a Set of uids: its table grew and shrank with the
   * attempts in flight, rehashing as it went (~0.5% of fan-out 10's main thread).
   */
  private flying: Array<Claimed | null> = [];
  private vacant: number[] = [];
  /** Writes outcomes in batches (group commit): outcome-writer.ts. */
  private writer: OutcomeWriter;
  private bodies = new Map<string, EncodedBody>();
  /**
   * The keys of `bodies` in the order they were kept, in a ring of BODY_CACHE_SIZE: the oldest is
   * at `bodyNext` once the ring is full, and goes when a new body is kept. Evicting with
   * `bodies.keys().next()` walked past every entry deleted since the Map's last rehash (a Map
   * leaves deleted entries in place): at fan-out 10, where every event's body is kept, ~0.5 us per
   * body kept (~0.7 -> 0.2-0.4 us per insert, 2,000 bodies, node 20).
   */
  private bodyKeys: string[] = [];
  /** Each kept key's event seq, at the key's place in the ring. */
  private bodySeqs: number[] = [];
  private bodyNext = 0;
  /**
   * How many bodies `bodies` keeps of each event, by seq: a claim whose event has none kept, and
   * whose body is not to be kept (fan-out 1's usual claim), is encoded without making its key, a
   * template of ~4 parts that Map.get then flattened and hashed (bench fan-out 1: ~0.4 us and
   * ~0.1 KB per delivery).
   */
  private keptSeqs = new Map<number, number>();
  /** The last body bodyFor gave, and the event, format and body key it was for. */
  private lastEvent: Claimed['event'] | null = null;
  private lastFormat: DeliveryFormat | null = null;
  private lastBodyKey = '';
  private lastBody: EncodedBody = encodedBody('');
  /** The last claim round's events whose bodies are kept (sharedSeqs). */
  private shared = new Set<number>();
  private idleWaiters: Array<() => void> = [];
  /** When the last claim round completed (ms), or the dispatcher started; for readiness. */
  private lastRoundAt = 0;
  /** When the last deep scan past saturated webhooks ran (ms), and whether it claimed anything. */
  private deepAt = 0;
  private deepFound = false;
  /** When the last round that left saturated webhooks out ran (ms), and whether it claimed anything. */
  private pastAt = 0;
  private pastFound = false;
  /**
   * This store's executions leased by their INSERT (queue/prelease.ts), handed out by rounds before
   * (or, see listFilled, after) the scan of the due index; open while this dispatcher runs.
   */
  private list: Preleased;
  /**
   * The next round scans the due index. Every wake() asks for it (something may have come due in
   * the store); a round woken only by newly listed executions, or by freed slots while the last
   * scan left nothing due behind, hands out the list alone: the scan would find nothing.
   */
  private scanWanted = true;
  /** The last scan left due work behind (webhooks at their caps, a full page, lost or paced rows). */
  private leftBehind = false;
  /** The last round's list filled its page: the next scan goes first (due retries are not starved). */
  private listFilled = false;

  /** What formats read of the engine's settings (prepareDelivery), made once. */
  private readonly engine: { retryDelaysMs: readonly number[] };

  constructor(private o: DispatcherOptions) {
    this.engine = { retryDelaysMs: o.retryDelaysMs };
    this.list = preleased(o.db);
    this.writer = new OutcomeWriter({
      db: o.db,
      log: o.log,
      retryDelaysMs: o.retryDelaysMs,
      breakerThreshold: o.breakerThreshold,
      autoSaveWindowMs: o.autoSaveWindowMs,
      operational: o.operational,
      probeDelayMs: o.probeDelayMs,
      maxUnrecorded: o.maxInFlight,
      stopping: () => this.stopped,
      onRecorded: (effects, items) => {
        if (effects.disabledStacks.size) this.o.onDisabled(effects.disabledStacks);
        if (effects.retryAt !== null) this.arm(effects.retryAt);
        for (const f of items) this.o.onAttempt?.(f);
        // A promoted execution is due: claim it. (Freed slots already woke the dispatcher when
        // their attempts ended; waking for every flush made a saturated worker scan for nothing.)
        if (effects.promoted > 0) this.wake();
      },
      // Claims were held back until outcomes were recorded (backpressure, see OutcomeWriter.unrecorded).
      onCaughtUp: () => this.wake(),
      // Given-up claims (SQLite) are due at their lease end: a round then takes them over.
      onExpired: (at) => this.arm(at),
    });
  }

  start() {
    this.stopped = false;
    this.closed = false;
    this.lastRoundAt = Date.now();
    this.list.open({
      leaseMs: this.leaseMs(),
      room: (w, listed) => this.room(w, listed),
      wake: () => this.schedule(),
    });
    this.wake();
  }

  /** How long a claim holds, ms: past the attempt's deadline by a margin, so only a dead process loses it. */
  private leaseMs() {
    return this.o.timeoutMs + this.o.leaseMarginMs;
  }

  /**
   * Whether one more execution of `webhookUid` may be written leased for this dispatcher (see
   * queue/prelease.ts): while it runs and its outcomes keep up, as many waiting (in flight or
   * listed) as the webhook is expected to start within LIST_HORIZON_MS at its limit and its
   * receiver's latency (listDepth(); before its first answer, the loop's idle time since its
   * first use, AdaptiveLimit.latencyAt()). A slow webhook lists about its limit, so what the log shows
   * in_flight is about to be sent; what it lists waits for its own slots only (take()).
   */
  private room(webhookUid: string, listed: number): boolean {
    if (this.stopped || this.writer.unrecorded > this.o.maxInFlight) return false;
    const l = this.limitOf(webhookUid);
    return (this.perWebhook.get(webhookUid) ?? 0) + listed < listDepth(l.limit, l.latencyAt(loopIdleMs()));
  }

  /** Read-only state for GET /readyz (see src/ops/readiness.ts). */
  status(): DispatcherStatus {
    return { running: !this.stopped, inFlight: this.inFlight, freeSlots: this.o.maxInFlight - this.inFlight, lastRoundAt: this.lastRoundAt };
  }

  /** Something may be due: run a claim round soon (coalesced: many wakes, one round). */
  wake() {
    this.scanWanted = true;
    this.schedule();
  }

  /** Runs a round soon; it scans the due index only when asked (scanWanted). */
  private schedule() {
    if (this.stopped) return;
    if (this.roundRunning) {
      this.rerun = true;
      return;
    }
    if (this.roundScheduled) return;
    this.roundScheduled = true;
    setImmediate(() => void this.round());
  }

  /**
   * wakeSoon's timer, made once and re-armed (refresh()) each time: a new timer and callback per
   * millisecond of delivery was ~100 bytes of garbage per delivery at fan-out 10. `soonArmed`: set
   * until it fires.
   */
  private soon: NodeJS.Timeout | null = null;
  private soonArmed = false;
  /** wake(), after CLAIM_GATHER_MS, coalescing every call meanwhile into one. */
  private wakeSoon() {
    if (this.soonArmed || this.stopped) return;
    this.soonArmed = true;
    if (this.soon) {
      this.soon.refresh();
      return;
    }
    this.soon = setTimeout(() => {
      this.soonArmed = false;
      // Freed slots: the list's next, and the due index's when the last scan left some behind.
      if (this.leftBehind) this.scanWanted = true;
      this.schedule();
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
      const free = this.o.maxInFlight - this.inFlight - Math.max(0, this.writer.unrecorded - this.o.maxInFlight);
      // Above the reserve, any webhook within its limit; the reserve, only webhooks holding few
      // (concurrency.ts globalShare: dead receivers of one stack cannot hold every slot).
      const share = globalShare(this.o.maxInFlight, free);
      const limit = Math.min(share.slots, CLAIM_PAGE);
      // Taken now: a wake() during this round asks the next one to scan again.
      const scan = this.scanWanted;
      this.scanWanted = false;
      let claimed: Claimed[] = [];
      let fromList = 0;
      let scanned = false;
      let capped = 0;
      let more = false;
      let lost = 0;
      let paced = 0;
      if (limit > 0) {
        const now = Date.now();
        // The round's claims start together at its end (launchAll, so their bodies' sharing is
        // decided over the whole set); until then they count against their webhooks' free slots
        // (freeSlots, through `taken`). Rounds do not overlap (roundRunning), so one Map serves all.
        const taken = this.taken;
        taken.clear();
        this.heldAtMost = share.heldAtMost;
        const freeSlots = this.freeSlots;
        try {
          // After a round whose list filled the page, a wanted scan goes first (fairness with due
          // retries); otherwise the list goes first: its rows are leased already.
          const scanFirst = scan && this.listFilled;
          if (scanFirst) {
            // Its turn taken: the list goes first again next round.
            this.listFilled = false;
            const found = await this.scan(now, limit, freeSlots, taken);
            ({ capped, more, lost, paced } = found);
            scanned = true;
            claimed = this.take(claimed, found.claimed);
          }
          const left = limit - claimed.length;
          if (left > 0 && this.list.size > 0) {
            const listed = await this.takeListed(now, left, freeSlots);
            fromList = listed.length;
            if (!scanFirst) this.listFilled = fromList >= left;
            claimed = this.take(claimed, listed);
          } else if (!scanFirst) this.listFilled = false;
          if (scan && !scanFirst && claimed.length < limit) {
            const found = await this.scan(now, limit - claimed.length, freeSlots, taken);
            ({ capped, more, lost, paced } = found);
            scanned = true;
            claimed = this.take(claimed, found.claimed);
          }
        } finally {
          // Claimed is leased: started even when a later step of the round failed (takeListed puts
          // back what it took and could not claim).
          this.launchAll(claimed);
        }
      }
      if (scanned) this.leftBehind = capped > 0 || more || lost > 0 || paced > 0;
      else if (scan) this.scanWanted = true;
      const scanClaimed = claimed.length - fromList;
      // Claim again at once when the round took a full page; when a webhook reached its cap and
      // more is due (the capped webhook is left out of the next scan, so work behind it gets its
      // turn; see PAST_RECHECK_MS); or when another worker took some of what was chosen
      // (scale-out: the rest of the due work is still there). A wanted scan that did not run (the
      // list took the page) runs next round.
      const lookPast = capped > 0 && more && (this.pastFound || Date.now() - this.pastAt >= PAST_RECHECK_MS);
      if (claimed.length > 0 && (claimed.length >= limit || (scanClaimed > 0 && (lookPast || lost > 0)))) this.rerun = true;
      // Executions just given rate limit slots: the first may be due now, the rest arm the timer.
      if (paced > 0) this.rerun = true;
      // Again at once after a scan: the next round scans too (more due, past the caps, the paced).
      if (this.rerun && scanned) this.scanWanted = true;
      if (!this.rerun && scanned) {
        // Everything chosen was taken: another worker is claiming it right now. Look again shortly
        // rather than at once, so rows held longer (a webhook being deleted) are not spun on.
        if (lost > 0) this.arm(Date.now() + LOST_RETRY_MS);
        // Due work was left at the caps: finishing attempts wake us; look past the capped webhooks
        // again soon for other webhooks' work (no need to ask the store when the next execution is
        // due: now).
        else if (capped > 0) this.arm(Date.now() + (scanClaimed > 0 ? PAST_RECHECK_MS : SATURATED_RECHECK_MS));
        else await this.scheduleNext(free <= 0);
      } else if (!this.rerun && scan && free <= 0) await this.scheduleNext(true);
      this.lastRoundAt = Date.now();
    } catch (err) {
      this.o.log.error({ err }, 'dispatcher round failed; retrying soon');
      this.arm(Date.now() + 1_000);
    } finally {
      this.roundRunning = false;
      if (this.rerun && !this.stopped) this.schedule();
    }
  }

  /**
   * The running round's claims not started yet, per webhook (round(), take()): they count against
   * their webhooks' free slots until launchAll starts them. Cleared at each round's start.
   */
  private taken = new Map<string, number>();
  /** The running round's bound on what one webhook may hold (concurrency.ts globalShare). */
  private heldAtMost = Infinity;
  /**
   * How many more attempts of `w` the running round may start: its limit (within heldAtMost), less
   * those in flight and those the round took already. Made once: under tsx (keepNames) each
   * closure a round made was named with a defineProperty.
   */
  private readonly freeSlots = (w: string): number =>
    Math.min(this.limitOf(w).limit, this.heldAtMost) - (this.perWebhook.get(w) ?? 0) - (this.taken.get(w) ?? 0);

  /** `claimed` with `cs` (a step of the running round) after it; each counted in `taken`. */
  private take(claimed: Claimed[], cs: Claimed[]): Claimed[] {
    const taken = this.taken;
    for (const c of cs) taken.set(c.webhook_uid, (taken.get(c.webhook_uid) ?? 0) + 1);
    return claimed.length === 0 ? cs : claimed.concat(cs);
  }

  /**
   * Starts the attempts of `claimed` (a round's, in its order), their events' bodies shared as
   * sharedSeqs says over the whole set: a fan-out whose executions came from the list and from the
   * scan shares one body.
   */
  private launchAll(claimed: Claimed[]) {
    if (claimed.length === 0) return;
    this.shared = sharedSeqs(claimed, decodedEvents(this.o.db));
    for (const c of claimed) this.launch(c);
  }

  /**
   * One scan of the due index (queue/claim.ts) for up to `limit` executions. `taken`: this round's
   * claims not started yet, per webhook (in freeSlots too).
   */
  private async scan(now: number, limit: number, freeSlots: (w: string) => number, taken: ReadonlyMap<string, number>) {
    const busy = taken.size === 0 ? this.perWebhook.keys() : new Set([...this.perWebhook.keys(), ...taken.keys()]);
    const saturated = [...busy].filter((w) => freeSlots(w) <= 0);
    // Past saturated webhooks' due backlog, a deep scan is O(backlog): run one while deep scans
    // find other webhooks' work there, else once per SATURATED_RECHECK_MS; other rounds look
    // only SCAN_WINDOW due executions deep (queue.ts).
    const deep = saturated.length > 0 && (this.deepFound || now - this.deepAt >= SATURATED_RECHECK_MS);
    const found = await claim(this.o.db, { now, limit, saturated, deep, freeSlots, leaseMs: this.leaseMs() });
    if (deep) {
      this.deepAt = now;
      this.deepFound = found.claimed.length > 0;
    }
    if (saturated.length > 0) {
      this.pastAt = now;
      this.pastFound = found.claimed.length > 0;
    }
    return found;
  }

  /**
   * Up to `limit` executions from the list (queue/prelease.ts), within each webhook's free slots;
   * listed ones whose lease grew too short are made pending (due now) and a scan is asked for.
   */
  private async takeListed(now: number, limit: number, freeSlots: (w: string) => number): Promise<Claimed[]> {
    const { fresh, stale } = this.list.take(limit, freeSlots, now, this.leaseMs());
    // Out of the list, in memory only: put back should a step here fail, else their rows would wait
    // out their leases (PRELEASE_HOLD_MS and more) with nothing to send them.
    let held = stale.length === 0 ? fresh : stale.concat(fresh);
    try {
      if (stale.length > 0) {
        await releaseStale(this.o.db, stale, now);
        held = fresh;
        this.scanWanted = true;
        this.rerun = true;
      }
      return fresh.length === 0 ? [] : await claimListed(this.o.db, decodedEvents(this.o.db), fresh);
    } catch (err) {
      this.list.putBack(held, Date.now());
      throw err;
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

  private bodyFor(c: Claimed, format: DeliveryFormat, prepared: PreparedDelivery): EncodedBody {
    // A fan-out's claims of one event come one after another in a round (its due order) and share
    // the event object (lease.ts): the last body answers them without making and looking up a key.
    if (this.lastEvent === c.event && this.lastFormat === format && this.lastBodyKey === prepared.bodyKey) return this.lastBody;
    const body = this.bodyByKey(c, format, prepared);
    this.lastEvent = c.event;
    this.lastFormat = format;
    this.lastBodyKey = prepared.bodyKey;
    this.lastBody = body;
    return body;
  }

  private bodyByKey(c: Claimed, format: DeliveryFormat, prepared: PreparedDelivery): EncodedBody {
    const seq = c.event.seq;
    const kept = this.keptSeqs;
    if (!kept.has(seq) && !this.shared.has(seq)) return encodedBody(prepared.body({ maxBytes: this.o.maxRenderedBody }));
    // A debounced delivery's body also lists the seqs it folded (payload folded_seqs).
    const folded = c.event.folded_seqs?.length ? `+${c.event.folded_seqs.join(',')}` : '';
    const key = `${seq}${folded}:${format.name}:${prepared.bodyKey}`;
    let body = this.bodies.get(key);
    if (body === undefined) {
      body = encodedBody(prepared.body({ maxBytes: this.o.maxRenderedBody }));
      if (!this.shared.has(seq)) return body;
      const keys = this.bodyKeys;
      if (keys.length < BODY_CACHE_SIZE) {
        keys.push(key);
        this.bodySeqs.push(seq);
      } else {
        const at = this.bodyNext;
        this.bodies.delete(keys[at]);
        const gone = this.bodySeqs[at];
        const left = kept.get(gone)! - 1;
        if (left === 0) kept.delete(gone);
        else kept.set(gone, left);
        keys[at] = key;
        this.bodySeqs[at] = seq;
        this.bodyNext = at + 1 === BODY_CACHE_SIZE ? 0 : at + 1;
      }
      this.bodies.set(key, body);
      kept.set(seq, (kept.get(seq) ?? 0) + 1);
    }
    return body;
  }

  /**
   * The body, or the failed attempt's record when it cannot be sent: a body that renders past the
   * limit (a Contentful transformation's) is `blocked` (Herald refused to send it), retried as any
   * failure, so a fixed template is sent on the next attempt.
   */
  private renderedBody(c: Claimed, format: DeliveryFormat, prepared: PreparedDelivery, now: number): EncodedBody | AttemptRecord {
    try {
      return this.bodyFor(c, format, prepared);
    } catch (err) {
      if (!(err instanceof BodyTooLarge)) throw err;
      return { outcome: 'blocked', status_code: null, retry_after_ms: null, reason: err.message, response: null, started_at: now, duration_ms: 0 };
    }
  }

  /** The webhook's adaptive limit, made at the configured maximum's start value on first use. */
  private limitOf(webhookUid: string): AdaptiveLimit {
    let l = this.limits.get(webhookUid);
    if (!l) this.limits.set(webhookUid, (l = new AdaptiveLimit({ max: this.o.maxInFlightPerWebhook, since: loopIdleMs() })));
    return l;
  }

  /** Each webhook's current concurrency limit in this process (metrics, the stats route). */
  concurrencyLimits(): Map<string, number> {
    return new Map([...this.limits].map(([w, l]) => [w, l.limit]));
  }

  private launch(c: Claimed) {
    this.inFlight++;
    // A batch is one call (one slot, its members in flight with it: stop()).
    const at = this.vacant.length > 0 ? this.vacant.pop()! : this.flying.length;
    this.flying[at] = c;
    const n = (this.perWebhook.get(c.webhook_uid) ?? 0) + 1;
    this.perWebhook.set(c.webhook_uid, n);
    // Each ends with finish() itself: an async wrapper awaiting it was one more promise and
    // suspended frame per attempt. A batch (queue/batch.ts) is one call whose outcome is each member's.
    if (c.batch) void this.sendBatch(c, c.batch, n, at);
    else void this.sendAttempt(c, n, at);
  }

  /**
   * One attempt of a claimed execution, as its format builds it, sent; never throws. `inFlight`
   * given (the webhook's attempts in flight when this one started, itself included): launched by
   * this dispatcher, the attempt frees its slot and hands its outcome to the writer when it ends
   * (finish). Absent: the half-open probe's (probe.ts), whose outcome is only returned. `at`: its
   * slot in `flying` (launch), given with `inFlight`.
   *
   * Not an async function: its state (the promise, the suspended frame with every register of
   * the function, the await's closures) was ~0.75 KB per attempt (bench fan-out 10 heap profile,
   * the largest of the send path's own); here it is the transport's promise and one `then`.
   */
  sendAttempt(c: Claimed, inFlight?: number, at = -1): Promise<Finished> {
    let p: Prepared | Promise<Prepared>;
    try {
      // The webhook's delivery format (formats/): body, method and headers, and its retry schedule,
      // which travels with the claimed execution to complete(). Waited for only when the format
      // read something (a promise).
      p = prepareDelivery(this.o.db, c.event, c.webhook, this.engine);
    } catch (err) {
      return Promise.resolve(this.crashed(c, err, inFlight, at));
    }
    if (p instanceof Promise) return p.then((q) => this.sendPrepared(c, q, inFlight, at), (err) => this.crashed(c, err, inFlight, at));
    return this.sendPrepared(c, p, inFlight, at);
  }

  /**
   * sendAttempt's attempt once its format prepared it. The attempt's end (`ended`, which frees its
   * slot) is called outside every try: each attempt ends once.
   */
  private sendPrepared(c: Claimed, p: Prepared, inFlight: number | undefined, at: number): Promise<Finished> {
    let notSent: AttemptRecord;
    try {
      const { format, prepared } = p;
      if (prepared.retryDelaysMs) c.retryDelaysMs = prepared.retryDelaysMs;
      const now = Date.now();
      const body = this.renderedBody(c, format, prepared, now);
      if ('outcome' in body) {
        notSent = body;
        this.o.log.warn({ deliveryId: c.uid, webhook: c.webhook_uid, reason: body.reason }, 'attempt not sent');
      } else {
        const meta = { seq: c.event.seq, attempt: c.attempts + 1, event: eventName(c.event.module, c.event.action) };
        const req = buildRequest(c.webhook, c.uid, body, meta, now, p);
        const idleBefore = loopIdleMs();
        return this.o.transport.send(req, this.o.timeoutMs).then((record) => this.sent(c, req, record, inFlight, at, idleBefore), (err) => this.crashed(c, err, inFlight, at));
      }
    } catch (err) {
      return Promise.resolve(this.crashed(c, err, inFlight, at));
    }
    return Promise.resolve(this.ended(c, finishedAttempt(c, notSent, null), inFlight, at));
  }

  /** An attempt's record came: it steers the webhook's limit (launched ones), then ends. */
  private sent(c: Claimed, req: OutgoingRequest, record: AttemptRecord, inFlight: number | undefined, at: number, idleBefore: number): Finished {
    let finished: Finished;
    try {
      // The probe's attempts (no inFlight) do not steer the webhook's concurrency limit.
      if (inFlight !== undefined) this.limitOf(c.webhook_uid).observe(observation(record, inFlight, idleBefore), Date.now());
      finished = finishedAttempt(c, record, req.logged);
      if (this.o.log.isLevelEnabled('debug')) {
        this.o.log.debug({ deliveryId: c.uid, webhook: c.webhook_uid, outcome: record.outcome, status: record.status_code, ms: record.duration_ms }, 'attempt');
      }
    } catch (err) {
      return this.crashed(c, err, inFlight, at);
    }
    return this.ended(c, finished, inFlight, at);
  }

  /** A step of the attempt threw: formats, buildRequest and transports do not; this guards against a bug (or an unknown format) losing the slot. */
  private crashed(c: Claimed, err: unknown, inFlight: number | undefined, at: number): Finished {
    this.o.log.error({ err, deliveryId: c.uid }, 'attempt crashed');
    const record: AttemptRecord = { outcome: 'network', status_code: null, retry_after_ms: null, reason: 'internal error', response: null, started_at: Date.now(), duration_ms: 0 };
    return this.ended(c, finishedAttempt(c, record, null), inFlight, at);
  }

  /** The attempt's end: a launched one frees its slot and hands its outcome on (finish). */
  private ended(c: Claimed, finished: Finished, inFlight: number | undefined, at: number): Finished {
    if (inFlight !== undefined) this.finish(c, finished, at);
    return finished;
  }

  /**
   * One call for a batch (queue/batch.ts): body `{"events": [...]}`, each element the body its
   * event would have had alone (the same cached bytes), signed once with the batch's id as
   * `webhook-id`; the outcome is each member's. Batching is offered for the Contentstack format,
   * whose requests carry Herald's headers only.
   */
  private async sendBatch(c: Claimed, batch: NonNullable<Claimed['batch']>, inFlight: number, at: number): Promise<Finished[]> {
    let record: AttemptRecord;
    let request: unknown = null;
    try {
      const now = Date.now();
      const bodies: string[] = [];
      for (const m of batch.members) {
        const { format, prepared } = await prepareDelivery(this.o.db, m.event, m.webhook, this.engine);
        bodies.push(this.bodyFor(m, format, prepared).text);
      }
      const body = `{"events":[${bodies.join(',')}]}`;
      const last = batch.members[batch.members.length - 1];
      const meta = { seq: last.event.seq, attempt: c.attempts + 1, event: 'batch' };
      const req = buildRequest(c.webhook, batch.uid, body, meta, now);
      req.headers['x-herald-batch-size'] = String(batch.members.length);
      // Where the log finds the members to rebuild the body from (delivery/log.ts).
      Object.assign(req.logged, { headers: { ...req.logged.headers, 'x-herald-batch-size': String(batch.members.length) }, format: 'contentstack', batch: batch.uid });
      const idleBefore = loopIdleMs();
      record = await this.o.transport.send(req, this.o.timeoutMs);
      this.limitOf(c.webhook_uid).observe(observation(record, inFlight, idleBefore), Date.now());
      request = req.logged;
      this.o.log.debug({ deliveryId: batch.uid, webhook: c.webhook_uid, events: batch.members.length, outcome: record.outcome, status: record.status_code }, 'batch attempt');
    } catch (err) {
      this.o.log.error({ err, deliveryId: batch.uid }, 'batch attempt crashed');
      record = { outcome: 'network', status_code: null, retry_after_ms: null, reason: 'internal error', response: null, started_at: Date.now(), duration_ms: 0 };
    }
    const finished = batch.members.map((m) => finishedAttempt(m, record, request));
    this.finish(c, finished, at);
    return finished;
  }

  /** An attempt (or a batch's call) ended: its slot is free, its outcomes go to the writer. `at`: its place in `flying`. */
  private finish(c: Claimed, finished: Finished | Finished[], at: number) {
    // The slot is free once the HTTP exchange is over; the outcome is written by the next flush.
    // The execution stays claimed (lease in the future) until then, so it cannot be claimed twice.
    this.inFlight--;
    const n = (this.perWebhook.get(c.webhook_uid) ?? 1) - 1;
    if (n <= 0) this.perWebhook.delete(c.webhook_uid);
    else this.perWebhook.set(c.webhook_uid, n);
    if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    // Finished after stop() gave up on it: not recorded; stop()'s caller releases it.
    if (this.closed) return;
    this.flying[at] = null;
    this.vacant.push(at);
    if (Array.isArray(finished)) for (const f of finished) this.writer.add(f);
    else this.writer.add(finished);
    // Freed slots are claimed together a moment later rather than one claim per finished attempt,
    // when something may wait for them (slotsWanted).
    if (this.slotsWanted()) this.wakeSoon();
  }

  /**
   * Whether a freed slot calls for a round of its own (wakeSoon): a round is running (what it
   * leaves behind is known only at its end), or the last scan left due work behind (caps, a full
   * page, lost or paced rows: the gathered round scans for it); else, with no round scheduled,
   * listed executions wait (for their webhook's slots or the global ones) or a scan is wanted that
   * a round could not run (no free slot). A round scheduled and not started sees the slot free: it
   * takes the listed ones and scans when wanted. Otherwise the round would find nothing to take: at
   * the bench's latency line (4,000 events/s, each turn's events listed at their commit and claimed
   * by the round that commit schedules), attempts' ends armed the gather timer 0.13-0.16 times per
   * event, each for a round 1 ms later that mostly found nothing to take (now under 0.005).
   */
  private slotsWanted(): boolean {
    if (this.roundRunning || this.leftBehind) return true;
    if (this.roundScheduled) return false;
    return this.list.size > 0 || this.scanWanted;
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
    this.soonArmed = false;
    // Executions written leased for this dispatcher and not started: pending, due now (the next
    // start sends them); any committed from here on are made so as they come (prelease.ts).
    const released = await this.list.close(Date.now());
    if (released > 0) this.o.log.info({ released }, 'deliveries leased but not started were made due again');
    if (this.inFlight > 0) {
      await Promise.race([
        new Promise<void>((r) => this.idleWaiters.push(r)),
        new Promise<void>((r) => setTimeout(r, graceMs).unref()),
      ]);
    }
    this.closed = true;
    await this.writer.flush();
    const running: string[] = [];
    for (const c of this.flying) {
      if (c?.batch) for (const m of c.batch.members) running.push(m.uid);
      else if (c) running.push(c.uid);
    }
    return running;
  }
}
