/**
 * Attempt deadlines, all on one timer: a hashed timer wheel. Each attempt used to make its own
 * `AbortSignal.timeout()`: a timer, an EventTarget and a weak reference per attempt, 2.4% of the
 * delivery thread in a profile. Here an attempt's deadline is a small object filed in the bucket of
 * the tick it falls in; one timer per tick (only while deadlines are pending) fires every deadline
 * whose tick has passed; an attempt that ends first takes its deadline out of its bucket.
 *
 * A deadline fires at most one tick late and never early (its bucket is the tick at or after it).
 *
 * A `Deadline` is what undici's `request({ signal })` accepts as an EventEmitter (`on`, `once`,
 * `removeListener`, `aborted`, `reason`): it needs no AbortController per attempt.
 */

/** Default tick, ms: how late a deadline may fire at most. */
export const DEADLINE_TICK_MS = 10;

/** The error a deadline aborts its request with (`name` TimeoutError, as AbortSignal.timeout's). */
export class DeadlineError extends Error {
  constructor(ms: number) {
    super(`The operation was aborted due to timeout (${ms} ms)`);
    this.name = 'TimeoutError';
  }
}

type Listener = (...args: unknown[]) => void;

export class Deadline {
  aborted = false;
  reason: unknown = undefined;
  /** The tick whose bucket holds it (counted from its wheel's origin: 1 or more); -1 once ended or fired. */
  tick = -1;
  /** Its neighbours in its bucket's list (a Bucket at either end); null once out of it. */
  prev: Deadline | Bucket | null = null;
  next: Deadline | Bucket | null = null;
  private listeners: Listener[] | null = null;
  /**
   * Told first when it fires: an attempt's exchange (send.ts) watches its deadline through this
   * field rather than an `on('abort')` listener, which cost a closure and a listener array per
   * attempt.
   */
  watcher: { onDeadline(): void } | null = null;

  constructor(readonly ms: number) {}

  on(type: string, fn: Listener): this {
    if (type === 'abort') (this.listeners ??= []).push(fn);
    return this;
  }
  once(type: string, fn: Listener): this {
    return this.on(type, fn);
  }
  addListener(type: string, fn: Listener): this {
    return this.on(type, fn);
  }
  removeListener(type: string, fn: Listener): this {
    if (type === 'abort' && this.listeners) {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    }
    return this;
  }
  off(type: string, fn: Listener): this {
    return this.removeListener(type, fn);
  }

  /** Fires: marks it aborted and tells its listeners (once). */
  fire() {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = new DeadlineError(this.ms);
    const w = this.watcher;
    this.watcher = null;
    w?.onDeadline();
    const ls = this.listeners;
    this.listeners = null;
    if (ls) for (const l of ls) l();
  }
}

/**
 * One tick's deadlines: a circular doubly linked list through the deadlines themselves, this
 * object its head and tail. Starting and ending a deadline link and unlink it in place (no Set
 * entry, no look-up by tick to end one); an emptied bucket stays in the wheel until its tick is
 * swept.
 */
class Bucket {
  prev: Deadline | Bucket = this;
  next: Deadline | Bucket = this;
  constructor(readonly tick: number) {}
}

export class DeadlineWheel {
  private buckets = new Map<number, Bucket>();
  /** The bucket a deadline was last filed in: starts come in runs with the same tick. */
  private last: Bucket | null = null;
  private size = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The last tick whose bucket was fired. */
  private firedTo = 0;
  /**
   * Ticks are counted from the one before the wheel was made (this is its number since the epoch),
   * so a tick is a small integer: counted from the epoch (~1.8e11 at 10 ms) it did not fit V8's
   * small integers, and every deadline's and bucket's `tick` field held a number object of its own
   * (16 bytes per attempt), which the bucket map also hashed as a double.
   */
  private readonly origin: number;

  constructor(
    private readonly tickMs = DEADLINE_TICK_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.origin = Math.floor(this.now() / tickMs) - 1;
  }

  /** A deadline `ms` from now; end it with `end()` when the work finished first. */
  start(ms: number): Deadline {
    const d = new Deadline(ms);
    const tick = Math.max(Math.ceil((this.now() + ms) / this.tickMs) - this.origin, this.firedTo + 1);
    d.tick = tick;
    let bucket = this.last;
    if (bucket === null || bucket.tick !== tick) {
      bucket = this.buckets.get(tick) ?? null;
      if (bucket === null) this.buckets.set(tick, (bucket = new Bucket(tick)));
      this.last = bucket;
    }
    // At the tail: a bucket fires its deadlines in the order they started.
    const tail = bucket.prev;
    d.prev = tail;
    d.next = bucket;
    tail.next = d;
    bucket.prev = d;
    this.size++;
    // Armed once and left armed while deadlines come and go: a sweep that finds none pending
    // does not re-arm (ending the last one no longer clears a timer that the next start re-arms).
    if (!this.timer) this.arm();
    return d;
  }

  /** The work finished: its deadline no longer fires. */
  end(d: Deadline) {
    if (d.tick < 0) return;
    d.prev!.next = d.next!;
    d.next!.prev = d.prev!;
    d.prev = d.next = null;
    d.tick = -1;
    this.size--;
  }

  /** Deadlines pending (tests). */
  get pending(): number {
    return this.size;
  }

  private arm() {
    // Ticks are short: walking them one by one while work is in flight costs a timer per tick,
    // whatever the number of attempts. Unref'd: a pending deadline alone keeps no process alive.
    this.timer = setTimeout(() => this.sweep(), this.tickMs);
    this.timer.unref();
  }

  /** Fires every deadline whose tick has passed; called by the timer (and by tests). */
  sweep() {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const nowTick = Math.floor(this.now() / this.tickMs) - this.origin;
    // After a long stall (a blocked event loop) walk the buckets, not every tick in between.
    if (nowTick - this.firedTo > this.buckets.size) {
      for (const [tick, bucket] of [...this.buckets]) if (tick <= nowTick) this.fireBucket(bucket);
    } else {
      for (let t = this.firedTo + 1; t <= nowTick; t++) {
        const bucket = this.buckets.get(t);
        if (bucket) this.fireBucket(bucket);
      }
    }
    this.firedTo = Math.max(this.firedTo, nowTick);
    if (this.size > 0) this.arm();
  }

  private fireBucket(bucket: Bucket) {
    this.buckets.delete(bucket.tick);
    if (this.last === bucket) this.last = null;
    // Unlinked one at a time from the head: a deadline's listener that ends another deadline of
    // this bucket (or starts one: a later tick's) finds the list whole.
    while (bucket.next !== bucket) {
      const d = bucket.next as Deadline;
      this.end(d);
      d.fire();
    }
  }
}
